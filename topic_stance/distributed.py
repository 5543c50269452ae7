"""Batch inference on Ray Data: read -> split -> score -> write, streaming, on one machine or a cluster.

    topic-stance predict --engine ray --model DIR INPUT... --output OUT_DIR [--format parquet|jsonl]
                         [--address auto|HOST:PORT] [--workers N] [--threads-per-worker T] [--batch-size B]

(`topic-stance predict-ray` is the same command.)

The pipeline is one streaming Ray Dataset, so memory stays flat over inputs of any size:

  read    Ray tasks (one per input file, up to 1000 files; then a few files each) parse the files with
          the project's own readers (io.py): .txt, .html/.htm, .jsonl, .csv, .parquet and .warc/.warc.gz,
          from local paths or any URI pyarrow opens (s3://, gs://, hdfs://, file://; a remote file is
          streamed to a temporary local copy first, so a multi-gigabyte WARC or Parquet file never sits
          in memory, but needs that much room in the temporary folder). Ids, metadata, validation and
          messages are exactly those of `topic-stance predict`. Records leave the readers in small
          blocks, so the records of one large file spread over all the workers.
  split + score
          `map_batches` with a callable class: an actor pool of `--workers` actors, each holding one
          ArticleScorer and reserving `--threads-per-worker` CPUs, with torch (and the tokenizer's
          thread pool) set to that many threads so that workers never oversubscribe the cores. Each
          actor splits its articles into paragraphs and scores them (ArticleScorer.score_articles,
          the very code of `predict`).
  write   shards in OUT_DIR: Parquet, one row per paragraph with the columns of io.paragraph_rows (as
          `predict --output x.parquet`), or JSON Lines, one article per line (as `predict --output
          x.jsonl`). Bad records never stop the run: they go to `_errors/*.jsonl` (path, line, field,
          message) and are counted in `_meta.json`, which is written last and marks a complete run.
          Names starting with `_` are ignored by Parquet/Arrow/Spark readers: `pandas.read_parquet(OUT_DIR)`
          reads exactly the results.
  resume  the inputs are scored in checkpoints of `--files-per-checkpoint` files. When a checkpoint's
          shards are all written, a marker `_done/<run>-<n>.json` records which inputs it covered and which
          shards hold their rows. Running the command again on the same output folder (after a crash, a
          preemption or Ctrl-C) first deletes any shard no marker names (the unfinished checkpoint), then
          skips the inputs already covered: no input is lost and no row is written twice. `_run.json` holds
          the model's fingerprint and the settings; a re-run with another model or settings is refused.

Differences from `predict`: ids are not checked for uniqueness across inputs (that needs a global
pass), standard input (`-`) is not read, and there is no --on-error fail (bad records are always
reported and left out). A model folder and local inputs must be visible at the same path on every
node of a cluster.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import os
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .errors import TopicStanceError

log = logging.getLogger(__name__)

FORMATS = ("parquet", "jsonl")
META_FILE = "_meta.json"
RUN_FILE = "_run.json"  # the model fingerprint and settings of the output, written first
DONE_DIR = "_done"  # one marker per finished checkpoint
ERRORS_DIR = "_errors"
DEFAULT_FILES_PER_CHECKPOINT = 1000
EXAMPLES = 50  # problems quoted in _meta.json (all of them are in _errors/)
DEFAULT_ROWS_PER_SHARD = {"parquet": 50_000, "jsonl": 10_000}
DEFAULT_RECORDS_PER_BATCH = {"article": 64, "paragraph": 512}
READ_ROWS = 1024  # records per block leaving a reader task
BLOCK_BYTES = 256 * 1024  # target block size of the pipeline (Ray's default, 128 MiB, would be one file)

# Columns of the records flowing from the readers to the scorers; `error` is set (and the rest empty)
# for a bad record, which is passed through to the writer.
RECORD_FIELDS = ("id", "text", "path", "line", "meta", "error")
KIND, NOTE = "_kind", "_note"  # control columns of the scorers' output (dropped when writing)


def _pa():
    import pyarrow as pa

    return pa


def record_schema():
    pa = _pa()
    return pa.schema([("id", pa.string()), ("text", pa.string()), ("path", pa.string()), ("line", pa.int64()),
                      ("meta", pa.string()), ("error", pa.string())])


def require_ray():
    """The ray module, or a TopicStanceError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the [data] extra
    except ImportError as err:
        raise TopicStanceError(f"predict-ray needs Ray Data ({err}): pip install 'topic-stance[ray]'") from None
    return ray


# ---------------------------------------------------------------- planning: which files
def is_uri(path: str | os.PathLike) -> bool:
    return "://" in str(path)


def _problem_dict(problem) -> dict:
    return {"path": problem.path, "line": problem.line, "field": problem.field, "message": problem.message,
            "problem": str(problem)}


