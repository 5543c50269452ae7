"""Does `topic-stance select` pick better paragraphs to label than chance? A simulated labelling loop.

The authored corpus (data/labelled/authored.jsonl) is split by article with data.assign_splits;
the validation articles are held out for scoring, the training paragraphs play the unlabelled
pool (their gold labels are "revealed" when a paragraph is picked). Each seed starts from the same
random `--start` paragraphs for both strategies, then adds batches of `--batch` chosen

- at random, or
- by the selection (selection.uncertainty_scores + selection.select_indices: calibrated
  uncertainty from the current model, diversity on its TF-IDF vectors, already labelled
  paragraphs counting as picked),

retraining the TF-IDF baseline after every batch until `--budget` labels. Validation scores:
topic micro-F1 (decision.decide_topics at the baseline's thresholds) and stance macro-F1
(decision.decide_stance), and their mean. The goal: the selection's mean curve reaches the random
curve's final mean score with at most 60% of the labels. Prints the curves side by side and the
verdict; writes benchmarks/results/selection.png and selection.json.

    python benchmarks/bench_selection.py [--start 100] [--batch 100] [--budget 1000] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from topic_stance.baseline import TfidfBaseline
from topic_stance.data import DATA_DIR, assign_splits
from topic_stance.decision import decide_stance, decide_topics
from topic_stance.labels import STANCES, encode_topics, load_records
from topic_stance.selection import select_indices, uncertainty_scores

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_SHARE = 0.6
STRATEGIES = ("random", "selection")


def targets(records):
    return (np.array([encode_topics(r["topics"]) for r in records], dtype=int),
            np.array([STANCES.index(r["stance"]) for r in records], dtype=int))


def fit(pool, topic_y, stance_y, rows, seed):
    return TfidfBaseline(seed=seed).fit([pool[i]["text"] for i in rows], topic_y[rows], stance_y[rows])


def score(model, texts, topic_y, stance_y) -> dict:
    topic_probs, stance_probs = model.predict_proba(texts)
    topic = f1_score(topic_y, decide_topics(topic_probs, model.topic_thresholds).astype(int), average="micro",
                     zero_division=0)
    stance = f1_score(stance_y, decide_stance(stance_probs), average="macro", labels=list(range(len(STANCES))),
                      zero_division=0)
    return {"topic_micro_f1": float(topic), "stance_macro_f1": float(stance), "mean": float((topic + stance) / 2)}


def next_batch(strategy, model, pool, labelled, size, rng, seed, opts):
    rest = np.array(sorted(set(range(len(pool))) - set(labelled)))
    if len(rest) <= size:
        return list(rest)
    if strategy == "random":
        return list(rng.choice(rest, size=size, replace=False))
    texts = [pool[i]["text"] for i in rest]
    topic_probs, stance_probs = model.predict_proba(texts)
    u = uncertainty_scores(topic_probs, stance_probs, model.topic_thresholds, opts.stance_measure,
                           opts.topic_weight)["combined"]
    vectorizer = model.vectorizer  # what `select` uses for a baseline folder
    picks = select_indices(u, vectorizer.transform(texts), size, [pool[i]["article_id"] for i in rest],
                           per_group_cap=opts.per_article_cap, seed=seed, diversity=opts.diversity,
                           labelled_features=vectorizer.transform([pool[i]["text"] for i in labelled]))
    return [int(rest[p.index]) for p in picks]


def simulate(pool, validation, opts):
    topic_y, stance_y = targets(pool)
    val_texts = [r["text"] for r in validation]
    val_topic, val_stance = targets(validation)
    sizes = list(range(opts.start, opts.budget + 1, opts.batch))
    curves = {s: {m: [] for m in ("topic_micro_f1", "stance_macro_f1", "mean")} for s in STRATEGIES}
    for seed in opts.seeds:
        rng0 = np.random.default_rng(seed)
        start = list(rng0.choice(len(pool), size=opts.start, replace=False))
        first = fit(pool, topic_y, stance_y, start, seed)
        first_score = score(first, val_texts, val_topic, val_stance)
        for strategy in STRATEGIES:
            rng = np.random.default_rng([seed, 1])
            labelled, model, run = list(start), first, [first_score]
            while len(labelled) < opts.budget:
                labelled += next_batch(strategy, model, pool, labelled, min(opts.batch, opts.budget - len(labelled)),
                                       rng, seed, opts)
                model = fit(pool, topic_y, stance_y, labelled, seed)
                run.append(score(model, val_texts, val_topic, val_stance))
                print(f"  seed {seed} {strategy:9s} {len(labelled):5d} labels: topic {run[-1]['topic_micro_f1']:.3f} "
                      f"stance {run[-1]['stance_macro_f1']:.3f}", flush=True)
            for metric in curves[strategy]:
                curves[strategy][metric].append([r[metric] for r in run])
    return sizes, {s: {m: np.array(v) for m, v in c.items()} for s, c in curves.items()}


def labels_needed(sizes, selection_mean, target):
    """The first label count at which the selection's mean curve reaches `target` (None: never)."""
    for n, value in zip(sizes, selection_mean):
        if value >= target - 1e-12:
            return n
    return None


