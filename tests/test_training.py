"""training.py and train.py: the folder a run writes, arguments, resume, refusals."""

import json

import numpy as np
import pytest

from topic_stance.errors import TopicStanceError
from topic_stance.inference import ArticleScorer
from topic_stance.model import TopicStanceModel
from topic_stance.train import train
from topic_stance.training import (FolderExists, imbalance_weights, make_arguments, parse_train_arguments,
                                   train_baseline)

from conftest import REPO, synthetic_records, write_jsonl


def test_model_folder_is_complete(tiny_model_dir):
    names = {p.name for p in tiny_model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "metrics.json", "data.json",
            "training_args.json", "README.md"} <= names
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    # the synthetic corpus is learnable: the model must beat "every topic on" (micro-F1 = 2p / (1 + p))
    validation = json.loads((tiny_model_dir / "data.json").read_text())["splits"]["validation"]
    share = sum(validation["topics"].values()) / (4 * validation["paragraphs"])
    assert metrics["validation"]["topics"]["micro_f1"] > 2 * share / (1 + share)
    assert metrics["baseline"]["validation"]["topics"]["micro_f1"] > 0.9
    data = json.loads((tiny_model_dir / "data.json").read_text())
    assert len(data["files"][0]["sha256"]) == 64 and data["splits"]["test"]["articles"] == 3
    args = json.loads((tiny_model_dir / "training_args.json").read_text())
    assert args["versions"]["torch"] and args["training_arguments"]["seed"] == 42
    assert args["training_arguments"]["num_train_epochs"] == 2
    card = (tiny_model_dir / "README.md").read_text()
    assert "TF-IDF baseline" in card and "Limitations" in card
    assert not any(p.name.startswith(".") for p in tiny_model_dir.parent.iterdir())


def test_config_carries_calibration_and_windows(tiny_model_dir):
    model = TopicStanceModel.from_pretrained(tiny_model_dir)
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    assert model.config.topic_thresholds == list(metrics["topic_thresholds"].values())
    assert all(0.2 <= t <= 0.8 for t in model.config.topic_thresholds)
    assert model.config.topic_temperature == metrics["topic_temperature"]
    assert (model.config.window_length, model.config.window_stride) == (128, 64)
    assert model.config.distill_alpha == 0.0
    scorer = ArticleScorer.from_pretrained(tiny_model_dir, device="cpu")
    assert list(scorer.thresholds) == model.config.topic_thresholds
    assert scorer.engine.max_length == min(128, model.config.encoder.max_position_embeddings)


def test_stock_training_arguments_pass_through():
    args, training_args = parse_train_arguments(["--epochs", "3", "--batch_size", "4", "--gradient_accumulation_steps",
                                                 "2", "--lr_scheduler_type", "cosine", "--max-length", "96"])
    assert (training_args.num_train_epochs, training_args.per_device_train_batch_size) == (3, 4)
    assert training_args.gradient_accumulation_steps == 2 and training_args.lr_scheduler_type == "cosine"
    assert training_args.learning_rate == 1e-4 and args.max_length == 96  # recipe default kept, dashes accepted


def test_refuses_to_overwrite_without_flag(tiny_model_dir, synthetic_data, tiny_encoder_dir):
    before = (tiny_model_dir / "model.safetensors").read_bytes()
    with pytest.raises(FolderExists):
        train(*make_arguments(data=[str(synthetic_data)], model=str(tiny_encoder_dir), output=str(tiny_model_dir)))
    assert (tiny_model_dir / "model.safetensors").read_bytes() == before
    assert not any(p.name.startswith(".") for p in tiny_model_dir.parent.iterdir())


def test_refuses_a_single_stance_class_before_building_anything(tmp_path, tiny_encoder_dir):
    records = [dict(r, stance="neutral") for r in synthetic_records()]
    data = write_jsonl(tmp_path / "one-stance.jsonl", records)
    with pytest.raises(TopicStanceError, match="only the stance"):
        train(*make_arguments(data=[str(data)], model=str(tiny_encoder_dir), output=str(tmp_path / "m"), device="cpu"))
    assert list(tmp_path.iterdir()) == [data]  # no staging folder left behind


def test_baseline_folder_has_the_same_metrics_layout(tmp_path, synthetic_data, tiny_model_dir):
    args, _ = make_arguments(data=[str(synthetic_data)], output=str(tmp_path / "tfidf"))
    folder = train_baseline(args)
    metrics = json.loads((folder / "metrics.json").read_text())
    transformer = json.loads((tiny_model_dir / "metrics.json").read_text())
    assert set(metrics["test"]) == set(transformer["test"])
    scorer = ArticleScorer.from_pretrained(folder)
    result = scorer.score_paragraphs(["wang warned drills near taiwan"])[0]
    assert set(result.topic_scores) == {"taiwan", "ukraine_russia", "trade", "human_rights"}
    assert metrics["validation"]["topics"]["micro_f1"] > 0.9