def plan_sources(inputs: Iterable[str | os.PathLike], record_files: bool = False) -> list[dict]:
    """The input files, in order: {"name", "kind", "path"} for local files and {"name", "kind", "fs_uri",
    "fs_path"} for URIs (s3://, gs://, hdfs://, file://...; folders listed through pyarrow.fs).

    Folders are scanned as `predict` scans them (recursively, sorted, hidden files and folders skipped,
    documents only: .txt/.html/.warc), unless `record_files`: then .jsonl/.csv/.parquet files found in
    folders are read too (a folder of Parquet or JSONL shards). Files named directly are always read.
    Raises TopicStanceError for standard input, a missing input, or a folder without supported files.
    """
    from .io import STDIN, expand_inputs, input_kind

    sources: list[dict] = []
    seen: set[str] = set()
    for item in inputs:
        text = str(item)
        if text == STDIN:
            raise TopicStanceError("predict-ray cannot read standard input (-); give files, folders or URIs")
        if is_uri(text):
            found = _list_uri(text, record_files)
        elif record_files and Path(text).is_dir():
            found = [{"name": str(Path(text, s["name"])), "kind": s["kind"], "path": s["fs_path"]}
                     for s in _list_uri(Path(text).absolute().as_uri(), record_files, relative_names=True)]
        else:
            try:
                paths = expand_inputs([text])
            except FileNotFoundError as err:
                raise TopicStanceError(str(err)) from None
            found = [{"name": str(p), "kind": input_kind(p) or "txt", "path": os.path.abspath(p)} for p in paths]
        for source in found:
            key = os.path.realpath(source["path"]) if "path" in source else f"{source['fs_uri']}\0{source['fs_path']}"
            if key in seen:
                log.warning("%s: given twice; read once", source["name"])
                continue
            seen.add(key)
            sources.append(source)
    return sources


def _filesystem(uri: str):
    import pyarrow as pa
    import pyarrow.fs as pafs

    try:
        return pafs.FileSystem.from_uri(uri)
    except (pa.ArrowException, ValueError, OSError) as err:
        raise TopicStanceError(f"{uri}: cannot open this location ({err})") from None


def _list_uri(uri: str, record_files: bool = False, relative_names: bool = False) -> list[dict]:
    import pyarrow.fs as pafs

    from .io import FOLDER_KINDS, INPUT_SUFFIXES, input_kind

    fs, root = _filesystem(uri)
    try:
        info = fs.get_file_info(root)
        if info.type == pafs.FileType.NotFound:
            raise TopicStanceError(f"{uri}: no such file or folder")
        if info.type == pafs.FileType.File:
            return [{"name": uri, "kind": input_kind(root) or "txt", "fs_uri": uri, "fs_path": root}]
        listing = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    except OSError as err:
        raise TopicStanceError(f"{uri}: cannot list ({err})") from None
    base = uri.rstrip("/")
    found = []
    for entry in sorted(listing, key=lambda e: e.path):
        relative = entry.path[len(root.rstrip("/")):].lstrip("/")
        kind = input_kind(entry.path)
        if entry.type != pafs.FileType.File or any(part.startswith(".") for part in relative.split("/")):
            continue
        if kind and (record_files or kind in FOLDER_KINDS):
            found.append({"name": relative if relative_names else f"{base}/{relative}", "kind": kind,
                          "fs_uri": uri, "fs_path": entry.path})
    if not found:
        kinds = INPUT_SUFFIXES if record_files else [s for s in INPUT_SUFFIXES if input_kind("x" + s) in FOLDER_KINDS]
        raise TopicStanceError(f"{uri}: folder holds no supported files ({', '.join(kinds)}; hidden files are "
                               f"skipped{'' if record_files else '; add --record-files to read .jsonl/.csv/.parquet'})")
    return found


# ---------------------------------------------------------------- read (runs in Ray tasks)
def read_source(source: dict, unit: str, max_chars: int, text_column: str = "text",
                id_column: str = "id") -> Iterator:
    """InputRecord / Problem items of one planned source, through io's readers (a remote file is copied to
    a temporary local file of the same name first, so ids and validation are those of a local file)."""
    from dataclasses import replace

    from .io import _read_one

    if "path" in source:
        yield from _read_one(Path(source["path"]), unit, max_chars, text_column, id_column)
        return
    import pyarrow.fs as pafs

    from .labels import Problem

    name = source["name"]
    with tempfile.TemporaryDirectory(prefix="topic-stance-") as folder:
        local = Path(folder, Path(source["fs_path"]).name)
        try:
            fs, _ = pafs.FileSystem.from_uri(source["fs_uri"])
            pafs.copy_files(source["fs_path"], str(local), source_filesystem=fs,
                            destination_filesystem=pafs.LocalFileSystem())
        except Exception as err:  # noqa: BLE001 - network / permission errors of any filesystem: report
            yield Problem(name, 0, "<file>", f"cannot read: {err}")
            return
        for item in _read_one(local, unit, max_chars, text_column, id_column):
            yield replace(item, path=name)


def _read_rows(items: Iterable) -> Iterator[dict]:
    from .labels import Problem

    for item in items:
        if isinstance(item, Problem):
            yield {"id": None, "text": None, "path": item.path, "line": item.line, "meta": None,
                   "error": json.dumps(_problem_dict(item), ensure_ascii=False)}
        else:
            yield {"id": item.id, "text": item.text, "path": item.path, "line": item.line,
                   "meta": json.dumps(item.meta or {}, ensure_ascii=False), "error": None}


