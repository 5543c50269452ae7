"""Build `data/labelled/authored.jsonl` from the raw authored articles and their annotations,
and `data/transfer/paragraphs.jsonl` (unlabelled text the teacher labels for distillation).

Why a build step: the label file's text must be exactly what the project's splitter yields
for the raw article, so labels are written against paragraph numbers and the text is taken
from the splitter here. An annotation whose text no longer matches its paragraph is an error,
so raw files and labels cannot drift apart.

  python -m tools.corpus draft data/raw/authored/authored-001.txt   # skeleton to label
  python -m tools.corpus build                                       # write authored.jsonl, paragraphs.jsonl
  python -m tools.corpus check                                       # CI: both files are up to date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

from topic_stance.labels import LabelFileError, Problem, iter_jsonl, validate_record
from topic_stance.paragraphs import comparison_key, split_article

DATA = Path(__file__).resolve().parent.parent / "data"
RAW_DIR = DATA / "raw" / "authored"
ANNOTATION_DIR = DATA / "annotations" / "authored"
OUTPUT = DATA / "labelled" / "authored.jsonl"
SEED_DIR = DATA / "raw" / "seed"
TRANSFER_RAW_DIR = DATA / "transfer" / "raw"
TRANSFER_OUTPUT = DATA / "transfer" / "paragraphs.jsonl"


def paragraph_id(article_id: str, index: int) -> str:
    """>>> paragraph_id("authored-001", 3) == "authored-001-p03" """
    return f"{article_id}-p{index:02d}"


def read_annotations(paths: list[Path]) -> tuple[dict[tuple[str, int], dict], list[Problem]]:
    """All annotation records keyed by (article_id, paragraph index), with every problem found."""
    found: dict[tuple[str, int], dict] = {}
    problems: list[Problem] = []
    for path in paths:
        for number, record in iter_jsonl(path):
            if isinstance(record, Problem):
                problems.append(record)
                continue
            if not isinstance(record, dict) or not isinstance(record.get("paragraph"), int):
                problems.append(Problem(str(path), number, "paragraph", "missing or not an integer"))
                continue
            as_label = {"id": "x", **record}
            problems.extend(validate_record(as_label, str(path), number))
            key = (record.get("article_id"), record["paragraph"])
            if key in found:
                problems.append(Problem(str(path), number, "paragraph", f"{key} annotated twice"))
            record["_where"] = (str(path), number)
            found[key] = record
    return found, problems


def build_records(annotation_paths: list[Path] | None = None, raw_dir: Path = RAW_DIR) -> list[dict]:
    """Label records for the annotated articles (default: all); raise LabelFileError on any mismatch.

    With explicit annotation files only the articles they name are built (a helper checks a batch).
    """
    everything = annotation_paths is None
    annotations, problems = read_annotations(sorted(ANNOTATION_DIR.glob("*.jsonl")) if everything else annotation_paths)
    records: list[dict] = []
    used: set[tuple[str, int]] = set()
    wanted = {article_id for article_id, _ in annotations}
    raw_paths = sorted(raw_dir.glob("*.txt")) if everything else [raw_dir / f"{a}.txt" for a in sorted(wanted)]
    for path in raw_paths:
        if not path.exists():
            problems.append(Problem(str(path), 0, "article_id", "annotated, but no such raw file"))
            continue
        article_id = path.stem
        article = split_article(path.read_text(encoding="utf-8"))
        if article.headline is None:
            problems.append(Problem(str(path), 1, "headline", "the splitter found no headline"))
        for paragraph in article.paragraphs:
            key = (article_id, paragraph.index)
            note = annotations.get(key)
            if note is None:
                problems.append(Problem(str(path), 0, "paragraph", f"paragraph {paragraph.index} has no annotation: {paragraph.text[:60]!r}"))
                continue
            used.add(key)
            if comparison_key(note["text"]) != comparison_key(paragraph.text):
                where, line = note["_where"]
                problems.append(Problem(where, line, "text", f"does not match paragraph {paragraph.index} of {path.name}: splitter gives {paragraph.text[:60]!r}"))
                continue
            records.append({
                "id": paragraph_id(article_id, paragraph.index),
                "article_id": article_id,
                "text": paragraph.text,
                "topics": sorted(note["topics"], key=("taiwan", "ukraine_russia", "trade", "human_rights").index),
                "stance": note["stance"],
                "source": "authored",
            })
    for key, note in annotations.items():
        if key not in used and not any(p.path == note["_where"][0] and p.line == note["_where"][1] for p in problems):
            where, line = note["_where"]
            problems.append(Problem(where, line, "paragraph", f"{key} matches no paragraph of a raw file"))
    if problems:
        raise LabelFileError(problems)
    return records


def build_transfer_records(labelled: list[dict], raw_dir: Path = TRANSFER_RAW_DIR) -> tuple[list[dict], list[str]]:
    """The transfer set: the body paragraphs the splitter yields for the raw transfer articles, and what was left out.

    No labels: the teacher labels this text (`make teacher-targets`) and the student learns from
    its soft targets only, so more varied text reaches the student than the gold corpus holds.
    A paragraph is left out (and listed) when it copies a seed sentence or near-copies a labelled
    paragraph, a behavioural check or an earlier transfer paragraph: transfer text must not carry
    validation, test or check text into training.
    """
    from topic_stance.checks import DEFAULT_CHECKS, load_checks

    seeds = seed_sentences()
    index = ShingleIndex()
    for record in labelled:
        index.add(record["id"], record["text"])
    for check in load_checks([DEFAULT_CHECKS]):
        for text in check.texts:
            index.add(f"check {check.id}", text)
    records, left_out = [], []
    for path in sorted(raw_dir.glob("*.txt")):
        for paragraph in split_article(path.read_text(encoding="utf-8")).paragraphs:
            record = {"id": paragraph_id(path.stem, paragraph.index), "article_id": path.stem,
                      "text": paragraph.text, "source": "transfer"}
            copied = next(seed_copies(paragraph.text, seeds), None)
            match = index.match(paragraph.text)
            if copied or match:
                left_out.append(f"{record['id']}: left out, " + (f"copies a seed sentence {copied[:50]!r}" if copied else
                                                                 f"shares {match[1]:.0%} of its word 5-grams with {match[0]}"))
                continue
            index.add(record["id"], paragraph.text)
            records.append(record)
    return records, left_out


class ShingleIndex:
    """Word 5-gram sets of reference texts; `match` finds one sharing more than half of the smaller set."""

    def __init__(self):
        self.keys: list[str] = []
        self.grams: list[set] = []
        self.index: dict[tuple[str, ...], list[int]] = {}

    def add(self, key: str, text: str) -> None:
        grams = shingles(text)
        for gram in grams:
            self.index.setdefault(gram, []).append(len(self.keys))
        self.keys.append(key)
        self.grams.append(grams)

    def match(self, text: str, threshold: float = 0.5) -> tuple[str, float] | None:
        mine = shingles(text)
        shared = Counter(i for gram in mine for i in self.index.get(gram, ()))
        for i, count in shared.most_common():
            overlap = count / max(min(len(mine), len(self.grams[i])), 1)
            if overlap > threshold:
                return self.keys[i], overlap
        return None


def sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+", text)


def seed_sentences(seed_dir: Path = SEED_DIR) -> set[str]:
    """Normalised sentences (8+ words) of the seed articles: none may appear in authored text."""
    found = set()
    for path in seed_dir.glob("*.txt"):
        for paragraph in split_article(path.read_text(encoding="utf-8")).paragraphs:
            found |= {comparison_key(sentence) for sentence in sentences(paragraph.text) if len(sentence.split()) >= 8}
    return found


def seed_copies(text: str, seeds: set[str]):
    """The sentences of `text` that are seed sentences (see seed_sentences)."""
    return (sentence for sentence in sentences(text) if comparison_key(sentence) in seeds)


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", comparison_key(text))
    return {tuple(words[i:i + n]) for i in range(max(len(words) - n + 1, 1))}


def near_duplicates(records: list[dict], threshold: float = 0.5) -> list[tuple[str, str, float]]:
    """Pairs of paragraphs sharing more than `threshold` of the smaller one's word 5-grams."""
    index: dict[tuple[str, ...], list[int]] = {}
    grams = [shingles(r["text"]) for r in records]
    for i, gram_set in enumerate(grams):
        for gram in gram_set:
            index.setdefault(gram, []).append(i)
    shared: Counter = Counter()
    for members in index.values():
        if len(members) < 50:
            for a in range(len(members)):
                for b in range(a + 1, len(members)):
                    shared[(members[a], members[b])] += 1
    pairs = []
    for (a, b), count in shared.items():
        overlap = count / max(min(len(grams[a]), len(grams[b])), 1)
        if overlap > threshold:
            pairs.append((records[a]["id"], records[b]["id"], round(overlap, 2)))
    return pairs


