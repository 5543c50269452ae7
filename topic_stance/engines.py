"""Engines: text in, calibrated (topic_probs, stance_probs) out, behind one small protocol.

torch (fp32 / bf16 / fp16), ONNX Runtime (fp32 fused or int8), int8 guarded by fp32 near the
decision, and the TF-IDF baseline. `load_engine` picks one for a model folder; `ArticleScorer`
(inference.py) only ever talks to the protocol below.

Speed comes from work not done: both heads share one encoder pass; paragraphs are sorted by
length and padded per batch; no autograd. Paragraphs longer than `max_length` tokens are scored
over overlapping windows and merged (topics: max over windows; stance: mean of logits), the same
windows that calibration saw, because max_length and stride are stored in the model's config.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .decision import calibrated
from .errors import ModelFolderError, UnsupportedSetting
from .runtime import machine_id, pick_device

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8-block", "int8-static", "int8", "int8-guarded", "onnx-fp32")
ONNX_FILES = {"int8-block": "onnx/model-int8-block.onnx", "int8-static": "onnx/model-int8-static.onnx",
              "int8": "onnx/model-int8.onnx", "int8-guarded": "onnx/model-int8.onnx", "onnx-fp32": "onnx/model.onnx"}
# served by ONNX Runtime + tokenizers alone (int8-guarded re-scores with the exported fp32 graph)
TORCH_FREE = ("int8-block", "int8-static", "int8", "int8-guarded", "onnx-fp32")
DEFAULT_MAX_LENGTH, DEFAULT_STRIDE, MIN_MAX_LENGTH = 128, 64, 16
# auto: a torch path must be > 1.5x as fast as the best torch-free one. Its imports cost ~4.5 s a run here
# (benchmarks/bench_first_answer.py), which a 1.5x faster path wins back only after ~3,000 paragraphs at
# ~200 paragraphs/s; at 1.1x (the old margin) bf16 took the default from 0.5 s to 5 s for one article.
TORCH_PATH_MARGIN = 1.5


class Engine(Protocol):
    """What ArticleScorer needs from an engine."""

    topic_labels: list[str]
    stance_labels: list[str]
    topic_thresholds: list[float]
    precision: str
    device: str
    backend: str

    def encode(self, texts: Sequence[str]): ...

    def probabilities(self, encoded) -> tuple[np.ndarray, np.ndarray]: ...

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]: ...


def check_sizes(batch_size: int, max_length: int | None) -> None:
    """Refuse sizes that would silently score nothing or crash inside the tokenizer."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise UnsupportedSetting(f"batch size must be a whole number >= 1, not {batch_size!r}")
    if max_length is not None and (not isinstance(max_length, int) or max_length < MIN_MAX_LENGTH):
        raise UnsupportedSetting(f"max length must be a whole number >= {MIN_MAX_LENGTH} tokens, not {max_length!r}")