def read_batch(batch, unit: str, max_chars: int, text_column: str = "text", id_column: str = "id",
               rows_per_block: int = READ_ROWS):
    """map_batches function (Ray tasks): a batch of planned sources -> blocks of record rows, streamed
    every `rows_per_block` records, so that a large file never sits in memory as one block and its
    records spread over all the scoring actors."""
    pa = _pa()
    schema = record_schema()
    rows: list[dict] = []
    for source_json in batch.column("source").to_pylist():
        for row in _read_rows(read_source(json.loads(source_json), unit, max_chars, text_column, id_column)):
            rows.append(row)
            if len(rows) >= rows_per_block:
                yield pa.Table.from_pylist(rows, schema=schema)
                rows = []
    if rows:
        yield pa.Table.from_pylist(rows, schema=schema)


# ---------------------------------------------------------------- split + score (Ray actors)
def output_schema(fmt: str, topic_labels: Sequence[str], stance_labels: Sequence[str]):
    """The scorers' output: the result columns (io.ResultWriter's for parquet, one `json` string for jsonl)
    plus the control columns _kind (data / error / stats) and _note (the problem or the batch counts)."""
    pa = _pa()
    if fmt == "parquet":
        from .io import ResultWriter

        fields = list(ResultWriter(Path("unused"), ".parquet", topic_labels, stance_labels, "article")._schema())
    else:
        fields = [pa.field("json", pa.string())]
    return pa.schema(fields + [pa.field(KIND, pa.string()), pa.field(NOTE, pa.string())])


def article_line(article: dict, unit: str) -> str:
    """One line of JSONL output, exactly as io.ResultWriter writes it."""
    from .io import _with_meta

    if unit == "paragraph":
        paragraph = dict(article["paragraphs"][0], id=article["id"], meta=article.get("meta") or {})
        return json.dumps(paragraph, ensure_ascii=False)
    return json.dumps(_with_meta(article), ensure_ascii=False)


