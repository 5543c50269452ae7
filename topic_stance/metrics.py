"""Metrics for both heads as `evaluate` modules of the project's own (offline, scikit-learn based).

`evaluate.load("f1")` fetches scripts from the hub; these classes subclass `evaluate.Metric`
directly, so `TopicMetric().compute(predictions=..., references=...)` works anywhere.
The pure functions below them are what the classes call; training selects its best epoch on
`calibration.quick_scores` and reports these metrics after calibration.
"""

from __future__ import annotations

from typing import Sequence

import datasets
import evaluate
import numpy as np
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, hamming_loss,
                             precision_recall_fscore_support)

from .decision import decide_stance, decide_topics
from .labels import STANCES, TOPICS

CALIBRATION_BINS = 10


def topic_scores(references, predictions, labels: Sequence[str] = TOPICS) -> dict:
    """Multi-label scores from 0/1 matrices of shape (n, n_topics).

    >>> topic_scores([[1, 0, 0, 0]], [[1, 0, 0, 0]])["micro_f1"]
    1.0
    """
    y_true = np.asarray(references, dtype=int).reshape(-1, len(labels))
    y_pred = np.asarray(predictions, dtype=int).reshape(-1, len(labels))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, labels=range(len(labels)),
                                                 zero_division=0)
    return {
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "subset_accuracy": float(accuracy_score(y_true, y_pred)),
        "hamming_loss": float(hamming_loss(y_true, y_pred)),
        "per_label": {name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                             "support": int(s[i])} for i, name in enumerate(labels)},
    }


def stance_scores(references, predictions, labels: Sequence[str] = STANCES) -> dict:
    """Single-label scores from class indexes; `confusion_matrix[i][j]` = true i predicted j.

    >>> stance_scores([0, 1, 2], [0, 1, 1])["accuracy"]
    0.6666666666666666
    """
    y_true = np.asarray(references, dtype=int)
    y_pred = np.asarray(predictions, dtype=int)
    ids = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, labels=ids, zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", labels=ids, zero_division=0)),
        "per_class": {name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                             "support": int(s[i])} for i, name in enumerate(labels)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=ids).tolist(),
        "labels": list(labels),
    }


def expected_calibration_error(confidence, correct, bins: int = CALIBRATION_BINS) -> float:
    """Sum over equal-width confidence bins of |accuracy - mean confidence| weighted by bin share.

    >>> expected_calibration_error([0.9, 0.9], [1, 0])
    0.4
    """
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    if confidence.size == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(round(ece, 12))


def topic_confidence(topic_probs, topic_true) -> tuple[np.ndarray, np.ndarray]:
    """Every (paragraph, topic) as one binary forecast: (confidence in the decision at 0.5, correct)."""
    tp = np.asarray(topic_probs, dtype=float)
    tt = np.asarray(topic_true, dtype=float)
    return np.where(tp >= 0.5, tp, 1 - tp).ravel(), ((tp >= 0.5) == (tt >= 0.5)).ravel()


def stance_confidence(stance_probs, stance_true) -> tuple[np.ndarray, np.ndarray]:
    """The top class's probability and whether it is the gold class."""
    sp = np.asarray(stance_probs, dtype=float).reshape(len(stance_true), -1)
    return sp.max(1), decide_stance(sp) == np.asarray(stance_true, dtype=int)


def calibration_scores(topic_probs, topic_references, stance_probs, stance_references) -> dict:
    """ECE and Brier score for both heads.

    Topics: every (paragraph, topic) probability is one binary forecast.
    Stance: ECE on the top class's probability; Brier = mean over paragraphs of the squared
    distance between the probability vector and the one-hot truth.
    """
    tp = np.asarray(topic_probs, dtype=float)
    tt = np.asarray(topic_references, dtype=float)
    sp = np.asarray(stance_probs, dtype=float)
    st = np.asarray(stance_references, dtype=int)
    onehot = np.eye(sp.shape[1])[st] if sp.size else sp
    return {
        "topic_ece": expected_calibration_error(*topic_confidence(tp, tt)),
        "topic_brier": float(np.mean((tp - tt) ** 2)) if tp.size else 0.0,
        "stance_ece": expected_calibration_error(*stance_confidence(sp, st)) if sp.size else 0.0,
        "stance_brier": float(np.mean(np.sum((sp - onehot) ** 2, axis=1))) if sp.size else 0.0,
    }


def bootstrap_ci(article_ids, topic_true, topic_pred, stance_true, stance_pred,
                 rounds: int = 1000, seed: int = 0, level: float = 0.95, n_stances: int = len(STANCES)) -> dict:
    """95% intervals for the headline figures, resampling whole articles with replacement.

    Paragraphs of one article are not independent, so resampling paragraphs would understate
    the uncertainty of a test set of five articles.
    """
    article_ids = np.asarray(article_ids)
    topic_true, topic_pred = np.asarray(topic_true, dtype=int), np.asarray(topic_pred, dtype=int)
    stance_true, stance_pred = np.asarray(stance_true, dtype=int), np.asarray(stance_pred, dtype=int)
    articles = np.unique(article_ids)
    rows = [np.flatnonzero(article_ids == a) for a in articles]
    rng = np.random.default_rng(seed)
    draws = {"topic_micro_f1": [], "stance_macro_f1": [], "stance_accuracy": []}
    for _ in range(rounds):
        pick = np.concatenate([rows[i] for i in rng.integers(0, len(articles), len(articles))])
        draws["topic_micro_f1"].append(f1_score(topic_true[pick], topic_pred[pick], average="micro", zero_division=0))
        draws["stance_macro_f1"].append(f1_score(stance_true[pick], stance_pred[pick], average="macro",
                                                 labels=range(n_stances), zero_division=0))
        draws["stance_accuracy"].append(accuracy_score(stance_true[pick], stance_pred[pick]))
    tail = (1 - level) / 2 * 100
    return {name: [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))] for name, v in draws.items()}


