"""End to end on the real bundled all-MiniLM-L6-v2: train briefly, reload, predict, evaluate from the CLI."""

import json

import pytest

from topic_stance.cli import main
from topic_stance.labels import load_records

from conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_model(tmp_path_factory):
    """Two epochs on 40 authored articles, tested on the seeds (about a minute on 2 cores)."""
    records = load_records([REPO / "data" / "labelled"])
    keep = {r["article_id"] for r in records if r["source"] == "seed"}
    keep |= set(sorted({r["article_id"] for r in records if r["source"] == "authored"})[:40])
    folder = tmp_path_factory.mktemp("e2e")
    data = folder / "subset.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records if r["article_id"] in keep))
    output = folder / "minilm"
    main(["train", "--data", str(data), "--output", str(output), "--epochs", "2", "--learning_rate", "2e-4", "--bootstrap", "100"])
    return output, data


def test_real_model_folder_and_metrics(real_model):
    output, _ = real_model
    metrics = json.loads((output / "metrics.json").read_text())
    config = json.loads((output / "config.json").read_text())
    assert config["model_type"] == "topic_stance" and config["encoder"]["hidden_size"] == 384
    assert "all-MiniLM-L6-v2" in config["base_model"]
    # Two epochs on ~500 paragraphs already learn the lexical topic signal (chance is ~0.3).
    assert metrics["validation"]["topics"]["micro_f1"] > 0.6
    assert metrics["test"]["paragraphs"] == 85


def test_real_model_predicts_and_evaluates_from_the_cli(real_model, tmp_path, capsys):
    output, _ = real_model
    main(["predict", "--model", str(output), str(REPO / "data" / "raw" / "seed"), "--output", str(tmp_path / "seed.jsonl")])
    articles = [json.loads(line) for line in (tmp_path / "seed.jsonl").read_text().splitlines()]
    assert [len(a["paragraphs"]) for a in articles] == [14, 19, 11, 19, 22]
    assert articles[3]["headline"].startswith("US concerned at China")
    main(["evaluate", "--model", str(output), "--data", str(REPO / "data" / "labelled" / "seed.jsonl"), "--bootstrap", "100",
          "--output", str(tmp_path / "m.json")])
    table = capsys.readouterr().out
    assert "topic micro-F1" in table and "stance macro-F1" in table
    report = json.loads((tmp_path / "m.json").read_text())
    stored = json.loads((output / "metrics.json").read_text())["test"]
    assert report["topics"]["micro_f1"] == pytest.approx(stored["topics"]["micro_f1"])
    assert report["stance"]["macro_f1"] == pytest.approx(stored["stance"]["macro_f1"])