class ScoreBatch:
    """map_batches callable class (one per actor): record rows -> result rows.

    Sets the thread pools to `threads` before loading the model, so N actors on N*T cores do not
    oversubscribe them. A batch that fails to score is retried record by record; a record that still
    fails becomes an error row (field `<score>`), never a failed run. Usable without Ray too.
    """

    def __init__(self, model: str, fmt: str = "parquet", unit: str = "article", threads: int = 1,
                 device: str = "cpu", batch_size: int = 64, max_length: int | None = None, precision: str = "fp32"):
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):  # before the libraries start
            os.environ[var] = str(threads)
        import torch
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # one "Loading weights" bar per actor on the driver's console
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set in this process
            pass
        from .inference import ArticleScorer

        self.fmt, self.unit = fmt, unit
        self.scorer = ArticleScorer.from_pretrained(model, device=device, batch_size=batch_size,
                                                    max_length=max_length, precision=precision)
        self.schema = output_schema(fmt, self.scorer.topic_labels, self.scorer.stance_labels)
        self.info = {**self.scorer.metadata, "threads": torch.get_num_threads()}
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def _score(self, records) -> list[dict]:
        from .inference import score_records

        return list(score_records(self.scorer, records, self.unit))

    def _rows(self, article: dict) -> list[dict]:
        if self.fmt == "jsonl":
            return [{"json": article_line(article, self.unit), KIND: "data"}]
        from .io import paragraph_rows

        return [dict(row, **{KIND: "data"})
                for row in paragraph_rows(article, self.scorer.topic_labels, self.scorer.stance_labels)]

    def __call__(self, batch):
        from .io import InputRecord
        from .labels import Problem

        pa = _pa()
        started = time.time()
        rows, records, articles, paragraphs = [], [], 0, 0
        for item in batch.select(list(RECORD_FIELDS)).to_pylist():
            if item["error"] is not None:
                rows.append({KIND: "error", NOTE: item["error"]})
            else:
                records.append(InputRecord(item["id"], item["text"], item["path"], item["line"],
                                           json.loads(item["meta"] or "{}")))
        try:
            results = self._score(records)
        except BaseException as err:  # noqa: BLE001 - includes tokenizer panics; retried one by one below
            if isinstance(err, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            results = []
            for record in records:
                try:
                    results.extend(self._score([record]))
                except BaseException as one:  # noqa: BLE001
                    if isinstance(one, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                        raise
                    problem = Problem(record.path, record.line, "<score>",
                                      f"{record.id}: cannot score ({type(one).__name__}: {one})")
                    rows.append({KIND: "error", NOTE: json.dumps(_problem_dict(problem), ensure_ascii=False)})
        for article in results:
            articles += 1
            paragraphs += len(article["paragraphs"])
            rows.extend(self._rows(article))
        rows.append({KIND: "stats", NOTE: json.dumps({"records": articles, "paragraphs": paragraphs,
                                                      "scorer": self.info, "pid": self.worker,
                                                      "t0": started, "t1": time.time()})})
        return pa.Table.from_pylist(rows, schema=self.schema)


# ---------------------------------------------------------------- write (Ray datasink)
def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


class ShardSink:
    """Ray Datasink writing result shards (part-RUN-TASK-N.parquet|.jsonl) and error shards
    (_errors/part-RUN-TASK-N.jsonl) below one folder or URI; each write task returns its counts, which
    on_write_complete adds up into `self.summary` (on the driver)."""

    def __init__(self, output: str, fmt: str, run_id: str, rows_per_shard: int):
        self.output, self.fmt, self.run_id, self.rows_per_shard = str(output), fmt, run_id, rows_per_shard
        self.summary: dict | None = None

    # Ray's Datasink interface (duck-typed, so this module imports without Ray) -----------------------
    def on_write_start(self, schema=None) -> None:
        pass

    def on_write_failed(self, error: Exception) -> None:
        pass

    def get_name(self) -> str:
        return "WriteShards"

    @property
    def supports_distributed_writes(self) -> bool:
        return True

    @property
    def min_rows_per_write(self) -> int:
        return self.rows_per_shard

    @property
    def min_bytes_per_write(self):
        return None

    def write(self, blocks, ctx) -> dict:
        import pyarrow.parquet as pq

        pa = _pa()
        fs, root = _filesystem(self.output)
        task = getattr(ctx, "task_idx", 0)
        tag = f"{self.run_id}-{task:05d}-{uuid.uuid4().hex[:6]}"
        counts = {"shards": [], "error_shards": [], "records": 0, "paragraphs": 0, "skipped": 0, "examples": [],
                  "scorer": None, "pids": []}
        writer = stream = errors = None
        data_name = f"part-{tag}.{self.fmt}"
        try:
            for block in blocks:
                table = block if isinstance(block, pa.Table) else pa.Table.from_pandas(block)
                kinds = table.column(KIND).to_pylist()
                notes = table.column(NOTE).to_pylist()
                keep = [k == "data" for k in kinds]
                for kind, note in zip(kinds, notes):
                    if kind == "stats":
                        stats = json.loads(note)
                        counts["records"] += stats["records"]
                        counts["paragraphs"] += stats["paragraphs"]
                        counts["scorer"] = counts["scorer"] or stats["scorer"]
                        if stats.get("pid") not in counts["pids"]:
                            counts["pids"].append(stats.get("pid"))
                        if "t0" in stats:
                            counts["t0"] = min(counts.get("t0") or stats["t0"], stats["t0"])
                            counts["t1"] = max(counts.get("t1") or stats["t1"], stats["t1"])
                    elif kind == "error":
                        counts["skipped"] += 1
                        if len(counts["examples"]) < EXAMPLES:
                            counts["examples"].append(json.loads(note)["problem"])
                        if errors is None:
                            counts["error_shards"].append(_join(ERRORS_DIR, f"part-{tag}.jsonl"))
                            fs.create_dir(_join(root, ERRORS_DIR), recursive=True)
                            errors = fs.open_output_stream(_join(root, counts["error_shards"][-1]))
                        errors.write((note + "\n").encode("utf-8"))
                if not any(keep):
                    continue
                data = table.filter(pa.array(keep)).drop_columns([KIND, NOTE])
                if stream is None:
                    counts["shards"].append(data_name)
                    stream = fs.open_output_stream(_join(root, data_name))
                    if self.fmt == "parquet":
                        writer = pq.ParquetWriter(stream, data.schema)
                if writer is not None:
                    writer.write_table(data)
                else:
                    lines = data.column("json").to_pylist()
                    stream.write(("\n".join(lines) + "\n").encode("utf-8"))
        except BaseException:
            for handle in (writer, stream, errors):
                try:
                    if handle is not None:
                        handle.close()
                except Exception:  # noqa: BLE001 - the original error matters
                    pass
            for name in counts["shards"] + counts["error_shards"]:  # a retried task must not leave duplicates
                try:
                    fs.delete_file(_join(root, name))
                except Exception:  # noqa: BLE001
                    pass
            raise
        for handle in (writer, stream, errors):
            if handle is not None:
                handle.close()
        return counts

    def on_write_complete(self, write_result) -> None:
        returns = getattr(write_result, "write_returns", write_result)
        total = {"shards": [], "error_shards": [], "records": 0, "paragraphs": 0, "skipped": 0, "examples": [],
                 "scorer": None, "pids": []}
        for counts in returns:
            if not counts:
                continue
            for key in ("shards", "error_shards", "examples", "pids"):
                total[key].extend(counts[key])
            for key in ("records", "paragraphs", "skipped"):
                total[key] += counts[key]
            total["scorer"] = total["scorer"] or counts["scorer"]
            if counts.get("t0") is not None:
                total["t0"] = min(total.get("t0") or counts["t0"], counts["t0"])
                total["t1"] = max(total.get("t1") or counts["t1"], counts["t1"])
        total["shards"].sort()
        total["error_shards"].sort()
        total["examples"] = total["examples"][:EXAMPLES]
        total["pids"] = sorted(set(total["pids"]) - {None})
        self.summary = total


def _ray_datasink(sink: ShardSink):
    """`sink` as a subclass of ray.data.Datasink (Ray checks the type)."""
    from ray.data import Datasink

    cls = type("ShardDatasink", (ShardSink, Datasink), {})
    out = cls.__new__(cls)
    out.__dict__.update(sink.__dict__)
    return out


# ---------------------------------------------------------------- output folder and checkpoints
def prepare_output(output: str, inputs: Sequence[str] = (), overwrite: bool = False) -> bool:
    """Check the output folder (or URI) before anything runs, create it, and say whether it was created.

    Refused: `-`; an existing file; the same path as a local input, or a folder inside a local input folder
    (whose scan would read the shards as inputs next time); a folder holding files other than a previous
    predict-ray output. A previous output (it has _run.json or _meta.json) is resumed, or emptied first
    with `overwrite`.
    """
    import pyarrow.fs as pafs

    output = str(output)
    if output == "-":
        raise TopicStanceError("--output -: predict-ray writes a folder of shards; give a folder name")
    if not is_uri(output):
        resolved = Path(output).resolve()
        for item in map(str, inputs):
            if is_uri(item) or item == "-" or not Path(item).exists():
                continue
            source = Path(item).resolve()
            if source == resolved:
                raise TopicStanceError(f"--output {output}: is also the input {item}")
            if source.is_dir() and resolved.is_relative_to(source) and \
                    not any(part.startswith(".") for part in resolved.relative_to(source).parts):
                raise TopicStanceError(f"--output {output}: lies inside the input folder {item}, whose scan would "
                                       f"read the shards as inputs next time; write it elsewhere")
    fs, root = _filesystem(output if is_uri(output) else os.path.abspath(output))
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.File:
        raise TopicStanceError(f"--output {output}: is a file; predict-ray writes a folder of shards")
    if info.type == pafs.FileType.Directory:
        entries = fs.get_file_info(pafs.FileSelector(root, recursive=False))
        if entries:
            if not any(e.base_name in (META_FILE, RUN_FILE) for e in entries):
                raise TopicStanceError(f"--output {output}: folder holds files that are not a predict-ray output; "
                                       f"give a new or empty folder")
            if overwrite:
                fs.delete_dir_contents(root)
        return False
    try:
        fs.create_dir(root, recursive=True)
    except OSError as err:
        raise TopicStanceError(f"--output {output}: cannot create the folder ({err})") from None
    return True


def source_key(source: dict) -> str:
    """The identity of an input in checkpoints: its real local path, or scheme://path for a remote file."""
    if "path" in source:
        return os.path.realpath(source["path"])
    scheme = source["fs_uri"].split("://", 1)[0]
    return os.path.realpath(source["fs_path"]) if scheme == "file" else f"{scheme}://{source['fs_path']}"


def model_fingerprint(model: str) -> str:
    """sha256 over the model folder's config and weight files: a resumed run must use the same model."""
    import hashlib

    from .data import file_sha256

    folder = Path(model)
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in (".json", ".safetensors", ".onnx", ".txt") and \
                not path.name.endswith(".meta.json"):
            digest.update(f"{path.name}:{file_sha256(path)}\n".encode())
    return digest.hexdigest()


class Checkpoints:
    """The resume state of one output folder: _run.json (what the rows were scored with) and the
    markers in _done/ (which inputs are finished, in which shards). A shard no marker names belongs to
    an unfinished checkpoint: `open` deletes it before anything else runs."""

    def __init__(self, root_uri: str, settings: dict):
        self.root_uri, self.settings = root_uri, settings
        self.fs, self.root = _filesystem(root_uri)
        self.markers: list[dict] = []

    @property
    def done(self) -> set[str]:
        return {key for marker in self.markers for key in marker["sources"]}

    def _read_json(self, path: str) -> dict:
        with self.fs.open_input_stream(path) as stream:
            return json.loads(stream.read().decode("utf-8"))

    def _write_json(self, relative: str, data: dict) -> None:
        """Write then rename, so that a marker is either whole or absent."""
        final = _join(self.root, relative)
        parent = final.rsplit("/", 1)[0]
        temporary = _join(parent, f".tmp-{uuid.uuid4().hex[:8]}-{final.rsplit('/', 1)[1]}")
        self.fs.create_dir(parent, recursive=True)
        with self.fs.open_output_stream(temporary) as stream:
            stream.write((json.dumps(data, indent=2) + "\n").encode("utf-8"))
        self.fs.move(temporary, final)

    def open(self) -> "Checkpoints":
        import pyarrow.fs as pafs

        run_file = _join(self.root, RUN_FILE)
        if self.fs.get_file_info(run_file).type == pafs.FileType.File:
            previous = self._read_json(run_file)
            changed = [f"{k}: {previous.get(k)!r} -> {v!r}" for k, v in self.settings.items() if previous.get(k) != v]
            if changed:
                raise TopicStanceError(f"--output {self.root_uri}: holds rows scored with other settings "
                                       f"({'; '.join(changed)}); give a new folder, or --overwrite to start again")
            done_dir = _join(self.root, DONE_DIR)
            for entry in sorted(self.fs.get_file_info(pafs.FileSelector(done_dir, allow_not_found=True)),
                                key=lambda e: e.path):
                if entry.type == pafs.FileType.File and entry.base_name.endswith(".json") and \
                        not entry.base_name.startswith("."):
                    self.markers.append(self._read_json(entry.path))
        else:
            if self.fs.get_file_info(_join(self.root, META_FILE)).type == pafs.FileType.File:
                raise TopicStanceError(f"--output {self.root_uri}: holds a predict-ray output without resume "
                                       f"information (an older version); give a new folder or --overwrite")
            self._write_json(RUN_FILE, self.settings)
        self.remove_unfinished()
        return self

    def remove_unfinished(self, why: str = "of an unfinished checkpoint; its inputs are scored again") -> int:
        """Delete shards (and temporary files) that no marker names; return how many."""
        import pyarrow.fs as pafs

        kept = {name for marker in self.markers for name in marker["shards"] + marker["error_shards"]}
        removed = 0
        for entry in self.fs.get_file_info(pafs.FileSelector(self.root, recursive=True, allow_not_found=True)):
            relative = entry.path[len(self.root.rstrip("/")):].lstrip("/")
            unfinished = entry.base_name.startswith("part-") and relative not in kept
            if entry.type == pafs.FileType.File and (unfinished or entry.base_name.startswith(".tmp-")):
                self.fs.delete_file(entry.path)
                removed += 1
        if removed:
            log.warning("%s: removed %d file(s) %s", self.root_uri, removed, why)
        return removed

    def commit(self, run_id: str, number: int, sources: Sequence[dict], summary: dict) -> None:
        marker = {"run_id": run_id, "checkpoint": number, "sources": [source_key(s) for s in sources],
                  **{k: summary.get(k) for k in ("shards", "error_shards", "records", "paragraphs", "skipped",
                                                 "examples", "scorer", "pids", "t0", "t1")}}
        marker["shards"], marker["error_shards"] = marker["shards"] or [], marker["error_shards"] or []
        self._write_json(f"{DONE_DIR}/{run_id}-{number:05d}.json", marker)
        self.markers.append(marker)

    def totals(self) -> dict:
        """Counts over every finished checkpoint of this output (this run's and earlier runs')."""
        total = {"records": 0, "paragraphs": 0, "skipped": 0, "shards": [], "error_shards": [], "examples": []}
        for marker in self.markers:
            for key in ("records", "paragraphs", "skipped"):
                total[key] += marker.get(key) or 0
            for key in ("shards", "error_shards", "examples"):
                total[key].extend(marker.get(key) or [])
        total["shards"].sort()
        total["error_shards"].sort()
        total["examples"] = total["examples"][:EXAMPLES]
        return total

    def write_meta(self, meta: dict) -> None:
        self._write_json(META_FILE, meta)

    def remove_meta(self) -> None:
        import pyarrow.fs as pafs

        path = _join(self.root, META_FILE)
        if self.fs.get_file_info(path).type == pafs.FileType.File:
            self.fs.delete_file(path)


# ---------------------------------------------------------------- the pipeline
def _cluster_cpus(ray) -> float:
    return float(ray.cluster_resources().get("CPU", 0))


def build_pipeline(sources: Sequence[dict], model: str, *, fmt: str = "parquet", unit: str = "article",
                   workers: int = 1, threads_per_worker: int = 1, batch_size: int = 64,
                   records_per_batch: int | None = None, device: str = "auto", precision: str = "fp32",
                   max_length: int | None = None, max_chars: int | None = None, text_column: str = "text",
                   id_column: str = "id", gpus_per_worker: float = 0, io_cpus: float | None = None):
    """The lazy Ray Dataset read -> split+score of `sources` (see plan_sources): rows of output_schema(fmt).

    Reader and writer tasks reserve `io_cpus` each (default: up to 1 CPU left over by the workers, 0 when
    the workers take every CPU, so that a pool sized to the machine never starves the readers).
    """
    ray = require_ray()
    from .io import MAX_PARAGRAPH_CHARS

    if fmt not in FORMATS:
        raise TopicStanceError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if io_cpus is None:
        io_cpus = default_io_cpus(ray, workers, threads_per_worker)
    records_per_batch = records_per_batch or DEFAULT_RECORDS_PER_BATCH[unit]
    if device == "auto":
        device = "cuda" if gpus_per_worker else "cpu"
    items = [{"source": json.dumps(s)} for s in sources]
    readers = max(1, min(len(items), int(max(_cluster_cpus(ray) - workers * threads_per_worker, 1))))
    ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(items), 1000)))
    # Ray merges a task's outputs into blocks of up to 128 MiB, and an actor scores a block alone: small
    # blocks (for this dataset only) let the records of one large file spread over every actor.
    ds.context.target_max_block_size = BLOCK_BYTES
    ds.context.print_on_execution_start = False
    if not sys.stderr.isatty():
        ds.context.enable_progress_bars = False
    # ray_remote_args_fn keeps Ray from fusing the readers into the scoring actors: fused, each file
    # would be read and scored by one actor alone; apart, its blocks spread over the whole pool.
    ds = ds.map_batches(read_batch, fn_kwargs={
        "unit": unit, "max_chars": max_chars or MAX_PARAGRAPH_CHARS, "text_column": text_column,
        "id_column": id_column, "rows_per_block": records_per_batch}, batch_size=1, batch_format="pyarrow",
        ray_remote_args_fn=_Resources(io_cpus), **_pool(ray, "TaskPoolStrategy", readers))
    ds = ds.map_batches(ScoreBatch, fn_constructor_kwargs={
        "model": str(model), "fmt": fmt, "unit": unit, "threads": threads_per_worker, "device": device,
        "batch_size": batch_size, "max_length": max_length, "precision": precision},
        batch_size=records_per_batch, batch_format="pyarrow", num_cpus=threads_per_worker,
        num_gpus=gpus_per_worker or None, **_pool(ray, "ActorPoolStrategy", workers))
    return ds


