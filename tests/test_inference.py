import csv
import json
import subprocess
import sys

import pytest

from topic_stance.cli import main
from topic_stance.inference import ArticleScorer
from topic_stance.labels import read_label_file

ARTICLE = ("Talks on tariffs\n\nBy Jane Doe\n\nwang warned on tariffs and trade sanctions.\n\n"
           "constructive dialogue and cooperation on drills near taiwan.\n\nLeave a Comment\n")


@pytest.fixture(scope="module")
def scorer(tiny_model_dir):
    return ArticleScorer.from_pretrained(tiny_model_dir, device="cpu", batch_size=4, max_length=32)


def test_score_article_fields_and_summary(scorer):
    result = scorer.score_article(ARTICLE, id="a1")
    assert result.headline == "Talks on tariffs"
    assert [p.id for p in result.paragraphs] == ["a1-p00", "a1-p01"]
    p = result.paragraphs[0]
    assert ARTICLE[p.start:p.end] == p.text
    assert set(p.topic_scores) == set(scorer.topic_labels) and p.stance in scorer.stance_labels
    assert abs(sum(p.stance_scores.values()) - 1) < 1e-3
    assert p.topics == [t for t in scorer.topic_labels if p.topic_scores[t] >= scorer.thresholds[scorer.topic_labels.index(t)]]
    summary = result.summary
    assert summary["paragraphs"] == 2 and summary["dominant_stance"] in scorer.stance_labels
    assert abs(sum(summary["stance_distribution"].values()) - 1) < 1e-6


def test_batching_and_sorting_do_not_change_results(scorer, tiny_model_dir):
    texts = ["wang warned", "constructive dialogue and cooperation on drills near taiwan " * 3, "met on"] * 3
    one_by_one = [scorer.score_paragraphs([t])[0].topic_scores for t in texts]
    batched = [r.topic_scores for r in scorer.score_paragraphs(texts)]
    for a, b in zip(one_by_one, batched):
        assert a == pytest.approx(b, abs=2e-4)


def test_score_articles_streams_lazily(scorer):
    consumed = []

    def articles():
        for i in range(10_000):
            consumed.append(i)
            yield {"id": f"x{i}", "text": ARTICLE}

    stream = scorer.score_articles(articles(), chunk_paragraphs=8)
    first = next(stream)
    assert first.id == "x0"
    assert len(consumed) < 50  # only the first chunks were read, not 10,000 articles
    assert [r.id for r in (next(stream) for _ in range(5))] == [f"x{i}" for i in range(1, 6)]


def test_long_paragraph_is_windowed_not_cut(scorer):
    tail = " drills near taiwan" * 5
    long_text = "met on " * 60 + tail
    encoded = scorer.engine.encode([long_text])
    assert len(encoded["input_ids"]) > 1 and set(encoded["owner"]) == {0}
    merged = scorer.score_paragraphs([long_text])[0]
    windows = scorer.engine.tokenizer.batch_decode(encoded["input_ids"], skip_special_tokens=True)
    assert "taiwan" in windows[-1]
    last = scorer.score_paragraphs([windows[-1]])[0]
    # topics are the max over windows: the merged score is at least the last window's
    assert merged.topic_scores["taiwan"] >= last.topic_scores["taiwan"] - 1e-3


def run_cli(*args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    return exit_info.value.code


def test_predict_cli_jsonl_csv_parquet(tmp_path, tiny_model_dir):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "one.txt").write_text(ARTICLE)
    (folder / "two.txt").write_text(ARTICLE.replace("wang", "blinken"))
    main(["predict", "--model", str(tiny_model_dir), str(folder), "--output", str(tmp_path / "out.jsonl")])
    lines = [json.loads(l) for l in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [l["id"] for l in lines] == ["one", "two"] and len(lines[0]["paragraphs"]) == 2
    meta = json.loads((tmp_path / "out.jsonl.meta.json").read_text())
    assert meta["precision"] == "fp32" and meta["records"] == 2
    main(["predict", "--model", str(tiny_model_dir), str(folder), "--output", str(tmp_path / "out.csv")])
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert len(rows) == 4 and rows[0]["article_id"] == "one" and "topic_score_taiwan" in rows[0]
    main(["predict", "--model", str(tiny_model_dir), str(folder), "--output", str(tmp_path / "out.parquet")])
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "out.parquet").num_rows == 4


