"""distill.py: teacher targets written once, looked up by text hash, refused when stale; the student uses them."""

import json

import numpy as np
import pytest

from topic_stance.distill import StaleTargets, read_targets, soft_targets, write_targets
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
    with pytest.raises(StaleTargets, match="1 of 2 training paragraphs"):
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
