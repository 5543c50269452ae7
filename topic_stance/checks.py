"""CheckList-style behavioural tests for a topic/stance scorer (MFT, INV and DIR cases).

Why: one F1 on the seed test set hides shortcuts a model can learn from the training data
("tariff" means confrontational, "the world's two largest economies" means trade, an arms sale
to Taiwan means trade). Each capability pins one rule of docs/labeling-guide.md with
short hand-written paragraphs, so a shortcut shows up as a low pass rate on exactly that
capability. The cases live in data/checks/, apart from the training data; a test proves no
check text is in, or nearly in, the training corpus.

Case types (one JSON object a line):
- MFT (minimum functionality): `text` and `expect` with any of `topics` (the exact set),
  `topics_include`, `topics_exclude`, `stance`;
- INV (invariance): `texts`, which must all get the same topics and the same stance;
- DIR (directional): `base`, `variant` and `expect` "not_more_conciliatory" (the variant adds a
  hostile clause) or "not_more_confrontational" (it adds a conciliatory one).

Plain Python, no torch: any object with `score_paragraphs(texts)` can be checked.

>>> report = run_checks(ArticleScorer.from_pretrained("models/minilm-topic-stance"), load_checks())
>>> print(format_checks(report))
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .labels import STANCES, TOPICS, LabelFileError, Problem, iter_jsonl, iter_label_paths

DEFAULT_CHECKS = Path(__file__).resolve().parent.parent / "data" / "checks"
CHECK_TYPES = ("MFT", "INV", "DIR")
# DIR expectation -> the stance whose probability the variant must not raise.
DIR_EXPECTATIONS = {"not_more_conciliatory": "conciliatory", "not_more_confrontational": "confrontational"}
DIR_TOLERANCE = 0.05
MFT_EXPECT_KEYS = ("topics", "topics_include", "topics_exclude", "stance")
MAX_FAILURES = 5
_TEXT_FIELDS = {"MFT": ("text",), "INV": ("texts",), "DIR": ("base", "variant")}


@dataclass(frozen=True)
class Check:
    """One case. `texts` holds (text,) for MFT, all texts for INV, (base, variant) for DIR;
    `expect` is the MFT dict, the DIR direction string, or None for INV."""

    capability: str
    type: str
    id: str
    texts: tuple[str, ...]
    expect: Mapping | str | None
    where: str = ""

    @property
    def text(self) -> str:
        """The MFT text, the first INV text, or the DIR base."""
        return self.texts[0]


def _text_problems(value: object, field: str, path: str, line: int) -> list[Problem]:
    if not isinstance(value, str):
        return [Problem(path, line, field, f"must be a string, got {type(value).__name__}")]
    if not value.strip():
        return [Problem(path, line, field, "is empty")]
    return []


def _topic_list_problems(value: object, field: str, path: str, line: int) -> list[Problem]:
    if not isinstance(value, list):
        return [Problem(path, line, field, "must be a list of topic labels")]
    problems = [Problem(path, line, field, f"unknown label {t!r}; allowed: {', '.join(TOPICS)}")
                for t in value if t not in TOPICS]
    if len(set(map(str, value))) != len(value):
        problems.append(Problem(path, line, field, "lists a label twice"))
    return problems


def _mft_expect_problems(expect: object, path: str, line: int) -> list[Problem]:
    if not isinstance(expect, dict):
        return [Problem(path, line, "expect", "must be an object with topics / topics_include / topics_exclude / stance")]
    problems = [Problem(path, line, f"expect.{key}", f"unknown key; allowed: {', '.join(MFT_EXPECT_KEYS)}")
                for key in expect if key not in MFT_EXPECT_KEYS]
    if not any(key in expect for key in MFT_EXPECT_KEYS):
        problems.append(Problem(path, line, "expect", f"holds none of {', '.join(MFT_EXPECT_KEYS)}"))
    for key in ("topics", "topics_include", "topics_exclude"):
        if key in expect:
            problems.extend(_topic_list_problems(expect[key], f"expect.{key}", path, line))
    if "stance" in expect and expect["stance"] not in STANCES:
        problems.append(Problem(path, line, "expect.stance",
                                f"unknown label {expect['stance']!r}; allowed: {', '.join(STANCES)}"))
    if problems:
        return problems
    exact = set(expect.get("topics", TOPICS))
    include, exclude = set(expect.get("topics_include", ())), set(expect.get("topics_exclude", ()))
    if include & exclude or not include <= exact or exclude & set(expect.get("topics", ())):
        problems.append(Problem(path, line, "expect", "topics, topics_include and topics_exclude contradict each other"))
    return problems


def validate_check(record: object, path: str, line: int) -> list[Problem]:
    """Every way one parsed line breaks the case format (empty list when it is a valid case)."""
    if not isinstance(record, dict):
        return [Problem(path, line, "<record>", f"expected a JSON object, got {type(record).__name__}")]
    problems = [Problem(path, line, field, "missing") for field in ("capability", "type", "id") if field not in record]
    for field in ("capability", "id"):
        if field in record and (not isinstance(record[field], str) or not record[field].strip()):
            problems.append(Problem(path, line, field, "must be a non-empty string"))
    kind = record.get("type")
    if "type" in record and kind not in CHECK_TYPES:
        problems.append(Problem(path, line, "type", f"unknown type {kind!r}; allowed: {', '.join(CHECK_TYPES)}"))
    if kind not in CHECK_TYPES:
        return problems
    for field in _TEXT_FIELDS[kind] + (("expect",) if kind != "INV" else ()):
        if field not in record:
            problems.append(Problem(path, line, field, f"missing (required for {kind})"))
    if kind == "MFT":
        if "text" in record:
            problems.extend(_text_problems(record["text"], "text", path, line))
        if "expect" in record:
            problems.extend(_mft_expect_problems(record["expect"], path, line))
    elif kind == "INV" and "texts" in record:
        texts = record["texts"]
        if not isinstance(texts, list) or len(texts) < 2:
            problems.append(Problem(path, line, "texts", "must be a list of at least two texts"))
        else:
            for i, text in enumerate(texts):
                problems.extend(_text_problems(text, f"texts[{i}]", path, line))
            if all(isinstance(t, str) for t in texts) and len(set(texts)) != len(texts):
                problems.append(Problem(path, line, "texts", "repeats a text"))
    elif kind == "DIR":
        for field in ("base", "variant"):
            if field in record:
                problems.extend(_text_problems(record[field], field, path, line))
        if record.get("base") is not None and record.get("base") == record.get("variant"):
            problems.append(Problem(path, line, "variant", "is the same as base"))
        if "expect" in record and record["expect"] not in DIR_EXPECTATIONS:
            problems.append(Problem(path, line, "expect",
                                    f"unknown direction {record['expect']!r}; allowed: {', '.join(DIR_EXPECTATIONS)}"))
    return problems


def _to_check(record: dict, where: str) -> Check:
    kind = record["type"]
    texts = (record["text"],) if kind == "MFT" else tuple(record["texts"]) if kind == "INV" else (record["base"], record["variant"])
    expect = None if kind == "INV" else dict(record["expect"]) if kind == "MFT" else record["expect"]
    return Check(record["capability"], kind, record["id"], texts, expect, where)


def load_checks(paths: Iterable[str | Path] | None = None) -> list[Check]:
    """Read and validate check files (folders: every *.jsonl below); raise LabelFileError
    (a ValueError) listing every problem as `file:line: field: message`. Ids must be unique."""
    paths = [DEFAULT_CHECKS] if paths is None else [paths] if isinstance(paths, (str, Path)) else list(paths)
    files = list(iter_label_paths(paths))
    if not files:
        raise LabelFileError([Problem(", ".join(map(str, paths)), 0, "<file>", "no check files found")])
    checks: list[Check] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in files:
        for number, record in iter_jsonl(path):
            if isinstance(record, Problem):
                problems.append(record)
                continue
            found = validate_check(record, str(path), number)
            if not found and record["id"] in seen:
                found = [Problem(str(path), number, "id", f"duplicate id {record['id']!r} (first at {seen[record['id']]})")]
            if found:
                problems.extend(found)
                continue
            seen[record["id"]] = f"{path}:{number}"
            checks.append(_to_check(record, f"{path}:{number}"))
    if not checks and not problems:
        problems.append(Problem(", ".join(map(str, files)), 0, "<file>", "holds no checks"))
    if problems:
        raise LabelFileError(problems)
    return checks


def _labels(result) -> dict:
    return {"topics": sorted(result.topics, key=_topic_order), "stance": result.stance}


def _topic_order(name: str) -> int:
    return TOPICS.index(name) if name in TOPICS else len(TOPICS)


def _evaluate_mft(check: Check, result) -> list[str]:
    expect, got = check.expect, set(result.topics)
    why = []
    if "topics" in expect and got != set(expect["topics"]):
        why.append(f"topics {sorted(got, key=_topic_order)} instead of {expect['topics']}")
    missing = [t for t in expect.get("topics_include", ()) if t not in got]
    if missing:
        why.append(f"missing topic {', '.join(missing)}")
    extra = [t for t in expect.get("topics_exclude", ()) if t in got]
    if extra:
        why.append(f"excluded topic {', '.join(extra)} is on")
    if "stance" in expect and result.stance != expect["stance"]:
        why.append(f"stance {result.stance} instead of {expect['stance']}")
    return why


def _evaluate_inv(check: Check, results) -> list[str]:
    first = _labels(results[0])
    return [f"text {i}: {_labels(r)} differs from text 0: {first}"
            for i, r in enumerate(results[1:], start=1) if _labels(r) != first]


def _evaluate_dir(check: Check, base, variant) -> tuple[list[str], float]:
    """Variant must not raise P(stance) by more than DIR_TOLERANCE, nor newly take that stance."""
    stance = DIR_EXPECTATIONS[check.expect]
    delta = float(variant.stance_scores[stance]) - float(base.stance_scores[stance])
    why = []
    if delta > DIR_TOLERANCE + 1e-9:
        why.append(f"P({stance}) rose by {delta:.3f} (> {DIR_TOLERANCE})")
    if variant.stance == stance and base.stance != stance:
        why.append(f"variant is {stance}, base is {base.stance}")
    return why, delta


def evaluate(check: Check, results: Sequence) -> tuple[bool, dict]:
    """(passed, failure detail) for one check given the scorer's results for its texts, in order."""
    detail: dict = {"id": check.id}
    if check.type == "MFT":
        why = _evaluate_mft(check, results[0])
        detail.update(expected=dict(check.expect), got=_labels(results[0]), text=check.texts[0])
    elif check.type == "INV":
        why = _evaluate_inv(check, results)
        detail.update(expected="same topics and stance for all texts", got=[_labels(r) for r in results])
    else:
        why, delta = _evaluate_dir(check, *results)
        stance = DIR_EXPECTATIONS[check.expect]
        detail.update(expected=check.expect, delta=round(delta, 4), got={
            name: {"stance": r.stance, f"p_{stance}": round(float(r.stance_scores[stance]), 4)}
            for name, r in (("base", results[0]), ("variant", results[1]))})
    detail["why"] = "; ".join(why)
    return not why, detail


