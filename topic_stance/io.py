"""Reading articles for `predict` (with precise errors) and writing results atomically.

Inputs: `.txt` articles, folders of them, `.jsonl` records, `.csv` / `.parquet` tables with a
text column, `.html` / `.htm` pages and `.warc` / `.warc.gz` crawls (main text through
trafilatura), and `-` for JSON Lines on standard input. Every bad input is reported as a
`Problem` (`file:line: field: message`; for a WARC record the line is its byte offset) and
never aborts the rest. Outputs go to a hidden temporary file that is renamed only when
complete, so a crash, Ctrl-C or SIGTERM never leaves a half-written or stray file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import os
import re
import signal
import stat
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from .errors import TopicStanceError
from .labels import Problem, iter_jsonl_bytes

MAX_PARAGRAPH_CHARS = 100_000
OUTPUT_FORMATS = (".jsonl", ".csv", ".parquet")
INPUT_SUFFIXES = (".txt", ".html", ".htm", ".warc", ".warc.gz", ".jsonl", ".csv", ".parquet")
# A folder is scanned for documents only; record files (.jsonl/.csv/.parquet) are read when named,
# so metadata or an earlier run's predictions lying beside the articles are never scored as input.
FOLDER_KINDS = ("txt", "html", "warc")
META_KEYS = ("url", "title", "date", "site")
STDIN = "-"
STDIN_NAME = "<stdin>"

_KINDS = {".txt": "txt", ".html": "html", ".htm": "html", ".warc": "warc", ".jsonl": "jsonl", ".csv": "csv",
          ".parquet": "parquet"}
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Labels that browsers read as windows-1252 (WHATWG encoding standard).
_WINDOWS_1252 = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "cp819", "windows-1252"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)

log = logging.getLogger(__name__)


@dataclass
class InputRecord:
    """One article (or one paragraph with --unit paragraph) read from an input.

    `line` is the 1-based line (or row) of the record, or its byte offset inside a WARC file;
    `meta` holds what the input said about the article: url, title, date, site (where found).
    """

    id: str
    text: str
    path: str
    line: int
    meta: dict = field(default_factory=dict)


class OutputPathError(TopicStanceError, ValueError):
    """The output path is refused (it is an input, a folder, a device, or cannot be written)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived while an output was being written (handled like Ctrl-C: nothing is left behind)."""


# ---------------------------------------------------------------- finding inputs
def input_kind(path: str | Path) -> str | None:
    """'txt', 'html', 'warc', 'jsonl', 'csv' or 'parquet' by extension (any case); None if unsupported."""
    name = Path(path).name.lower()
    if name.endswith(".warc.gz"):
        return "warc"
    return _KINDS.get(Path(name).suffix)


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _broken_link(path: Path) -> bool:
    return path.is_symlink() and not path.exists()


def _scan_folder(folder: Path) -> list[Path]:
    """Supported files below `folder` (sorted), skipping hidden files and folders; broken links are kept
    so that reading them reports them. Symlinked folders are followed once (no loops)."""
    found: list[Path] = []
    visited = {os.path.realpath(folder)}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        keep = []
        for name in sorted(dirnames):
            real = os.path.realpath(os.path.join(dirpath, name))
            if not _is_hidden(name) and real not in visited:
                visited.add(real)
                keep.append(name)
        dirnames[:] = keep
        for name in filenames:
            path = Path(dirpath, name)
            if _is_hidden(name):
                continue
            if _broken_link(path) or (input_kind(path) in FOLDER_KINDS and path.is_file()):
                found.append(path)
    return sorted(found)


def _identity(path: Path):
    """What makes two paths the same file: device and inode where it exists, else the resolved path."""
    try:
        info = path.stat()
        return info.st_dev, info.st_ino
    except OSError:
        return str(path.resolve())


def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders -> their supported files (recursively, sorted, hidden ones skipped);
    `-` -> standard input (JSON Lines). A file reached twice is read once, with a warning.

    Raises FileNotFoundError for a missing input, a broken symbolic link given, or a folder
    without supported files.
    """
    paths: list[Path] = []
    seen: dict[object, Path] = {}
    for item in inputs:
        if str(item) == STDIN:
            found, key = [Path(STDIN)], STDIN
        else:
            path = Path(item)
            if _broken_link(path):
                raise FileNotFoundError(f"{path}: broken symbolic link (points to {os.readlink(path)})")
            if path.is_dir():
                found = _scan_folder(path)
                if not found:
                    raise FileNotFoundError(f"{path}: folder holds no articles (.txt, .html, .htm, .warc, "
                                            f".warc.gz; hidden files are skipped; name .jsonl/.csv/.parquet "
                                            f"files explicitly)")
            elif path.exists():
                # "./-" names a file called "-", not standard input: keep it distinguishable.
                found = [Path(os.path.abspath(path)) if str(path) == STDIN else path]
            else:
                raise FileNotFoundError(f"{path}: no such file or folder")
            key = None
        for path in found:
            ident = key or _identity(path)
            if ident in seen:
                log.warning("%s: given twice (also as %s); read once", path, seen[ident])
                continue
            seen[ident] = path
            paths.append(path)
    return paths


