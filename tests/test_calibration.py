"""calibration.py: temperatures that never go non-finite, thresholds, the collapse check."""

import numpy as np
import pytest

from topic_stance.calibration import CalibrationError, calibrate, fit_temperature, quick_scores, tune_thresholds
from topic_stance.metrics import stance_scores


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
    assert fit_temperature(logits * 0.1, labels, multilabel=False) < 0.5


def test_logits_that_made_lbfgs_diverge_give_a_finite_temperature():
    """Huge, perfectly separating multi-label logits (an overconfident 12-layer encoder) drove the
    old LBFGS fit to NaN; the grid fit returns a finite value in range."""
    rng = np.random.default_rng(1)
    targets = rng.integers(0, 2, (353, 4)).astype(float)
    logits = np.where(targets > 0, 1, -1) * rng.uniform(40, 90, (353, 4))
    logits[0, 0] = -80.0  # one confident mistake: the NLL keeps rising as T shrinks
    t = fit_temperature(logits, targets, multilabel=True)
    assert np.isfinite(t) and 0.05 <= t <= 20


def test_non_finite_logits_are_refused():
    logits = np.array([[np.nan, 1.0], [0.5, -0.5]])
    with pytest.raises(CalibrationError):
        fit_temperature(logits, np.array([[1, 0], [0, 1]]), multilabel=True)


def test_calibrate_refuses_a_collapse(monkeypatch):
    rng = np.random.default_rng(2)
    topics = rng.integers(0, 2, (200, 4)).astype(float)
    stance = rng.integers(0, 3, 200)
    topic_logits = np.where(topics > 0, 3.0, -3.0) + rng.normal(0, 0.5, (200, 4))
    stance_logits = rng.normal(0, 1, (200, 3))
    stance_logits[np.arange(200), stance] += 3
    fitted = calibrate(topic_logits, stance_logits, topics, stance)
    assert fitted["validation_after_calibration"]["topic_micro_f1"] > 0.95
    import topic_stance.calibration as calibration

    monkeypatch.setattr(calibration, "tune_thresholds", lambda probs, targets: [0.999] * probs.shape[1])
    monkeypatch.setattr(calibration, "fit_temperature", lambda *a, **k: 20.0)
    with pytest.raises(CalibrationError, match="refusing to publish"):
        calibration.calibrate(topic_logits, stance_logits, topics, stance)


def test_quick_scores_average_stance_f1_over_every_class_as_the_reported_metric_does():
    """A class that neither truth nor prediction has still counts, so the collapse check and metrics.json agree."""
    stance_probs = np.array([[0.8, 0.1, 0.1], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.8, 0.1]])
    _, stance_f1 = quick_scores(np.full((4, 4), 0.1), stance_probs, np.zeros((4, 4)), [0, 0, 1, 1], [0.5] * 4)
    assert stance_f1 == pytest.approx(stance_scores([0, 0, 1, 1], [0, 0, 1, 1])["macro_f1"])
