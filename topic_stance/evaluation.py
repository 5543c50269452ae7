"""Evaluation: every metric on a labelled set, a side-by-side table, and the mistakes to read.

Notebooks and the `evaluate` / `errors` commands import from here, so a figure printed in a
terminal and one plotted in a notebook come from the same code.
"""

from __future__ import annotations

import numpy as np

from .decision import decide_stance, decide_topics
from .labels import encode_topics
from .metrics import score_predictions


def evaluation_report(scorer, records: list[dict], bootstrap_rounds: int = 1000) -> dict:
    """Score labelled records with a scorer and compute every metric (see metrics.score_predictions)."""
    topic_probs, stance_probs = scorer.probabilities([r["text"] for r in records])
    topic_true = [encode_topics(r["topics"], scorer.topic_labels) for r in records]
    stance_true = [scorer.stance_labels.index(r["stance"]) for r in records]
    return score_predictions([r["article_id"] for r in records], topic_true, stance_true, topic_probs, stance_probs,
                             scorer.thresholds, scorer.topic_labels, scorer.stance_labels, bootstrap_rounds)


def format_table(reports: dict[str, dict]) -> str:
    """A compact text table: headline figures, then per-label F1, one column per model."""
    names = list(reports)
    rows = [("paragraphs / articles", [f"{r['paragraphs']} / {r['articles']}" for r in reports.values()])]
    for key, label in (("micro_f1", "topic micro-F1"), ("macro_f1", "topic macro-F1"),
                       ("subset_accuracy", "topic subset accuracy"), ("hamming_loss", "topic Hamming loss")):
        rows.append((label, [f"{r['topics'][key]:.3f}" for r in reports.values()]))
    for key, label in (("macro_f1", "stance macro-F1"), ("accuracy", "stance accuracy")):
        rows.append((label, [f"{r['stance'][key]:.3f}" for r in reports.values()]))
    for key in ("topic_ece", "stance_ece", "topic_brier", "stance_brier"):
        rows.append((key.replace("_", " "), [f"{r['calibration'][key]:.3f}" for r in reports.values()]))
    first = next(iter(reports.values()))
    for topic in first["topics"]["per_label"]:
        rows.append((f"  F1 {topic}", [f"{r['topics']['per_label'][topic]['f1']:.3f} "
                                      f"(n={r['topics']['per_label'][topic]['support']})" for r in reports.values()]))
    for stance in first["stance"]["per_class"]:
        rows.append((f"  F1 {stance}", [f"{r['stance']['per_class'][stance]['f1']:.3f} "
                                       f"(n={r['stance']['per_class'][stance]['support']})" for r in reports.values()]))
    if "ci95" in first:
        for key in first["ci95"]:
            rows.append((f"  95% CI {key}", ["[{:.3f}, {:.3f}]".format(*r["ci95"][key]) for r in reports.values()]))
    width = max(len(r[0]) for r in rows) + 2
    cols = [max(len(n), *(len(r[1][i]) for r in rows)) + 2 for i, n in enumerate(names)]
    out = ["".ljust(width) + "".join(n.ljust(c) for n, c in zip(names, cols))]
    out += [label.ljust(width) + "".join(v.ljust(c) for v, c in zip(values, cols)) for label, values in rows]
    return "\n".join(out)


def find_errors(scorer, records: list[dict]) -> list[dict]:
    """One entry per wrong topic decision or wrong stance, sorted by the model's confidence.

    The most confident mistakes are the best place to start: they are either real model
    blind spots or labelling errors worth fixing in the data.
    """
    topic_probs, stance_probs = scorer.probabilities([r["text"] for r in records])
    topic_on, stance_idx = decide_topics(topic_probs, scorer.thresholds), decide_stance(stance_probs)
    mistakes = []
    for record, tp, sp, on, s in zip(records, topic_probs, stance_probs, topic_on, stance_idx):
        predicted_stance = scorer.stance_labels[int(s)]
        base = {"id": record["id"], "article_id": record["article_id"], "text": record["text"],
                "gold_topics": record["topics"], "gold_stance": record["stance"],
                "predicted_topics": [t for t, flag in zip(scorer.topic_labels, on) if flag],
                "predicted_stance": predicted_stance}
        if predicted_stance != record["stance"]:
            mistakes.append({**base, "kind": "stance", "gold": record["stance"], "predicted": predicted_stance,
                             "confidence": round(float(sp.max()), 4)})
        for topic, p, flag in zip(scorer.topic_labels, tp, on):
            gold = topic in record["topics"]
            if bool(flag) != gold:
                mistakes.append({**base, "kind": f"topic {topic}", "gold": gold, "predicted": not gold,
                                 "confidence": round(float(p if not gold else 1 - p), 4)})
    return sorted(mistakes, key=lambda m: -m["confidence"])
