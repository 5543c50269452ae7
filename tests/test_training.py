import json

import numpy as np
import pytest

from topic_stance.inference import ArticleScorer
from topic_stance.model import TopicStanceModel
from topic_stance.training import (FolderExists, TrainArguments, fit_temperature, imbalance_weights,
                                   train, tune_thresholds)


def test_model_folder_is_complete(tiny_model_dir):
    names = {p.name for p in tiny_model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "metrics.json", "data.json",
            "training_args.json", "README.md"} <= names
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    assert {"validation", "test", "baseline"} <= set(metrics)
    assert 0.0 <= metrics["test"]["topics"]["micro_f1"] <= 1.0
    assert metrics["baseline"]["test"]["stance"]["macro_f1"] >= 0.0
    data = json.loads((tiny_model_dir / "data.json").read_text())
    assert len(data["files"][0]["sha256"]) == 64 and data["splits"]["test"]["articles"] == 3
    args = json.loads((tiny_model_dir / "training_args.json").read_text())
    assert args["versions"]["torch"] and args["arguments"]["seed"] == 42
    card = (tiny_model_dir / "README.md").read_text()
    assert "TF-IDF baseline" in card and "Limitations" in card
    assert not any(p.name.startswith(".") for p in tiny_model_dir.parent.iterdir())


def test_thresholds_and_temperatures_are_stored_and_used(tiny_model_dir):
    model = TopicStanceModel.from_pretrained(tiny_model_dir)
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    assert model.config.topic_thresholds == list(metrics["topic_thresholds"].values())
    assert all(0.2 <= t <= 0.8 for t in model.config.topic_thresholds)
    assert model.config.topic_temperature == metrics["topic_temperature"]
    scorer = ArticleScorer.from_pretrained(tiny_model_dir, device="cpu")
    assert list(scorer.thresholds) == model.config.topic_thresholds


def test_refuses_to_overwrite_without_flag(tiny_model_dir, synthetic_data, tiny_encoder_dir):
    before = (tiny_model_dir / "model.safetensors").read_bytes()
    with pytest.raises(FolderExists):
        train(TrainArguments(data=[str(synthetic_data)], model=str(tiny_encoder_dir), output=str(tiny_model_dir)))
    assert (tiny_model_dir / "model.safetensors").read_bytes() == before


def test_baseline_folder_has_the_same_metrics_layout(tmp_path, synthetic_data, tiny_model_dir):
    folder = train(TrainArguments(data=[str(synthetic_data)], model="tfidf", output=str(tmp_path / "tfidf")))
    metrics = json.loads((folder / "metrics.json").read_text())
    transformer = json.loads((tiny_model_dir / "metrics.json").read_text())
    assert set(metrics["test"]) == set(transformer["test"])
    scorer = ArticleScorer.from_pretrained(folder)
    result = scorer.score_paragraphs(["wang warned drills near taiwan"])[0]
    assert set(result.topic_scores) == {"taiwan", "ukraine_russia", "trade", "human_rights"}
    # the synthetic corpus is lexical, so the baseline must learn it
    assert metrics["validation"]["topics"]["micro_f1"] > 0.9


def test_interrupted_run_leaves_no_finished_looking_folder(tmp_path, synthetic_data, tiny_encoder_dir, monkeypatch):
    import topic_stance.training as training

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "write_model_card", boom, raising=False)
    monkeypatch.setattr("topic_stance.model_card.write_model_card", boom)
    with pytest.raises(KeyboardInterrupt):
        train(TrainArguments(data=[str(synthetic_data)], model="tfidf", output=str(tmp_path / "m")))
    assert not (tmp_path / "m").exists()


def test_threshold_tuning_finds_the_separating_value():
    probs = np.array([[0.1], [0.3], [0.35], [0.7], [0.9]])
    targets = np.array([[0], [0], [1], [1], [1]])
    assert tune_thresholds(probs, targets) == [0.35]  # any of (0.30, 0.35] separates; ties go nearest 0.5
    assert tune_thresholds(probs, np.zeros_like(targets)) == [0.5]


def test_temperature_fit_shrinks_overconfident_logits():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 400)
    logits = rng.normal(size=(400, 3))
    logits[np.arange(400), labels] += 1.0
    assert fit_temperature(logits * 10, labels, multilabel=False) > 3.0


def test_imbalance_weights_favour_rare_labels(tiny_model_dir):
    from topic_stance.data import load_splits

    splits = load_splits(["data/labelled"])
    pos_weight, class_weight = imbalance_weights(splits)
    assert len(pos_weight) == 4 and all(w >= 1 for w in pos_weight)
    assert np.mean(class_weight) == pytest.approx(1.0, abs=1e-3)


def test_resume_continues_from_the_last_checkpoint(tmp_path, synthetic_data, tiny_encoder_dir, monkeypatch):
    """A run killed after its first checkpoint resumes there with --resume instead of starting over."""
    from transformers import TrainerCallback

    import topic_stance.training as training

    class StopAfterFirstSave(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            raise KeyboardInterrupt

    original = training.build_trainer

    def interrupted(*args, **kwargs):
        trainer = original(*args, **kwargs)
        trainer.add_callback(StopAfterFirstSave())
        return trainer

    output = tmp_path / "m"
    arguments = dict(data=[str(synthetic_data)], model=str(tiny_encoder_dir), output=str(output), epochs=3,
                     batch_size=8, device="cpu", bootstrap=0, patience=5)
    monkeypatch.setattr(training, "build_trainer", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(TrainArguments(**arguments))
    monkeypatch.undo()
    staging = tmp_path / ".m.incomplete" / "checkpoints"
    checkpoints = [p.name for p in staging.iterdir()]
    assert not output.exists() and len(checkpoints) == 1 and checkpoints[0].startswith("checkpoint-")

    resumed_from = []
    original_train = training.build_trainer

    def spy(*args, **kwargs):
        trainer = original_train(*args, **kwargs)
        real = trainer.train
        trainer.train = lambda resume_from_checkpoint=None: (resumed_from.append(resume_from_checkpoint),
                                                             real(resume_from_checkpoint=resume_from_checkpoint))[1]
        return trainer

    monkeypatch.setattr(training, "build_trainer", spy)
    folder = train(TrainArguments(**arguments, resume=True))
    assert resumed_from and resumed_from[0].endswith(checkpoints[0])
    assert json.loads((folder / "metrics.json").read_text())["epochs_run"] == 3.0
    assert not (tmp_path / ".m.incomplete").exists()