def lint(records: list[dict], transfer: list[dict] = ()) -> list[str]:
    """Corpus-level problems: seed sentences copied, near-duplicate paragraphs (labelled and transfer text
    together, so transfer text cannot near-copy a validation or test paragraph either)."""
    issues = []
    seeds = seed_sentences()
    records = list(records) + list(transfer)
    for record in records:
        for sentence in seed_copies(record["text"], seeds):
            issues.append(f"{record['id']}: copies a seed sentence: {sentence[:60]!r}")
    for a, b, overlap in near_duplicates(records):
        issues.append(f"{a} ~ {b}: share {overlap:.0%} of their word 5-grams")
    return issues


def _write_jsonl(records: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.corpus", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    draft = sub.add_parser("draft", help="print annotation skeletons for raw files")
    draft.add_argument("files", nargs="+", type=Path)
    sub.add_parser("build", help="write data/labelled/authored.jsonl and data/transfer/paragraphs.jsonl")
    sub.add_parser("check", help="fail if either file is stale or the corpus has lint problems")
    validate = sub.add_parser("validate", help="check some annotation files and their raw articles, print counts")
    validate.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)

    if args.command == "draft":
        for path in args.files:
            article = split_article(path.read_text(encoding="utf-8"))
            print(f"# headline: {article.headline}", file=sys.stderr)
            for p in article.paragraphs:
                print(json.dumps({"article_id": path.stem, "paragraph": p.index, "text": p.text,
                                  "topics": [], "stance": "neutral"}, ensure_ascii=False))
        return 0
    try:
        records = build_records(args.files if args.command == "validate" else None)
    except LabelFileError as err:
        print(err, file=sys.stderr)
        return 1
    transfer, left_out = build_transfer_records(records) if args.command != "validate" else ([], [])
    problems = lint(records, transfer)
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.command == "validate":
        topics = Counter(t for r in records for t in r["topics"])
        print(f"OK: {len(records)} paragraphs in {len({r['article_id'] for r in records})} articles; "
              f"topics {dict(topics)}; no topic {sum(not r['topics'] for r in records)}; "
              f"2+ topics {sum(len(r['topics']) > 1 for r in records)}; "
              f"stances {dict(Counter(r['stance'] for r in records))}")
        return 1 if problems else 0
    outputs = {OUTPUT: records, TRANSFER_OUTPUT: transfer}
    if args.command == "build":
        for note in left_out:
            print(note, file=sys.stderr)
        for path, rows in outputs.items():
            _write_jsonl(rows, path)
            print(f"wrote {len(rows)} paragraphs from {len({r['article_id'] for r in rows})} articles to {path}")
        return 1 if problems else 0
    for path, rows in outputs.items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows):
            print(f"{path} is stale: run `python -m tools.corpus build`", file=sys.stderr)
            return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
