"""`topic-stance audit`: planted label flips come out on top; output records stay label records."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys

import pytest

from conftest import synthetic_records, write_jsonl
from topic_stance.errors import TopicStanceError
from topic_stance.labels import STANCES, TOPICS, validate_record

from topic_stance.audit import article_folds, audit_records, require_cleanlab, run

needs_cleanlab = pytest.mark.skipif(importlib.util.find_spec("cleanlab") is None,
                                    reason="cleanlab is not installed (pip install 'topic-stance[audit]')")

FLIPS = {  # record index -> what the planted error does
    7: ("stance", None), 31: ("stance", None), 58: ("stance", None),
    84: ("topic", "taiwan"), 112: ("topic", "trade"),
}


def flipped_corpus(seed: int = 0) -> tuple[list[dict], set[str]]:
    """The learnable synthetic corpus (30 articles x 5) with 5 labels flipped: 3 stances, 2 topics."""
    records = synthetic_records(articles=30, per_article=5, seed=seed)
    for record in records:
        record["source"] = "authored"
    planted = set()
    for index, (kind, topic) in FLIPS.items():
        record = records[index]
        if kind == "stance":
            record["stance"] = STANCES[(STANCES.index(record["stance"]) + 1) % len(STANCES)]
        elif topic in record["topics"]:
            record["topics"] = [t for t in record["topics"] if t != topic]
        else:
            record["topics"] = sorted(record["topics"] + [topic], key=TOPICS.index)
        planted.add(record["id"])
    return records, planted


def parse(argv):
    parser = argparse.ArgumentParser()
    from topic_stance.cli import audit_flags

    audit_flags(parser)
    return parser.parse_args(argv)


def test_folds_keep_articles_together():
    records = synthetic_records(articles=12, per_article=4)
    folds = article_folds(records, 4, seed=0)
    by_article: dict[str, set[int]] = {}
    for record, fold in zip(records, folds):
        by_article.setdefault(record["article_id"], set()).add(int(fold))
    assert all(len(f) == 1 for f in by_article.values()) and set(folds.tolist()) == {0, 1, 2, 3}
    with pytest.raises(TopicStanceError, match="only 12 article"):
        article_folds(records, 13)
    with pytest.raises(TopicStanceError, match="at least 2"):
        article_folds(records, 1)


@needs_cleanlab
def test_planted_flips_rank_at_the_top():
    records, planted = flipped_corpus()
    audited = audit_records(records, folds=5)
    top = [r["id"] for r in audited[:8]]
    assert len(planted & set(top)) >= 4, (top, planted)
    assert sum(r["audit"]["flagged"] for r in audited) <= 20  # a clean, learnable corpus: few false alarms
    by_id = {r["id"]: r for r in audited}
    for index, (kind, topic) in FLIPS.items():
        record = by_id.get(records[index]["id"])
        if record is None:
            continue
        audit = record["audit"]
        if kind == "stance":
            assert "stance" in audit["issues"] and audit["suggested"]["stance"] != audit["given"]["stance"]
        else:
            assert "topics" in audit["issues"] and topic in audit["suspect_topics"]
            assert (topic in audit["suggested"]["topics"]) != (topic in audit["given"]["topics"])
    qualities = [r["audit"]["label_quality"] for r in audited if r["audit"]["flagged"]]
    assert qualities == sorted(qualities)


@needs_cleanlab
def test_cli_writes_valid_label_records(tmp_path):
    records, planted = flipped_corpus(seed=2)
    data = write_jsonl(tmp_path / "data.jsonl", records)
    output = tmp_path / "audit.jsonl"
    written = run(parse(["--data", str(data), "--folds", "3", "--output", str(output), "--top", "6"]))
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert lines == written and 0 < len(lines) <= 6
    originals = {r["id"]: (line, r) for line, r in enumerate(records, start=1)}
    for rank, record in enumerate(lines, start=1):
        assert validate_record(record, "audit", rank) == []
        audit = record["audit"]
        line, original = originals[record["id"]]
        assert {k: record[k] for k in original} == original  # the original record, unchanged
        assert audit["rank"] == rank and audit["file"] == str(data) and audit["line"] == line
        assert audit["given"] == {"topics": original["topics"], "stance": original["stance"]}
        assert set(audit["probabilities"]["topics"]) == set(TOPICS)
        assert set(audit["probabilities"]["stance"]) == set(STANCES)
        assert 0 <= audit["fold"] < 3 and audit["issues"]
        assert validate_record({**record, **audit["suggested"]}, "suggested", rank) == []
    assert len(planted & {r["id"] for r in lines}) >= 3
    everything = run(parse(["--data", str(data), "--folds", "3", "--output", str(output), "--all"]))
    assert len(everything) == len(records)


def test_missing_cleanlab_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "cleanlab", None)  # `import cleanlab` now raises ImportError
    with pytest.raises(TopicStanceError, match=r"topic-stance\[audit\]"):
        require_cleanlab()
    data = write_jsonl(tmp_path / "data.jsonl", synthetic_records(articles=6, per_article=2))
    with pytest.raises(TopicStanceError, match="cleanlab"):
        run(parse(["--data", str(data), "--output", str(tmp_path / "out.jsonl")]))
    assert not (tmp_path / "out.jsonl").exists()


@needs_cleanlab
def test_user_errors(tmp_path):
    data = write_jsonl(tmp_path / "data.jsonl", synthetic_records(articles=3, per_article=2))
    with pytest.raises(TopicStanceError, match="only 3 article"):
        run(parse(["--data", str(data), "--folds", "5", "--output", str(tmp_path / "out.jsonl")]))
    with pytest.raises(TopicStanceError, match="model folder"):
        run(parse(["--data", str(data), "--model", str(tmp_path / "nope"), "--output", str(tmp_path / "o.jsonl")]))
    with pytest.raises(TopicStanceError):
        run(parse(["--data", str(data), "--output", str(data)]))
