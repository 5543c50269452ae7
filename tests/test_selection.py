"""`topic-stance select`: uncertainty, diversity, the per-article cap and the output records."""

from __future__ import annotations

import argparse
import json
from collections import Counter

import numpy as np
import pytest

from conftest import synthetic_records, write_jsonl
from topic_stance.errors import TopicStanceError
from topic_stance.labels import STANCES, TOPICS, encode_topics, validate_record
from topic_stance.selection import (read_pool, run, select_indices, select_records,
                                    stance_uncertainty, topic_uncertainty, uncertainty_scores)


class FakeScorer:
    """Known probabilities per text; no engine, so diversity runs on TF-IDF fitted on the pool."""

    topic_labels, stance_labels = list(TOPICS), list(STANCES)

    def __init__(self, probs: dict[str, tuple[list[float], list[float]]], thresholds=(0.5, 0.5, 0.5, 0.5)):
        self.probs, self.thresholds, self.engine = probs, np.asarray(thresholds), None

    def probabilities(self, texts):
        return (np.array([self.probs[t][0] for t in texts]), np.array([self.probs[t][1] for t in texts]))


SURE = ([0.02, 0.01, 0.97, 0.01], [0.96, 0.02, 0.02])
UNSURE = ([0.02, 0.01, 0.52, 0.01], [0.40, 0.35, 0.25])
STORIES = ["tariffs on soybeans rose", "drills near the taiwan strait", "sanctions on russian banks",
           "detained activists in hong kong", "climate talks in glasgow", "chip export controls tightened",
           "wheat exports through the black sea", "uyghur forced labour import ban", "arms sale to taipei approved",
           "fentanyl precursors discussed", "a hotline between militaries", "ambassador summoned over balloon"]


def pool_record(i: int, text: str, article: str | None = None) -> dict:
    record = {"id": f"{article or f'story-{i:02d}'}-p{i:02d}", "text": text}
    if article:
        record["article_id"] = article
    return record


