"""Seed variance of the default recipe: the student with and without distillation, and the teacher.

    python benchmarks/bench_variance.py                      # 3 seeds x {gold only, distilled}
    python benchmarks/bench_variance.py --variants transfer  # distilled + the transfer set
    python benchmarks/bench_variance.py --seeds 1 2 --sweep   # also alpha / temperature on validation
    python benchmarks/bench_variance.py --variants transfer --set learning_rate=2e-4 --name lr2e-4
                                                             # any train.py flag, e.g. for a sweep on a GPU

A gain is only a gain if it is larger than the spread between seeds: this script trains each
variant with several seeds in one process, on the same splits, and prints mean and standard
deviation of the seed-test (real text) and validation metrics, the behavioural pass rate and the
TF-IDF baseline's figures. The teacher's figures come from its model folder (one seed: it takes
most of an hour per run on a laptop CPU). Results go to benchmarks/results/variance.json;
`--report benchmarks/results/variance*.json` prints every saved run in one table without training.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from topic_stance.train import train  # noqa: E402
from topic_stance.training import DEFAULT_TEACHER_TARGETS, DEFAULT_TRANSFER, make_arguments  # noqa: E402


def figures(metrics: dict) -> dict:
    out = {}
    for split in ("test", "validation"):
        if split in metrics:
            out[f"{split}_topic_micro_f1"] = metrics[split]["topics"]["micro_f1"]
            out[f"{split}_stance_macro_f1"] = metrics[split]["stance"]["macro_f1"]
    for split in ("test", "validation"):
        base = metrics.get("baseline", {}).get(split)
        if base:
            out[f"baseline_{split}_stance_macro_f1"] = base["stance"]["macro_f1"]
            out[f"baseline_{split}_topic_micro_f1"] = base["topics"]["micro_f1"]
    if metrics.get("checks"):
        out["checks_pass_rate"] = metrics["checks"]["pass_rate"]
    out["train_runtime_s"] = metrics.get("train_runtime_s")
    return out


def run(variant: str, seed: int, workdir: Path, **options) -> dict:
    started = time.time()
    folder = train(*make_arguments(output=str(workdir / f"{variant}-{seed}"), seed=seed, bootstrap=0, overwrite=True,
                                   **options))
    metrics = json.loads((folder / "metrics.json").read_text())
    result = {"variant": variant, "seed": seed, **figures(metrics), "wall_s": round(time.time() - started, 1)}
    print(json.dumps(result), flush=True)
    return result


def model_folders(models: list[str] | None, seeds: list[int], workdir: Path) -> list[Path]:
    """The given model folders, or else the default recipe trained once per seed under `workdir`."""
    if models:
        return [Path(m) for m in models]
    return [train(*make_arguments(output=str(workdir / f"seed-{seed}"), seed=seed, bootstrap=0, overwrite=True))
            for seed in seeds]


def summarise(rows: list[dict]) -> dict:
    keys = [k for k in rows[0] if k not in ("variant", "seed") and isinstance(rows[0][k], (int, float))]
    return {k: (statistics.mean(r[k] for r in rows), statistics.stdev(r[k] for r in rows) if len(rows) > 1 else 0.0)
            for k in keys}


COLUMNS = ["test_topic_micro_f1", "test_stance_macro_f1", "validation_topic_micro_f1", "validation_stance_macro_f1",
           "checks_pass_rate", "baseline_test_stance_macro_f1", "baseline_validation_stance_macro_f1"]


def print_table(summary: dict, width: int = 28) -> None:
    """Mean ± std per variant, then each variant's stance lead over the TF-IDF baseline."""
    print("variant".ljust(width) + "".join(c.replace("_macro_f1", "").replace("_micro_f1", "")[:22].ljust(24)
                                           for c in COLUMNS))
    for variant, stats in summary.items():
        print(variant.ljust(width) + "".join(
            (f"{stats[c][0]:.3f} ± {stats[c][1]:.3f}" if c in stats else "–").ljust(24) for c in COLUMNS))
    for variant, stats in summary.items():
        if "test_stance_macro_f1" in stats and "baseline_test_stance_macro_f1" in stats:
            print(f"{variant}: stance lead over TF-IDF: seed test {stats['test_stance_macro_f1'][0] - stats['baseline_test_stance_macro_f1'][0]:+.3f}, "
                  f"validation {stats['validation_stance_macro_f1'][0] - stats['baseline_validation_stance_macro_f1'][0]:+.3f}")