def test_interrupted_run_leaves_no_finished_looking_folder(tmp_path, synthetic_data, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("topic_stance.model_card.write_model_card", boom)
    args, _ = make_arguments(data=[str(synthetic_data)], output=str(tmp_path / "m"))
    with pytest.raises(KeyboardInterrupt):
        train_baseline(args)
    assert list(tmp_path.iterdir()) == []


def test_imbalance_weights_follow_label_frequencies():
    from topic_stance.data import load_splits

    splits = load_splits([REPO / "data" / "labelled"])
    pos_weight, class_weight = imbalance_weights(splits)
    topics = np.asarray(splits["train"]["topic_labels"])
    rarest, commonest = topics.sum(0).argmin(), topics.sum(0).argmax()
    assert pos_weight[rarest] > pos_weight[commonest]
    stance_counts = np.bincount(splits["train"]["stance_label"], minlength=3)
    assert class_weight[stance_counts.argmin()] > class_weight[stance_counts.argmax()]


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
        train(*make_arguments(**arguments))
    monkeypatch.undo()
    staging = next(tmp_path.glob(".m.incomplete*")) / "checkpoints"
    checkpoints = [p.name for p in staging.iterdir()]
    assert not output.exists() and len(checkpoints) == 1 and checkpoints[0].startswith("checkpoint-")

    resumed_from = []

    def spy(*args, **kwargs):
        trainer = original(*args, **kwargs)
        real = trainer.train
        trainer.train = lambda resume_from_checkpoint=None: (resumed_from.append(resume_from_checkpoint),
                                                             real(resume_from_checkpoint=resume_from_checkpoint))[1]
        return trainer

    monkeypatch.setattr(training, "build_trainer", spy)
    folder = train(*make_arguments(**arguments, resume=True))
    assert resumed_from and resumed_from[0].endswith(checkpoints[0])
    assert json.loads((folder / "metrics.json").read_text())["epochs_run"] == 3.0
    assert not list(tmp_path.glob(".m.incomplete*"))


def test_keep_layers_makes_a_smaller_student_that_reloads(tmp_path, synthetic_data, tiny_encoder_dir):
    folder = train(*make_arguments(data=[str(synthetic_data)], model=str(tiny_encoder_dir), output=str(tmp_path / "s"),
                                   epochs=1, batch_size=8, device="cpu", bootstrap=0, keep_layers="1"))
    model = TopicStanceModel.from_pretrained(folder)
    assert model.config.encoder.num_hidden_layers == 1 and len(model.encoder.encoder.layer) == 1
    assert ArticleScorer.from_pretrained(folder, device="cpu").score_paragraphs(["wang warned"])[0].stance


def test_precision_bf16_really_trains_under_autocast(tmp_path, synthetic_data, tiny_encoder_dir, monkeypatch):
    """--precision bf16 must reach the Trainer's accelerator: the encoder's matmuls then run in bfloat16."""
    import torch
    from transformers import Trainer

    from topic_stance.runtime import cpu_supports_bf16
    from topic_stance.train import train
    from topic_stance.training import make_arguments

    if not cpu_supports_bf16():
        pytest.skip("this CPU has no native bf16 kernels")
    dtypes, modes = set(), []
    original = Trainer.train

    def recording_train(self, *args, **kwargs):
        modes.append(self.accelerator.mixed_precision)
        linear = next(m for m in self.model.modules() if isinstance(m, torch.nn.Linear))
        handle = linear.register_forward_hook(lambda module, inputs, output: dtypes.add(output.dtype))
        try:
            return original(self, *args, **kwargs)
        finally:
            handle.remove()

    monkeypatch.setattr(Trainer, "train", recording_train)
    train(*make_arguments(data=[str(synthetic_data)], model=str(tiny_encoder_dir), output=str(tmp_path / "m"),
                          epochs=1, batch_size=8, device="cpu", precision="bf16", bootstrap=0))
    assert modes == ["bf16"] and torch.bfloat16 in dtypes


def test_freeze_layers_keeps_the_lowest_layers_fixed(tmp_path, synthetic_data, tiny_encoder_dir):
    """--freeze_layers 1: layer 0 leaves training exactly as loaded, layer 1 learns; --attention_dropout 0 is kept."""
    import torch
    from transformers import AutoModel

    folder = train(*make_arguments(data=[str(synthetic_data)], model=str(tiny_encoder_dir), output=str(tmp_path / "m"),
                                   epochs=1, batch_size=8, device="cpu", bootstrap=0, freeze_layers=1,
                                   attention_dropout=0))
    before = AutoModel.from_pretrained(str(tiny_encoder_dir)).encoder.layer
    after = TopicStanceModel.from_pretrained(folder)
    assert torch.equal(before[0].output.dense.weight, after.encoder.encoder.layer[0].output.dense.weight)
    assert not torch.equal(before[1].output.dense.weight, after.encoder.encoder.layer[1].output.dense.weight)
    assert after.config.encoder.attention_probs_dropout_prob == 0.0


def test_freeze_layers_out_of_range_is_refused_before_a_folder(tmp_path, synthetic_data, tiny_encoder_dir):
    with pytest.raises(TopicStanceError, match="--freeze_layers 2"):  # the tiny encoder has 2 layers: 0..1
        train(*make_arguments(data=[str(synthetic_data)], model=str(tiny_encoder_dir), output=str(tmp_path / "m"),
                              epochs=1, device="cpu", bootstrap=0, freeze_layers=2))
    assert not (tmp_path / "m").exists()


def test_freeze_layers_default_touches_no_encoder_layout():
    """Any hub model must keep training with the default: 0 layers fixed looks up no `encoder.encoder.layer`."""
    from topic_stance.training import freeze_lowest_layers

    freeze_lowest_layers(object(), 0)