def test_uncertainty_is_one_on_the_threshold_and_zero_at_the_ends():
    probs = np.array([[0.3, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0], [0.15, 0.0, 0.0, 0.0]])
    u = topic_uncertainty(probs, [0.3, 0.5, 0.5, 0.5])
    assert u.tolist() == pytest.approx([1.0, 0.0, 0.5])
    stance = np.array([[1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    assert stance_uncertainty(stance, "margin").tolist() == pytest.approx([1.0, 0.0, 1.0])
    assert stance_uncertainty(stance, "entropy").tolist() == pytest.approx([1.0, 0.0, np.log(2) / np.log(3)])
    both = uncertainty_scores(probs, stance, [0.3, 0.5, 0.5, 0.5], topic_weight=0.25)
    assert both["combined"].tolist() == pytest.approx((0.25 * u + 0.75 * stance_uncertainty(stance)).tolist())


def test_prefers_uncertain_items():
    texts = [f"{story} on day {i}" for i, story in enumerate(STORIES)]
    unsure = {texts[i] for i in (2, 5, 9)}
    scorer = FakeScorer({t: UNSURE if t in unsure else SURE for t in texts})
    pool = [pool_record(i, t) for i, t in enumerate(texts)]
    for diversity in (0.0, 1.0):
        picks = select_records(scorer, pool, n=3, diversity=diversity)
        assert {p["text"] for p in picks} == unsure
    picks = select_records(scorer, pool, n=5)
    assert {p["text"] for p in picks[:3]} == unsure  # the most uncertain come first, the sure ones after
    assert [p["selection"]["rank"] for p in picks] == [1, 2, 3, 4, 5]
    assert picks[0]["selection"]["uncertainty"] > picks[4]["selection"]["uncertainty"]


def test_diversity_avoids_near_duplicates():
    dup = "Beijing condemned the new tariffs on Chinese electric vehicles and vowed to retaliate"
    duplicates = [f"{dup}{' today' if i % 2 else ''}{'.' * (i % 3)}" for i in range(10)]
    others = [f"{story} on day {i}" for i, story in enumerate(STORIES)]
    probs = {t: ([0.5, 0.01, 0.5, 0.01], [0.34, 0.33, 0.33]) for t in duplicates}  # maximally unsure
    probs.update({t: UNSURE for t in others})
    scorer = FakeScorer(probs)
    pool = [pool_record(i, t) for i, t in enumerate(duplicates + others)]
    picks = select_records(scorer, pool, n=6)
    assert sum(p["text"] in duplicates for p in picks) == 1
    assert picks[0]["text"] in duplicates  # the single most uncertain one is still taken
    uncertainty_only = select_records(scorer, pool, n=6, diversity=0.0)
    assert sum(p["text"] in duplicates for p in uncertainty_only) == 6


def test_n_and_per_article_cap_in_select_indices():
    rng = np.random.default_rng(0)
    features = rng.random((40, 8))
    groups = [f"a{i // 10}" for i in range(40)]  # 4 articles of 10
    u = rng.random(40)
    picks = select_indices(u, features, n=7, groups=groups, per_group_cap=2)
    assert len(picks) == 7
    assert max(Counter(groups[p.index] for p in picks).values()) <= 2
    assert len({p.index for p in picks}) == 7
    everything = select_indices(u, features, n=100, groups=groups, per_group_cap=3)
    assert len(everything) == 12  # the cap runs out: 4 articles x 3
    assert len(select_indices(u, features, n=100)) == 40
    assert select_indices(u, features, n=5, seed=3) == select_indices(u, features, n=5, seed=3)


@pytest.fixture(scope="module")
def baseline_dir(tmp_path_factory):
    from topic_stance.baseline import TfidfBaseline

    records = synthetic_records(articles=12, per_article=5, seed=1)
    folder = tmp_path_factory.mktemp("selection") / "tfidf"
    TfidfBaseline(seed=0).fit([r["text"] for r in records], [encode_topics(r["topics"]) for r in records],
                              [STANCES.index(r["stance"]) for r in records]).save(folder)
    return folder


def parse(argv):
    parser = argparse.ArgumentParser()
    from topic_stance.cli import select_flags

    select_flags(parser)
    return parser.parse_args(argv)


def test_cli_respects_n_and_cap_and_writes_label_records(tmp_path, baseline_dir):
    pool = synthetic_records(articles=8, per_article=6, seed=7)
    for record in pool:  # an unlabelled pool: id and text only, article_id derived from the id
        for key in ("topics", "stance", "article_id", "source"):
            record.pop(key)
    pool_file = write_jsonl(tmp_path / "pool.jsonl", pool)
    output = tmp_path / "picks.jsonl"
    picks = run(parse(["--model", str(baseline_dir), "--pool", str(pool_file), "--n", "10", "--output", str(output),
                       "--per-article-cap", "2", "--seed", "1"]))
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert lines == picks and len(lines) == 10
    assert max(Counter(r["article_id"] for r in lines).values()) <= 2
    assert {r["article_id"] for r in lines} <= {f"art{a:02d}" for a in range(8)}
    for number, record in enumerate(lines, start=1):
        assert validate_record(record, "picks", number) == []
        assert record["selection"]["rank"] == number
        assert set(record["topic_scores"]) == set(TOPICS) and set(record["stance_scores"]) == set(STANCES)
        assert 0.0 <= record["selection"]["uncertainty"] <= 1.0
        assert record["selection"]["features"].startswith("tfidf")
    assert not list(tmp_path.glob(".*tmp*"))
    # the cap can stop the selection short of --n
    short = run(parse(["--model", str(baseline_dir), "--pool", str(pool_file), "--n", "40",
                       "--output", str(output), "--per-article-cap", "3"]))
    assert len(short) == 24


def test_labelled_paragraphs_are_left_out(tmp_path, baseline_dir):
    pool = synthetic_records(articles=4, per_article=5, seed=3)
    pool_file = write_jsonl(tmp_path / "pool.jsonl", pool)
    labelled_file = write_jsonl(tmp_path / "labelled.jsonl", pool[:12])
    picks = run(parse(["--model", str(baseline_dir), "--pool", str(pool_file), "--n", "20", "--output",
                       str(tmp_path / "out.jsonl"), "--labelled", str(labelled_file)]))
    assert {p["id"] for p in picks} == {r["id"] for r in pool[12:]}
    assert all(p["selection"]["pool_labels"]["stance"] in STANCES for p in picks)


def test_read_pool_formats_and_problems(tmp_path):
    article_line = {"id": "web-7", "headline": "H", "paragraphs": [
        {"id": "web-7-p00", "text": "First paragraph.", "topics": [], "stance": "neutral"},
        {"id": "web-7-p01", "text": "Second paragraph.", "topics": ["trade"], "stance": "neutral"}]}
    plain = {"id": "x-12-p03", "text": "A paragraph."}
    path = write_jsonl(tmp_path / "mixed.jsonl", [article_line, plain])
    records = read_pool([path])
    assert [(r["id"], r["article_id"], r["source"]) for r in records] == [
        ("web-7-p00", "web-7", "mixed"), ("web-7-p01", "web-7", "mixed"), ("x-12-p03", "x-12", "mixed")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a-p00", "text": "ok"}\n{"id": "a-p00", "text": "again"}\n{"text": "no id"}\nnot json\n')
    with pytest.raises(TopicStanceError) as err:
        read_pool([bad])
    message = str(err.value)
    assert "3 problem(s)" in message and "duplicate id" in message and "bad.jsonl:3" in message


def test_user_errors_are_topic_stance_errors(tmp_path, baseline_dir):
    pool_file = write_jsonl(tmp_path / "pool.jsonl", [{"id": "a-p00", "text": "text"}])
    with pytest.raises(TopicStanceError):
        run(parse(["--model", str(baseline_dir), "--pool", str(pool_file), "--n", "1", "--output", str(pool_file)]))
    with pytest.raises(TopicStanceError):
        run(parse(["--model", str(tmp_path / "missing"), "--pool", str(pool_file), "--n", "1",
                   "--output", str(tmp_path / "o.jsonl")]))
    with pytest.raises(TopicStanceError):
        run(parse(["--model", str(baseline_dir), "--pool", str(tmp_path / "none.jsonl"), "--n", "1",
                   "--output", str(tmp_path / "o.jsonl")]))
    with pytest.raises(SystemExit):  # argparse refuses --n 0 before run() is reached
        parse(["--model", "m", "--pool", "p", "--n", "0", "--output", "o"])


def test_transformer_features_are_mean_pooled_encoder_states(tiny_encoder_dir):
    from transformers import AutoTokenizer

    from topic_stance.engines import TransformerEngine
    from topic_stance.inference import ArticleScorer
    from topic_stance.model import TopicStanceModel
    from topic_stance.selection import encoder_embeddings, model_features

    model = TopicStanceModel.from_encoder(str(tiny_encoder_dir))  # untrained heads: only the plumbing is tested
    scorer = ArticleScorer(TransformerEngine(model, AutoTokenizer.from_pretrained(tiny_encoder_dir), "cpu", 4))
    texts = ["wang met blinken in beijing", "tariffs and trade sanctions", "wang met blinken in beijing",
             "drills near taiwan", "human rights in xinjiang"]
    embeddings = encoder_embeddings(scorer.engine, texts)
    assert embeddings.shape == (5, 32) and np.allclose(embeddings[0], embeddings[2], atol=1e-5)
    pool_features, labelled_features, name = model_features(scorer, texts[:3], texts[3:])
    assert name.startswith("encoder") and pool_features.shape == (3, 32) and labelled_features.shape == (2, 32)
    picks = select_records(scorer, [pool_record(i, t) for i, t in enumerate(texts)], n=4)
    assert len(picks) == 4 and sum(p["text"] == texts[0] for p in picks) <= 1
    assert picks[0]["selection"]["features"].startswith("encoder")