def run_checks(scorer, checks: Sequence[Check], max_failures: int = MAX_FAILURES) -> dict:
    """Score every distinct text in one `scorer.score_paragraphs` call and grade each check.

    Returns {"capabilities": {name: {"type", "cases", "passed", "pass_rate", "failures"}},
    "cases", "passed", "pass_rate"}; `failures` keeps the first `max_failures` failing cases.
    """
    texts = list(dict.fromkeys(text for check in checks for text in check.texts))
    results = list(scorer.score_paragraphs(texts)) if texts else []
    if len(results) != len(texts):
        raise ValueError(f"scorer returned {len(results)} results for {len(texts)} texts")
    by_text = dict(zip(texts, results))
    capabilities: dict[str, dict] = {}
    for check in checks:
        entry = capabilities.setdefault(check.capability, {"type": check.type, "cases": 0, "passed": 0,
                                                           "pass_rate": 0.0, "failures": []})
        if check.type not in entry["type"].split("+"):
            entry["type"] = "+".join(sorted(entry["type"].split("+") + [check.type], key=CHECK_TYPES.index))
        passed, detail = evaluate(check, [by_text[t] for t in check.texts])
        entry["cases"] += 1
        entry["passed"] += passed
        if not passed and len(entry["failures"]) < max_failures:
            entry["failures"].append(detail)
    for entry in capabilities.values():
        entry["pass_rate"] = entry["passed"] / entry["cases"]
    cases = sum(e["cases"] for e in capabilities.values())
    passed = sum(e["passed"] for e in capabilities.values())
    return {"capabilities": capabilities, "cases": cases, "passed": passed,
            "pass_rate": passed / cases if cases else 0.0}


