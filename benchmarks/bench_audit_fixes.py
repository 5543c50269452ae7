"""What the label audit's fixes did to the scores: the TF-IDF baseline trained and scored with the
corpus as it is and with the audited labels put back as they were, over several seeds.

    python benchmarks/bench_audit_fixes.py [--seeds 0 1 2]

The fixes are listed in FIXES (id, label before the audit, field) and recorded in data/README.md.
A fix in the training split changes what the model learns; one in validation or test changes what it
is scored against. Prints validation and seed-test topic micro-F1 / stance macro-F1 for both
versions and their difference.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from topic_stance.baseline import TfidfBaseline
from topic_stance.data import DEFAULT_LABEL_DIR, assign_splits
from topic_stance.labels import STANCES, encode_topics, load_records
from topic_stance.metrics import score_predictions

# (paragraph id, field, the value before the audit) -- data/README.md, "Label audit"
FIXES = [("authored-208-p02", "stance", "neutral"), ("authored-074-p15", "stance", "neutral")]


def scores(records: list[dict], seed: int) -> dict:
    splits = assign_splits(records)
    train = splits["train"]
    model = TfidfBaseline(seed=seed).fit([r["text"] for r in train],
                                         np.array([encode_topics(r["topics"]) for r in train]),
                                         np.array([STANCES.index(r["stance"]) for r in train]))
    out = {}
    for split in ("validation", "test"):
        rows = splits[split]
        topic_probs, stance_probs = model.predict_proba([r["text"] for r in rows])
        m = score_predictions([r["article_id"] for r in rows], [encode_topics(r["topics"]) for r in rows],
                              [STANCES.index(r["stance"]) for r in rows], topic_probs, stance_probs,
                              model.topic_thresholds, bootstrap_rounds=0)
        out[f"{split} topic"], out[f"{split} stance"] = m["topics"]["micro_f1"], m["stance"]["macro_f1"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    current = load_records([DEFAULT_LABEL_DIR])
    by_id = {r["id"]: r for r in current}
    before = [dict(r) for r in current]
    where = {}
    for pid, field, value in FIXES:
        record = next(r for r in before if r["id"] == pid)
        assert record[field] != value, f"{pid}: the fix is not in the corpus"
        record[field] = value
    splits = assign_splits(current)
    for name, rows in splits.items():
        for r in rows:
            if r["id"] in {pid for pid, _, _ in FIXES}:
                where[r["id"]] = name
    print("fixes: " + ", ".join(f"{pid} {field} {value} -> {by_id[pid][field]} ({where[pid]} split)"
                                for pid, field, value in FIXES))
    results = {"before the audit": [scores(before, s) for s in args.seeds],
               "after the audit": [scores(current, s) for s in args.seeds]}
    keys = list(results["after the audit"][0])
    print(f"\nTF-IDF baseline, seeds {args.seeds} (mean)")
    print(f"{'labels':18s}" + "".join(f"{k:>20s}" for k in keys))
    means = {}
    for name, runs in results.items():
        means[name] = {k: statistics.mean(r[k] for r in runs) for k in keys}
        print(f"{name:18s}" + "".join(f"{means[name][k]:20.4f}" for k in keys))
    print(f"{'difference':18s}" + "".join(f"{means['after the audit'][k] - means['before the audit'][k]:+20.4f}"
                                          for k in keys))


if __name__ == "__main__":
    main()