def _pool(ray, strategy: str, size: int) -> dict:
    """compute=<strategy>(size=N) on Ray versions that have it (concurrency= is deprecated since 2.51)."""
    cls = getattr(ray.data, strategy, None)
    if cls is None or "size" not in inspect.signature(cls).parameters:
        return {"concurrency": size}
    return {"compute": cls(size=size)}


class _Resources:
    """A picklable ray_remote_args_fn."""

    def __init__(self, num_cpus: float):
        self.num_cpus = num_cpus

    def __call__(self) -> dict:
        return {"num_cpus": self.num_cpus}


def default_io_cpus(ray, workers: int, threads_per_worker: int) -> float:
    spare = _cluster_cpus(ray) - workers * threads_per_worker
    return float(min(1.0, spare)) if spare > 0 else 0.0


def predict_ray(inputs: Sequence[str], model: str, output: str, *, fmt: str = "parquet", unit: str = "article",
                workers: int = 1, threads_per_worker: int = 1, batch_size: int = 64,
                records_per_batch: int | None = None, device: str = "auto", precision: str = "fp32",
                max_length: int | None = None, max_chars: int | None = None, text_column: str = "text",
                id_column: str = "id", gpus_per_worker: float = 0, io_cpus: float | None = None,
                rows_per_shard: int | None = None, overwrite: bool = False, record_files: bool = False,
                address: str | None = None, num_cpus: int | None = None,
                files_per_checkpoint: int = DEFAULT_FILES_PER_CHECKPOINT) -> dict:
    """Score every input into shards below `output` and return the output's metadata (also written, last,
    to OUTPUT/_meta.json, which marks a complete output).

    Runs on the current Ray instance if ray.init() was called; otherwise joins `address` or starts a
    local instance (`num_cpus`), and shuts it down at the end. The model, inputs and output are checked
    before Ray starts. An output folder that a previous run left unfinished is resumed (see the module
    docstring); on a failure the finished checkpoints stay, so that the next run resumes from them.
    """
    ray = require_ray()
    model = str(model)
    if fmt not in FORMATS:
        raise TopicStanceError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if unit not in DEFAULT_RECORDS_PER_BATCH:
        raise TopicStanceError(f"--unit must be article or paragraph, not {unit!r}")
    sources = plan_sources(inputs, record_files)
    check_model(model, device, precision, batch_size, max_length, gpus_per_worker)
    created = prepare_output(str(output), [str(i) for i in inputs], overwrite)
    root_uri = str(output) if is_uri(output) else os.path.abspath(output)
    settings = {"model_sha256": model_fingerprint(model), "format": fmt, "unit": unit, "precision": precision,
                "max_length": max_length, "max_chars": max_chars, "text_column": text_column,
                "id_column": id_column}
    checkpoints = Checkpoints(root_uri, settings).open()
    done = checkpoints.done
    todo = [s for s in sources if source_key(s) not in done]
    if len(todo) < len(sources):
        log.warning("%s: %d of %d input file(s) already scored there; scoring the other %d", output,
                    len(sources) - len(todo), len(sources), len(todo))
    run_id = uuid.uuid4().hex[:8]
    started_here = todo and not ray.is_initialized()
    try:
        if started_here:
            try:
                ray.init(address=address, num_cpus=None if address else num_cpus, include_dashboard=False,
                         logging_level=logging.WARNING)
            except (ConnectionError, ValueError, RuntimeError) as err:
                raise TopicStanceError(f"cannot start or join Ray{f' at {address}' if address else ''}: "
                                       f"{err}") from None
        return _predict_ray(ray, run_id, checkpoints, todo, len(sources), model, str(output), fmt, unit, workers,
                            threads_per_worker, batch_size, records_per_batch, device, precision, max_length,
                            max_chars, text_column, id_column, gpus_per_worker, io_cpus, rows_per_shard,
                            [str(i) for i in inputs], files_per_checkpoint, local=started_here and not address)
    except BaseException:
        checkpoints.remove_unfinished()
        if created and not checkpoints.markers:
            checkpoints.fs.delete_dir(checkpoints.root)
        elif checkpoints.markers:
            log.warning("%s: stopped before the end; %d input file(s) are scored and kept there: run the same "
                        "command again to score the rest", output, len(checkpoints.done))
        raise
    finally:
        if started_here and ray.is_initialized():
            ray.shutdown()