def plot(sizes, curves, verdicts, opts, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = (("topic_micro_f1", "topic micro-F1"), ("stance_macro_f1", "stance macro-F1"), ("mean", "mean of both"))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, (metric, title) in zip(axes, metrics):
        for strategy, colour in zip(STRATEGIES, ("tab:gray", "tab:blue")):
            values = curves[strategy][metric]
            mean, std = values.mean(0), values.std(0)
            ax.plot(sizes, mean, marker="o", markersize=3, color=colour, label=strategy)
            ax.fill_between(sizes, mean - std, mean + std, color=colour, alpha=0.15)
        target = verdicts[metric]["random_final"]
        ax.axhline(target, color="tab:gray", linestyle=":", linewidth=1)
        if verdicts[metric]["labels_needed"]:
            ax.axvline(verdicts[metric]["labels_needed"], color="tab:blue", linestyle=":", linewidth=1)
        ax.axvline(GOAL_SHARE * sizes[-1], color="tab:red", linestyle="--", linewidth=0.8, label="60% of budget")
        ax.set_title(title)
        ax.set_xlabel("labelled paragraphs")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation score")
    axes[0].legend(loc="lower right")
    fig.suptitle(f"TF-IDF baseline, selection vs random, {len(opts.seeds)} seeds (mean ± sd); "
                 f"start {opts.start}, batches of {opts.batch}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DATA_DIR / "labelled" / "authored.jsonl"))
    parser.add_argument("--start", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--per-article-cap", type=int, default=None)
    parser.add_argument("--diversity", type=float, default=1.0, help="as `select --diversity` (0: uncertainty only)")
    parser.add_argument("--stance-measure", choices=("margin", "entropy"), default="margin")
    parser.add_argument("--topic-weight", type=float, default=0.5)
    parser.add_argument("--output", default=str(RESULTS / "selection.png"))
    opts = parser.parse_args()
    splits = assign_splits(load_records([opts.data]))
    pool, validation = splits["train"], splits["validation"]
    if (opts.budget - opts.start) % opts.batch:
        parser.error("--budget - --start must be a multiple of --batch")
    if opts.budget > len(pool):
        parser.error(f"--budget {opts.budget} is more than the pool's {len(pool)} paragraphs")
    print(f"pool {len(pool)} paragraphs ({len({r['article_id'] for r in pool})} articles), validation "
          f"{len(validation)} ({len({r['article_id'] for r in validation})} articles); start {opts.start}, "
          f"batch {opts.batch}, budget {opts.budget}, seeds {opts.seeds}", flush=True)
    started = time.time()
    sizes, curves = simulate(pool, validation, opts)
    print(f"\nvalidation scores, mean over {len(opts.seeds)} seeds (sd in brackets)")
    print(f"{'labels':>6} | {'random topic':>13} {'stance':>13} {'mean':>6} | {'select topic':>13} {'stance':>13} "
          f"{'mean':>6}")
    for k, n in enumerate(sizes):
        cells = []
        for strategy in STRATEGIES:
            c = curves[strategy]
            cells.append(" ".join(f"{c[m][:, k].mean():.3f} ({c[m][:, k].std():.3f})" for m in
                                  ("topic_micro_f1", "stance_macro_f1")) + f" {c['mean'][:, k].mean():.3f}")
        print(f"{n:>6} | {cells[0]} | {cells[1]}")
    verdicts = {}
    for metric in ("topic_micro_f1", "stance_macro_f1", "mean"):
        target = float(curves["random"][metric][:, -1].mean())
        needed = labels_needed(sizes, curves["selection"][metric].mean(0), target)
        verdicts[metric] = {"random_final": target, "selection_final": float(curves["selection"][metric][:, -1].mean()),
                            "labels_needed": needed, "share": None if needed is None else needed / sizes[-1]}
    print()
    for metric, v in verdicts.items():
        share = "never within the budget" if v["share"] is None else f"{v['labels_needed']} labels = {v['share']:.0%}"
        print(f"{metric:>16}: random reaches {v['random_final']:.3f} with {sizes[-1]} labels; selection ends at "
              f"{v['selection_final']:.3f} and reaches the random final score at {share}")
    goal = verdicts["mean"]["share"] is not None and verdicts["mean"]["share"] <= GOAL_SHARE + 1e-12
    print(f"\nGOAL {'MET' if goal else 'NOT MET'}: the selection needs "
          f"{'more than the whole budget' if verdicts['mean']['share'] is None else format(verdicts['mean']['share'], '.0%')}"
          f" of the labels to match random's final mean score (goal: at most {GOAL_SHARE:.0%}); "
          f"{time.time() - started:.0f} s")
    output = Path(opts.output)
    plot(sizes, curves, verdicts, opts, output)
    payload = {"sizes": sizes, "seeds": opts.seeds, "start": opts.start, "batch": opts.batch, "budget": opts.budget,
               "per_article_cap": opts.per_article_cap, "diversity": opts.diversity,
               "stance_measure": opts.stance_measure, "topic_weight": opts.topic_weight, "pool": len(pool), "validation": len(validation),
               "curves": {s: {m: v.tolist() for m, v in c.items()} for s, c in curves.items()},
               "verdicts": verdicts, "goal_met": goal, "goal_share": GOAL_SHARE}
    output.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {output} and {output.with_suffix('.json')}")


if __name__ == "__main__":
    main()
