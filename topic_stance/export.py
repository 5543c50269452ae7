"""Reduced-precision inference paths, exported and validated against fp32 before use.

`topic-stance export --model DIR --format onnx [--quantize int8]` writes into the model folder:
  onnx/model.onnx              fp32 graph (legacy exporter, so ONNX Runtime's BERT attention fusion applies)
  with --quantize int8, three int8 graphs, because they trade speed for agreement differently:
  onnx/model-int8-block.onnx   int8 weights in blocks of 32 along the input dimension (MatMulNBits), int8
                               compute with activations quantised per block of 32 as they arrive
                               (accuracy level 4): fine-grained scales keep the labels
  onnx/model-int8-static.onnx  static QDQ: per-channel int8 weights, per-tensor activation ranges
                               calibrated on training paragraphs (never the validation ones); the
                               attention score products and the FFN down projections stay fp32
  onnx/model-int8.onnx         dynamic int8 of the fused graph (per-tensor activations at run time)
  precision.json               per path: agreement of predicted labels with the fp32 torch model on the
                               validation split, max probability difference, speed on this machine, and
                               whether `auto` may use it
A path is used by `--precision auto` only if its label agreement is >= 99.5% and it was measured
faster than fp32 on the same machine. `int8-guarded` runs dynamic int8 and re-scores in fp32 only the
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
MIN_AGREEMENT = 0.995
OPSET = 17
CALIBRATION_PARAGRAPHS = 256  # training paragraphs whose activation ranges set the static int8 scales
BLOCK_SIZE = 32
# Static per-tensor activation scales lose the labels on these MatMuls (measured: quantising the
# attention products drops label agreement to ~90%, the FFN down projections, fed by GELU outliers, to ~97%).
STATIC_FP32_NODES = ("attention/self/MatMul", "output/dense/MatMul")


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


def export_onnx(model_dir: Path, quantize: str | None = None, calibration: list[str] | None = None) -> list[Path]:
    """Export the fp32 graph, fuse attention with ONNX Runtime's optimizer, optionally quantise
    (static int8 needs `calibration` paragraphs)."""
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
            written.append(quantize_static_int8(raw, target / "model-int8-static.onnx", model_dir,
                                                calibration or [], model.config.window_length or 128))
    if quantize == "int8":
        written.append(quantize_block_int8(fp32_path, target / "model-int8-block.onnx"))
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        int8_path = target / "model-int8.onnx"
        # The fused graph has contrib ops (Attention, SkipLayerNorm) that shape inference cannot type.
        quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        written.append(int8_path)
    return written


def quantize_static_int8(raw: Path, output: Path, model_dir: Path, texts: list[str], max_length: int) -> Path:
    """Static QDQ int8 of the unfused graph: activation ranges (MinMax) from `texts`, per-channel weights."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    from .engines import FastTokenizer

    if not texts:
        raise ValueError("static int8 needs calibration paragraphs")
    tokenizer = FastTokenizer(model_dir)
    pad = tokenizer.pad_token_id or 0

    class Batches(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(range(0, len(texts), 16))

        def get_next(self):
            start = next(self.batches, None)
            if start is None:
                return None
            ids = tokenizer(texts[start:start + 16], max_length=max_length, stride=0)["input_ids"]
            width = max(map(len, ids))
            batch = np.full((len(ids), width), pad, dtype=np.int64)
            mask = np.zeros_like(batch)
            for row, tokens in enumerate(ids):
                batch[row, :len(tokens)], mask[row, :len(tokens)] = tokens, 1
            return {"input_ids": batch, "attention_mask": mask}

    import onnx

    matmuls = [n.name for n in onnx.load(str(raw), load_external_data=False).graph.node if n.op_type == "MatMul"]
    keep_fp32 = [name for name in matmuls if any(part in name for part in STATIC_FP32_NODES)]
    quantize_static(str(raw), str(output), Batches(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                    nodes_to_exclude=keep_fp32, calibrate_method=CalibrationMethod.MinMax,
                    extra_options={"WeightSymmetric": True, "ActivationSymmetric": False})
    return output


def quantize_block_int8(fused: Path, output: Path) -> Path:
    """int8 weights in blocks of BLOCK_SIZE (MatMulNBits), computed in int8 (accuracy level 4)."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantFormat
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    config = DefaultWeightOnlyQuantConfig(block_size=BLOCK_SIZE, is_symmetric=True, accuracy_level=4, bits=8,
                                          quant_format=QuantFormat.QOperator)
    level = logging.getLogger().level
    quantizer = MatMulNBitsQuantizer(onnx.load(str(fused)), bits=8, block_size=BLOCK_SIZE, is_symmetric=True,
                                     accuracy_level=4, algo_config=config)
    quantizer.process()
    logging.getLogger().setLevel(level)  # the quantiser lowers the root logger to INFO
    quantizer.model.save_model_to_file(str(output), use_external_data_format=False)
    return output


def split_texts(model_dir: Path, split: str, data: list[str] | None = None) -> list[str]:
    """A split of the data the model was trained on (files recorded in data.json), or of given files."""
    from .data import load_splits

    if data is None:
        manifest = json.loads((model_dir / "data.json").read_text())
        from .data import REPO

        data = [f["path"] if Path(f["path"]).is_absolute() else str(REPO / f["path"]) for f in manifest["files"]]
    return list(load_splits(data)[split]["text"])


def validation_texts(model_dir: Path, data: list[str] | None = None) -> list[str]:
    """The validation split the model was tuned on: the paragraphs every path is validated on."""
    return split_texts(model_dir, "validation", data)


def calibration_texts(model_dir: Path, data: list[str] | None = None, n: int = CALIBRATION_PARAGRAPHS) -> list[str]:
    """A fixed random sample of training paragraphs (disjoint from the validation split)."""
    import random

    texts = split_texts(model_dir, "train", data)
    return random.Random(0).sample(texts, min(n, len(texts)))


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
    calibration = calibration_texts(model_dir, data) if quantize == "int8" else None
    written = export_onnx(model_dir, quantize, calibration)
    precisions = ["onnx-fp32"] + (["int8-block", "int8-static", "int8", "int8-guarded"] if quantize == "int8"
                                  else []) + ["bf16"]
    return written, validate_paths(model_dir, texts, precisions)


def describe(report: dict) -> str:
    """One line per validated path: agreement with fp32, speed, and whether `auto` may use it."""
    lines = []
    for name, result in report["paths"].items():
        if "label_agreement" in result:
            lines.append(f"{name:13s} label agreement with fp32 {result['label_agreement']:.2%} on "
                         f"{result['paragraphs']} validation paragraphs, max prob diff {result['max_prob_diff']:.4f}, "
                         f"{result['paragraphs_per_s']:.0f} paragraphs/s (fp32 {report['fp32_paragraphs_per_s']:.0f}): "
                         f"{'validated' if result['validated'] else 'REFUSED by auto'}")
        else:
            lines.append(f"{name:13s} not validated: {result['reason']}")
    return "\n".join(lines)
