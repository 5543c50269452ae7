"""Inference throughput: the project's scorer vs stock `transformers` pipelines, plus reduced precision.

One process, alternating repeats over the same 2,000 real-length paragraphs (the bundled corpus):
  - two default `pipeline("text-classification")` models (topics, stance) with the same encoder weights;
  - one such pipeline with batch_size=32;
  - the project's scorer, both heads in one pass: fp32 torch, and every reduced-precision path the model
    folder has (bf16 torch where the CPU has bf16 kernels; ONNX fp32 and int8 after `topic-stance export`).
Prints paragraphs/second, ratios to the default pipelines, the share of the compute bound for the path's
precision (measured fp32 / bf16 / int8 matmul peak over FLOPs per paragraph), and label agreement of each
path with fp32.

    python benchmarks/bench_inference.py [--model models/minilm-topic-stance] [--paragraphs 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

from topic_stance.export import agreement
from topic_stance.engines import ONNX_FILES
from topic_stance.inference import ArticleScorer
from topic_stance.runtime import cpu_supports_bf16
from topic_stance.labels import load_records
from topic_stance.model import TopicStanceModel


def matmul_gflops(dtype=torch.float32, seconds: float = 2.0) -> float:
    """Measured GFLOP/s (GOP/s for int8) of torch matmuls shaped like this model's feed-forward layers."""
    if dtype == torch.int8:  # int8 x int8 -> int32, the oneDNN VNNI kernel
        a = torch.randint(-128, 127, (2048, 384), dtype=torch.int8)
        b = torch.randint(-128, 127, (384, 1536), dtype=torch.int8)
        multiply = torch._int_mm
    else:
        a, b = torch.randn(2048, 384, dtype=dtype), torch.randn(384, 1536, dtype=dtype)
        multiply = torch.matmul
    for _ in range(3):
        multiply(a, b)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        multiply(a, b)
        count += 1
    return 2 * 2048 * 384 * 1536 * count / (time.perf_counter() - start) / 1e9


def bound_dtype(precision: str):
    """The matmul whose measured peak bounds a path: int8 paths by int8, bf16 by bf16, the rest by fp32."""
    if precision.startswith("int8"):
        return torch.int8
    return torch.bfloat16 if precision == "bf16" else torch.float32


def flops_per_paragraph(config, tokens: float) -> float:
    """Forward FLOPs: per layer 2*T*(4H^2 + 2HI) for projections and FFN + 4*T^2*H for attention."""
    h, i, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    return layers * (2 * tokens * (4 * h * h + 2 * h * i) + 4 * tokens * tokens * h)


