"""distill.py: teacher targets written once, looked up by text hash, refused when stale; the student uses them."""

import json

import numpy as np
import pytest

from topic_stance.distill import StaleTargets, read_targets, soft_targets, write_targets
from topic_stance.errors import TopicStanceError
from topic_stance.labels import STANCES, TOPICS


@pytest.fixture(scope="module")
def targets(tmp_path_factory, tiny_model_dir, synthetic_data):
    texts = [json.loads(line)["text"] for line in synthetic_data.read_text().splitlines()]
    path = tmp_path_factory.mktemp("teacher") / "targets.jsonl"
    write_targets(tiny_model_dir, texts, path)
    return path, texts


def test_targets_record_the_teacher_and_the_text(targets, tiny_model_dir):
    path, texts = targets
    header, rows = read_targets(path)
    assert header["texts"] == len(set(texts)) == len(rows) and len(header["teacher_weights_sha256"]) == 64
    assert header["topic_labels"] == list(TOPICS)


def test_soft_targets_are_the_teachers_calibrated_probabilities(targets, tiny_model_dir):
    from topic_stance.inference import ArticleScorer

    path, texts = targets
    topic, stance, info = soft_targets(path, texts[:5], TOPICS, STANCES)
    expected_topic, expected_stance = ArticleScorer.from_pretrained(tiny_model_dir, device="cpu").probabilities(texts[:5])
    np.testing.assert_allclose(topic, expected_topic, atol=1e-4)
    np.testing.assert_allclose(stance, expected_stance, atol=1e-4)
    softer, _, _ = soft_targets(path, texts[:5], TOPICS, STANCES, temperature=3.0)
    assert np.abs(softer - 0.5).mean() < np.abs(topic - 0.5).mean()


def test_a_text_the_teacher_never_saw_makes_the_file_stale(targets):
    path, texts = targets
    with pytest.raises(StaleTargets, match="1 of 2 paragraphs to train on"):
        soft_targets(path, [texts[0], "a paragraph added after the teacher ran"], TOPICS, STANCES)


def test_student_trains_on_the_targets_and_records_it(tmp_path, targets, synthetic_data, tiny_encoder_dir):
    from topic_stance.train import train
    from topic_stance.training import make_arguments

    path, _ = targets
    folder = train(*make_arguments(data=[str(synthetic_data)], model=str(tiny_encoder_dir), output=str(tmp_path / "s"),
                                   epochs=1, batch_size=8, device="cpu", bootstrap=0, teacher_targets=str(path),
                                   distill_alpha=0.5))
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["distillation"]["alpha"] == 0.5 and metrics["distillation"]["texts_sha256"]
    assert json.loads((folder / "config.json").read_text())["distill_alpha"] == 0.0
    assert "soft targets" in (folder / "README.md").read_text()


def test_transfer_text_trains_through_the_teacher_alone(tmp_path, tiny_model_dir, synthetic_data, tiny_encoder_dir,
                                                       monkeypatch):
    from topic_stance.model import TopicStanceModel
    from topic_stance.train import train
    from topic_stance.training import make_arguments

    texts = [json.loads(line)["text"] for line in synthetic_data.read_text().splitlines()]
    transfer = tmp_path / "transfer.jsonl"
    unlabelled = [f"An unlabelled paragraph number {i} about talks between Washington and Beijing." for i in range(6)]
    transfer.write_text("".join(json.dumps({"id": f"t{i}", "text": t}) + "\n" for i, t in enumerate(unlabelled)))
    path = tmp_path / "targets.jsonl"
    write_targets(tiny_model_dir, texts + unlabelled, path)
    options = dict(data=[str(synthetic_data)], model=str(tiny_encoder_dir), epochs=1, batch_size=8, device="cpu",
                   bootstrap=0, teacher_targets=str(path), transfer=str(transfer), transfer_epochs=2)
    masks, gold_loss = [], TopicStanceModel.loss
    monkeypatch.setattr(TopicStanceModel, "loss", lambda self, *a: masks.append(a[-1]) or gold_loss(self, *a))
    folder = train(*make_arguments(output=str(tmp_path / "s"), **options))
    seen = [m for m in masks if m is not None]
    assert seen and sum(int((m == 0).sum()) for m in seen) == 12  # each transfer row once an epoch, outside the gold loss
    metrics = json.loads((folder / "metrics.json").read_text())
    distillation = metrics["distillation"]
    assert metrics["epochs_run"] == 2 and distillation["transfer"]["epochs"] == 2  # transfer_epochs, not epochs
    assert distillation["transfer"]["paragraphs"] == 6 and len(distillation["transfer"]["sha256"]) == 64
    # transfer text the teacher never scored makes the targets stale, and transfer without targets is refused
    transfer.write_text(json.dumps({"text": "a paragraph written after the teacher ran"}) + "\n")
    with pytest.raises(StaleTargets, match="1 of 1 paragraphs to train on"):
        train(*make_arguments(output=str(tmp_path / "t"), **options))
    with pytest.raises(TopicStanceError, match="needs teacher targets"):
        train(*make_arguments(output=str(tmp_path / "u"), **dict(options, teacher_targets="none")))
    assert not (tmp_path / "t").exists() and not (tmp_path / "u").exists()