def _predict_ray(ray, run_id, checkpoints, todo, n_sources, model, output, fmt, unit, workers, threads_per_worker,
                 batch_size, records_per_batch, device, precision, max_length, max_chars, text_column, id_column,
                 gpus_per_worker, io_cpus, rows_per_shard, inputs, files_per_checkpoint, local) -> dict:
    started = time.time()
    this_run = {"records": 0, "paragraphs": 0, "pids": set(), "scorer": None, "window": 0.0}
    if todo:
        cpus, need = _cluster_cpus(ray), workers * threads_per_worker
        if need > cpus:
            message = (f"--workers {workers} x --threads-per-worker {threads_per_worker} = {need} CPUs, but this "
                       f"Ray cluster has {cpus:g}")
            if local:
                raise TopicStanceError(message + "; lower them (or raise --num-cpus)")
            log.warning("%s; the pool waits for an autoscaler to add nodes", message)
        io_cpus = default_io_cpus(ray, workers, threads_per_worker) if io_cpus is None else io_cpus
        checkpoints.remove_meta()  # the output is incomplete until every input is scored
    for number, first in enumerate(range(0, len(todo), files_per_checkpoint)):
        wave, wave_id = todo[first:first + files_per_checkpoint], f"{run_id}c{number:05d}"
        datasink = _ray_datasink(ShardSink(checkpoints.root_uri, fmt, wave_id,
                                           rows_per_shard or DEFAULT_ROWS_PER_SHARD[fmt]))
        ds = build_pipeline(wave, model, fmt=fmt, unit=unit, workers=workers, threads_per_worker=threads_per_worker,
                            batch_size=batch_size, records_per_batch=records_per_batch, device=device,
                            precision=precision, max_length=max_length, max_chars=max_chars,
                            text_column=text_column, id_column=id_column, gpus_per_worker=gpus_per_worker,
                            io_cpus=io_cpus)
        ds.write_datasink(datasink, ray_remote_args={"num_cpus": io_cpus})
        summary = datasink.summary or {}
        checkpoints.commit(run_id, number, wave, summary)
        checkpoints.remove_unfinished("left by write tasks that failed and were retried")
        this_run["records"] += summary.get("records", 0)
        this_run["paragraphs"] += summary.get("paragraphs", 0)
        this_run["pids"].update(summary.get("pids", []))
        this_run["scorer"] = this_run["scorer"] or summary.get("scorer")
        if summary.get("t0") is not None:  # from an actor's first batch to the last one: no start-up costs
            this_run["window"] += summary["t1"] - summary["t0"]
    seconds = round(time.time() - started, 2)
    total = checkpoints.totals()
    scorer = this_run["scorer"] or next((m["scorer"] for m in checkpoints.markers if m.get("scorer")), None) or {}
    window = this_run["window"]
    meta = {"model": model, **scorer, "unit": unit, "format": fmt, "inputs": inputs, "files": n_sources,
            "records": total["records"], "paragraphs": total["paragraphs"], "skipped": total["skipped"],
            "skipped_examples": total["examples"], "shards": total["shards"], "error_shards": total["error_shards"],
            "checkpoints": len(checkpoints.markers), "files_resumed": n_sources - len(todo),
            "files_scored_now": len(todo), "workers": workers, "threads_per_worker": threads_per_worker,
            "gpus_per_worker": gpus_per_worker, "io_cpus": io_cpus, "workers_used": len(this_run["pids"]),
            "batch_size": batch_size, "run_id": run_id, "ray_version": ray.__version__, "seconds": seconds,
            "paragraphs_scored_now": this_run["paragraphs"],
            "paragraphs_per_second": round(this_run["paragraphs"] / seconds, 2) if seconds and todo else None,
            "scoring_seconds": round(window, 2) if window else None,
            "paragraphs_per_second_scoring": round(this_run["paragraphs"] / window, 2) if window else None}
    checkpoints.write_meta(meta)  # last: marks a complete output
    return meta