def check_output_path(output: str | Path, inputs: Iterable[str | Path] = ()) -> Path:
    """Refuse an output that would destroy an input or cannot be written; call before reading anything.

    Refused: an output that is (resolved) one of the inputs or lies inside an input folder whose
    scan would read it; an existing folder, device node, pipe or other non-regular file; a parent
    that is not a folder or is not writable. Returns the output as a Path; raises OutputPathError.
    """
    if str(output) == STDIN:
        raise OutputPathError("--output -: writing results to standard output is not supported; give a file name")
    out = Path(output)
    if out.is_dir():
        raise OutputPathError(f"--output {out}: is a folder; give a file name such as {out / 'predictions.jsonl'}")
    if out.exists() and not stat.S_ISREG(out.stat().st_mode):
        raise OutputPathError(f"--output {out}: exists and is not a regular file (a device, pipe or socket); "
                              f"the results cannot replace it")
    resolved = out.resolve()
    sidecar = resolved.with_name(resolved.name + ".meta.json")
    for item in inputs:
        if str(item) == STDIN:
            continue
        source = Path(item)
        real = source.resolve()
        if real == resolved or (out.exists() and source.exists() and os.path.samefile(out, source)):
            raise OutputPathError(f"--output {out}: is also the input {source}; the results would overwrite it")
        if real == sidecar:
            raise OutputPathError(f"--output {out}: its metadata file would overwrite the input {source}")
        if source.is_dir() and input_kind(out) and resolved.is_relative_to(real) and \
                not any(_is_hidden(part) for part in resolved.relative_to(real).parts):
            raise OutputPathError(f"--output {out}: lies inside the input folder {source}, whose scan would read "
                                  f"it as an input next time; write it elsewhere")
    parent = resolved.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputPathError(f"--output {out}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"--output {out}: cannot write in the folder {parent} (permission denied)")
    return out


# ---------------------------------------------------------------- reading
def read_inputs(paths: list[Path], unit: str = "article", max_chars: int = MAX_PARAGRAPH_CHARS, *,
                text_column: str = "text", id_column: str = "id") -> Iterator[InputRecord | Problem]:
    """Yield each input record, or a Problem where one is bad; never raises on content.

    `.txt`: one article per file (unit article) or one paragraph per non-blank line.
    `.html` / `.htm`: the page's main text (title as first line), one paragraph a line.
    `.warc` / `.warc.gz`: each HTML HTTP response is one article, id = its WARC-Target-URI.
    `.jsonl` and `-` (stdin): one `{id, text}` object per line; `.csv` / `.parquet`: one row each.
    `text_column` / `id_column` name the fields of jsonl, csv and parquet records (ids are optional
    when the id column is the default `id`). Ids must be unique across all inputs.
    """
    seen: dict[str, str] = {}
    for path in paths:
        for item in _read_one(Path(path), unit, max_chars, text_column, id_column):
            if isinstance(item, InputRecord):
                where = f"{item.path}:{item.line}"
                if item.id in seen:
                    yield Problem(item.path, item.line, "id", f"duplicate id {item.id!r} (also at {seen[item.id]})")
                    continue
                seen[item.id] = where
            yield item


def _read_one(path: Path, unit: str, max_chars: int, text_column: str, id_column: str):
    if str(path) == STDIN:
        raw, problem = _stdin_bytes()
        if problem:
            yield problem
            return
        name, kind = STDIN_NAME, "jsonl"
    else:
        name, kind = str(path), input_kind(path) or "txt"
        if _broken_link(path):
            yield Problem(name, 0, "<file>", f"broken symbolic link (points to {os.readlink(path)})")
            return
        if kind == "warc":
            yield from _read_warc(path, unit, max_chars)
            return
        if kind == "parquet":
            yield from _read_parquet(path, unit, max_chars, text_column, id_column)
            return
        try:
            raw = path.read_bytes()
        except OSError as err:
            yield Problem(name, 0, "<file>", f"cannot read: {err.strerror or err}")
            return
    raw, had_bom, problem = _normalise_bytes(raw, name)
    if problem:
        yield problem
    elif kind == "jsonl":
        yield from _read_jsonl(raw, name, unit, max_chars, text_column, id_column)
    elif kind == "csv":
        yield from _read_csv(raw, name, unit, max_chars, text_column, id_column)
    elif kind == "html":
        yield from _read_html_file(raw, had_bom, path, unit, max_chars)
    else:
        yield from _read_text(raw, path, unit, max_chars)


_stdin_cache: tuple[object, bytes] | None = None


def _stdin_bytes() -> tuple[bytes | None, Problem | None]:
    """All of standard input, read once (predict reads its inputs twice: validation, then scoring)."""
    global _stdin_cache
    stream = sys.stdin
    if stream is None:
        return None, Problem(STDIN_NAME, 0, "<file>", "no standard input")
    if _stdin_cache is None or _stdin_cache[0] is not stream:
        if getattr(stream, "isatty", lambda: False)():
            log.warning("reading JSON Lines from the terminal; end with Ctrl-D")
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            data = buffer.read()
        else:
            text = stream.read()
            try:
                data = text.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:
                data = text.encode("utf-8", "surrogatepass")
        _stdin_cache = (stream, data)
    return _stdin_cache[1], None


def _normalise_bytes(raw: bytes, name: str) -> tuple[bytes, bool, Problem | None]:
    """UTF-8 bytes without a byte-order mark (UTF-16 with a BOM is converted), whether a BOM was there,
    or a Problem for an empty, binary or undecodable file."""
    if not raw.strip():
        return raw, False, Problem(name, 0, "<file>", "is empty")
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return raw, True, Problem(name, 0, "<encoding>", "is UTF-32 text; convert it to UTF-8")
    if raw.startswith(codecs.BOM_UTF8):
        raw, had_bom = raw[len(codecs.BOM_UTF8):], True
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            raw, had_bom = raw.decode("utf-16").encode("utf-8"), True
        except UnicodeDecodeError as err:
            return raw, True, Problem(name, 0, "<encoding>", f"is UTF-16 text that does not decode ({err.reason} "
                                                            f"at byte {err.start}); convert it to UTF-8")
    else:
        had_bom = False
    if not raw.strip():
        return raw, had_bom, Problem(name, 0, "<file>", "is empty")
    if b"\x00" in raw[:8192]:
        if _looks_like_utf16(raw[:8192]):
            return raw, had_bom, Problem(name, 0, "<encoding>", "is UTF-16 text without a byte-order mark; "
                                                                "convert it to UTF-8")
        return raw, had_bom, Problem(name, 0, "<file>", "is a binary file, not text")
    return raw, had_bom, None


def _looks_like_utf16(sample: bytes) -> bool:
    sample = sample[:len(sample) // 2 * 2]
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        plain = sum(1 for ch in text if ch < "\x80" and (ch.isprintable() or ch in "\r\n\t"))
        if len(text) >= 2 and plain >= 0.9 * len(text):
            return True
    return False


def _decode(raw: bytes, name: str, line_offset: int = 0) -> tuple[str | None, Problem | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1 + line_offset
        return None, Problem(name, line, "<encoding>", f"not UTF-8 (bad byte 0x{raw[err.start]:02x})")


def _unicode_problem(value: str, path: str, line: int, field_name: str) -> Problem | None:
    """A lone surrogate (e.g. JSON "\\ud800") parses but cannot be written as UTF-8: catch it here."""
    try:
        value.encode("utf-8")
        return None
    except UnicodeEncodeError as err:
        return Problem(path, line, field_name, f"holds a lone surrogate \\u{ord(value[err.start]):04x} at character "
                                               f"{err.start}: not valid Unicode")


def _check_text(text, path: str, line: int, field: str, max_chars: int, unit: str) -> Problem | None:
    if text is None:
        return Problem(path, line, field, "is empty (null)")
    if not isinstance(text, str):
        return Problem(path, line, field, f"must be a string, got {type(text).__name__}")
    if not text.strip():
        return Problem(path, line, field, "is empty")
    problem = _unicode_problem(text, path, line, field)
    if problem:
        return problem
    pieces = [text] if unit == "paragraph" else text.splitlines()
    longest = max((len(p) for p in pieces), default=0)
    if longest > max_chars:
        return Problem(path, line, field, f"holds a paragraph of {longest:,} characters, over the limit of "
                                          f"{max_chars:,} (raise --max-chars to score it)")
    return None


def _meta_from(values: dict, path: str, line: int) -> tuple[dict, Problem | None]:
    """url / title / date / site found in a record (or in its own `meta` object), as strings."""
    nested = values.get("meta") if isinstance(values.get("meta"), dict) else {}
    meta = {}
    for key in META_KEYS:
        value = values.get(key, nested.get(key))
        if value is None or value == "":
            continue
        value = value.isoformat() if hasattr(value, "isoformat") else str(value)
        problem = _unicode_problem(value, path, line, key)
        if problem:
            return {}, problem
        meta[key] = value
    return meta, None


def _record(values: dict, path: str, line: int, default_id: str, unit: str, max_chars: int,
            text_column: str, id_column: str) -> InputRecord | Problem:
    """One jsonl / csv / parquet record -> an InputRecord, or the first Problem with it."""
    if text_column not in values:
        return Problem(path, line, text_column, "missing")
    text = values[text_column]
    problem = _check_text(text, path, line, text_column, max_chars, unit)
    if problem:
        return problem
    record_id = values.get(id_column)
    record_id = str(record_id) if record_id not in (None, "") else default_id
    problem = _unicode_problem(record_id, path, line, id_column)
    if problem:
        return problem
    meta, problem = _meta_from({k: v for k, v in values.items() if k not in (text_column, id_column)}, path, line)
    return problem or InputRecord(record_id, text, path, line, meta)


def _stem(name: str) -> str:
    return "stdin" if name == STDIN_NAME else Path(name).stem


def _read_text(raw: bytes, path: Path, unit: str, max_chars: int) -> Iterator[InputRecord | Problem]:
    text, problem = _decode(raw, str(path))
    if problem:
        yield problem
        return
    yield from _document(text, path.stem, str(path), None, {}, unit, max_chars)


def _document(text: str, doc_id: str, path: str, offset: int | None, meta: dict, unit: str, max_chars: int,
              skip: str | None = None) -> Iterator[InputRecord | Problem]:
    """A whole article (unit article) or one record per non-blank line (unit paragraph), placed at its
    line, or at `offset` for all of them (a WARC record). Lines equal to `skip` (the title) are left out."""
    from .paragraphs import comparison_key

    if unit == "article":
        problem = _check_text(text, path, offset or 1, "text", max_chars, unit)
        yield problem or InputRecord(doc_id, text, path, offset or 1, dict(meta))
        return
    found, skip_key = False, comparison_key(skip) if skip else None
    for number, piece in enumerate(text.splitlines(), start=1):
        if piece.strip() and (skip_key is None or comparison_key(piece) != skip_key):
            found = True
            at = number if offset is None else offset
            problem = _check_text(piece, path, at, "text", max_chars, unit)
            yield problem or InputRecord(f"{doc_id}-l{number}", piece.strip(), path, at, dict(meta))
    if not found:
        yield Problem(path, offset or 1, "text", "is empty")


def _read_jsonl(raw: bytes, name: str, unit: str, max_chars: int, text_column: str = "text",
                id_column: str = "id") -> Iterator[InputRecord | Problem]:
    for number, value in iter_jsonl_bytes(raw, name):
        if isinstance(value, Problem):
            yield value
        elif not isinstance(value, dict):
            yield Problem(name, number, "<record>", f"expected a JSON object, got {type(value).__name__}")
        elif text_column not in value:
            yield Problem(name, number, text_column, "missing")
        else:
            yield _record(value, name, number, f"{_stem(name)}-{number}", unit, max_chars, text_column, id_column)


def _missing_column(name: str, column: str, columns: list[str], option: str) -> Problem:
    shown = ", ".join(map(repr, columns[:20])) + (" ..." if len(columns) > 20 else "")
    return Problem(name, 1, column, f"no column {column!r} in this file (columns: {shown}); name the right one "
                                    f"with {option}")


def _check_columns(name: str, columns: list[str], text_column: str, id_column: str) -> Problem | None:
    if text_column not in columns:
        return _missing_column(name, text_column, columns, "--text-column")
    if id_column not in columns and id_column != "id":
        return _missing_column(name, id_column, columns, "--id-column")
    return None


def _read_csv(raw: bytes, name: str, unit: str, max_chars: int, text_column: str,
              id_column: str) -> Iterator[InputRecord | Problem]:
    text, problem = _decode(raw, name)
    if problem:
        yield problem
        return
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as err:
        yield Problem(name, 1, "<csv>", f"no header row ({err})" if str(err) else "no header row")
        return
    problem = _check_columns(name, header, text_column, id_column)
    if problem:
        yield problem
        return
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield Problem(name, start, "<csv>", f"invalid CSV: {err}")
            return  # the reader cannot resynchronise after a broken quote
        if not any(cell.strip() for cell in row):
            continue
        values = dict(zip(header, row))
        yield _record(values, name, start, f"{Path(name).stem}-{start}", unit, max_chars, text_column, id_column)


def _read_parquet(path: Path, unit: str, max_chars: int, text_column: str,
                  id_column: str) -> Iterator[InputRecord | Problem]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = str(path)
    try:
        table_file = pq.ParquetFile(path)
    except OSError as err:
        yield Problem(name, 0, "<file>", f"cannot read: {err.strerror or err}")
        return
    except (pa.ArrowException, ValueError) as err:
        yield Problem(name, 0, "<file>", f"not a readable Parquet file: {err}")
        return
    schema = table_file.schema_arrow
    problem = _check_columns(name, schema.names, text_column, id_column)
    if problem:
        yield problem
        return
    kind = schema.field(text_column).type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
            or getattr(pa.types, "is_string_view", lambda _: False)(kind)):
        yield Problem(name, 1, text_column, f"column holds {kind}, not text")
        return
    columns = [c for c in dict.fromkeys((text_column, id_column, *META_KEYS)) if c in schema.names]
    row = 0
    try:
        for batch in table_file.iter_batches(batch_size=1024, columns=columns):
            for values in batch.to_pylist():
                row += 1
                yield _record(values, name, row, f"{path.stem}-{row}", unit, max_chars, text_column, id_column)
    except (OSError, pa.ArrowException) as err:
        yield Problem(name, row + 1, "<file>", f"cannot read rows from {row + 1} on: {err}")


# ---------------------------------------------------------------- HTML and WARC
def _declared_charset(content_type: str | None, body: bytes) -> str | None:
    if content_type:
        match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type, re.IGNORECASE)
        if match:
            return match.group(1)
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii") if match else None


def _decode_html(body: bytes, content_type: str | None = None, had_bom: bool = False) -> tuple[str | None, str | None]:
    """(text, None) or (None, why not): the declared charset (header, then <meta>), else UTF-8."""
    if body.startswith(codecs.BOM_UTF8):
        body, had_bom = body[len(codecs.BOM_UTF8):], True
    charset = "utf-8" if had_bom else (_declared_charset(content_type, body) or "utf-8")
    label = charset.lower()
    codec = "cp1252" if label in _WINDOWS_1252 else label
    try:
        return body.decode(codec), None
    except LookupError:
        return None, f"declares an unknown charset {charset!r}"
    except UnicodeDecodeError as err:
        return None, f"not valid {charset} (bad byte 0x{body[err.start]:02x} at byte {err.start})"


@contextmanager
def _quiet(*names: str):
    """Hold the named libraries' log records below ERROR for the duration (levels restored after)."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.level, logging.ERROR))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def extract_html(html: str, url: str | None = None) -> tuple[str, dict]:
    """Main text of a page (paragraphs one per line; navigation, footers, comments dropped) and its
    metadata {url, title, date, site} where found, through trafilatura."""
    import trafilatura

    with _quiet("trafilatura", "htmldate", "courlan", "justext"):  # our Problem says it once, with the place
        doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                          include_tables=False, include_images=False, include_links=False,
                                          include_formatting=False)
    if doc is None:
        return "", {"url": url} if url else {}

    def get(key):
        return doc.get(key) if isinstance(doc, dict) else getattr(doc, key, None)

    lines = [line.strip() for line in (get("text") or "").splitlines()]
    found = {"url": get("url") or url, "title": get("title"), "date": get("date"), "site": get("sitename")}
    return "\n".join(line for line in lines if line), {k: str(v).strip() for k, v in found.items() if v}


def _html_article(html: str, url: str | None) -> tuple[str, dict]:
    """The article text as predict splits it: the title as first line (so it becomes the headline)."""
    from .paragraphs import comparison_key

    body, meta = extract_html(html, url)
    title = meta.get("title")
    if not body.strip():
        return "", meta
    first = body.split("\n", 1)[0]
    if title and comparison_key(first) != comparison_key(title):
        body = f"{title}\n\n{body}"
    return body, meta


def _html_records(html: str, doc_id: str, path: str, offset: int | None, url: str | None, unit: str,
                  max_chars: int, describe) -> Iterator[InputRecord | Problem]:
    try:
        text, meta = _html_article(html, url)
    except Exception as err:  # noqa: BLE001 - a third-party parser on untrusted pages: report, never crash
        yield describe(f"cannot extract the main text ({type(err).__name__}: {err})")
        return
    if not text.strip():
        yield describe("no article text found in the HTML")
        return
    yield from _document(text, doc_id, path, offset, meta, unit, max_chars, meta.get("title"))


def _missing_extra(module: str, name: str, kind: str) -> Problem | None:
    """A Problem when the optional `web` extra (trafilatura, warcio) is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        return Problem(name, 0, "<file>", f"reading {kind} needs {module}: pip install 'topic-stance[web]'")
    return None


def _read_html_file(raw: bytes, had_bom: bool, path: Path, unit: str, max_chars: int):
    name = str(path)
    problem = _missing_extra("trafilatura", name, "HTML")
    if problem:
        yield problem
        return
    html, why = _decode_html(raw, had_bom=had_bom)
    if why:
        yield Problem(name, 0, "<encoding>", why)
        return
    yield from _html_records(html, path.stem, name, None, None, unit, max_chars,
                             lambda message: Problem(name, 1, "<html>", message))


def _read_warc(path: Path, unit: str, max_chars: int) -> Iterator[InputRecord | Problem]:
    """Each HTTP response with an HTML body is one article; other records are not articles and are
    skipped. A bad HTML record is a Problem at its byte offset; a damaged archive ends the file."""
    name = str(path)
    problem = _missing_extra("warcio", name, "WARC files") or _missing_extra("trafilatura", name, "WARC files")
    if problem:
        yield problem
        return
    try:
        stream = path.open("rb")
    except OSError as err:
        yield Problem(name, 0, "<file>", f"cannot read: {err.strerror or err}")
        return
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    offset, articles = 0, 0
    with stream:
        records = ArchiveIterator(stream)
        try:
            for record in records:
                items, offset = _warc_record(record, records, name, offset, unit, max_chars)
                for item in items:
                    articles += isinstance(item, InputRecord)
                    yield item
        except (ArchiveLoadFailed, Exception) as err:  # noqa: BLE001 - warcio fails in many ways on damaged files
            at = getattr(records, "offset", None)
            at = at if isinstance(at, int) and at >= offset else offset
            yield Problem(name, at, "<warc>", f"damaged archive: no readable WARC record at byte {at} "
                                              f"({type(err).__name__}: {err}); the rest of this file cannot be read")
            return
        end, size = getattr(records, "offset", None), os.fstat(stream.fileno()).st_size
        if isinstance(end, int) and end < size:
            yield Problem(name, end, "<warc>", f"damaged archive: the {size - end:,} byte(s) from byte {end} on "
                                               f"are not a readable WARC record")
    if articles == 0:
        log.info("%s: no HTML responses found in this WARC file", name)


def _warc_record(record, records, name: str, last_offset: int, unit: str, max_chars: int):
    """(items, offset) for one WARC record: [] for a record that is not an article (not a response, not
    HTTP, not 2xx, not HTML); a Problem for a bad HTML record or a truncated record of any kind."""
    url = record.rec_headers.get_header("WARC-Target-URI")
    headers = record.http_headers if record.rec_type == "response" else None
    status = (headers.get_statuscode() or "") if headers is not None else ""
    content_type = headers.get_header("Content-Type") if headers is not None else None
    media = (content_type or "").split(";", 1)[0].strip().lower()
    candidate = status.startswith("2") and (not media or media in _HTML_TYPES)
    body, error = b"", None
    if candidate:
        try:
            body = record.content_stream().read()
        except Exception as err:  # noqa: BLE001 - bad chunking / content-encoding of one record
            error = f"cannot read the HTTP body ({type(err).__name__}: {err})"
    offset = _offset(records, last_offset)
    missing = getattr(record.raw_stream, "limit", 0)
    if isinstance(missing, int) and missing > 0:
        return [Problem(name, offset, "<warc>", f"damaged archive: the {record.rec_type} record at byte {offset}"
                                               f"{f' ({url})' if url else ''} is truncated, {missing:,} byte(s) "
                                               f"missing")], offset
    if not candidate or (not error and not media
                         and not re.match(rb"\s*(<!doctype html|<html)", body[:1024], re.IGNORECASE)):
        return [], offset  # not an article
    url = url or f"{Path(name).name}@{offset}"

    def describe(message: str) -> Problem:
        return Problem(name, offset, "<warc record>", f"{url}: {message} (record at byte {offset})")

    if error:
        return [describe(error)], offset
    if not body.strip():
        return [describe("empty HTML body")], offset
    html, why = _decode_html(body, content_type)
    if why:
        return [describe(why)], offset
    return list(_html_records(html, url, name, offset, url, unit, max_chars, describe)), offset


def _offset(records, fallback: int) -> int:
    try:
        return records.get_record_offset()
    except Exception:  # noqa: BLE001 - only used for messages
        return fallback


# ---------------------------------------------------------------- writing
class _SigtermGuard:
    """While active, SIGTERM raises Terminated (so `finally` blocks run); during cleanup it is held
    and delivered again, to the previous handler, once the cleanup is done."""

    def __init__(self):
        self.active = threading.current_thread() is threading.main_thread()
        self.previous = signal.getsignal(signal.SIGTERM) if self.active else None
        if self.previous == signal.SIG_IGN:
            self.active = False
        self.cleaning = self.pending = False
        if self.active:
            signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum, frame):
        if self.cleaning:
            self.pending = True
            return
        raise Terminated("terminated (SIGTERM)")

    def restore(self) -> None:
        if not self.active:
            return
        signal.signal(signal.SIGTERM, self.previous if self.previous is not None else signal.SIG_DFL)
        self.active = False
        if self.pending:
            signal.raise_signal(signal.SIGTERM)


