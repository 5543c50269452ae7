"""Reading articles for `predict` (with precise errors) and writing results atomically.

Every bad input is reported as `file:line: field: message`; outputs go to a temporary file
that is renamed only when complete, so a crash or Ctrl-C never leaves a half-written file.
"""

from __future__ import annotations

import csv
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .labels import Problem

MAX_PARAGRAPH_CHARS = 100_000
OUTPUT_FORMATS = (".jsonl", ".csv", ".parquet")


@dataclass
class InputRecord:
    """One article (or one paragraph with --unit paragraph) read from an input."""

    id: str
    text: str
    path: str
    line: int


def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders -> their *.txt articles (recursively, sorted)."""
    paths = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*.txt") if p.is_file())
            if not found:
                raise FileNotFoundError(f"{item}: folder holds no .txt files")
            paths.extend(found)
        elif item.exists():
            paths.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    return paths


def _check_text(text, path: str, line: int, field: str, max_chars: int, unit: str) -> Problem | None:
    if not isinstance(text, str):
        return Problem(path, line, field, f"must be a string, got {type(text).__name__}")
    if not text.strip():
        return Problem(path, line, field, "is empty")
    pieces = [text] if unit == "paragraph" else text.splitlines()
    longest = max((len(p) for p in pieces), default=0)
    if longest > max_chars:
        return Problem(path, line, field, f"holds a paragraph of {longest:,} characters, over the limit of "
                                          f"{max_chars:,} (raise --max-chars to score it)")
    return None


def read_inputs(paths: list[Path], unit: str = "article",
                max_chars: int = MAX_PARAGRAPH_CHARS) -> Iterator[InputRecord | Problem]:
    """Yield each input record, or a Problem where one is bad; never raises on content.

    `.txt`: one article per file (unit article) or one paragraph per non-blank line.
    `.jsonl`: one `{"id", "text"}` record per line.
    """
    for path in paths:
        name = str(path)
        try:
            raw = path.read_bytes()
        except OSError as err:
            yield Problem(name, 0, "<file>", f"cannot read: {err.strerror or err}")
            continue
        if not raw.strip():
            yield Problem(name, 0, "<file>", "is empty")
            continue
        if b"\x00" in raw[:8192]:
            yield Problem(name, 0, "<file>", "is a binary file, not text")
            continue
        if path.suffix == ".jsonl":
            yield from _read_jsonl(raw, name, unit, max_chars)
        else:
            yield from _read_text(raw, path, unit, max_chars)


def _decode(raw: bytes, name: str, line_offset: int = 0) -> tuple[str | None, Problem | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1 + line_offset
        return None, Problem(name, line, "<encoding>", f"not UTF-8 (bad byte 0x{raw[err.start]:02x})")


def _read_text(raw: bytes, path: Path, unit: str, max_chars: int) -> Iterator[InputRecord | Problem]:
    text, problem = _decode(raw, str(path))
    if problem:
        yield problem
        return
    if unit == "article":
        problem = _check_text(text, str(path), 1, "text", max_chars, unit)
        yield problem or InputRecord(path.stem, text, str(path), 1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            problem = _check_text(line, str(path), number, "text", max_chars, unit)
            yield problem or InputRecord(f"{path.stem}-l{number}", line.strip(), str(path), number)


def _read_jsonl(raw: bytes, name: str, unit: str, max_chars: int) -> Iterator[InputRecord | Problem]:
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        decoded, problem = _decode(line, name, number - 1)
        if problem:
            yield problem
            continue
        try:
            record = json.loads(decoded)
        except json.JSONDecodeError as err:
            yield Problem(name, number, "<json>", f"invalid JSON: {err.msg} (column {err.colno})")
            continue
        if not isinstance(record, dict):
            yield Problem(name, number, "<record>", f"expected a JSON object, got {type(record).__name__}")
            continue
        if "text" not in record:
            yield Problem(name, number, "text", "missing")
            continue
        problem = _check_text(record["text"], name, number, "text", max_chars, unit)
        if problem:
            yield problem
            continue
        record_id = record.get("id")
        yield InputRecord(str(record_id) if record_id not in (None, "") else f"{Path(name).stem}-{number}",
                          record["text"], name, number)


@contextmanager
def atomic_path(target: str | Path):
    """Yield a temporary path beside `target`; rename it to `target` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        tmp.replace(target)
    finally:
        if tmp.exists():
            tmp.unlink()


PARAGRAPH_COLUMNS = ("article_id", "id", "start", "end", "text", "topics", "stance")


def paragraph_rows(article: dict, topic_labels, stance_labels) -> Iterator[dict]:
    """Flat rows (one per paragraph) for CSV and Parquet."""
    for p in article["paragraphs"]:
        row = {"article_id": article["id"], "id": p["id"], "start": p["start"], "end": p["end"], "text": p["text"],
               "topics": ";".join(p["topics"]), "stance": p["stance"]}
        row.update({f"topic_score_{t}": p["topic_scores"][t] for t in topic_labels})
        row.update({f"stance_score_{s}": p["stance_scores"][s] for s in stance_labels})
        yield row


class ResultWriter:
    """Writes article dicts as JSONL (one article a line), CSV or Parquet (one paragraph a row)."""

    def __init__(self, path: Path, fmt: str, topic_labels, stance_labels, unit: str):
        self.path, self.fmt, self.unit = path, fmt, unit
        self.topic_labels, self.stance_labels = list(topic_labels), list(stance_labels)
        self.columns = list(PARAGRAPH_COLUMNS) + [f"topic_score_{t}" for t in self.topic_labels] + \
            [f"stance_score_{s}" for s in self.stance_labels]
        self._handle = self._csv = self._parquet = None
        self._rows: list[dict] = []

    def __enter__(self):
        if self.fmt in (".jsonl", ".csv"):
            self._handle = self.path.open("w", encoding="utf-8", newline="")
            if self.fmt == ".csv":
                self._csv = csv.DictWriter(self._handle, fieldnames=self.columns)
                self._csv.writeheader()
        return self

    def write(self, article: dict) -> None:
        if self.fmt == ".jsonl":
            if self.unit == "paragraph":
                paragraph = dict(article["paragraphs"][0], id=article["id"])
                self._handle.write(json.dumps(paragraph, ensure_ascii=False) + "\n")
            else:
                self._handle.write(json.dumps(article, ensure_ascii=False) + "\n")
        elif self.fmt == ".csv":
            self._csv.writerows(paragraph_rows(article, self.topic_labels, self.stance_labels))
        else:
            self._rows.extend(paragraph_rows(article, self.topic_labels, self.stance_labels))
            if len(self._rows) >= 50_000:
                self._flush_parquet()

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(self._rows, schema=self._schema())
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(str(self.path), table.schema)
        self._parquet.write_table(table)
        self._rows = []

    def _schema(self):
        import pyarrow as pa

        types = {"start": pa.int64(), "end": pa.int64()}
        return pa.schema([(c, types.get(c, pa.float64() if "_score_" in c else pa.string())) for c in self.columns])

    def __exit__(self, *exc):
        if self.fmt == ".parquet":
            if self._rows or self._parquet is None:
                self._flush_parquet()
            self._parquet.close()
        if self._handle:
            self._handle.close()
        return False