def stock_pipelines(model_dir: Path, folder: Path, batch_size: int | None):
    """Two sequence-classification models sharing the trained encoder's weights, as stock pipelines."""
    trained = TopicStanceModel.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    pipes = []
    for name, labels, problem in (("topics", trained.config.topic_labels, "multi_label_classification"),
                                  ("stance", trained.config.stance_labels, "single_label_classification")):
        path = folder / name
        if not path.exists():
            encoder_config = trained.config.encoder.to_dict()
            encoder_config.update(num_labels=len(labels), problem_type=problem,
                                  id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
            model = AutoModelForSequenceClassification.from_config(type(trained.config.encoder)(**encoder_config))
            model.base_model.load_state_dict(trained.encoder.state_dict(), strict=False)
            model.save_pretrained(path)
            tokenizer.save_pretrained(path)
        kwargs = {"batch_size": batch_size} if batch_size else {}
        pipes.append(pipeline("text-classification", model=str(path), device="cpu", top_k=None, **kwargs))
    return pipes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/minilm-topic-stance")
    parser.add_argument("--paragraphs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-pipelines", action="store_true", help="only the project's paths")
    parser.add_argument("--fast", default="models/minilm-fast-topic-stance",
                        help="the smaller distilled student (make train-fast), measured beside the default if present")
    opts = parser.parse_args()
    model_dir = Path(opts.model)
    records = load_records(["data/labelled"])
    texts = [records[i % len(records)]["text"] for i in range(opts.paragraphs)]

    paths = {"scorer fp32 (torch)": "fp32"}
    if cpu_supports_bf16():
        paths["scorer bf16 (torch)"] = "bf16"
    for precision, file in ONNX_FILES.items():
        if (model_dir / file).exists():
            paths[f"scorer {precision} (onnx runtime)"] = precision
    scorers = {name: ArticleScorer.from_pretrained(model_dir, device="cpu", precision=p) for name, p in paths.items()}
    fast_dir = Path(opts.fast)
    if (fast_dir / "config.json").exists():
        scorers["fast student fp32 (3 layers)"] = ArticleScorer.from_pretrained(fast_dir, device="cpu", precision="fp32")
        if cpu_supports_bf16():
            scorers["fast student bf16 (3 layers)"] = ArticleScorer.from_pretrained(fast_dir, device="cpu",
                                                                                     precision="bf16")
    tmp = Path(tempfile.mkdtemp())
    contenders = {name: (lambda s=s: s.probabilities(texts)) for name, s in scorers.items()}
    if not opts.skip_pipelines:
        default_pipes = stock_pipelines(model_dir, tmp, None)
        batched_pipe = stock_pipelines(model_dir, tmp, 32)[0]
        contenders["2 pipelines, default settings"] = lambda: [p(texts) for p in default_pipes]
        contenders["1 pipeline, batch_size=32"] = lambda: batched_pipe(texts)

    outputs, rates = {}, {name: [] for name in contenders}
    for name, run in contenders.items():  # warm-up, and keep each path's output for agreement
        outputs[name] = run()
    for _ in range(opts.repeats):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            rates[name].append(len(texts) / (time.perf_counter() - start))

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokens = float(np.mean([len(ids) for ids in tokenizer(texts)["input_ids"]]))
    encoder = scorers["scorer fp32 (torch)"].engine.config.encoder
    flops = flops_per_paragraph(encoder, tokens)
    peaks = {dtype: matmul_gflops(dtype) for dtype in (torch.float32, torch.bfloat16, torch.int8)
             if dtype != torch.bfloat16 or cpu_supports_bf16()}
    gflops = peaks[torch.float32]
    bound = gflops * 1e9 / flops
    if peaks.get(torch.int8, 0.0) < gflops:
        # no VNNI: torch's int8 matmul falls back to a slow generic kernel, which bounds nothing that ONNX
        # Runtime's own int8 kernels do (seen on an AVX2-only CPU: 4 GOP/s), so int8 paths get no bound
        peaks.pop(torch.int8)

    def path_bound(name: str) -> float | None:
        """Paragraphs/s at the measured matmul peak of the path's precision, for the path's own depth (None when
        that precision has no meaningful peak here)."""
        scorer = scorers.get(name)
        if scorer is None:  # the stock pipelines run fp32
            return bound
        config = getattr(scorer.engine, "config", None)
        path_flops = flops_per_paragraph(config.encoder, tokens) if config is not None else flops
        dtype = bound_dtype(scorer.engine.precision)
        return peaks[dtype] * 1e9 / path_flops if dtype in peaks else None
    reference = max(rates.get("2 pipelines, default settings", [float("nan")]))
    batched = max(rates.get("1 pipeline, batch_size=32", [float("nan")]))
    fp32 = outputs["scorer fp32 (torch)"]
    thresholds = scorers["scorer fp32 (torch)"].thresholds
    print(f"\n{len(texts)} paragraphs, mean {tokens:.1f} tokens; torch threads {torch.get_num_threads()}; "
          f"best of {opts.repeats}")
    print("matmul peaks: " + ", ".join(f"{str(d).replace('torch.', '')} {v:.0f} G(FL)OP/s" for d, v in peaks.items()) +
          f"; {flops / 1e9:.3f} GFLOP per paragraph -> fp32 compute bound {bound:.0f} paragraphs/s")
    print(f"{'path':38s} {'para/s':>8s} {'vs 2 pipes':>10s} {'vs pipe b32':>11s} {'of its bound':>12s} {'labels = fp32':>13s}")
    for name, values in rates.items():
        best = max(values)
        agree = ""
        if name in scorers:
            agree = f"{agreement(fp32, outputs[name], thresholds)['label_agreement']:.2%}"
        limit = path_bound(name)
        share = f"{best / limit:11.0%}" if limit else f"{'–':>11s}"
        print(f"{name:38s} {best:8.1f} {best / reference:9.2f}x {best / batched:10.2f}x {share} {agree:>13s}")
    print("\nlabel agreement: share of the paragraphs whose predicted topics and stance equal the fp32 scorer's "
          "(these are the bundled corpus paragraphs; `topic-stance export` reports it on the validation split)")
    if (fast_dir / "metrics.json").exists():
        fast_metrics = json.loads((fast_dir / "metrics.json").read_text())
        default_metrics = json.loads((model_dir / "metrics.json").read_text())
        print("\nfast student vs default (its labels are its own, so quality is F1, not agreement):")
        for split in ("test", "validation"):
            print(f"  {split:10s} topic micro-F1 {fast_metrics[split]['topics']['micro_f1']:.3f} vs "
                  f"{default_metrics[split]['topics']['micro_f1']:.3f}; stance macro-F1 "
                  f"{fast_metrics[split]['stance']['macro_f1']:.3f} vs {default_metrics[split]['stance']['macro_f1']:.3f}")
    summary = {name: max(v) for name, v in rates.items()}
    print(json.dumps({"paragraphs_per_s": summary, "fp32_bound": bound}, indent=1))


if __name__ == "__main__":
    main()
