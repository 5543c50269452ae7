"""Small matplotlib figures shared by the notebooks, so no plotting code is written twice.

Every function takes data (records, splits, metrics dicts from `evaluation.evaluation_report`,
or probability arrays) and an optional `ax`; it draws on that Axes (or a new figure) and
returns the Axes. Nothing here calls `plt.show()`, so the functions work under the Agg
backend, in tests and in headless notebook runs alike.

>>> from topic_stance import plots
>>> ax = plots.label_counts_by_split(assign_splits(load_records([DEFAULT_LABEL_DIR])))
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .data import label_counts
from .decision import decide_topics
from .labels import STANCES, TOPICS
from .metrics import CALIBRATION_BINS, expected_calibration_error, stance_confidence, topic_confidence  # noqa: F401

NO_TOPIC = "(no topic)"


def _axes(ax=None, figsize: tuple[float, float] | None = None):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _annotate_matrix(ax, matrix: np.ndarray, fmt: str = "{:d}") -> None:
    """Write each cell's value on a heat map, dark text on light cells and vice versa."""
    top = matrix.max() if matrix.size else 0
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            value = matrix[i, j]
            ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=9,
                    color="white" if top and value > top / 2 else "black")


# ---------------------------------------------------------------- data
def label_count_frame(splits: Mapping[str, Iterable[dict]], total: bool = True):
    """`data.label_counts` of each split as one pandas table (rows: counts, columns: splits [+ all])."""
    import pandas as pd

    columns: dict[str, dict] = {}
    everything: list[dict] = []
    for name, records in splits.items():
        records = list(records)
        everything.extend(records)
        columns[name] = _flat_counts(label_counts(records))
    if total:
        columns["all"] = _flat_counts(label_counts(everything))
    return pd.DataFrame(columns)


def _flat_counts(counts: dict) -> dict:
    flat = {"paragraphs": counts["paragraphs"], "articles": counts["articles"]}
    flat.update({f"topic: {t}": n for t, n in counts["topics"].items()})
    flat["no topic"] = counts["no_topic"]
    flat["two or more topics"] = counts["two_or_more_topics"]
    flat.update({f"stance: {s}": n for s, n in counts["stances"].items()})
    return flat


def label_counts_by_split(splits: Mapping[str, Iterable[dict]], ax=None):
    """Grouped bars: paragraphs per topic, without topic, and per stance, one colour per split."""
    splits = {name: list(records) for name, records in splits.items()}
    ax = _axes(ax, (10, 4))
    labels = [*TOPICS, NO_TOPIC, *STANCES]
    x = np.arange(len(labels))
    width = 0.8 / max(len(splits), 1)
    for k, (name, records) in enumerate(splits.items()):
        counts = label_counts(records)
        values = [counts["topics"][t] for t in TOPICS] + [counts["no_topic"]] + [counts["stances"][s] for s in STANCES]
        ax.bar(x - 0.4 + width * (k + 0.5), values, width, label=f"{name} (n={counts['paragraphs']})")
    ax.axvline(len(TOPICS) + 0.5, color="grey", lw=0.8, ls=":")
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_ylabel("paragraphs")
    ax.set_title("Label counts per split (topics left, stances right)")
    ax.legend()
    return ax


def topic_cooccurrence(records: Iterable[dict], labels: Sequence[str] = TOPICS, ax=None):
    """Heat map: paragraphs labelled with both topics (the diagonal is each topic's total)."""
    records = list(records)
    ax = _axes(ax, (5, 4.5))
    index = {t: i for i, t in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for record in records:
        present = [index[t] for t in record["topics"] if t in index]
        for i in present:
            for j in present:
                matrix[i, j] += 1
    ax.imshow(matrix, cmap="Blues")
    _annotate_matrix(ax, matrix)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_title(f"Topic co-occurrence ({len(records)} paragraphs)")
    return ax


def stance_by_topic(records: Iterable[dict], normalize: bool = True, ax=None):
    """Stacked horizontal bars: the stance mix of the paragraphs of each topic (and of no topic)."""
    records = list(records)
    ax = _axes(ax, (8, 3.5))
    rows = [*TOPICS, NO_TOPIC]
    counts = np.zeros((len(rows), len(STANCES)))
    for record in records:
        s = STANCES.index(record["stance"])
        for t in record["topics"] or [NO_TOPIC]:
            if t in rows:
                counts[rows.index(t), s] += 1
    totals = counts.sum(1, keepdims=True)
    values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0) if normalize else counts
    left = np.zeros(len(rows))
    for s, stance in enumerate(STANCES):
        ax.barh(np.arange(len(rows)), values[:, s], left=left, label=stance)
        left += values[:, s]
    ax.set_yticks(range(len(rows)), [f"{r} (n={int(n)})" for r, n in zip(rows, totals[:, 0])])
    ax.invert_yaxis()
    ax.set_xlabel("share of paragraphs" if normalize else "paragraphs")
    ax.set_title("Stance by topic")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return ax


def paragraph_lengths(splits: Mapping[str, Iterable[dict]], bins: int = 30, ax=None):
    """Histogram of paragraph length in words, one outline per split (median in the legend)."""
    splits = {name: [len(r["text"].split()) for r in records] for name, records in splits.items()}
    ax = _axes(ax, (7, 3.5))
    everything = [n for lengths in splits.values() for n in lengths]
    edges = np.histogram_bin_edges(everything or [0, 1], bins=bins)
    for name, lengths in splits.items():
        if lengths:
            ax.hist(lengths, bins=edges, histtype="step", lw=1.5, density=True,
                    label=f"{name} (n={len(lengths)}, median {np.median(lengths):.0f})")
    ax.set_xlabel("words per paragraph")
    ax.set_ylabel("density")
    ax.set_title("Paragraph lengths")
    if everything:
        ax.legend()
    return ax


