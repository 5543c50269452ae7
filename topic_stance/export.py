"""Reduced-precision inference paths, exported and validated against fp32 before use.

`topic-stance export --model DIR --format onnx [--quantize int8]` writes into the model folder:
  onnx/model.onnx        fp32 graph (legacy exporter, so ONNX Runtime's BERT attention fusion applies)
  onnx/model-int8.onnx   dynamic int8 quantisation of the fused graph (with --quantize int8)
  precision.json         per path: agreement of predicted labels with the fp32 torch model on the
                         validation split, max probability difference, and whether `auto` may use it
A path is used by `--precision auto` only if its label agreement is >= 99% and it was measured
faster than fp32 on the same machine. `int8-guarded` runs int8 and re-scores in fp32 only the
paragraphs whose int8 probabilities lie near a decision (threshold or stance tie).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from .decision import decide_stance, decide_topics

ONNX_DIR = "onnx"
REPORT = "precision.json"
MIN_AGREEMENT = 0.99
OPSET = 17


def _heads_only(model):
    """The model as a module mapping (input_ids, attention_mask) to (topic_logits, stance_logits)."""
    import torch

    class Heads(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask)
            return out.topic_logits, out.stance_logits

    return Heads(model).eval()


def export_onnx(model_dir: Path, quantize: str | None = None) -> list[Path]:
    """Export the fp32 graph, fuse attention with ONNX Runtime's optimizer, optionally quantise."""
    import torch
    from onnxruntime.transformers.optimizer import optimize_model

    from .model import TopicStanceModel

    model = TopicStanceModel.from_pretrained(model_dir).float().eval()
    # Eager attention exports as plain MatMul/Softmax, the pattern ONNX Runtime fuses into Attention;
    # the SDPA export (IsNaN/Where guards) is left unfused.
    model.set_attn_implementation("eager")
    target = model_dir / ONNX_DIR
    target.mkdir(exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        ids = torch.ones((2, 16), dtype=torch.long)
        torch.onnx.export(_heads_only(model), (ids, torch.ones_like(ids)), str(raw), dynamo=False,
                          input_names=["input_ids", "attention_mask"], output_names=["topic_logits", "stance_logits"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                        "attention_mask": {0: "batch", 1: "sequence"},
                                        "topic_logits": {0: "batch"}, "stance_logits": {0: "batch"}},
                          opset_version=OPSET)
        encoder = model.config.encoder
        fused = optimize_model(str(raw), model_type="bert", num_heads=encoder.num_attention_heads,
                               hidden_size=encoder.hidden_size)
        fp32_path = target / "model.onnx"
        fused.save_model_to_file(str(fp32_path))
        written.append(fp32_path)
    if quantize == "int8":
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        int8_path = target / "model-int8.onnx"
        # The fused graph has contrib ops (Attention, SkipLayerNorm) that shape inference cannot type.
        quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        written.append(int8_path)
    return written


def validation_texts(model_dir: Path, data: list[str] | None = None) -> list[str]:
    """The validation split the model was tuned on (files recorded in data.json), or given files."""
    from .data import load_splits

    if data is None:
        manifest = json.loads((model_dir / "data.json").read_text())
        from .data import REPO

        data = [f["path"] if Path(f["path"]).is_absolute() else str(REPO / f["path"]) for f in manifest["files"]]
    return list(load_splits(data)["validation"]["text"])


def agreement(reference, candidate, thresholds) -> dict:
    """Share of paragraphs with identical topics and stance, and the max probability difference."""
    (ref_topic, ref_stance), (cand_topic, cand_stance) = reference, candidate
    same_topics = (decide_topics(ref_topic, thresholds) == decide_topics(cand_topic, thresholds)).all(1)
    same_stance = decide_stance(ref_stance) == decide_stance(cand_stance)
    return {"paragraphs": int(len(same_stance)), "label_agreement": float((same_topics & same_stance).mean()),
            "topic_agreement": float(same_topics.mean()), "stance_agreement": float(same_stance.mean()),
            "max_prob_diff": float(max(np.abs(ref_topic - cand_topic).max(), np.abs(ref_stance - cand_stance).max()))}


def timed(scorer, texts: list[str]):
    """(probabilities, paragraphs per second) of one pass after a short warm-up."""
    scorer.probabilities(texts[:32])
    start = time.perf_counter()
    probs = scorer.probabilities(texts)
    return probs, len(texts) / (time.perf_counter() - start)


def validate_paths(model_dir: Path, texts: list[str], precisions: list[str]) -> dict:
    """Score `texts` with fp32 and each candidate path; write and return precision.json.

    Each path gets its label agreement with fp32 and its speed on this machine, so that
    `--precision auto` can pick the fastest validated path measured here, not assumed.
    """
    from .inference import ArticleScorer
    from .runtime import cpu_supports_bf16, machine_id

    reference, fp32_speed = timed(ArticleScorer.from_pretrained(model_dir, device="cpu", precision="fp32"), texts)
    report = {"reference": "fp32 torch", "min_agreement": MIN_AGREEMENT, "machine": machine_id(),
              "fp32_paragraphs_per_s": round(fp32_speed, 1), "paths": {}}
    for precision in precisions:
        if precision == "bf16" and not cpu_supports_bf16():
            report["paths"][precision] = {"validated": False, "reason": "this CPU has no bf16 support"}
            continue
        scorer = ArticleScorer.from_pretrained(model_dir, device="cpu", precision=precision)
        probs, speed = timed(scorer, texts)
        result = agreement(reference, probs, scorer.thresholds)
        result["validated"] = result["label_agreement"] >= MIN_AGREEMENT
        result["paragraphs_per_s"] = round(speed, 1)
        if precision == "int8-guarded":
            result["fp32_fallback_share"] = round(scorer.engine.last_fallback_share, 4)
        report["paths"][precision] = result
    (model_dir / REPORT).write_text(json.dumps(report, indent=2) + "\n")
    return report


def run_export(model_dir: Path, quantize: str | None = None, data: list[str] | None = None) -> tuple[list[Path], dict]:
    """Export the ONNX graph(s) into the folder and validate every reduced-precision path against fp32."""
    from .errors import ModelFolderError

    model_dir = Path(model_dir)
    if not (model_dir / "model.safetensors").exists():
        raise ModelFolderError(f"{model_dir}: not a transformer model folder (no model.safetensors)")
    try:
        texts = validation_texts(model_dir, data)
    except (FileNotFoundError, KeyError) as err:
        raise ModelFolderError(f"cannot find the validation data for {model_dir} ({err}); pass --data") from None
    written = export_onnx(model_dir, quantize)
    precisions = ["onnx-fp32"] + (["int8", "int8-guarded"] if quantize == "int8" else []) + ["bf16"]
    return written, validate_paths(model_dir, texts, precisions)


def describe(report: dict) -> str:
    """One line per validated path: agreement with fp32, speed, and whether `auto` may use it."""
    lines = []
    for name, result in report["paths"].items():
        if "label_agreement" in result:
            lines.append(f"{name:12s} label agreement with fp32 {result['label_agreement']:.2%} on "
                         f"{result['paragraphs']} validation paragraphs, max prob diff {result['max_prob_diff']:.4f}, "
                         f"{result['paragraphs_per_s']:.0f} paragraphs/s (fp32 {report['fp32_paragraphs_per_s']:.0f}): "
                         f"{'validated' if result['validated'] else 'REFUSED by auto'}")
        else:
            lines.append(f"{name:12s} not validated: {result['reason']}")
    return "\n".join(lines)
