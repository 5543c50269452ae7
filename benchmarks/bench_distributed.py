"""Throughput of `topic-stance predict --engine ray` (Ray Data, 1 and 2 workers) vs the single-process `predict`.

The bundled corpus paragraphs (data/labelled/authored.jsonl) are put back together into their articles
(~2,000 paragraphs by default) and written to one JSONL file; each contender then scores that file
from the command line, in its own process, into Parquet:

  - `topic-stance predict` (one process, torch on every core);
  - `predict-ray` with 1 worker x C threads, and 2 workers x C/2 threads (C = --cores), on a local Ray
    instance of C CPUs, so that every contender uses the same cores.

Prints paragraphs/second for the scoring run (the "seconds" each command records in its metadata:
reading, splitting, scoring and writing; for Ray also starting the actors and loading the model in each),
for Ray's steady state (first batch started to last batch finished, "scoring_seconds" in _meta.json),
and for the whole command (process start, imports, Ray start-up), the ratios to `predict`, and the
share of paragraphs whose labels equal `predict`'s.

    python benchmarks/bench_distributed.py [--model models/minilm-topic-stance] [--paragraphs 2000]
                                           [--cores 2] [--repeats 1] [--force]

Needs the trained model folder (skips with a message when it is missing) and an idle CPU: it refuses
to run when the 1-minute load average is 1.5 or more, since a busy machine makes the figures
meaningless (--force runs anyway).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAX_LOAD = 1.5


def build_input(path: Path, paragraphs: int) -> tuple[int, int]:
    """Articles of the corpus, paragraphs joined by blank lines, until `paragraphs` are reached."""
    articles: OrderedDict[str, list[str]] = OrderedDict()
    for line in (REPO / "data/labelled/authored.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            articles.setdefault(record["article_id"], []).append(record["text"])
    count, written = 0, 0
    with path.open("w", encoding="utf-8") as out:
        for article_id, texts in articles.items():
            if count >= paragraphs:
                break
            out.write(json.dumps({"id": article_id, "text": "\n\n".join(texts)}) + "\n")
            count += len(texts)
            written += 1
    return written, count


def run(command: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "TOPIC_STANCE_DEBUG": "1"})
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def labels(frame) -> dict:
    return {(r.article_id, r.id): (r.topics, r.stance) for r in frame.itertuples() if r.id is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/minilm-topic-stance")
    parser.add_argument("--paragraphs", type=int, default=2000)
    parser.add_argument("--cores", type=int, default=min(os.cpu_count() or 1, 2),
                        help="cores every contender may use (default: 2, or fewer if the machine has fewer)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per contender (best kept)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", default="fp32", help="the same path for every contender (default fp32)")
    parser.add_argument("--force", action="store_true", help="run even when the machine is busy")
    opts = parser.parse_args()

    model = Path(opts.model)
    if not (model / "config.json").exists():
        print(f"skipped: no trained model at {model} (train it first: topic-stance train ...)")
        return
    try:
        import ray  # noqa: F401
    except ImportError:
        print("skipped: Ray is not installed (pip install 'topic-stance[ray]')")
        return
    load = os.getloadavg()[0]
    if load >= MAX_LOAD and not opts.force:
        print(f"skipped: the machine is busy (1-minute load {load:.2f} >= {MAX_LOAD}); rerun when idle or --force")
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    source = tmp / "articles.jsonl"
    articles, paragraphs = build_input(source, opts.paragraphs)
    py = sys.executable
    common = ["--model", str(model), "--batch-size", str(opts.batch_size), "--device", "cpu",
              "--precision", opts.precision]
    half = max(1, opts.cores // 2)
    contenders = {
        f"predict (1 process, {opts.cores} threads)": lambda out: (
            [py, "-m", "topic_stance", "predict", *common, str(source), "--output", str(out / "p.parquet")],
            out / "p.parquet.meta.json", out / "p.parquet"),
        f"ray 1 worker x {opts.cores} threads": lambda out: (
            [py, "-m", "topic_stance", "predict", "--engine", "ray", *common, str(source), "--output", str(out), "--workers", "1",
             "--threads-per-worker", str(opts.cores), "--num-cpus", str(opts.cores)], out / "_meta.json", out),
        f"ray 2 workers x {half} thread(s)": lambda out: (
            [py, "-m", "topic_stance", "predict", "--engine", "ray", *common, str(source), "--output", str(out), "--workers", "2",
             "--threads-per-worker", str(half), "--num-cpus", str(max(opts.cores, 2))], out / "_meta.json", out),
    }
    env_threads = {"OMP_NUM_THREADS": str(opts.cores), "MKL_NUM_THREADS": str(opts.cores)}
    os.environ.update(env_threads)  # predict: torch uses exactly --cores threads

    import pandas as pd

    results, reference_labels = {}, None
    for name, make in contenders.items():
        best = None
        for repeat in range(opts.repeats):
            out = tmp / f"{len(results)}-{repeat}"
            command, meta_path, data_path = make(out)
            wall = run(command)
            meta = json.loads(meta_path.read_text())
            figures = {"paragraphs": meta["paragraphs"], "seconds": meta["seconds"], "wall": wall,
                       "window": meta.get("scoring_seconds") or meta["seconds"]}
            if best is None or figures["seconds"] < best["seconds"]:
                best = dict(figures, labels=labels(pd.read_parquet(data_path)))
            print(f"  {name}: {meta['paragraphs']} paragraphs in {meta['seconds']:.1f} s (command {wall:.1f} s)",
                  file=sys.stderr)
        results[name] = best
        reference_labels = reference_labels or best["labels"]

    reference = next(iter(results.values()))
    print(f"\n{articles} articles, {paragraphs} corpus paragraphs ({reference['paragraphs']} after splitting); "
          f"{opts.cores} cores; batch size {opts.batch_size}; best of {opts.repeats}; load before {load:.2f}")
    print("para/s: the scoring run as each command records it (Ray: actor start-up and model loading included);\n"
          "steady: Ray from the first batch started to the last one finished (predict: same as para/s);\n"
          "command: the whole command, process start, imports and Ray start-up included\n")
    print(f"{'contender':38s} {'para/s':>8s} {'ratio':>6s} {'steady':>8s} {'ratio':>6s} {'command':>8s} {'ratio':>6s} "
          f"{'labels = predict':>16s}")
    summary = {}
    for name, r in results.items():
        rates = {key: r["paragraphs"] / r[key] for key in ("seconds", "window", "wall")}
        ratios = {key: rates[key] / (reference["paragraphs"] / reference[key]) for key in rates}
        same = sum(r["labels"].get(k) == v for k, v in reference_labels.items()) / max(len(reference_labels), 1)
        print(f"{name:38s} {rates['seconds']:8.1f} {ratios['seconds']:5.2f}x {rates['window']:8.1f} "
              f"{ratios['window']:5.2f}x {rates['wall']:8.1f} {ratios['wall']:5.2f}x {same:16.2%}")
        summary[name] = {"paragraphs_per_s": round(rates["seconds"], 2), "ratio": round(ratios["seconds"], 3),
                         "paragraphs_per_s_steady": round(rates["window"], 2), "ratio_steady": round(ratios["window"], 3),
                         "paragraphs_per_s_command": round(rates["wall"], 2), "ratio_command": round(ratios["wall"], 3),
                         "labels_equal_predict": round(same, 4)}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
