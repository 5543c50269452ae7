"""Batch inference on Ray Data (topic_stance/distributed.py).

Most tests run the pipeline's pieces (planning, reading, the scoring actor class, the shard sink) in
this process, without Ray. One module-scoped local Ray instance (2 CPUs, no dashboard) serves the
end-to-end tests, which check that the shards equal ArticleScorer.score_articles on the same input.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from topic_stance import distributed as dist
from topic_stance.inference import score_records
from topic_stance.errors import TopicStanceError
from topic_stance.io import InputRecord, expand_inputs, paragraph_rows, read_inputs
from topic_stance.labels import Problem

from conftest import synthetic_records

TOL = 1e-4


HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Wang and Blinken meet in Beijing</title>
<meta property="og:title" content="Wang and Blinken meet in Beijing"></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav><article><h1>Wang and Blinken meet in Beijing</h1>
<p>{0}, said officials in Beijing after a long meeting on Monday about the talks.</p>
<p>{1}, the ministry said on Tuesday in a statement about the dialogue and the sanctions.</p>
</article><footer>Copyright 2024 Example News. All rights reserved.</footer></body></html>"""
FILES = ["articles.jsonl", "page.html", "story.txt", "sub/table.parquet"]


def corpus(folder: Path) -> Path:
    """A small input folder: multi-paragraph JSONL articles (one bad line, one empty text), an HTML page,
    a .txt article, a Parquet table (one null text), and files that are skipped (hidden, unsupported)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    texts = [f"{r['text'].capitalize()}, officials said on Monday."  # sentences, kept by the splitter
             for r in synthetic_records(articles=12, per_article=4, seed=3)]
    articles = [{"id": f"j{n}", "text": f"Headline number {n}\n\n" + "\n\n".join(texts[4 * n:4 * n + 4]),
                 "url": f"https://example.com/{n}"} for n in range(8)]
    lines = [json.dumps(a) for a in articles[:4]] + ["{not json"] + [json.dumps({"id": "empty", "text": " "})] + \
        [json.dumps(a) for a in articles[4:]] + [json.dumps({"id": "headline-only", "text": "Wang meets Blinken"})]
    (folder / "articles.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "story.txt").write_text("Wang met Blinken\n\n" + "\n\n".join(texts[32:36]) + "\n", encoding="utf-8")
    (folder / "sub").mkdir(exist_ok=True)
    pq.write_table(pa.table({"id": ["q1", "q2", "q3"], "text": [texts[40], None, "\n\n".join(texts[41:44])],
                             "title": ["A title", None, None]}), folder / "sub" / "table.parquet")
    (folder / "page.html").write_text(HTML.format(texts[44], texts[45]), encoding="utf-8")
    (folder / ".hidden.txt").write_text("never read", encoding="utf-8")
    (folder / "notes.md").write_text("not an input", encoding="utf-8")
    return folder


def expected(model_dir: Path, folder: Path, unit: str = "article"):
    """(article dicts, problems) as `topic-stance predict --on-error skip` computes them."""
    return expected_for(model_dir, [folder / name for name in FILES], unit)


def expected_for(model_dir: Path, files: list[Path], unit: str = "article"):
    from topic_stance.inference import ArticleScorer

    items = list(read_inputs(expand_inputs(files), unit))
    records = [i for i in items if isinstance(i, InputRecord)]
    scorer = ArticleScorer.from_pretrained(model_dir, device="cpu")
    return list(score_records(scorer, records, unit)), [i for i in items if isinstance(i, Problem)], scorer


def assert_rows_match(rows: list[dict], want: list[dict]) -> None:
    assert len(rows) == len(want)
    by_id = {(r["article_id"], r["id"]): r for r in rows}  # id is None on the row of an article without body
    assert len(by_id) == len(rows)
    for row in want:
        got = by_id[row["article_id"], row["id"]]
        assert set(got) == set(row)
        for key, value in row.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, abs=TOL), key
            else:
                assert got[key] == value, key


def assert_articles_match(got: list[dict], want: list[dict]) -> None:
    assert sorted(a["id"] for a in got) == sorted(a["id"] for a in want)
    by_id = {a["id"]: a for a in got}
    for article in want:
        mine = by_id[article["id"]]
        assert mine["headline"] == article["headline"] and mine.get("meta", {}) == article.get("meta", {})
        assert [p["id"] for p in mine["paragraphs"]] == [p["id"] for p in article["paragraphs"]]
        for p, q in zip(mine["paragraphs"], article["paragraphs"]):
            assert (p["topics"], p["stance"], p["text"], p["start"], p["end"]) == \
                (q["topics"], q["stance"], q["text"], q["start"], q["end"])
            for kind in ("topic_scores", "stance_scores"):
                assert p[kind] == pytest.approx(q[kind], abs=TOL)


# ---------------------------------------------------------------- without Ray
def test_plan_sources_local_folder_and_file_uri(tmp_path):
    folder = corpus(tmp_path / "in")
    # as predict: a folder is scanned for documents; record files are read when named
    documents = dist.plan_sources([folder])
    assert [s["name"] for s in documents] == [str(p) for p in expand_inputs([folder])] == \
        [str(folder / "page.html"), str(folder / "story.txt")]
    named = dist.plan_sources([folder / "articles.jsonl", folder])
    assert [s["name"] for s in named] == [str(folder / n) for n in ("articles.jsonl", "page.html", "story.txt")]
    local = dist.plan_sources([folder], record_files=True)
    assert [s["name"] for s in local] == [str(folder / n) for n in FILES]
    assert [s["kind"] for s in local] == ["jsonl", "html", "txt", "parquet"]
    remote = dist.plan_sources([folder.as_uri()], record_files=True)
    assert [s["name"] for s in remote] == [f"{folder.as_uri()}/{n}" for n in FILES]
    assert [s["name"] for s in dist.plan_sources([folder.as_uri()])] == [f"{folder.as_uri()}/{n}" for n in
                                                                         ("page.html", "story.txt")]
    assert dist.plan_sources([folder, folder / "story.txt"], True) == local  # a file reached twice is read once
    for bad, message in (("-", "standard input"), (tmp_path / "missing", "no such file"),
                         ((tmp_path / "missing").as_uri(), "no such file"),
                         ((folder / "sub").as_uri(), "add --record-files")):
        with pytest.raises(TopicStanceError, match=message):
            dist.plan_sources([bad])


def test_read_source_matches_io_for_local_and_uri_sources(tmp_path):
    folder = corpus(tmp_path / "in")
    want = list(read_inputs(expand_inputs([folder / name for name in FILES]), "article"))
    for sources in (dist.plan_sources([folder], True), dist.plan_sources([folder.as_uri()], True)):
        got = [item for s in sources for item in dist.read_source(s, "article", 100_000)]
        assert [type(i) for i in got] == [type(i) for i in want]
        for mine, theirs in zip(got, want):
            assert (mine.line, getattr(mine, "id", None), getattr(mine, "text", None), getattr(mine, "meta", None),
                    getattr(mine, "message", None)) == \
                (theirs.line, getattr(theirs, "id", None), getattr(theirs, "text", None),
                 getattr(theirs, "meta", None), getattr(theirs, "message", None))
        assert {i.path for i in got} == {s["name"] for s in sources}


def record_table(folder: Path, unit: str = "article"):
    import pyarrow as pa

    sources = dist.plan_sources([folder], record_files=True)
    batch = pa.table({"source": [json.dumps(s) for s in sources]})
    return pa.concat_tables(dist.read_batch(batch, unit, 100_000))


def test_score_batch_equals_score_articles_in_both_formats(tmp_path, tiny_model_dir):
    folder = corpus(tmp_path / "in")
    want, problems, scorer = expected(tiny_model_dir, folder)
    table = record_table(folder)
    assert table.num_rows == len(want) + len(problems)

    out = dist.ScoreBatch(str(tiny_model_dir), "parquet", threads=1)(table)
    rows = out.to_pylist()
    data = [{k: v for k, v in r.items() if k not in (dist.KIND, dist.NOTE)} for r in rows if r[dist.KIND] == "data"]
    assert_rows_match(data, [r for a in want for r in paragraph_rows(a, scorer.topic_labels, scorer.stance_labels)])
    errors = [json.loads(r[dist.NOTE]) for r in rows if r[dist.KIND] == "error"]
    assert sorted(e["problem"] for e in errors) == sorted(str(p) for p in problems) and len(errors) == 3
    (stats,) = [json.loads(r[dist.NOTE]) for r in rows if r[dist.KIND] == "stats"]
    assert stats["records"] == len(want) and stats["paragraphs"] == sum(len(a["paragraphs"]) for a in want)
    assert len(data) == stats["paragraphs"] + 1  # the headline-only article keeps one (empty) row
    assert stats["scorer"]["threads"] == 1 and stats["scorer"]["device"] == "cpu"

    lines = dist.ScoreBatch(str(tiny_model_dir), "jsonl")(table).to_pylist()
    assert_articles_match([json.loads(r["json"]) for r in lines if r[dist.KIND] == "data"], want)

    want_p, _, _ = expected(tiny_model_dir, folder, "paragraph")
    lines = dist.ScoreBatch(str(tiny_model_dir), "jsonl", unit="paragraph")(record_table(folder, "paragraph"))
    got = [json.loads(r["json"]) for r in lines.to_pylist() if r[dist.KIND] == "data"]
    assert [g["id"] for g in got] == [a["id"] for a in want_p]
    assert all(g["stance"] == a["paragraphs"][0]["stance"] for g, a in zip(got, want_p))


def test_score_batch_isolates_a_record_that_fails(tmp_path, tiny_model_dir):
    folder = corpus(tmp_path / "in")
    table = record_table(folder)
    scorer = dist.ScoreBatch(str(tiny_model_dir), "jsonl")
    real = scorer._score

    def flaky(records):
        if any(r.id == "j2" for r in records):
            raise RuntimeError("tokenizer panic")
        return real(records)

    scorer._score = flaky
    rows = scorer(table).to_pylist()
    assert "j2" not in {json.loads(r["json"])["id"] for r in rows if r[dist.KIND] == "data"}
    failed = [json.loads(r[dist.NOTE]) for r in rows if r[dist.KIND] == "error" and "<score>" in r[dist.NOTE]]
    assert len(failed) == 1 and "j2: cannot score (RuntimeError: tokenizer panic)" in failed[0]["message"]
    assert json.loads(rows[-1][dist.NOTE])["records"] == 9 + 1 + 1 + 2 - 1  # jsonl, html, txt, parquet, less j2


def test_shard_sink_writes_data_and_error_shards(tmp_path):
    import pyarrow as pa

    schema = dist.output_schema("jsonl", [], [])
    block = pa.Table.from_pylist([{"json": '{"id": "a"}', dist.KIND: "data"},
                                  {dist.KIND: "error", dist.NOTE: json.dumps({"problem": "x.jsonl:3: bad"})},
                                  {dist.KIND: "stats", dist.NOTE: json.dumps({"records": 1, "paragraphs": 4,
                                                                              "scorer": {"device": "cpu"}})}],
                                 schema=schema)
    sink = dist.ShardSink(str(tmp_path), "jsonl", "run1", 10)
    counts = sink.write([block, block], argparse.Namespace(task_idx=3))
    assert counts["records"] == 2 and counts["paragraphs"] == 8 and counts["skipped"] == 2
    (shard,) = counts["shards"]
    assert shard.startswith("part-run1-00003-") and (tmp_path / shard).read_text() == '{"id": "a"}\n' * 2
    assert (tmp_path / counts["error_shards"][0]).read_text().count("x.jsonl:3: bad") == 2
    sink.on_write_complete([counts, counts])
    assert sink.summary["records"] == 4 and sink.summary["skipped"] == 4 and len(sink.summary["shards"]) == 2


def test_prepare_output_refusals(tmp_path):
    folder = corpus(tmp_path / "in")
    for output, inputs, message in ((folder / "out", [folder], "inside the input folder"),
                                    (folder / "story.txt", [folder / "story.txt"], "also the input"),
                                    (folder / "page.html", [], "is a file"), ("-", [], "folder of shards")):
        with pytest.raises(TopicStanceError, match=message):
            dist.prepare_output(str(output), list(map(str, inputs)))
    assert dist.prepare_output(str(folder / ".hidden-out"), [str(folder)])  # hidden: never scanned
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    for overwrite in (False, True):
        with pytest.raises(TopicStanceError, match="not a predict-ray output"):
            dist.prepare_output(str(busy), [], overwrite)
    assert (busy / "keep.txt").exists()
    (busy / dist.RUN_FILE).write_text("{}")
    assert dist.prepare_output(str(busy), [], overwrite=False) is False and (busy / "keep.txt").exists()  # resumed
    assert dist.prepare_output(str(busy), [], overwrite=True) is False and not any(busy.iterdir())
    assert dist.prepare_output((tmp_path / "new" / "out").as_uri(), []) is True


def test_bad_model_or_input_fails_before_ray_starts(tmp_path, monkeypatch):
    pytest.importorskip("ray")  # without Ray the first refusal names the missing extra instead
    folder = corpus(tmp_path / "in")
    bad = tmp_path / "bad-model"
    bad.mkdir()
    (bad / "config.json").write_text("{}")
    out = tmp_path / "out"
    for model, inputs, message in ((tmp_path / "none", [folder], "no such model folder"),
                                   (bad, [folder], "cannot load"), (bad, [tmp_path / "nothing"], "no such file")):
        with pytest.raises(TopicStanceError, match=message):
            dist.predict_ray(inputs, model, out)
    assert not out.exists()


def test_checkpoints_resume_state(tmp_path):
    """_run.json pins the settings; markers name finished inputs and their shards; anything else is removed."""
    settings = {"model_sha256": "abc", "format": "parquet"}
    first = dist.Checkpoints(str(tmp_path), settings).open()
    assert json.loads((tmp_path / dist.RUN_FILE).read_text()) == settings and first.done == set()
    (tmp_path / dist.ERRORS_DIR).mkdir()
    for name in ("part-r1c00000-00000-x.parquet", f"{dist.ERRORS_DIR}/part-r1c00000-00001-z.jsonl",
                 "part-r1c00001-00000-y.parquet"):
        (tmp_path / name).write_text("x")
    sources = [{"name": "a.txt", "kind": "txt", "path": str(tmp_path / "a.txt")},
               {"name": "s3://b/c.warc", "kind": "warc", "fs_uri": "s3://b", "fs_path": "b/c.warc"}]
    first.commit("r1", 0, sources, {"shards": ["part-r1c00000-00000-x.parquet"], "records": 3, "paragraphs": 7,
                                    "error_shards": [f"{dist.ERRORS_DIR}/part-r1c00000-00001-z.jsonl"], "skipped": 1,
                                    "examples": ["a.txt:1: bad"]})
    # a second run: the shard of the unfinished checkpoint 1 goes, the finished one stays
    again = dist.Checkpoints(str(tmp_path), settings).open()
    assert again.done == {os.path.realpath(tmp_path / "a.txt"), "s3://b/c.warc"}
    assert sorted(p.name for p in tmp_path.rglob("part-*")) == ["part-r1c00000-00000-x.parquet",
                                                               "part-r1c00000-00001-z.jsonl"]
    assert (again.totals()["records"], again.totals()["paragraphs"], again.totals()["skipped"]) == (3, 7, 1)
    with pytest.raises(TopicStanceError, match="other settings.*model_sha256"):
        dist.Checkpoints(str(tmp_path), {**settings, "model_sha256": "def"}).open()


def test_add_arguments_flags():
    from topic_stance.cli import predict_ray_flags

    parser = predict_ray_flags(argparse.ArgumentParser())
    args = parser.parse_args(["--model", "m", "in1", "s3://bucket/in2", "--output", "out", "--format", "jsonl",
                              "--workers", "2", "--threads_per_worker", "3", "--batch-size", "16"])
    assert (args.model, args.inputs, args.output, args.format, args.workers, args.threads_per_worker,
            args.batch_size, args.unit, args.io_cpus, args.address) == \
        ("m", ["in1", "s3://bucket/in2"], "out", "jsonl", 2, 3, 16, "article", None, None)
    with pytest.raises(SystemExit):  # argparse's own usage error
        parser.parse_args(["--model", "m", "x", "--output", "o", "--workers", "0"])


# ---------------------------------------------------------------- on a local Ray instance
@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=256 * 2**20, logging_level="WARNING")
    from ray.data import DataContext

    DataContext.get_current().enable_progress_bars = False
    yield ray
    if started:
        ray.shutdown()


def cli_args(model_dir, inputs, output, **overrides) -> argparse.Namespace:
    argv = ["--model", str(model_dir), *map(str, inputs), "--output", str(output)]
    for key, value in overrides.items():
        argv += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
    from topic_stance.cli import predict_ray_flags

    return predict_ray_flags(argparse.ArgumentParser()).parse_args(argv)


@pytest.mark.slow
def test_predict_ray_shards_equal_score_articles(ray_session, tmp_path, tiny_model_dir, capsys):
    import pandas as pd


    folder = corpus(tmp_path / "in")
    want, problems, scorer = expected(tiny_model_dir, folder)
    want_rows = [r for a in want for r in paragraph_rows(a, scorer.topic_labels, scorer.stance_labels)]

    # parquet, 2 workers x 1 thread on 2 CPUs: readers and writers get the io_cpus=0 default
    out = tmp_path / "out-parquet"
    meta = dist.run(cli_args(tiny_model_dir, [folder], out, workers=2, records_per_batch=3, record_files=True))
    frame = pd.read_parquet(out)  # `_errors/` and `_meta.json` are ignored by Parquet readers
    assert list(frame.columns) == list(want_rows[0])
    assert_rows_match([{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in frame.to_dict("records")],
                      [{k: v for k, v in r.items()} for r in want_rows])
    assert meta == json.loads((out / dist.META_FILE).read_text())
    assert (meta["records"], meta["paragraphs"], meta["skipped"], meta["files"], meta["io_cpus"]) == \
        (len(want), sum(len(a["paragraphs"]) for a in want), len(problems), 4, 0)
    assert meta["threads"] == 1 and meta["workers_used"] in (1, 2)  # a corpus this small may fit one actor
    errors = [json.loads(line) for shard in meta["error_shards"] for line in (out / shard).read_text().splitlines()]
    assert sorted(e["problem"] for e in errors) == sorted(str(p) for p in problems)
    assert "skipped: " in capsys.readouterr().err

    # jsonl from a file:// URI, one article a line, 1 worker x 1 thread
    out = tmp_path / "out-jsonl"
    meta = dist.run(cli_args(tiny_model_dir, [folder.as_uri()], out, format="jsonl", record_files=True))
    got = [json.loads(line) for shard in meta["shards"] for line in (out / shard).read_text().splitlines()]
    assert_articles_match(got, want)
    assert (meta["records"], meta["skipped"], meta["io_cpus"]) == (len(want), len(problems), 1.0)

    # the readers stay Ray tasks of their own: fused into the actors, one file would feed one actor only
    ds = dist.build_pipeline(dist.plan_sources([folder], True), str(tiny_model_dir), workers=2)
    capsys.readouterr()
    ds.explain()
    plan = capsys.readouterr().out.split("Physical Plan (Optimized)")[-1]
    assert "TaskPoolMapOperator[MapBatches(read_batch)]" in plan and "ActorPoolMapOperator[MapBatches(ScoreBatch)]" in plan

    # the same command again: every input is already scored there, nothing is scored twice
    again = dist.run(cli_args(tiny_model_dir, [folder.as_uri()], out, format="jsonl", record_files=True))
    assert (again["files_resumed"], again["files_scored_now"], again["shards"], again["records"]) == \
        (4, 0, meta["shards"], meta["records"])
    with pytest.raises(TopicStanceError, match="other settings"):
        dist.run(cli_args(tiny_model_dir, [folder.as_uri()], out, format="parquet", record_files=True))


@pytest.mark.slow
def test_a_killed_run_resumes_without_loss_or_duplicates(ray_session, tmp_path, tiny_model_dir):
    """`predict --engine ray` in its own process, killed (SIGKILL, as a preempted node) after its first
    checkpoint; the same command again scores only the rest, and the output equals single-process predict."""
    import pandas as pd

    folder = tmp_path / "in"
    folder.mkdir()
    texts = [f"{r['text'].capitalize()}, officials said on Monday." for r in synthetic_records(articles=8, seed=5)]
    for n in range(8):
        (folder / f"a{n}.txt").write_text(f"Headline {n}\n\n" + "\n\n".join(texts[4 * n:4 * n + 4]) + "\n")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "topic_stance", "predict", "--engine", "ray", "--model", str(tiny_model_dir),
               str(folder), "--output", str(out), "--files-per-checkpoint", "1", "--num-cpus", "1"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "RAY_ADDRESS": ""})
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob(f"{dist.DONE_DIR}/*.json")) and process.poll() is None:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = len(list(out.glob(f"{dist.DONE_DIR}/*.json")))
    assert 1 <= finished < 8 and not (out / dist.META_FILE).exists(), process.stderr.read().decode()[-2000:]

    meta = dist.run(cli_args(tiny_model_dir, [folder], out))  # default checkpoint size: the rest in one
    assert (meta["files_resumed"], meta["files_scored_now"], meta["checkpoints"]) == (finished, 8 - finished,
                                                                                      finished + 1)
    want, _, scorer = expected_for(tiny_model_dir, sorted(folder.iterdir()))
    scorer_rows = [r for a in want for r in paragraph_rows(a, scorer.topic_labels, scorer.stance_labels)]
    frame = pd.read_parquet(out)
    assert_rows_match([{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in frame.to_dict("records")],
                      scorer_rows)
    assert meta["records"] == 8 and meta["paragraphs"] == len(scorer_rows)


def test_without_ray_the_command_names_the_extra(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(TopicStanceError, match=r"topic-stance\[ray\]"):
        dist.predict_ray([corpus(tmp_path / "in")], tmp_path / "none", tmp_path / "out")
