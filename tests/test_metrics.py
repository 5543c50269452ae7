import numpy as np
import pytest

from topic_stance.metrics import (CalibrationMetric, StanceMetric, TopicMetric, bootstrap_ci,
                                  expected_calibration_error, score_predictions)


def test_topic_metric_against_hand_computed_values():
    refs = [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0]]
    preds = [[1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]]
    out = TopicMetric().compute(predictions=preds, references=refs)
    # tp = 3 (taiwan r1, ukraine r2, trade r3), fp = 1 (human_rights r2), fn = 1 (taiwan r2)
    assert out["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert out["per_label"]["taiwan"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert out["per_label"]["human_rights"]["precision"] == 0.0
    assert out["subset_accuracy"] == pytest.approx(2 / 3)
    assert out["hamming_loss"] == pytest.approx(2 / 12)
    assert out["macro_f1"] == pytest.approx((2 / 3 + 1 + 1 + 0) / 4)


def test_stance_metric_against_hand_computed_values():
    out = StanceMetric().compute(predictions=[0, 0, 1, 2, 2], references=[0, 1, 1, 2, 0])
    assert out["accuracy"] == pytest.approx(3 / 5)
    assert out["confusion_matrix"] == [[1, 0, 1], [1, 1, 0], [0, 0, 1]]
    # F1: confrontational p=1/2 r=1/2 -> .5; conciliatory p=1 r=1/2 -> 2/3; neutral p=1/2 r=1 -> 2/3
    assert out["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)
    assert out["per_class"]["conciliatory"]["recall"] == 0.5


def test_ece_and_brier():
    assert expected_calibration_error([0.9, 0.9, 0.6, 0.6], [1, 1, 1, 0]) == pytest.approx(0.5 * 0.1 + 0.5 * 0.1)
    out = CalibrationMetric().compute(topic_probs=[[1.0, 0.0, 0.0, 0.0]], topic_references=[[1, 0, 0, 0]],
                                      stance_probs=[[0.5, 0.5, 0.0]], stance_references=[0])
    assert out["topic_brier"] == pytest.approx(0.0)
    assert out["stance_brier"] == pytest.approx(0.25 + 0.25)
    assert out["stance_ece"] == pytest.approx(0.5)


def test_bootstrap_resamples_articles_and_brackets_the_point_estimate():
    rng = np.random.default_rng(0)
    articles = np.repeat(np.arange(10), 10)
    truth = rng.integers(0, 3, 100)
    pred = np.where(rng.random(100) < 0.7, truth, (truth + 1) % 3)
    topic_true = rng.integers(0, 2, (100, 4))
    ci = bootstrap_ci(articles, topic_true, topic_true, truth, pred, rounds=200)
    accuracy = (truth == pred).mean()
    assert ci["stance_accuracy"][0] <= accuracy <= ci["stance_accuracy"][1]
    assert ci["topic_micro_f1"] == [1.0, 1.0]


def test_score_predictions_applies_thresholds():
    out = score_predictions(["a", "a"], [[1, 0, 0, 0], [0, 0, 0, 0]], [0, 1],
                            [[0.4, 0.1, 0.1, 0.1], [0.2, 0.1, 0.1, 0.1]], [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1]],
                            [0.3, 0.5, 0.5, 0.5], bootstrap_rounds=0)
    assert out["topics"]["micro_f1"] == 1.0 and out["stance"]["accuracy"] == 1.0


def test_bootstrap_interval_uses_the_scored_stance_labels():
    """A model with two stance labels: perfect predictions give an interval at 1.0, not one over three classes."""
    out = score_predictions(["a", "b", "c"], [[1, 0, 0, 0]] * 3, [0, 1, 0], [[0.9, 0.1, 0.1, 0.1]] * 3,
                            [[0.9, 0.1], [0.1, 0.9], [0.8, 0.2]], [0.5] * 4, stance_labels=["against", "for"],
                            bootstrap_rounds=50)
    assert out["stance"]["macro_f1"] == 1.0
    assert out["ci95"]["stance_macro_f1"][1] == 1.0