# ---------------------------------------------------------------- evaluation
def per_label_f1_bars(reports: Mapping[str, dict], ax=None):
    """Per-topic and per-stance F1, one bar colour per model (reports: name -> evaluation_report)."""
    ax = _axes(ax, (10, 4))
    first = next(iter(reports.values()))
    topics, stances = list(first["topics"]["per_label"]), list(first["stance"]["per_class"])
    labels = topics + stances
    x = np.arange(len(labels))
    width = 0.8 / max(len(reports), 1)
    for k, (name, report) in enumerate(reports.items()):
        values = [report["topics"]["per_label"][t]["f1"] for t in topics] + \
                 [report["stance"]["per_class"][s]["f1"] for s in stances]
        ax.bar(x - 0.4 + width * (k + 0.5), values, width,
               label=f"{name} (topic micro-F1 {report['topics']['micro_f1']:.2f}, "
                     f"stance macro-F1 {report['stance']['macro_f1']:.2f})")
    support = [first["topics"]["per_label"][t]["support"] for t in topics] + \
              [first["stance"]["per_class"][s]["support"] for s in stances]
    ax.axvline(len(topics) - 0.5, color="grey", lw=0.8, ls=":")
    ax.set_xticks(x, [f"{label}\n(n={n})" for label, n in zip(labels, support)], fontsize=8)
    ax.set_ylim(0, 1.3)  # headroom for the legend above the bars
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("F1")
    ax.set_title("Per-label F1 (topics left, stances right)")
    ax.legend(fontsize=8, loc="upper center", ncol=min(len(reports), 2))
    return ax


def confusion_matrix(metrics: dict, normalize: bool = False, ax=None):
    """Stance confusion matrix (rows: gold, columns: predicted) from a report or its "stance" part."""
    stance = metrics.get("stance", metrics)
    matrix = np.asarray(stance["confusion_matrix"], dtype=int)
    labels = stance["labels"]
    ax = _axes(ax, (4.5, 4))
    if normalize:
        rows = matrix.sum(1, keepdims=True)
        shown = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
        ax.imshow(shown, cmap="Blues", vmin=0, vmax=1)
        _annotate_matrix(ax, shown, "{:.2f}")
    else:
        ax.imshow(matrix, cmap="Blues")
        _annotate_matrix(ax, matrix)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title("Stance confusion matrix" + (" (share of each gold row)" if normalize else ""))
    return ax


def reliability_diagram(confidence, correct, bins: int | None = None, title: str | None = None, ax=None):
    """Accuracy against mean confidence per equal-width bin (by default the bins of the reported ECE).

    Bars on the diagonal are perfectly calibrated; bars below it are over-confident. Bar width
    is the bin, the number above it how many forecasts fell in it.
    """

    bins = CALIBRATION_BINS if bins is None else bins
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    ax = _axes(ax, (4.5, 4.5))
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    for b in range(bins):
        in_bin = which == b
        if not in_bin.any():
            continue
        accuracy, mean_conf = correct[in_bin].mean(), confidence[in_bin].mean()
        first = not ax.patches
        ax.bar(edges[b], accuracy, width=edges[1] - edges[0], align="edge", color="tab:blue",
               edgecolor="white", alpha=0.8, label="accuracy in bin" if first else None)
        ax.plot([mean_conf], [accuracy], "o", color="tab:orange", ms=4,
                label="mean confidence in bin" if first else None)
        ax.text(edges[b] + (edges[1] - edges[0]) / 2, min(accuracy + 0.02, 1.0), str(int(in_bin.sum())),
                ha="center", va="bottom", fontsize=7)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    if confidence.size:
        ax.legend(loc="upper left", fontsize=8)
    ece = expected_calibration_error(confidence, correct, bins)
    ax.set_title(f"{title + ': ' if title else ''}reliability (ECE {ece:.3f}, n={confidence.size})")
    return ax


def precision_recall_per_topic(topic_probs, topic_true, thresholds: Sequence[float], labels: Sequence[str] = TOPICS,
                               ax=None):
    """One precision-recall curve per topic, with the model's stored threshold marked as a point.

    The point is where the deployed model sits on its curve; a point far from the curve's
    knee means the threshold tuned on validation does not suit this data.
    """
    from sklearn.metrics import precision_recall_curve

    probs = np.asarray(topic_probs, dtype=float).reshape(-1, len(labels))
    true = np.asarray(topic_true, dtype=int).reshape(-1, len(labels))
    ax = _axes(ax, (6, 5))
    for i, name in enumerate(labels):
        positives = int(true[:, i].sum())
        if positives == 0:
            ax.plot([], [], label=f"{name}: no gold positives")
            continue
        precision, recall, _ = precision_recall_curve(true[:, i], probs[:, i])
        (line,) = ax.plot(recall, precision, drawstyle="steps-post",
                          label=f"{name} (n={positives}, threshold {thresholds[i]:.2f})")
        predicted = decide_topics(probs[:, [i]], [thresholds[i]])[:, 0]
        hits = int((predicted & (true[:, i] == 1)).sum())
        point_precision = hits / predicted.sum() if predicted.any() else 1.0
        ax.plot([hits / positives], [point_precision], "o", color=line.get_color(), ms=8, mec="black", zorder=3)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Topic precision-recall (dot: stored threshold)")
    ax.legend(fontsize=8, loc="lower left")
    return ax
