"""Error analysis: where the model and the labels disagree, most confident first.

The most confident mistakes are the best place to start: they are either real model
blind spots or labelling errors worth fixing in the data.
"""

from __future__ import annotations


def find_errors(scorer, records: list[dict]) -> list[dict]:
    """One entry per wrong topic decision or wrong stance, sorted by the model's confidence.

    >>> find_errors(ArticleScorer.from_pretrained("models/minilm-topic-stance"), load_records(["data/labelled/seed.jsonl"]))[0]
    {'id': ..., 'kind': 'stance', 'gold': 'neutral', 'predicted': 'conciliatory', 'confidence': 0.93, ...}
    """
    topic_probs, stance_probs = scorer.probabilities([r["text"] for r in records])
    mistakes = []
    for record, tp, sp in zip(records, topic_probs, stance_probs):
        predicted_stance = scorer.stance_labels[int(sp.argmax())]
        base = {"id": record["id"], "article_id": record["article_id"], "text": record["text"],
                "gold_topics": record["topics"], "gold_stance": record["stance"],
                "predicted_topics": [t for t, p, th in zip(scorer.topic_labels, tp, scorer.thresholds) if p >= th],
                "predicted_stance": predicted_stance}
        if predicted_stance != record["stance"]:
            mistakes.append({**base, "kind": "stance", "gold": record["stance"], "predicted": predicted_stance,
                             "confidence": round(float(sp.max()), 4)})
        for topic, p, threshold in zip(scorer.topic_labels, tp, scorer.thresholds):
            gold = topic in record["topics"]
            if (p >= threshold) != gold:
                mistakes.append({**base, "kind": f"topic {topic}", "gold": gold, "predicted": not gold,
                                 "confidence": round(float(p if not gold else 1 - p), 4)})
    return sorted(mistakes, key=lambda m: -m["confidence"])