def check_model(model: str, device: str = "auto", precision: str = "fp32", batch_size: int = 64,
                max_length: int | None = None, gpus_per_worker: float = 0) -> None:
    """Load the model once on the driver, so that a bad folder or setting is one clear TopicStanceError
    before any actor starts (on the CPU; for GPU workers only the folder and sizes are checked)."""
    from .engines import check_model_folder, check_sizes
    from .inference import ArticleScorer

    path = check_model_folder(model)
    check_sizes(batch_size, max_length)
    if not gpus_per_worker and device in ("auto", "cpu"):
        ArticleScorer.from_pretrained(path, device="cpu", batch_size=batch_size, max_length=max_length,
                                      precision=precision)


# ---------------------------------------------------------------- command line
def run(args: argparse.Namespace) -> dict:
    """Run `predict-ray` from parsed arguments; prints a summary on stderr and returns the run metadata."""
    if not sys.stderr.isatty():
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # no per-run INFO chatter in logs
    meta = predict_ray(args.inputs, args.model, args.output, fmt=args.format, unit=args.unit, workers=args.workers,
                       threads_per_worker=args.threads_per_worker, batch_size=args.batch_size,
                       records_per_batch=args.records_per_batch, device=args.device, precision=args.precision,
                       max_length=args.max_length, max_chars=args.max_chars, text_column=args.text_column,
                       id_column=args.id_column, gpus_per_worker=args.gpus_per_worker, io_cpus=args.io_cpus,
                       rows_per_shard=args.rows_per_shard, overwrite=args.overwrite, record_files=args.record_files,
                       address=args.address, num_cpus=args.num_cpus,
                       files_per_checkpoint=args.files_per_checkpoint)
    for example in meta["skipped_examples"]:
        print(f"skipped: {example}", file=sys.stderr)
    if meta["skipped"] > len(meta["skipped_examples"]):
        print(f"... and {meta['skipped'] - len(meta['skipped_examples'])} more in {args.output}/{ERRORS_DIR}/",
              file=sys.stderr)
    resumed = f" ({meta['files_resumed']} file(s) already scored there)" if meta["files_resumed"] else ""
    print(f"scored {meta['records']} {args.unit}(s), {meta['paragraphs']} paragraph(s) from {meta['files']} file(s)"
          f"{resumed} in {meta['seconds']} s ({meta['paragraphs_per_second']} paragraphs/s, {meta['workers_used']} of "
          f"{args.workers} worker(s) x {args.threads_per_worker} thread(s)); skipped {meta['skipped']}; "
          f"{len(meta['shards'])} shard(s) in {args.output}", file=sys.stderr)
    return meta