def format_checks(report: dict, show_failures: bool = True) -> str:
    """A plain-text table, one row per capability and an overall row, then the failing cases."""
    rows = [(name, e["type"], e["cases"], e["passed"], e["pass_rate"]) for name, e in report["capabilities"].items()]
    width = max([len("capability"), len("overall")] + [len(r[0]) for r in rows])
    header = f"{'capability':<{width}}  {'type':<7} {'cases':>5} {'passed':>6} {'pass rate':>9}"
    lines = [header, "-" * len(header)]
    lines += [f"{name:<{width}}  {kind:<7} {cases:>5} {passed:>6} {rate:>9.1%}" for name, kind, cases, passed, rate in rows]
    lines += ["-" * len(header),
              f"{'overall':<{width}}  {'':<7} {report['cases']:>5} {report['passed']:>6} {report['pass_rate']:>9.1%}"]
    if show_failures:
        failing = [(name, f) for name, e in report["capabilities"].items() for f in e["failures"]]
        if failing:
            lines += ["", "failures (first few per capability):"]
            lines += [f"  {name} / {f['id']}: {f['why']}" for name, f in failing]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m topic_stance.checks MODEL_DIR`: run the suite on a trained model, print the table."""
    parser = argparse.ArgumentParser(prog="python -m topic_stance.checks", description=main.__doc__)
    parser.add_argument("model", help="a trained model folder")
    parser.add_argument("--checks", nargs="+", default=[str(DEFAULT_CHECKS)], help="check files or folders")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", type=Path, help="also write the full report here")
    args = parser.parse_args(argv)
    try:
        checks = load_checks(args.checks)
    except LabelFileError as err:
        print(err, file=sys.stderr)
        return 1
    from .inference import ArticleScorer  # heavy import only when a model is really run

    report = run_checks(ArticleScorer.from_pretrained(args.model, device=args.device), checks)
    print(format_checks(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
