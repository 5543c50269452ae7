"""Wall time of `topic-stance predict` on one short article, run as a whole process several times.

    python benchmarks/bench_first_answer.py [--model models/minilm-topic-stance] [--runs 5]

A user scoring one article waits for the whole process: interpreter start, imports, model
loading and scoring. On an ONNX path (after `topic-stance export ... --quantize int8`, which `--precision
auto`, the default, then picks) the command imports only ONNX Runtime and tokenizers; on the torch path it
imports torch and transformers. This runs the real command in fresh processes (after one warm-up run
that fills the OS file cache) and prints the median and best wall time and peak memory, beside
`python -c "import torch"` and `import transformers` as floors. Goal: < 3 s wall, < 1 GB peak.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARTICLE = ("US and China agree to keep talking on trade\n\nThe two sides held what both called candid and "
           "constructive talks in Geneva on Monday, agreeing to cut tariffs for 90 days.\n\nBeijing said "
           "Washington should stop interfering in Taiwan and lift its sanctions on Chinese firms.\n")


# A fresh wrapper process per run times the command and reports its peak RSS alone (RUSAGE_CHILDREN's
# peak is the largest of every child waited for so far, so it cannot be read in this process).
WRAPPER = ("import resource, subprocess, sys, time; start = time.perf_counter(); "
           "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
           "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds of the command, its peak RSS in MB); the wrapper's own start is not timed."""
    done = subprocess.run([sys.executable, "-c", WRAPPER, *command], check=True, capture_output=True, text=True)
    wall, peak_kb = done.stdout.split()[-2:]
    return float(wall), int(peak_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(REPO / "models" / "minilm-topic-stance"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        article = Path(tmp) / "one.txt"
        article.write_text(ARTICLE)
        commands = {
            "python -c 'import torch'": [sys.executable, "-c", "import torch"],
            "python -c 'import transformers.modeling_utils'": [sys.executable, "-c", "import transformers.modeling_utils"],
            "python -c 'import onnxruntime, tokenizers'": [sys.executable, "-c", "import onnxruntime, tokenizers"],
            "topic-stance predict (1 article, default: auto)": [
                sys.executable, "-m", "topic_stance", "predict", "--model", args.model, str(article),
                "--output", str(Path(tmp) / "out.jsonl")],
            "topic-stance predict --precision fp32 (torch)": [
                sys.executable, "-m", "topic_stance", "predict", "--model", args.model, str(article),
                "--precision", "fp32", "--output", str(Path(tmp) / "out32.jsonl")],
        }
        print(f"{'command':50s} {'median s':>9s} {'best s':>8s} {'peak MB':>8s}")
        for name, command in commands.items():
            timed(command)  # warm the file cache
            runs = [timed(command) for _ in range(args.runs)]
            walls = [w for w, _ in runs]
            print(f"{name:50s} {statistics.median(walls):9.2f} {min(walls):8.2f} {max(m for _, m in runs):8.0f}")
        meta = json.loads((Path(tmp) / "out.jsonl.meta.json").read_text())
        print(f"the default run used precision {meta['precision']} ({meta['backend']}); `auto` takes the fastest "
              f"path that `topic-stance export` validated on this machine, else fp32")
        print("goal: predict < 3 s wall and < 1024 MB peak")


if __name__ == "__main__":
    main()
