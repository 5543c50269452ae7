"""cli.py: every subcommand runs; errors become one line and an exit code; v1 flag spellings work."""

import csv
import json
import subprocess
import sys

import pytest

from topic_stance.cli import main
from topic_stance.labels import read_label_file

from conftest import REPO

ARTICLE = ("Talks on tariffs\n\nBy Jane Doe\n\nwang warned on tariffs and trade sanctions.\n\n"
           "constructive dialogue and cooperation on drills near taiwan.\n\nLeave a Comment\n")


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


def test_underscore_flags_of_v1_still_work(tmp_path, tiny_model_dir):
    (tmp_path / "a.txt").write_text(ARTICLE)
    main(["predict", "--model", str(tiny_model_dir), str(tmp_path / "a.txt"), "--batch_size", "2",
          "--max_length", "64", "--on_error", "skip", "--output", str(tmp_path / "o.jsonl")])
    assert (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize("flags, message", [
    (["--batch-size", "-1"], "must be >= 1"),
    (["--batch-size", "0"], "must be >= 1"),
    (["--max-length", "3"], "must be >= 16"),
    (["--max-length", "0"], "must be >= 16"),
    (["--precision", "int4"], "invalid choice"),
])
def test_bad_sizes_are_refused_before_scoring(tmp_path, tiny_model_dir, capsys, flags, message):
    (tmp_path / "a.txt").write_text(ARTICLE)
    code = run_cli("predict", "--model", str(tiny_model_dir), str(tmp_path / "a.txt"), *flags,
                   "--output", str(tmp_path / "o.jsonl"))
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize("case", ["same-as-input", "directory", "device"])
def test_output_that_would_destroy_input_is_refused(tmp_path, tiny_model_dir, capsys, case):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": ARTICLE}) + "\n")
    before = source.read_bytes()
    output = {"same-as-input": source, "directory": tmp_path, "device": "/dev/null"}[case]
    code = run_cli("predict", "--model", str(tiny_model_dir), str(source), "--output", str(output))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and source.read_bytes() == before


def test_missing_model_folder_and_corrupt_weights_are_one_line(tmp_path, tiny_model_dir, capsys):
    import shutil

    (tmp_path / "a.txt").write_text(ARTICLE)
    assert run_cli("predict", "--model", str(tmp_path / "nope"), str(tmp_path / "a.txt"),
                   "--output", str(tmp_path / "o.jsonl")) == 2
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.safetensors").write_bytes(b"garbage" * 10)
    assert run_cli("predict", "--model", str(broken), str(tmp_path / "a.txt"), "--output", str(tmp_path / "o.jsonl")) == 2
    err = capsys.readouterr().err
    assert "no such model folder" in err and "cannot load the model weights" in err and "Traceback" not in err


def test_lone_surrogate_is_one_skipped_record(tmp_path, tiny_model_dir, capsys):
    source = tmp_path / "s.jsonl"
    source.write_text('{"id": "bad", "text": "Headline\\n\\nbroken \\ud800 text here"}\n'
                      + json.dumps({"id": "good", "text": ARTICLE}) + "\n")
    main(["predict", "--model", str(tiny_model_dir), str(source), "--on-error", "skip",
          "--output", str(tmp_path / "o.jsonl")])
    lines = [json.loads(l) for l in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [l["id"] for l in lines] == ["good"] and "s.jsonl:1" in capsys.readouterr().err


def test_evaluate_with_compare_and_checks(tmp_path, tiny_model_dir, synthetic_data, capsys):
    from topic_stance.training import make_arguments, train_baseline

    baseline = train_baseline(make_arguments(data=[str(synthetic_data)], bootstrap=0, output=str(tmp_path / "b"))[0])
    main(["evaluate", "--model", str(tiny_model_dir), "--compare", str(baseline), "--data", str(synthetic_data),
          "--bootstrap", "0", "--checks", "--output", str(tmp_path / "m.json")])
    out = capsys.readouterr().out
    assert "topic micro-F1" in out and "behavioural checks" in out
    report = json.loads((tmp_path / "m.json").read_text())
    assert set(report["models"]) == {str(tiny_model_dir), str(baseline)}
    assert 0.0 <= report["checks"][str(baseline)]["pass_rate"] <= 1.0


def test_evaluate_compare_with_a_missing_folder_fails_before_scoring(tmp_path, tiny_model_dir, synthetic_data, capsys):
    code = run_cli("evaluate", "--model", str(tiny_model_dir), "--compare", str(tmp_path / "nope"),
                   "--data", str(synthetic_data))
    assert code == 2 and "not a model folder" in capsys.readouterr().err


def test_errors_command_lists_mistakes_without_terminal_escapes(tmp_path, tiny_model_dir, capsys):
    data = tmp_path / "labels.jsonl"
    data.write_text(json.dumps({"id": "x-p00", "text": "wang warned \x1b[31mred\x1b[0m on drills near taiwan",
                                "topics": [], "stance": "conciliatory"}) + "\n")
    main(["errors", "--model", str(tiny_model_dir), "--data", str(data), "--output", str(tmp_path / "e.jsonl")])
    out = capsys.readouterr().out
    assert "x-p00" in out and "\x1b" not in out and "\\x1b" in out
    assert (tmp_path / "e.jsonl").read_text().strip()


def test_baseline_command_trains_a_folder(tmp_path, synthetic_data, capsys):
    main(["baseline", "--data", str(synthetic_data), "--output", str(tmp_path / "b"), "--bootstrap", "0"])
    assert (tmp_path / "b" / "config.json").exists() and "model written to" in capsys.readouterr().out


def test_train_refusal_is_one_line(tmp_path, tiny_model_dir, synthetic_data, capsys):
    code = run_cli("train", "--data", str(synthetic_data), "--output", str(tiny_model_dir))
    assert code == 2 and "already exists" in capsys.readouterr().err


def test_every_subcommand_has_help(capsys):
    from topic_stance.cli import COMMANDS

    for command in COMMANDS:
        assert run_cli(command, "--help") == 0
        assert "usage" in capsys.readouterr().out


def test_unexpected_errors_are_named_not_traced(tmp_path, tiny_model_dir, capsys, monkeypatch):
    import topic_stance.inference as inference

    def broken(*args, **kwargs):
        raise ZeroDivisionError("something inside broke")

    monkeypatch.setattr(inference.ArticleScorer, "score_articles", broken)
    (tmp_path / "a.txt").write_text(ARTICLE)
    code = run_cli("predict", "--model", str(tiny_model_dir), str(tmp_path / "a.txt"), "--output", str(tmp_path / "o.jsonl"))
    err = capsys.readouterr().err
    assert code == 1 and "unexpected ZeroDivisionError" in err and "Traceback" not in err


def test_teacher_targets_select_and_audit_commands(tmp_path, tiny_model_dir, synthetic_data, capsys):
    """The labelling-loop and distillation commands run from the command line end to end."""
    main(["teacher-targets", "--teacher", str(tiny_model_dir), "--data", str(synthetic_data),
          "--output", str(tmp_path / "targets.jsonl")])
    header = json.loads((tmp_path / "targets.jsonl").read_text().splitlines()[0])
    assert header["texts"] > 100 and "teacher soft targets" in capsys.readouterr().err
    main(["select", "--model", str(tiny_model_dir), "--pool", str(synthetic_data), "--n", "5",
          "--per-article-cap", "1", "--output", str(tmp_path / "next.jsonl")])
    picks = [json.loads(l) for l in (tmp_path / "next.jsonl").read_text().splitlines()]
    assert len(picks) == 5 and len({p["article_id"] for p in picks}) == 5
    main(["audit", "--data", str(synthetic_data), "--folds", "3", "--top", "5", "--output", str(tmp_path / "a.jsonl")])
    assert all("audit" in json.loads(l) for l in (tmp_path / "a.jsonl").read_text().splitlines())


@pytest.mark.parametrize("flags, message", [
    (["--workers", "2"], "--workers: only with --engine ray"),
    (["--address", "auto"], "--address: only with --engine ray"),
    (["--engine", "ray", "--on-error", "fail"], "--on-error fail: not available with --engine ray"),
])
def test_ray_flags_need_the_ray_engine(tmp_path, tiny_model_dir, capsys, flags, message):
    article = tmp_path / "a.txt"
    article.write_text("Headline\n\nWang warned on tariffs and trade sanctions today.\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--model", str(tiny_model_dir), str(article), "--output", str(tmp_path / "out"), *flags])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
