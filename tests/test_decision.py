"""decision.py: calibrated probabilities and labels, written once."""

import numpy as np

from topic_stance.decision import calibrated, decide_stance, decide_topics, sigmoid, stance_names, topic_names


def test_temperatures_scale_logits_before_the_squash():
    topic, stance = calibrated(np.array([[2.0, 0, 0, 0]]), np.array([[1.0, 0, 0]]), 2.0, 0.5)
    assert topic[0, 0] == np.float32(1 / (1 + np.exp(-1.0)))
    expected = np.exp([2.0, 0, 0]) / np.exp([2.0, 0, 0]).sum()
    np.testing.assert_allclose(stance[0], expected, rtol=1e-6)


def test_sigmoid_does_not_overflow():
    values = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    assert np.isfinite(values).all() and values.tolist() == [0.0, 0.5, 1.0]


def test_threshold_is_inclusive_and_per_topic():
    probs = np.array([[0.30, 0.30], [0.29, 0.71]])
    assert decide_topics(probs, [0.3, 0.7]).tolist() == [[True, False], [False, True]]
    assert topic_names(probs, [0.3, 0.7], ["a", "b"]) == [["a"], ["b"]]


def test_stance_is_the_most_probable():
    probs = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    assert decide_stance(probs).tolist() == [1, 0]
    assert stance_names(probs, ["c", "k", "n"]) == ["k", "c"]
