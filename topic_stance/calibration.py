"""Post-training calibration: one temperature per head, then per-topic thresholds.

Why a grid and not an optimiser: the fit has one parameter, and an LBFGS run on the
overconfident logits of a large encoder once diverged to NaN, which was stored in the
config and silenced every topic. A log-spaced grid cannot diverge, is deterministic and
costs milliseconds; a non-finite input is refused instead of being fitted.
"""

from __future__ import annotations

import logging

import numpy as np

from .decision import calibrated, decide_stance, decide_topics

logger = logging.getLogger(__name__)
TEMPERATURE_RANGE = (0.05, 20.0)
GRID = np.exp(np.linspace(np.log(TEMPERATURE_RANGE[0]), np.log(TEMPERATURE_RANGE[1]), 601))


class CalibrationError(RuntimeError):
    """Calibration produced (or was given) values that would publish a broken model."""


def _nll(logits: np.ndarray, targets: np.ndarray, multilabel: bool) -> np.ndarray:
    """Mean NLL of logits / T for every T of the grid, computed stably in float64."""
    scaled = logits[None] / GRID[:, None, None]                        # (grid, n, k)
    if multilabel:
        loss = np.maximum(scaled, 0) - scaled * targets[None] + np.log1p(np.exp(-np.abs(scaled)))
        return loss.mean(axis=(1, 2))
    top = scaled.max(-1, keepdims=True)
    log_norm = (top + np.log(np.exp(scaled - top).sum(-1, keepdims=True)))[..., 0]
    picked = np.take_along_axis(scaled, targets[None, :, None].repeat(len(GRID), 0), -1)[..., 0]
    return (log_norm - picked).mean(1)


def fit_temperature(logits, targets, multilabel: bool) -> float:
    """The temperature in [0.05, 20] minimising validation NLL of logits / T (Guo et al. 2017).

    One scalar per head keeps the ranking (so the stance argmax) unchanged while making the
    probabilities honest. Empty input keeps 1.0; non-finite logits raise CalibrationError.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.size == 0:
        return 1.0
    if not np.isfinite(logits).all():
        raise CalibrationError("validation logits hold NaN or inf: the trained model is broken, nothing was saved")
    targets = np.asarray(targets, dtype=np.float64 if multilabel else np.int64)
    losses = _nll(logits.reshape(len(logits), -1), targets.reshape(len(logits), -1) if multilabel else targets,
                  multilabel)
    if not np.isfinite(losses).any():
        logger.warning("temperature fit: no finite loss on the grid; keeping T = 1.0")
        return 1.0
    return float(GRID[int(np.nanargmin(np.where(np.isfinite(losses), losses, np.nan)))])


def tune_thresholds(probs, targets, low: float = 0.2, high: float = 0.8) -> list[float]:
    """Per topic, the threshold with the best validation F1 (ties: closest to 0.5).

    The range is limited to [low, high]: with ~20 positives per topic in validation an
    extreme threshold is noise, not signal. A topic without positives keeps 0.5.
    """
    probs, targets = np.asarray(probs, dtype=np.float64), np.asarray(targets)
    thresholds = []
    grid = np.round(np.arange(low, high + 1e-9, 0.01), 2)
    for j in range(probs.shape[1]):
        truth = targets[:, j] >= 0.5
        if not truth.any():
            thresholds.append(0.5)
            continue
        best, best_f1 = 0.5, -1.0
        for t in grid:
            pred = decide_topics(probs[:, [j]], [t])[:, 0]
            tp = float(np.sum(pred & truth))
            f1 = 2 * tp / (pred.sum() + truth.sum()) if (pred.sum() + truth.sum()) else 0.0
            if f1 > best_f1 + 1e-12 or (abs(f1 - best_f1) <= 1e-12 and abs(t - 0.5) < abs(best - 0.5)):
                best, best_f1 = float(t), f1
        thresholds.append(best)
    return thresholds


def quick_scores(topic_probs, stance_probs, topic_targets, stance_targets, thresholds) -> tuple[float, float]:
    """(topic micro-F1, stance macro-F1): the two figures the collapse check compares."""
    from sklearn.metrics import f1_score

    topic_pred = decide_topics(topic_probs, thresholds).astype(int)
    topic_f1 = f1_score(np.asarray(topic_targets).astype(int), topic_pred, average="micro", zero_division=0)
    stance_f1 = f1_score(np.asarray(stance_targets), decide_stance(stance_probs), average="macro",
                         labels=range(np.shape(stance_probs)[1]), zero_division=0)  # every class, as metrics reports
    return float(topic_f1), float(stance_f1)


def calibrate(topic_logits, stance_logits, topic_targets, stance_targets, tolerance: float = 0.05) -> dict:
    """Temperatures and thresholds for a trained model, checked before they may be saved.

    Raises CalibrationError if a value is not finite or if calibration lowers the validation
    topic or stance F1 by more than `tolerance` against the raw decision (T = 1, threshold 0.5):
    a run whose score collapses must fail loudly rather than publish a model folder.
    """
    topic_targets = np.asarray(topic_targets, dtype=np.float64)
    stance_targets = np.asarray(stance_targets, dtype=np.int64)
    topic_t = fit_temperature(topic_logits, topic_targets, multilabel=True)
    stance_t = fit_temperature(stance_logits, stance_targets, multilabel=False)
    topic_probs, stance_probs = calibrated(topic_logits, stance_logits, topic_t, stance_t)
    thresholds = tune_thresholds(topic_probs, topic_targets)
    values = [topic_t, stance_t, *thresholds]
    if not np.isfinite(values).all():
        raise CalibrationError(f"calibration gave non-finite values {values}: nothing was saved")
    raw = quick_scores(*calibrated(topic_logits, stance_logits, 1.0, 1.0), topic_targets, stance_targets,
                       [0.5] * len(thresholds))
    after = quick_scores(topic_probs, stance_probs, topic_targets, stance_targets, thresholds)
    for head, before_f1, after_f1 in zip(("topic", "stance"), raw, after):
        if after_f1 < before_f1 - tolerance:
            raise CalibrationError(f"calibration lowered validation {head} F1 from {before_f1:.3f} to {after_f1:.3f}: "
                                   f"refusing to publish this model")
    return {"topic_temperature": topic_t, "stance_temperature": stance_t, "topic_thresholds": thresholds,
            "validation_before_calibration": dict(zip(("topic_micro_f1", "stance_macro_f1"), map(lambda v: round(v, 4), raw))),
            "validation_after_calibration": dict(zip(("topic_micro_f1", "stance_macro_f1"), map(lambda v: round(v, 4), after)))}