class TransformerEngine:
    """Token ids -> calibrated probabilities with a two-head model in torch (fp32, bf16 or fp16)."""

    backend = "torch"

    def __init__(self, model, tokenizer, device: str = "cpu", batch_size: int = 64, max_length: int | None = None,
                 stride: int | None = None, precision: str = "fp32"):
        import torch

        self.torch = torch
        self._setup(model.config, tokenizer, batch_size, max_length, stride)
        self.device, self.precision = device, precision
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
        self.model = model.to(device=device, dtype=dtype).eval()

    def _setup(self, config, tokenizer, batch_size, max_length, stride) -> None:
        check_sizes(batch_size, max_length)
        self.config = config
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        max_length = max_length or getattr(config, "window_length", None) or DEFAULT_MAX_LENGTH
        self.max_length = min(max_length, getattr(config.encoder, "max_position_embeddings", max_length))
        stride = stride if stride is not None else getattr(config, "window_stride", None) or DEFAULT_STRIDE
        self.stride = max(0, min(stride, self.max_length // 2))
        self.topic_labels = list(config.topic_labels)
        self.stance_labels = list(config.stance_labels)

    @property
    def topic_thresholds(self) -> list[float]:
        """Read from the config at use, like the temperatures: training calibrates after building the engine."""
        return list(self.config.topic_thresholds)

    def encode(self, texts: Sequence[str]) -> dict:
        """Tokenise without padding; long texts become overlapping windows mapped to their text."""
        texts = list(texts)
        if not texts:
            return {"input_ids": [], "owner": np.zeros(0, dtype=np.int64), "count": 0}
        try:
            encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length, stride=self.stride,
                                     return_overflowing_tokens=True, return_attention_mask=False,
                                     return_token_type_ids=False)
        except BaseException as err:  # a Rust panic in `tokenizers` is not an Exception: keep hosts alive
            if type(err).__name__ != "PanicException":
                raise
            raise RuntimeError(f"the tokenizer failed on this input ({err}); max length {self.max_length}, "
                               f"stride {self.stride}") from None
        return {"input_ids": encoded["input_ids"], "owner": np.asarray(encoded["overflow_to_sample_mapping"]),
                "count": len(texts)}

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self.torch
        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(ids).to(self.device),
                             attention_mask=torch.from_numpy(mask).to(self.device))
        return out.topic_logits.float().cpu().numpy(), out.stance_logits.float().cpu().numpy()

    def logits(self, input_ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Length-sorted, per-batch padded forward passes; rows returned in input order."""
        order = np.argsort([len(ids) for ids in input_ids], kind="stable")
        topic = np.zeros((len(input_ids), len(self.topic_labels)), dtype=np.float32)
        stance = np.zeros((len(input_ids), len(self.stance_labels)), dtype=np.float32)
        pad = self.tokenizer.pad_token_id or 0
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            width = max(len(input_ids[i]) for i in rows)
            ids = np.full((len(rows), width), pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for k, i in enumerate(rows):
                ids[k, :len(input_ids[i])] = input_ids[i]
                mask[k, :len(input_ids[i])] = 1
            topic[rows], stance[rows] = self._forward(ids, mask)
        return topic, stance

    def merged_logits(self, encoded: dict) -> tuple[np.ndarray, np.ndarray]:
        """Raw logits per text, in input order; windows merged (topic max, stance mean)."""
        topic_logits, stance_logits = self.logits(encoded["input_ids"])
        owner, count = encoded["owner"], encoded["count"]
        if len(owner) != count:  # some text was windowed: merge its windows
            merged_topic = np.full((count, topic_logits.shape[1]), -np.inf, dtype=np.float32)
            np.maximum.at(merged_topic, owner, topic_logits)
            merged_stance = np.zeros((count, stance_logits.shape[1]), dtype=np.float32)
            np.add.at(merged_stance, owner, stance_logits)
            stance_logits = merged_stance / np.bincount(owner, minlength=count)[:, None]
            topic_logits = merged_topic
        return topic_logits, stance_logits

    def probabilities(self, encoded: dict) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated (topic_probs, stance_probs) per text (decision.calibrated)."""
        return calibrated(*self.merged_logits(encoded), self.config.topic_temperature, self.config.stance_temperature)

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return self.probabilities(self.encode(texts))


class OnnxEngine(TransformerEngine):
    """The exported graph (fp32 with fused attention, or int8) in ONNX Runtime, same interface."""

    backend = "onnx"

    def __init__(self, onnx_path: Path, config, tokenizer, batch_size: int = 64, max_length: int | None = None,
                 stride: int | None = None, precision: str = "int8"):
        import onnxruntime as ort

        self._setup(config, tokenizer, batch_size, max_length, stride)
        self.device, self.precision = "cpu", precision
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        threads = os.environ.get("OMP_NUM_THREADS", "")
        if threads.isdigit() and int(threads) > 0:  # set by Ray workers (distributed.ScoreBatch) and users alike
            options.intra_op_num_threads = int(threads)
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        topic, stance = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        return topic.astype(np.float32), stance.astype(np.float32)


class PlainConfig:
    """config.json as attributes (nested dicts too), for the ONNX path that never imports transformers."""

    def __init__(self, values: dict):
        for key, value in values.items():
            setattr(self, key, PlainConfig(value) if isinstance(value, dict) else value)

    @classmethod
    def from_pretrained(cls, path: Path) -> "PlainConfig":
        try:
            return cls(json.loads((Path(path) / "config.json").read_text(encoding="utf-8")))
        except (OSError, ValueError) as err:
            raise ModelFolderError(f"{path}/config.json: unreadable ({err})") from None


class FastTokenizer:
    """tokenizer.json through the `tokenizers` library, called like a transformers fast tokenizer for the
    one use engines make of it (truncation into overlapping windows, no padding). transformers' fast
    tokenizers run this same Rust tokenizer, so the ids are the same (tests/test_engines.py checks)."""

    def __init__(self, path: Path):
        from tokenizers import Tokenizer

        path = Path(path)
        try:
            self.backend = Tokenizer.from_file(str(path / "tokenizer.json"))
            settings = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8")) \
                if (path / "tokenizer_config.json").exists() else {}
        except Exception as err:  # noqa: BLE001 - a missing or damaged tokenizer file
            raise ModelFolderError(f"{path}: cannot load the tokenizer ({err})") from None
        pad = settings.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        self.pad_token_id = self.backend.token_to_id(pad) if pad else None
        self.truncation_side = settings.get("truncation_side", "right")

    def __call__(self, texts, truncation=True, max_length=512, stride=0, **_) -> dict:
        self.backend.no_padding()
        self.backend.enable_truncation(max_length, stride=stride, strategy="longest_first",
                                       direction=self.truncation_side)
        ids, owner = [], []
        for i, encoding in enumerate(self.backend.encode_batch(list(texts))):
            for part in (encoding, *encoding.overflowing):
                ids.append(part.ids)
                owner.append(i)
        return {"input_ids": ids, "overflow_to_sample_mapping": owner}


class GuardedEngine:
    """int8 for every paragraph, fp32 again for the few near a decision boundary.

    A paragraph is re-scored in fp32 when a topic probability lies within `margin` of its
    threshold or the top two stance probabilities lie within 2 * `margin` of each other:
    int8's small errors can only flip labels there, so labels match fp32 at a fraction of its cost.
    """

    backend = "onnx"
    device = "cpu"

    def __init__(self, fast: OnnxEngine, exact: TransformerEngine, margin: float = 0.1):
        self.fast, self.exact, self.margin = fast, exact, margin
        self.config, self.tokenizer = fast.config, fast.tokenizer
        self.topic_labels, self.stance_labels = fast.topic_labels, fast.stance_labels
        self.precision = "int8-guarded"
        self.last_fallback_share = 0.0

    @property
    def topic_thresholds(self) -> list[float]:
        return self.fast.topic_thresholds

    def encode(self, texts: Sequence[str]) -> dict:
        texts = list(texts)
        return {"texts": texts, "fast": self.fast.encode(texts)}

    def probabilities(self, encoded: dict) -> tuple[np.ndarray, np.ndarray]:
        topic, stance = self.fast.probabilities(encoded["fast"])
        top2 = np.sort(stance, axis=1)[:, -2:]
        unsure = (np.abs(topic - np.asarray(self.topic_thresholds)) < self.margin).any(1) | \
            (top2[:, 1] - top2[:, 0] < 2 * self.margin)
        rows = np.flatnonzero(unsure)
        if len(rows):
            topic[rows], stance[rows] = self.exact.predict_proba([encoded["texts"][i] for i in rows])
        self.last_fallback_share = len(rows) / max(len(topic), 1)
        return topic, stance

    def predict_proba(self, texts: Sequence[str]):
        return self.probabilities(self.encode(texts))


class BaselineEngine:
    """The TF-IDF baseline behind the same interface (no tokeniser, no windows, no device)."""

    precision, device, backend = "fp32", "cpu", "sklearn"

    def __init__(self, baseline):
        self.baseline = baseline
        self.topic_labels, self.stance_labels = list(baseline.topic_labels), list(baseline.stance_labels)
        self.topic_thresholds = list(baseline.topic_thresholds)

    def encode(self, texts: Sequence[str]) -> list[str]:
        return list(texts)

    def probabilities(self, texts: list[str]):
        if not texts:
            return np.zeros((0, len(self.topic_labels))), np.zeros((0, len(self.stance_labels)))
        return self.baseline.predict_proba(texts)

    def predict_proba(self, texts: Sequence[str]):
        return self.probabilities(self.encode(texts))


def choose_precision(path: Path, device: str) -> str:
    """`auto`: on CUDA bf16 (or fp16); on CPU the fastest path that `topic-stance export` validated
    (label agreement >= 99.5%) and measured faster than fp32 on this same machine, preferring a torch-free
    (ONNX Runtime) path unless a torch path is more than 1.5x as fast; otherwise fp32."""
    if device == "cuda":
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    report_path = path / "precision.json"
    if device != "cpu" or not report_path.exists():
        return "fp32"
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelFolderError(f"{report_path}: unreadable ({err}); delete it or re-run `topic-stance export`")
    if report.get("machine") != machine_id():
        return "fp32"
    # (speed, name) of every path auto may use; a torch path (fp32, bf16) also costs ~3-5 s of imports per run,
    # so it wins over a torch-free one only when clearly faster
    candidates = [(report.get("fp32_paragraphs_per_s", 0.0), "fp32")]
    for precision, result in report.get("paths", {}).items():
        usable = result.get("validated") and precision in PRECISIONS and (
            precision not in ONNX_FILES or ((path / ONNX_FILES[precision]).exists() and _has_onnxruntime()))
        if usable and result.get("paragraphs_per_s", 0.0) > candidates[0][0]:
            candidates.append((result["paragraphs_per_s"], precision))
    if len(candidates) == 1:
        return "fp32"
    candidates = candidates[1:]  # faster than fp32
    torch_free = [c for c in candidates if c[1] in TORCH_FREE]
    best_torch_free = max(torch_free, default=(0.0, None))
    best = max(candidates)
    if best[1] not in TORCH_FREE and best_torch_free[1] and best[0] <= best_torch_free[0] * TORCH_PATH_MARGIN:
        return best_torch_free[1]
    return best[1]


def _has_onnxruntime() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def load_model(path: Path):
    """The two-head torch model of a folder, with corrupt or truncated weights reported as such."""
    from .model import TopicStanceModel

    try:
        return TopicStanceModel.from_pretrained(path)
    except Exception as err:  # OSError, SafetensorError, size mismatches...: all mean a damaged folder
        raise ModelFolderError(f"{path}: cannot load the model weights ({type(err).__name__}: "
                               f"{str(err).splitlines()[0][:200] if str(err) else 'no detail'})") from None
    except BaseException as err:  # safetensors/tokenizers panics are not Exceptions
        if type(err).__name__ == "PanicException":
            raise ModelFolderError(f"{path}: corrupted weights ({err})") from None
        raise


def onnx_file(path: Path, precision: str) -> Path:
    onnx_path = path / ONNX_FILES[precision]
    if not onnx_path.exists():
        raise ModelFolderError(f"{onnx_path} is missing: run `topic-stance export --model {path} --format onnx"
                               f"{'' if precision == 'onnx-fp32' else ' --quantize int8'}`")
    return onnx_path


def gpu_visible() -> bool:
    """Whether an accelerator may be present, without importing torch (2-3 s): NVIDIA's device files or
    driver, or macOS (Apple GPU). If not, `--device auto` is the CPU and torch is only loaded when needed."""
    import glob
    import sys

    return sys.platform == "darwin" or bool(glob.glob("/dev/nvidia[0-9]*")) or os.path.exists("/proc/driver/nvidia")


def check_model_folder(path: str | Path) -> Path:
    """The folder as a Path, or ModelFolderError if it is missing or holds no config.json."""
    path = Path(path)
    if not path.is_dir():
        raise ModelFolderError(f"{path}: no such model folder")
    if not (path / "config.json").exists():
        raise ModelFolderError(f"{path}: not a model folder (no config.json)")
    return path


def load_engine(path: str | Path, device: str = "auto", batch_size: int = 64, max_length: int | None = None,
                precision: str = "fp32") -> Engine:
    """The right engine for a model folder: TF-IDF baseline, torch (fp32/bf16/fp16) or ONNX (int8/fp32)."""
    from .baseline import TfidfBaseline, is_baseline_folder

    path = check_model_folder(path)
    check_sizes(batch_size, max_length)
    if precision not in PRECISIONS:
        raise UnsupportedSetting(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    try:
        baseline = is_baseline_folder(path)
    except ValueError as err:
        raise ModelFolderError(f"{path}: {err}") from None
    if baseline:
        if precision not in ("auto", "fp32") or device not in ("auto", "cpu") or max_length is not None:
            raise UnsupportedSetting(f"{path} is a TF-IDF baseline: it runs on the CPU in fp32 on whole paragraphs "
                                     f"(got device {device!r}, precision {precision!r}, max length {max_length!r})")
        return BaselineEngine(TfidfBaseline.load(path))
    device = "cpu" if device == "auto" and not gpu_visible() else pick_device(device)
    if precision == "auto":
        precision = choose_precision(path, device)
    if precision in TORCH_FREE:  # no torch, no transformers: a one-article run starts in about a second
        if device != "cpu":
            raise UnsupportedSetting(f"precision {precision} runs on the CPU (ONNX Runtime); got device {device!r}")
        config, tokenizer = PlainConfig.from_pretrained(path), FastTokenizer(path)
        engine = OnnxEngine(onnx_file(path, precision), config, tokenizer, batch_size, max_length, precision=precision)
        if precision == "int8-guarded":  # fp32 again near a decision: the exported fp32 graph (= torch to 1e-4)
            exact = OnnxEngine(onnx_file(path, "onnx-fp32"), config, tokenizer, batch_size, max_length,
                               precision="onnx-fp32")
            return GuardedEngine(engine, exact)
        return engine
    from transformers import AutoTokenizer

    if precision == "fp16" and device == "cpu":
        raise UnsupportedSetting("fp16 needs a GPU; on a CPU use bf16 or int8")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as err:
        raise ModelFolderError(f"{path}: cannot load the tokenizer ({err})") from None
    return TransformerEngine(load_model(path), tokenizer, device, batch_size, max_length, precision=precision)
