"""Fault injection: bad inputs, bad model folders, write failures, signals, the API on empty input.

Each case asserts the exit code, one line naming the file / line / field or path, no traceback,
and that nothing was written or the old output is intact.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from topic_stance.cli import main

ARTICLE = "Talks on tariffs\n\nwang warned on tariffs and trade sanctions.\n\nconstructive dialogue on drills near taiwan.\n"


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return info.value.code, err


@pytest.fixture
def old_output(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("old results\n")
    os.chmod(out, 0o640)
    return out


def test_disk_full_keeps_the_old_output(tmp_path, tiny_model_dir, capsys, monkeypatch, old_output):
    import topic_stance.io as io

    def full(self, article):
        raise OSError(errno.ENOSPC, "No space left on device", str(old_output))

    monkeypatch.setattr(io.ResultWriter, "write", full)
    (tmp_path / "a.txt").write_text(ARTICLE)
    code, err = run_cli(capsys, "predict", "--model", tiny_model_dir, tmp_path / "a.txt", "--output", old_output)
    assert code == 2 and "No space left on device" in err
    assert old_output.read_text() == "old results\n" and not list(tmp_path.glob(".out.jsonl*"))


def test_replaced_output_keeps_its_mode(tmp_path, tiny_model_dir, old_output):
    (tmp_path / "a.txt").write_text(ARTICLE)
    main(["predict", "--model", str(tiny_model_dir), str(tmp_path / "a.txt"), "--output", str(old_output)])
    assert old_output.read_text() != "old results\n" and (old_output.stat().st_mode & 0o777) == 0o640


def test_articles_without_paragraphs_keep_a_row_in_tables(tmp_path, tiny_model_dir):
    import csv

    (tmp_path / "a.txt").write_text(ARTICLE)
    (tmp_path / "b.txt").write_text("Only a headline\n")
    main(["predict", "--model", str(tiny_model_dir), str(tmp_path / "a.txt"), str(tmp_path / "b.txt"),
          "--output", str(tmp_path / "o.csv")])
    rows = list(csv.DictReader((tmp_path / "o.csv").open()))
    assert [r["article_id"] for r in rows] == ["a", "a", "b"] and rows[2]["text"] == ""


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_mid_run_leave_no_partial_file(tmp_path, tiny_model_dir, old_output, sig, code):
    source = tmp_path / "many.jsonl"
    source.write_text("".join(json.dumps({"id": f"a{i}", "text": ARTICLE * 3}) + "\n" for i in range(20000)))
    proc = subprocess.Popen([sys.executable, "-m", "topic_stance", "predict", "--model", str(tiny_model_dir),
                             str(source), "--output", str(old_output), "--on-error", "skip"],
                            stderr=subprocess.PIPE, text=True,
                            # a background job inherits SIGINT ignored (then Python keeps ignoring it): undo that
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not list(tmp_path.glob(".out.jsonl.tmp-*")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code and "interrupted: nothing was written" in err and "Traceback" not in err
    assert old_output.read_text() == "old results\n" and not list(tmp_path.glob(".out.jsonl*"))


def test_remote_code_in_a_model_folder_never_runs(tmp_path, tiny_model_dir, capsys):
    import shutil

    folder = tmp_path / "evil"
    shutil.copytree(tiny_model_dir, folder)
    marker = tmp_path / "pwned"
    (folder / "evil_code.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    for name in ("config.json", "tokenizer_config.json"):
        config = json.loads((folder / name).read_text())
        config["auto_map"] = {"AutoConfig": "evil_code.Evil", "AutoModel": "evil_code.Evil",
                              "AutoTokenizer": ["evil_code.Evil", None]}
        (folder / name).write_text(json.dumps(config))
    (tmp_path / "a.txt").write_text(ARTICLE)
    try:
        main(["predict", "--model", str(folder), str(tmp_path / "a.txt"), "--output", str(tmp_path / "o.jsonl")])
    except SystemExit:
        pass
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "missing", "bad-config"])
def test_damaged_model_folders_are_one_line(tmp_path, tiny_model_dir, capsys, damage):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(tiny_model_dir, folder)
    weights = folder / "model.safetensors"
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "garbage":
        weights.write_bytes(os.urandom(4096))
    elif damage == "missing":
        weights.unlink()
    else:
        (folder / "config.json").write_text("{not json")
    (tmp_path / "a.txt").write_text(ARTICLE)
    code, err = run_cli(capsys, "predict", "--model", folder, tmp_path / "a.txt", "--output", tmp_path / "o.jsonl")
    assert code == 2 and str(folder) in err and not (tmp_path / "o.jsonl").exists()


def test_inputs_are_all_checked_before_the_first_is_scored(tmp_path, tiny_model_dir, capsys, monkeypatch):
    import topic_stance.inference as inference

    monkeypatch.setattr(inference.ArticleScorer, "score_articles", lambda *a, **k: pytest.fail("scored too early"))
    (tmp_path / "a.txt").write_text(ARTICLE)
    code, err = run_cli(capsys, "predict", "--model", tiny_model_dir, tmp_path / "a.txt", tmp_path / "missing.txt",
                        "--output", tmp_path / "o.jsonl")
    assert code == 2 and "missing.txt" in err


def test_python_api_on_empty_and_malformed_input(tiny_model_dir):
    from topic_stance.inference import ArticleScorer

    scorer = ArticleScorer.from_pretrained(tiny_model_dir, device="cpu")
    assert scorer.score_paragraphs([]) == [] and scorer.score_article("").paragraphs == []
    assert list(scorer.score_articles([])) == []
    with pytest.raises((TypeError, KeyError)):
        list(scorer.score_articles([{"id": "x"}]))  # no text: a plain error the host can catch