def test_bad_transfer_line_names_file_line_and_field(tmp_path):
    from topic_stance.distill import read_transfer
    from topic_stance.labels import LabelFileError

    path = tmp_path / "transfer.jsonl"
    path.write_text(json.dumps({"text": "fine"}) + "\n" + json.dumps({"text": 3}) + "\n{oops\n")
    with pytest.raises(LabelFileError) as err:
        read_transfer(path)
    assert f"{path}:2: field 'text'" in str(err.value) and f"{path}:3: field '<json>'" in str(err.value)


def test_rewriting_scores_only_new_text_of_the_same_teacher(tmp_path, targets, tiny_model_dir):
    import shutil

    path, texts = targets
    copy = tmp_path / "targets.jsonl"
    shutil.copy(path, copy)
    header = write_targets(tiny_model_dir, texts + ["a paragraph added later"], copy)
    assert header["scored"] == 1 and header["texts"] == len(set(texts)) + 1
    old_rows, new_rows = read_targets(path)[1], read_targets(copy)[1]
    assert all(new_rows[key] == value for key, value in old_rows.items())


def test_auto_transfer_goes_with_the_bundled_corpus_only(tmp_path):
    from topic_stance.training import DEFAULT_TEACHER_TARGETS, DEFAULT_TRANSFER, make_arguments, transfer_path

    bundled, _ = make_arguments()
    subset, _ = make_arguments(data=[str(tmp_path / "subset.jsonl")])
    assert transfer_path(bundled, DEFAULT_TEACHER_TARGETS) == (DEFAULT_TRANSFER if DEFAULT_TRANSFER.exists() else None)
    assert transfer_path(subset, DEFAULT_TEACHER_TARGETS) is None
    assert transfer_path(bundled, None) is None


def test_feature_distillation_trains_a_map_it_does_not_save(tmp_path, tiny_model_dir, synthetic_data, tiny_encoder_dir,
                                                            monkeypatch):
    from topic_stance.distill import soft_features
    from topic_stance.model import TopicStanceModel
    from topic_stance.train import train
    from topic_stance.training import make_arguments

    texts = [json.loads(line)["text"] for line in synthetic_data.read_text().splitlines()]
    path = tmp_path / "targets.jsonl"
    header = write_targets(tiny_model_dir, texts, path, feature_dims=4)
    features = soft_features(path, texts)
    assert header["feature_dims"] == 4 and features.shape == (len(texts), 4) and 0 < header["feature_explained_variance"] <= 1
    assert abs(float((features ** 2).mean()) - 1) < 0.01  # one scale: unit mean variance per axis
    plain = tmp_path / "plain.jsonl"
    write_targets(tiny_model_dir, texts, plain)
    with pytest.raises(StaleTargets, match="holds no teacher features"):
        soft_features(plain, texts)

    import functools

    seen, forward = [], TopicStanceModel.forward

    @functools.wraps(forward)  # the Trainer keeps only the columns the forward signature names
    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("soft_features") is not None and self.feature_head is not None)
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(TopicStanceModel, "forward", spy)
    folder = train(*make_arguments(data=[str(synthetic_data)], model=str(tiny_encoder_dir), output=str(tmp_path / "s"),
                                   epochs=1, batch_size=8, device="cpu", bootstrap=0, teacher_targets=str(path),
                                   distill_features=1.0))
    assert any(seen)
    assert json.loads((folder / "metrics.json").read_text())["distillation"]["features"] == {"dims": 4, "weight": 1.0}
    config = json.loads((folder / "config.json").read_text())
    assert config["feature_dims"] == 0 and config["feature_weight"] == 0.0
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), "pt") as weights:
        assert not any(key.startswith("feature_head") for key in weights.keys())
    # asked for without teacher targets, representation distillation is refused before any folder is written
    with pytest.raises(TopicStanceError, match="--distill_features 1.0: representation distillation needs teacher"):
        train(*make_arguments(data=[str(synthetic_data)], model=str(tiny_encoder_dir), output=str(tmp_path / "u"),
                              epochs=1, batch_size=8, device="cpu", bootstrap=0, teacher_targets="none",
                              distill_features=1.0))
    assert not (tmp_path / "u").exists()
