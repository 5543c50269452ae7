"""The behavioural check suite: its data is well formed and apart from training, and the grader is right."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from topic_stance.checks import DEFAULT_CHECKS, DIR_TOLERANCE, Check, format_checks, load_checks, run_checks
from topic_stance.labels import STANCES, TOPICS, LabelFileError, iter_jsonl
from topic_stance.paragraphs import comparison_key, split_article
from tools.corpus import ShingleIndex  # "near-duplicate" means the same here as in the corpus tool's lint

DATA = Path(__file__).resolve().parent.parent / "data"

# The capabilities a guide rule or a known shortcut asks for (more may be added).
REQUIRED = {
    "tariff_cut_conciliatory", "tariff_level_neutral", "tariff_raise_confrontational",
    "prisoner_release_conciliatory", "detention_confrontational", "arms_sale_taiwan_not_trade",
    "rights_sanctions_not_trade", "russia_dual_use_trade", "two_economies_not_trade",
    "human_rights_in_list", "neutral_reportage", "soft_criticism_confrontational",
    "inv_names", "inv_places_dates", "inv_outlets", "dir_hostile_clause",
}


@dataclass
class Result:
    topics: list[str]
    stance: str
    topic_scores: dict[str, float] = field(default_factory=dict)
    stance_scores: dict[str, float] = field(default_factory=dict)


def result(topics, stance, stance_scores=None) -> Result:
    scores = stance_scores or {s: (0.8 if s == stance else 0.1) for s in STANCES}
    return Result(list(topics), stance, {t: (0.9 if t in topics else 0.1) for t in TOPICS}, scores)


class TableScorer:
    """Answers from a text -> Result table (a default for unknown texts); counts its calls."""

    def __init__(self, table: dict[str, Result], default: Result | None = None):
        self.table, self.default, self.calls = table, default, 0

    def score_paragraphs(self, texts):
        self.calls += 1
        return [self.table.get(t, self.default) for t in texts]


@pytest.fixture(scope="module")
def suite() -> list[Check]:
    return load_checks()


def oracle(checks: list[Check]) -> TableScorer:
    """What the guide says for every MFT text; one fixed answer for every INV and DIR text."""
    table = {}
    for check in checks:
        if check.type == "MFT":
            topics = check.expect.get("topics", check.expect.get("topics_include", []))
            table[check.texts[0]] = result(topics, check.expect.get("stance", "neutral"))
    return TableScorer(table, default=result([], "neutral"))


def test_bundled_suite_is_big_enough_and_unique(suite):
    counts = Counter(c.capability for c in suite)
    assert len(counts) >= 15 and min(counts.values()) >= 10, counts
    assert REQUIRED <= set(counts)
    assert {c.type for c in suite} == {"MFT", "INV", "DIR"}
    texts = [t for c in suite for t in c.texts]
    assert len({comparison_key(t) for t in texts}) == len(texts), "a text is used by two cases"
    assert DEFAULT_CHECKS == DATA / "checks"


def test_every_text_is_a_realistic_paragraph(suite):
    lengths = {c.id: len(t.split()) for c in suite for t in c.texts}
    assert all(20 <= n <= 60 for n in lengths.values()), {k: n for k, n in lengths.items() if not 20 <= n <= 60}


def test_oracle_scorer_passes_everything_in_one_call(suite):
    scorer = oracle(suite)
    report = run_checks(scorer, suite)
    assert scorer.calls == 1
    assert report["pass_rate"] == 1.0 and report["cases"] == len(suite)
    assert all(e["pass_rate"] == 1.0 and not e["failures"] for e in report["capabilities"].values())
    table = format_checks(report)
    assert "overall" in table and "100.0%" in table and "failures" not in table


def test_always_conciliatory_all_topics_fails_the_right_capabilities(suite):
    scorer = TableScorer({}, default=result(TOPICS, "conciliatory"))
    report = run_checks(scorer, suite)
    rates = {name: e["pass_rate"] for name, e in report["capabilities"].items()}
    # Conciliatory stance with only required topics, or invariance/direction: a constant answer passes.
    passing = {"tariff_cut_conciliatory", "prisoner_release_conciliatory", "one_china_reassurance_conciliatory",
               "russia_dual_use_trade", "inv_names", "inv_places_dates", "inv_outlets",
               "dir_hostile_clause", "dir_conciliatory_clause"}
    assert {n for n, r in rates.items() if r == 1.0} == passing
    assert all(rates[n] == 0.0 for n in set(rates) - passing), rates
    failure = report["capabilities"]["arms_sale_taiwan_not_trade"]["failures"][0]
    assert "excluded topic trade is on" in failure["why"]
    failure = report["capabilities"]["tariff_level_neutral"]["failures"][0]
    assert failure["expected"]["stance"] == "neutral" and failure["got"]["stance"] == "conciliatory"
    assert len(report["capabilities"]["neutral_reportage"]["failures"]) == 5
    assert "tariff_level_neutral / tariff-level-01: stance conciliatory instead of neutral" in format_checks(report)


def dir_check(expect="not_more_conciliatory") -> Check:
    return Check("dir", "DIR", "d1", ("base text", "variant text"), expect)


@pytest.mark.parametrize("base, variant, passed", [
    # (stance, P(conciliatory)) of base and variant
    (("neutral", 0.30), ("neutral", 0.35), True),          # +0.05 is within the tolerance
    (("neutral", 0.30), ("neutral", 0.36), False),         # +0.06 is not
    (("conciliatory", 0.70), ("confrontational", 0.10), True),
    (("conciliatory", 0.70), ("conciliatory", 0.72), True),  # already conciliatory: may stay so
    (("neutral", 0.45), ("conciliatory", 0.46), False),    # small rise, but it turns conciliatory
    (("confrontational", 0.40), ("confrontational", 0.20), True),
])
def test_dir_not_more_conciliatory(base, variant, passed):
    def scored(stance, p):
        rest = (1 - p) / 2
        return result([], stance, {"conciliatory": p, "confrontational": rest, "neutral": rest})

    scorer = TableScorer({"base text": scored(*base), "variant text": scored(*variant)})
    report = run_checks(scorer, [dir_check()])
    assert report["passed"] == passed
    if not passed:
        failure = report["capabilities"]["dir"]["failures"][0]
        assert failure["got"]["variant"]["stance"] == variant[0] and failure["delta"] == round(variant[1] - base[1], 4)


def test_dir_not_more_confrontational_is_symmetric():
    def scored(stance, p):
        return result([], stance, {"confrontational": p, "conciliatory": 0.0, "neutral": 1 - p})

    for (b, v), passed in [((("neutral", 0.2), ("neutral", 0.2 + DIR_TOLERANCE)), True),
                           ((("neutral", 0.2), ("confrontational", 0.6)), False),
                           ((("confrontational", 0.9), ("confrontational", 0.7)), True)]:
        scorer = TableScorer({"base text": scored(*b), "variant text": scored(*v)})
        assert run_checks(scorer, [dir_check("not_more_confrontational")])["passed"] == passed


def test_inv_and_mft_grading():
    checks = [Check("inv", "INV", "i1", ("a", "b", "c"), None),
              Check("mft", "MFT", "m1", ("d",), {"topics": ["taiwan"], "stance": "neutral"}),
              Check("mft", "MFT", "m2", ("e",), {"topics_include": ["trade"], "topics_exclude": ["taiwan"]})]
    table = {"a": result(["taiwan"], "neutral"), "b": result(["taiwan"], "neutral"), "c": result(["taiwan"], "confrontational"),
             "d": result(["taiwan", "trade"], "neutral"), "e": result(["trade", "human_rights"], "conciliatory")}
    report = run_checks(TableScorer(table), checks)
    assert report["capabilities"]["inv"]["passed"] == 0 and "text 2" in report["capabilities"]["inv"]["failures"][0]["why"]
    mft = report["capabilities"]["mft"]
    assert (mft["cases"], mft["passed"], mft["pass_rate"]) == (2, 1, 0.5)
    assert mft["failures"][0]["id"] == "m1" and "topics ['taiwan', 'trade'] instead of ['taiwan']" in mft["failures"][0]["why"]
    assert report["cases"] == 3 and report["passed"] == 1


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = {"capability": "c", "type": "MFT", "id": "x1", "text": "Some text.", "expect": {"stance": "neutral"}}


@pytest.mark.parametrize("line, where", [
    ("{not json", "<json>"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "capability"}), "capability"),
    (json.dumps({**GOOD, "type": "XYZ"}), "type"),
    (json.dumps({**GOOD, "expect": {"stance": "hostile"}}), "expect.stance"),
    (json.dumps({**GOOD, "expect": {"topics_exclude": ["economy"]}}), "expect.topics_exclude"),
    (json.dumps({**GOOD, "expect": {}}), "expect"),
    (json.dumps({**GOOD, "text": ""}), "text"),
    (json.dumps({"capability": "c", "type": "INV", "id": "x1", "texts": ["only one"]}), "texts"),
    (json.dumps({"capability": "c", "type": "DIR", "id": "x1", "base": "a", "variant": "b", "expect": "up"}), "expect"),
    (json.dumps({"capability": "c", "type": "DIR", "id": "x1", "base": "a", "expect": "not_more_conciliatory"}), "variant"),
])
def test_bad_line_is_reported_with_file_line_and_field(tmp_path, line, where):
    path = write(tmp_path, [json.dumps({**GOOD, "id": "ok"}), line])
    with pytest.raises(LabelFileError) as caught:
        load_checks([path])
    assert isinstance(caught.value, ValueError)
    assert f"{path}:2: field '{where}':" in str(caught.value)


def test_duplicate_id_and_empty_folder(tmp_path):
    path = write(tmp_path, [json.dumps(GOOD), json.dumps(GOOD)])
    with pytest.raises(LabelFileError, match=r"bad.jsonl:2: field 'id': duplicate id"):
        load_checks([path])
    (tmp_path / "empty").mkdir()
    with pytest.raises(LabelFileError, match="no check files"):
        load_checks([tmp_path / "empty"])


def training_paragraphs() -> list[tuple[str, str]]:
    """(where, text) of every labelled record, every transfer paragraph, every raw authored paragraph and headline."""
    found = []
    for path in sorted((DATA / "labelled").glob("*.jsonl")) + [DATA / "transfer" / "paragraphs.jsonl"]:
        for number, record in iter_jsonl(path):
            if isinstance(record, dict) and isinstance(record.get("text"), str):
                found.append((f"{path.name}:{number}", record["text"]))
    for path in sorted((DATA / "raw" / "authored").glob("*.txt")):
        article = split_article(path.read_text(encoding="utf-8"))
        found += [(f"{path.name}:p{p.index}", p.text) for p in article.paragraphs]
        if article.headline:
            found.append((f"{path.name}:headline", article.headline))
    return found


def test_no_check_text_is_in_or_near_the_training_data(suite):
    corpus = training_paragraphs()
    assert len(corpus) > 1000
    exact = {comparison_key(text): where for where, text in corpus}
    index = ShingleIndex()
    for where, text in corpus:
        index.add(where, text)
    clashes = []
    for check in suite:
        for text in check.texts:
            if comparison_key(text) in exact:
                clashes.append(f"{check.id}: word for word in {exact[comparison_key(text)]}")
            elif match := index.match(text):
                clashes.append(f"{check.id}: shares {match[1]:.0%} of 5-grams with {match[0]}")
    assert not clashes, "\n".join(clashes)