def test_paragraph_unit_output_is_a_valid_label_file(tmp_path, tiny_model_dir):
    source = tmp_path / "paras.jsonl"
    source.write_text(json.dumps({"id": "k1", "text": "wang warned on tariffs"}) + "\n" +
                      json.dumps({"id": "k2", "text": "Headline-like line"}) + "\n")
    main(["predict", "--model", str(tiny_model_dir), str(source), "--unit", "paragraph",
          "--output", str(tmp_path / "pred.jsonl")])
    records, problems = read_label_file(tmp_path / "pred.jsonl")
    assert not problems and [r["id"] for r in records] == ["k1", "k2"]


BAD_INPUTS = {
    "empty.txt": (b"", "is empty"),
    "blank.jsonl": (b'{"id": "a", "text": "   "}\n', "field 'text': is empty"),
    "notext.jsonl": (b'{"id": "a", "text": "fine text here"}\n{"id": "b"}\n', ":2: field 'text': missing"),
    "broken.jsonl": (b'{"id": "a", "text": "x"\n', ":1: field '<json>': invalid JSON"),
    "latin1.txt": ("Headline\n\nCaf\u00e9 talks were held.\n".encode("latin-1"), ":3: field '<encoding>': not UTF-8"),
    "huge.jsonl": (json.dumps({"id": "h", "text": "word " * 2_100_000}).encode(), "over the limit"),
    "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_fails_clearly_and_writes_nothing(tmp_path, tiny_model_dir, capsys, name):
    content, message = BAD_INPUTS[name]
    (tmp_path / name).write_bytes(content)
    good = tmp_path / "good.txt"
    good.write_text(ARTICLE)
    out = tmp_path / "out.jsonl"
    code = run_cli("predict", "--model", str(tiny_model_dir), str(good), str(tmp_path / name), "--output", str(out))
    err = capsys.readouterr().err
    assert code == 2 and name in err and message in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".out.jsonl*"))


def test_skip_mode_reports_and_counts(tmp_path, tiny_model_dir, capsys):
    source = tmp_path / "mixed.jsonl"
    source.write_text(json.dumps({"id": "a", "text": ARTICLE}) + "\n{oops\n" + json.dumps({"id": "c"}) + "\n")
    main(["predict", "--model", str(tiny_model_dir), str(source), "--on-error", "skip",
          "--output", str(tmp_path / "out.jsonl")])
    err = capsys.readouterr().err
    assert "mixed.jsonl:2" in err and "mixed.jsonl:3" in err and "skipped 2" in err
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 1
    assert json.loads((tmp_path / "out.jsonl.meta.json").read_text())["skipped"] == 2


def test_crash_mid_run_leaves_no_output(tmp_path, tiny_model_dir, monkeypatch):
    import topic_stance.io as io

    def exploding_write(self, article):
        raise KeyboardInterrupt

    (tmp_path / "a.txt").write_text(ARTICLE)
    out = tmp_path / "out.jsonl"
    out.write_text("previous results\n")
    monkeypatch.setattr(io.ResultWriter, "write", exploding_write)
    assert run_cli("predict", "--model", str(tiny_model_dir), str(tmp_path / "a.txt"), "--output", str(out)) == 130
    assert out.read_text() == "previous results\n" and not list(tmp_path.glob(".out.jsonl*"))


def test_console_script_runs(tmp_path, tiny_model_dir):
    (tmp_path / "a.txt").write_text(ARTICLE)
    proc = subprocess.run([sys.executable, "-m", "topic_stance", "predict", "--model", str(tiny_model_dir),
                           str(tmp_path / "a.txt"), "--output", str(tmp_path / "o.jsonl")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o.jsonl").exists()