def report(paths: list[str]) -> None:
    """One table over saved results files: every recipe measured so far, side by side, without training."""
    summary = {}
    for path in paths:
        saved = json.loads(Path(path).read_text())
        for variant, stats in saved["summary"].items():
            summary[f"{Path(path).stem}: {variant}"] = stats
    print_table(summary, width=max(len(v) for v in summary) + 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--teacher", default=str(REPO / "models" / "mpnet-topic-stance"))
    parser.add_argument("--targets", default=str(DEFAULT_TEACHER_TARGETS))
    parser.add_argument("--alpha", type=float, default=0.8)
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--sweep", action="store_true", help="alpha x temperature on validation, first seed only")
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.3, 0.5, 0.8], help="sweep grid")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 2.0], help="sweep grid")
    parser.add_argument("--variants", nargs="+", default=["gold", "distilled"],
                        help="gold (no teacher), distilled (teacher targets on the gold text), transfer (distilled "
                             "+ the unlabelled transfer set)")
    parser.add_argument("--epochs", type=float, default=None,
                        help="num_train_epochs and transfer_epochs (default: the recipe's, 4 and 1.5)")
    parser.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="extra train.py flags for every run, e.g. learning_rate=2e-4 warmup_steps=0")
    parser.add_argument("--model", default=None, help="base model for every run (default: the recipe's)")
    parser.add_argument("--name", default="", help="suffix for the variants' names in the results")
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "variance.json"))
    parser.add_argument("--report", nargs="+", metavar="RESULTS_JSON",
                        help="print one table over saved results files and exit (no training)")
    args = parser.parse_args()
    if args.report:
        return report(args.report)
    extra = dict(item.split("=", 1) for item in args.set)
    if args.model:
        extra["model"] = args.model
    suffix = f"-{args.name}" if args.name else ""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.sweep:
            for alpha in args.alphas:
                for temperature in args.temperatures:
                    rows.append(run(f"sweep-a{alpha}-t{temperature}", args.seeds[0], work, teacher_targets=args.targets,
                                    distill_alpha=alpha, distill_temperature=temperature, **extra))
        epochs = {} if args.epochs is None else {"num_train_epochs": args.epochs, "transfer_epochs": args.epochs}
        distill = dict(teacher_targets=args.targets, distill_alpha=args.alpha, distill_temperature=args.temperature)
        for seed in args.seeds:
            if "gold" in args.variants:
                rows.append(run("gold" + suffix, seed, work, teacher_targets="none", **epochs, **extra))
            if "distilled" in args.variants and Path(args.targets).exists():
                rows.append(run("distilled" + suffix, seed, work, transfer="none", **distill, **epochs, **extra))
            if "transfer" in args.variants and Path(args.targets).exists():
                rows.append(run("transfer" + suffix, seed, work, transfer=str(DEFAULT_TRANSFER), **distill, **epochs,
                                **extra))
    summary = {}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        summary[variant] = summarise([r for r in rows if r["variant"] == variant])
    teacher_metrics = Path(args.teacher) / "metrics.json"
    if teacher_metrics.exists():
        summary["teacher (1 seed)"] = {k: (v, 0.0) for k, v in figures(json.loads(teacher_metrics.read_text())).items()
                                       if isinstance(v, (int, float))}
    print("\nmean ± std over seeds " + str(args.seeds))
    print_table(summary)
    out = Path(args.output)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"seeds": args.seeds, "alpha": args.alpha, "temperature": args.temperature,
                               "epochs": args.epochs, "set": extra, "runs": rows,
                               "summary": summary}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
