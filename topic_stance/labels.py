"""The label schema of docs/labeling-guide.md: names, vector encoding, record validation.

This is the one place that knows the labels. The model saves them in its config, so a
folder trained today still decodes correctly if this list ever grows.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

TOPICS: tuple[str, ...] = ("taiwan", "ukraine_russia", "trade", "human_rights")
STANCES: tuple[str, ...] = ("confrontational", "conciliatory", "neutral")
REQUIRED_FIELDS = ("id", "text", "topics", "stance")


class LabelFileError(ValueError):
    """One or more records of a label file break the guide; `problems` lists them all."""

    def __init__(self, problems: Sequence["Problem"]):
        self.problems = list(problems)
        shown = "\n".join(f"  {p}" for p in self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{len(self.problems)} problem(s) in label data:\n{shown}{more}")


@dataclass(frozen=True)
class Problem:
    """Where a record breaks the guide: file, 1-based line, field and what is wrong."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: field '{self.field}': {self.message}"


def encode_topics(topics: Iterable[str], labels: Sequence[str] = TOPICS) -> list[float]:
    """Multi-hot vector in `labels` order (a model's own `topic_labels` when scoring it).

    >>> encode_topics(["trade"])
    [0.0, 0.0, 1.0, 0.0]
    >>> encode_topics(["trade"], ["trade", "taiwan"])
    [1.0, 0.0]
    """
    present = set(topics)
    return [1.0 if name in present else 0.0 for name in labels]


def decode_topics(vector: Sequence[float | int | bool], names: Sequence[str] = TOPICS) -> list[str]:
    """Labels whose entry is truthy.

    >>> decode_topics([1, 0, 0, 1])
    ['taiwan', 'human_rights']
    """
    return [name for name, on in zip(names, vector) if on]


def validate_record(record: object, path: str, line: int) -> list[Problem]:
    """Every way one parsed record breaks the guide (empty list when it is valid)."""
    if not isinstance(record, dict):
        return [Problem(path, line, "<record>", f"expected a JSON object, got {type(record).__name__}")]
    problems = []
    for field in REQUIRED_FIELDS:
        if field not in record:
            problems.append(Problem(path, line, field, "missing"))
    record_id = record.get("id")
    if "id" in record and (not isinstance(record_id, str) or not record_id.strip()):
        problems.append(Problem(path, line, "id", "must be a non-empty string"))
    text = record.get("text")
    if "text" in record:
        if not isinstance(text, str):
            problems.append(Problem(path, line, "text", f"must be a string, got {type(text).__name__}"))
        elif not text.strip():
            problems.append(Problem(path, line, "text", "is empty"))
    topics = record.get("topics")
    if "topics" in record:
        if not isinstance(topics, list):
            problems.append(Problem(path, line, "topics", "must be a list (use [] for no topic)"))
        else:
            for topic in topics:
                if topic not in TOPICS:
                    problems.append(Problem(path, line, "topics", f"unknown label {topic!r}; allowed: {', '.join(TOPICS)}"))
            if len(set(map(str, topics))) != len(topics):
                problems.append(Problem(path, line, "topics", "lists a label twice"))
    stance = record.get("stance")
    if "stance" in record and stance not in STANCES:
        problems.append(Problem(path, line, "stance", f"unknown label {stance!r}; allowed: {', '.join(STANCES)}"))
    if "article_id" in record and (not isinstance(record["article_id"], str) or not record["article_id"]):
        problems.append(Problem(path, line, "article_id", "must be a non-empty string"))
    return problems


def article_id_of(record: dict) -> str:
    """The record's article: `article_id`, else the id up to its last '-p' (seed-003-p07 -> seed-003)."""
    if record.get("article_id"):
        return record["article_id"]
    head, sep, _ = record["id"].rpartition("-p")
    return head if sep else record["id"]


def iter_jsonl(path: Path) -> Iterator[tuple[int, object]]:
    """(line number, parsed value) for each non-blank line of a file; see iter_jsonl_bytes."""
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        yield 0, Problem(str(path), 0, "<file>", f"cannot read: {err.strerror or err}")
        return
    yield from iter_jsonl_bytes(raw, str(path))


def iter_jsonl_bytes(raw: bytes, name: str) -> Iterator[tuple[int, object]]:
    """The one JSONL reader: (line number, value), or a Problem where a line is not UTF-8 or not JSON.

    A UTF-8 byte-order mark is accepted. Label files, annotation batches, checks and `predict`
    input all read through here, so the same bad byte gets the same message everywhere.
    """
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    for number, raw_line in enumerate(raw.splitlines(), start=1):
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError as err:
            yield number, Problem(name, number, "<line>", f"not UTF-8 (byte {err.start})")
            continue
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as err:
            yield number, Problem(name, number, "<json>", f"invalid JSON: {err.msg} (column {err.colno})")


def read_label_file(path: str | Path) -> tuple[list[dict], list[Problem]]:
    """Parse a JSON Lines label file, keeping every valid record and listing every problem.

    A bad line never hides the rest of the file: all problems are collected, so a user
    fixes a file in one pass. Ids must be unique within the file.

    >>> records, problems = read_label_file(DATA / "labelled" / "seed.jsonl")
    """
    path = Path(path)
    records: list[dict] = []
    problems: list[Problem] = []
    seen_ids: dict[str, int] = {}
    for number, record in iter_jsonl(path):
        if isinstance(record, Problem):
            problems.append(record)
            continue
        found = validate_record(record, str(path), number)
        if not found and record["id"] in seen_ids:
            found = [Problem(str(path), number, "id", f"duplicate id {record['id']!r} (first on line {seen_ids[record['id']]})")]
        if found:
            problems.extend(found)
            continue
        seen_ids[record["id"]] = number
        record.setdefault("article_id", article_id_of(record))
        record.setdefault("source", path.stem)
        records.append(record)
    if not records and not problems:
        problems.append(Problem(str(path), 0, "<file>", "holds no records"))
    return records, problems


def iter_label_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Expand files and folders (every *.jsonl below a folder, sorted) into label files."""
    for item in paths:
        item = Path(item)
        if item.is_dir():
            yield from sorted(p for p in item.rglob("*.jsonl") if p.is_file())
        else:
            yield item


def load_records(paths: Iterable[str | Path]) -> list[dict]:
    """Read and validate many label files; raise LabelFileError listing every problem.

    >>> records = load_records([DATA / "labelled"])
    """
    records: list[dict] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    files = list(iter_label_paths(paths))
    if not files:
        raise LabelFileError([Problem(", ".join(map(str, paths)), 0, "<file>", "no label files found")])
    for path in files:
        found, file_problems = read_label_file(path)
        problems.extend(file_problems)
        for record in found:
            if record["id"] in seen:
                problems.append(Problem(str(path), 0, "id", f"duplicate id {record['id']!r} (also in {seen[record['id']]})"))
                continue
            seen[record["id"]] = str(path)
            records.append(record)
    if problems:
        raise LabelFileError(problems)
    return records
