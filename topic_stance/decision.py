"""The one place where logits become probabilities and probabilities become labels.

Inference, training calibration, export validation, metrics, error analysis, selection and
plots all call these functions, so a threshold tuned in training means exactly the same
thing at prediction time.

>>> import numpy as np
>>> topic_probs, stance_probs = calibrated(np.array([[2.0, -2.0]]), np.array([[0.0, 1.0, 0.0]]), 1.0, 1.0)
>>> decide_topics(topic_probs, [0.5, 0.5]).tolist(), decide_stance(stance_probs).tolist()
([[True, False]], [1])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Overflow-free logistic function."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1 / (1 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1 + e)
    return out


def softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def calibrated(topic_logits, stance_logits, topic_temperature: float, stance_temperature: float):
    """(topic_probs, stance_probs): each head's logits divided by its fitted temperature."""
    topic, stance = np.atleast_2d(np.asarray(topic_logits, dtype=np.float64)), \
        np.atleast_2d(np.asarray(stance_logits, dtype=np.float64))
    return (sigmoid(topic / topic_temperature).astype(np.float32),
            softmax(stance / stance_temperature).astype(np.float32))


def decide_topics(topic_probs, thresholds: Sequence[float]) -> np.ndarray:
    """Boolean (n, topics): a topic is on when its probability reaches its threshold."""
    return np.asarray(topic_probs) >= np.asarray(thresholds, dtype=np.float64)


def decide_stance(stance_probs) -> np.ndarray:
    """Index of the most probable stance per row."""
    return np.asarray(stance_probs).argmax(-1)


def topic_names(topic_probs, thresholds: Sequence[float], labels: Sequence[str]) -> list[list[str]]:
    """Per row, the names of the topics that are on."""
    return [[name for name, on in zip(labels, row) if on] for row in decide_topics(topic_probs, thresholds)]


def stance_names(stance_probs, labels: Sequence[str]) -> list[str]:
    return [labels[i] for i in decide_stance(stance_probs)]