@contextmanager
def atomic_path(target: str | Path):
    """Yield a temporary path beside `target`; rename it to `target` only if the block succeeds.

    The temporary file is removed on any failure, Ctrl-C or SIGTERM (turned into `Terminated`, a
    KeyboardInterrupt, for the duration; the previous handler is restored afterwards). A symbolic
    link as target is written through, so the link stays.
    """
    target = Path(target)
    if target.is_symlink():
        target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    guard = _SigtermGuard()
    try:
        yield tmp
        _sync_and_keep_mode(tmp, target)
        tmp.replace(target)
    finally:
        guard.cleaning = True  # a SIGTERM from here on waits until the temporary file is gone
        try:
            if tmp.exists() or tmp.is_symlink():
                tmp.unlink()
        finally:
            guard.restore()


def _sync_and_keep_mode(tmp: Path, target: Path) -> None:
    """Flush the finished file to disk before the rename (a crash then leaves the old or the new file,
    never an empty one) and give it the replaced file's permissions."""
    if not tmp.exists():
        return
    if target.exists():
        os.chmod(tmp, target.stat().st_mode & 0o7777)
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


PARAGRAPH_COLUMNS = ("article_id", "id", "start", "end", "text", "topics", "stance")


def attach_meta(result: dict, record: InputRecord) -> dict:
    """Carry a record's metadata onto its scored article dict (`meta`; headline = title where found)."""
    meta = {key: record.meta[key] for key in META_KEYS if record.meta.get(key)}
    result["meta"] = meta
    if meta.get("title"):
        result["headline"] = meta["title"]
    return result