class TopicMetric(evaluate.Metric):
    """Per-topic precision/recall/F1/support, micro and macro F1, subset accuracy, Hamming loss.

    >>> TopicMetric().compute(predictions=[[1, 0, 0, 1]], references=[[1, 0, 0, 0]])["micro_f1"]
    0.6666666666666666
    """

    def _info(self):
        return evaluate.MetricInfo(
            description="Multi-label topic scores (scikit-learn).", citation="", inputs_description=
            "predictions, references: 0/1 lists of length n_topics per paragraph; labels: optional names",
            features=datasets.Features({"predictions": datasets.Sequence(datasets.Value("int32")),
                                        "references": datasets.Sequence(datasets.Value("int32"))}))

    def _compute(self, predictions, references, labels: Sequence[str] = TOPICS):
        return topic_scores(references, predictions, labels)


class StanceMetric(evaluate.Metric):
    """Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix.

    >>> StanceMetric().compute(predictions=[0, 2], references=[0, 1])["accuracy"]
    0.5
    """

    def _info(self):
        return evaluate.MetricInfo(
            description="Single-label stance scores (scikit-learn).", citation="",
            inputs_description="predictions, references: class indexes; labels: optional names",
            features=datasets.Features({"predictions": datasets.Value("int32"),
                                        "references": datasets.Value("int32")}))

    def _compute(self, predictions, references, labels: Sequence[str] = STANCES):
        return stance_scores(references, predictions, labels)


class CalibrationMetric(evaluate.Metric):
    """Expected calibration error and Brier score of both heads' probabilities.

    >>> report = CalibrationMetric().compute(topic_probs=[[0.9, 0.1, 0.1, 0.1]], topic_references=[[1, 0, 0, 0]],
    ...                                      stance_probs=[[0.8, 0.1, 0.1]], stance_references=[0])
    >>> round(report["stance_brier"], 4)
    0.06
    """

    def _info(self):
        return evaluate.MetricInfo(
            description="Calibration (ECE, Brier) of topic and stance probabilities.", citation="",
            inputs_description="topic_probs (n, n_topics), topic_references 0/1, stance_probs (n, n_stances), "
                               "stance_references class indexes",
            features=datasets.Features({"topic_probs": datasets.Sequence(datasets.Value("float32")),
                                        "topic_references": datasets.Sequence(datasets.Value("int32")),
                                        "stance_probs": datasets.Sequence(datasets.Value("float32")),
                                        "stance_references": datasets.Value("int32")}))

    def _compute(self, topic_probs, topic_references, stance_probs, stance_references):
        return calibration_scores(topic_probs, topic_references, stance_probs, stance_references)


def score_predictions(article_ids, topic_references, stance_references, topic_probs, stance_probs,
                      topic_thresholds: Sequence[float], topic_labels: Sequence[str] = TOPICS,
                      stance_labels: Sequence[str] = STANCES, bootstrap_rounds: int = 1000) -> dict:
    """Every figure the project reports for one labelled set, from probabilities and thresholds.

    This is the single place where metrics.json content is computed: training, the
    `evaluate` command and the notebooks all call it, so their numbers agree.
    """
    topic_probs = np.asarray(topic_probs, dtype=float)
    stance_probs = np.asarray(stance_probs, dtype=float)
    topic_pred = decide_topics(topic_probs, topic_thresholds).astype(int)
    stance_pred = decide_stance(stance_probs)
    result = {
        "paragraphs": int(len(stance_pred)),
        "articles": int(len(set(article_ids))),
        "topics": TopicMetric().compute(predictions=topic_pred, references=np.asarray(topic_references, dtype=int),
                                        labels=list(topic_labels)),
        "stance": StanceMetric().compute(predictions=stance_pred, references=np.asarray(stance_references, dtype=int),
                                         labels=list(stance_labels)),
        "calibration": CalibrationMetric().compute(topic_probs=topic_probs, topic_references=topic_references,
                                                   stance_probs=stance_probs, stance_references=stance_references),
    }
    if bootstrap_rounds:
        result["ci95"] = bootstrap_ci(article_ids, topic_references, topic_pred, stance_references, stance_pred,
                                      rounds=bootstrap_rounds, n_stances=len(stance_labels))
    return result


def headline(metrics: dict) -> dict:
    """The figures a table shows first: topic micro-F1, stance macro-F1 and accuracy."""
    return {"topic_micro_f1": metrics["topics"]["micro_f1"], "topic_macro_f1": metrics["topics"]["macro_f1"],
            "stance_macro_f1": metrics["stance"]["macro_f1"], "stance_accuracy": metrics["stance"]["accuracy"]}