def paragraph_rows(article: dict, topic_labels, stance_labels) -> Iterator[dict]:
    """Flat rows (one per paragraph) for CSV and Parquet; url/title/date/site empty when absent.

    An article with no body paragraph still gets one row (empty paragraph fields), so no input
    article silently disappears from a table.
    """
    meta = article.get("meta") or {}
    if not article["paragraphs"]:
        row = {"article_id": article["id"], "id": None, "start": None, "end": None, "text": None, "topics": None,
               "stance": None}
        row.update({f"topic_score_{t}": None for t in topic_labels})
        row.update({f"stance_score_{s}": None for s in stance_labels})
        row.update({key: meta.get(key) for key in META_KEYS})
        yield row
    for p in article["paragraphs"]:
        row = {"article_id": article["id"], "id": p["id"], "start": p["start"], "end": p["end"], "text": p["text"],
               "topics": ";".join(p["topics"]), "stance": p["stance"]}
        row.update({f"topic_score_{t}": p["topic_scores"][t] for t in topic_labels})
        row.update({f"stance_score_{s}": p["stance_scores"][s] for s in stance_labels})
        row.update({key: meta.get(key) for key in META_KEYS})
        yield row


def _with_meta(article: dict) -> dict:
    """The article with its `meta` object right after the headline (an empty one when none was found)."""
    out = {}
    for key, value in article.items():
        if key != "meta":
            out[key] = value
        if key == "headline":
            out["meta"] = article.get("meta") or {}
    out.setdefault("meta", article.get("meta") or {})
    return out


class ResultWriter:
    """Writes article dicts as JSONL (one article a line, with a `meta` object), CSV or Parquet (one
    paragraph a row, with url/title/date/site columns)."""

    def __init__(self, path: Path, fmt: str, topic_labels, stance_labels, unit: str):
        self.path, self.fmt, self.unit = path, fmt, unit
        self.topic_labels, self.stance_labels = list(topic_labels), list(stance_labels)
        self.columns = list(PARAGRAPH_COLUMNS) + [f"topic_score_{t}" for t in self.topic_labels] + \
            [f"stance_score_{s}" for s in self.stance_labels] + list(META_KEYS)
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
                paragraph = dict(article["paragraphs"][0], id=article["id"], meta=article.get("meta") or {})
                self._handle.write(json.dumps(paragraph, ensure_ascii=False) + "\n")
            else:
                self._handle.write(json.dumps(_with_meta(article), ensure_ascii=False) + "\n")
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

    def __exit__(self, exc_type, *exc):
        try:
            if self.fmt == ".parquet":
                if exc_type is None and (self._rows or self._parquet is None):
                    self._flush_parquet()
                if self._parquet is not None:
                    self._parquet.close()
        finally:
            if self._handle:
                self._handle.close()
        return False
