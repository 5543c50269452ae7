"""ArticleScorer: score new articles paragraph by paragraph, from Python or the CLI.

Speed comes from work not done: both heads share one encoder pass; paragraphs are sorted by
length and padded per batch (no 128-token padding of 40-token paragraphs); tokenisation of
the next chunk runs in a thread while the model scores the current one; no autograd.
Paragraphs longer than `max_length` are scored over overlapping windows and merged.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from .paragraphs import Paragraph, split_article

CHUNK_PARAGRAPHS = 512


@dataclass
class ParagraphResult:
    """One scored paragraph; field names are the label file's, so results can be re-used as labels."""

    id: str
    text: str
    start: int | None
    end: int | None
    topics: list[str]
    stance: str
    topic_scores: dict[str, float]
    stance_scores: dict[str, float]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ArticleResult:
    """A scored article: headline, its paragraphs and an aggregate summary."""

    id: str
    headline: str | None
    paragraphs: list[ParagraphResult]
    summary: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"id": self.id, "headline": self.headline, "summary": self.summary,
                "paragraphs": [p.to_dict() for p in self.paragraphs]}


def summarise(paragraphs: Sequence[ParagraphResult], topic_labels: Sequence[str], stance_labels: Sequence[str]) -> dict:
    """Article-level view: share of paragraphs per topic, mean topic probabilities, stance mix."""
    n = len(paragraphs)
    if n == 0:
        return {"paragraphs": 0, "topic_share": {}, "topic_mean_scores": {}, "stance_distribution": {},
                "dominant_stance": None, "no_topic_paragraphs": []}
    stance_counts = {s: sum(p.stance == s for p in paragraphs) for s in stance_labels}
    return {
        "paragraphs": n,
        "topic_share": {t: round(sum(t in p.topics for p in paragraphs) / n, 4) for t in topic_labels},
        "topic_mean_scores": {t: round(float(np.mean([p.topic_scores[t] for p in paragraphs])), 4) for t in topic_labels},
        "stance_distribution": {s: round(c / n, 4) for s, c in stance_counts.items()},
        "dominant_stance": max(stance_labels, key=lambda s: (stance_counts[s],
                                                             sum(p.stance_scores[s] for p in paragraphs))),
        "no_topic_paragraphs": [i for i, p in enumerate(paragraphs) if not p.topics],
    }


def cpu_supports_bf16() -> bool:
    """True where oneDNN has native bf16 kernels (AVX512-BF16 / AMX); elsewhere bf16 is emulated and slow."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class TransformerEngine:
    """Token ids -> calibrated probabilities with a two-head model in torch (fp32, bf16 or fp16)."""

    backend = "torch"

    def __init__(self, model, tokenizer, device: str = "cpu", batch_size: int = 64, max_length: int = 256,
                 stride: int = 64, precision: str = "fp32"):
        import torch

        self.torch = torch
        self._setup(model.config, tokenizer, batch_size, max_length, stride)
        self.device, self.precision = device, precision
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
        self.model = model.to(device=device, dtype=dtype).eval()

    def _setup(self, config, tokenizer, batch_size, max_length, stride) -> None:
        self.config = config
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = min(max_length, getattr(config.encoder, "max_position_embeddings", max_length))
        self.stride = min(stride, self.max_length // 2)
        self.topic_labels = list(config.topic_labels)
        self.stance_labels = list(config.stance_labels)
        self.topic_thresholds = list(config.topic_thresholds)

    def encode(self, texts: Sequence[str]) -> dict:
        """Tokenise without padding; long texts become overlapping windows mapped to their text."""
        encoded = self.tokenizer(list(texts), truncation=True, max_length=self.max_length, stride=self.stride,
                                 return_overflowing_tokens=True, return_attention_mask=False,
                                 return_token_type_ids=False)
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
        topic = np.empty((len(input_ids), len(self.topic_labels)), dtype=np.float32)
        stance = np.empty((len(input_ids), len(self.stance_labels)), dtype=np.float32)
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
        """Calibrated (topic_probs, stance_probs) per text: logits / each head's temperature."""
        topic_logits, stance_logits = self.merged_logits(encoded)
        topic_probs = 1 / (1 + np.exp(-topic_logits / self.config.topic_temperature))
        scaled = stance_logits / self.config.stance_temperature
        scaled = np.exp(scaled - scaled.max(1, keepdims=True))
        return topic_probs, scaled / scaled.sum(1, keepdims=True)

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return self.probabilities(self.encode(texts))



class OnnxEngine(TransformerEngine):
    """The exported graph (fp32 with fused attention, or int8) in ONNX Runtime, same interface."""

    backend = "onnx"

    def __init__(self, onnx_path: Path, config, tokenizer, batch_size: int = 64, max_length: int = 256,
                 stride: int = 64, precision: str = "int8"):
        import onnxruntime as ort

        self._setup(config, tokenizer, batch_size, max_length, stride)
        self.device, self.precision = "cpu", precision
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        topic, stance = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        return topic.astype(np.float32), stance.astype(np.float32)


class GuardedEngine:
    """int8 for every paragraph, fp32 again for the few near a decision boundary.

    A paragraph is re-scored in fp32 when a topic probability lies within `margin` of its
    threshold or the top two stance probabilities lie within 2 * `margin` of each other:
    int8's small errors can only flip labels there, so labels match fp32 at a fraction of its cost.
    """

    backend = "onnx+torch"
    device = "cpu"

    def __init__(self, fast: "OnnxEngine", exact: TransformerEngine, margin: float = 0.1):
        self.fast, self.exact, self.margin = fast, exact, margin
        self.config, self.tokenizer = fast.config, fast.tokenizer
        self.topic_labels, self.stance_labels = fast.topic_labels, fast.stance_labels
        self.topic_thresholds = fast.topic_thresholds
        self.precision = "int8-guarded"
        self.last_fallback_share = 0.0

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
    """The TF-IDF baseline behind the same interface (no tokeniser, no windows needed)."""

    precision = "fp32"

    def __init__(self, baseline):
        self.baseline = baseline
        self.topic_labels, self.stance_labels = baseline.topic_labels, baseline.stance_labels
        self.topic_thresholds = baseline.topic_thresholds

    def encode(self, texts: Sequence[str]) -> list[str]:
        return list(texts)

    def probabilities(self, texts: list[str]):
        return self.baseline.predict_proba(texts) if texts else (np.zeros((0, 4)), np.zeros((0, 3)))

    def predict_proba(self, texts: Sequence[str]):
        return self.probabilities(self.encode(texts))


def resolve_device(device: str) -> str:
    from .training import pick_device

    return pick_device(device)


PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8", "int8-guarded", "onnx-fp32")
ONNX_FILES = {"int8": "onnx/model-int8.onnx", "int8-guarded": "onnx/model-int8.onnx", "onnx-fp32": "onnx/model.onnx"}


def machine_id() -> str:
    """CPU model and core count: speeds measured on one machine say nothing about another."""
    import os

    model = "unknown cpu"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model} x{os.cpu_count()}"


def choose_precision(path: Path, device: str) -> str:
    """`auto`: on CUDA bf16 (or fp16); on CPU the fastest path that `topic-stance export` validated
    (label agreement >= 99%) and measured faster than fp32 on this same machine; otherwise fp32."""
    import torch

    if device == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    report_path = path / "precision.json"
    if device != "cpu" or not report_path.exists():
        return "fp32"
    report = json.loads(report_path.read_text())
    if report.get("machine") != machine_id():
        return "fp32"
    best, best_speed = "fp32", report.get("fp32_paragraphs_per_s", 0.0)
    for precision, result in report["paths"].items():
        usable = result.get("validated") and precision in PRECISIONS and (
            precision not in ONNX_FILES or ((path / ONNX_FILES[precision]).exists() and _has_onnxruntime()))
        if usable and result.get("paragraphs_per_s", 0.0) > best_speed:
            best, best_speed = precision, result["paragraphs_per_s"]
    return best


def _has_onnxruntime() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def load_engine(path: str | Path, device: str = "auto", batch_size: int = 64, max_length: int = 256,
                precision: str = "fp32"):
    """The right engine for a model folder: TF-IDF baseline, torch (fp32/bf16/fp16) or ONNX (int8/fp32)."""
    from .baseline import TfidfBaseline, is_baseline_folder

    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path}: not a model folder (no config.json)")
    if is_baseline_folder(path):
        return BaselineEngine(TfidfBaseline.load(path))
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    from transformers import AutoTokenizer

    from .model import TopicStanceConfig, TopicStanceModel

    device = resolve_device(device)
    if precision == "auto":
        precision = choose_precision(path, device)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if precision in ONNX_FILES:
        onnx_path = path / ONNX_FILES[precision]
        if not onnx_path.exists():
            raise FileNotFoundError(f"{onnx_path} is missing: run `topic-stance export --model {path} --format onnx"
                                    f"{'' if precision == 'onnx-fp32' else ' --quantize int8'}`")
        engine = OnnxEngine(onnx_path, TopicStanceConfig.from_pretrained(path), tokenizer, batch_size, max_length,
                            precision=precision)
        if precision == "int8-guarded":
            exact = TransformerEngine(TopicStanceModel.from_pretrained(path), tokenizer, "cpu", batch_size, max_length)
            return GuardedEngine(engine, exact)
        return engine
    if precision == "fp16" and device == "cpu":
        raise ValueError("fp16 needs a GPU; on a CPU use bf16 or int8")
    return TransformerEngine(TopicStanceModel.from_pretrained(path), tokenizer, device, batch_size, max_length,
                             precision=precision)


class ArticleScorer:
    """Score paragraphs and whole articles with a trained model folder.

    >>> scorer = ArticleScorer.from_pretrained("models/minilm-topic-stance")
    >>> result = scorer.score_article("Headline\\n\\nBeijing launched drills around Taiwan on Monday.")
    >>> result.paragraphs[0].topics, result.paragraphs[0].stance
    (['taiwan'], 'confrontational')
    """

    def __init__(self, engine):
        self.engine = engine
        self.topic_labels = list(engine.topic_labels)
        self.stance_labels = list(engine.stance_labels)
        self.thresholds = np.asarray(engine.topic_thresholds)

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str = "auto", batch_size: int = 64, max_length: int = 256,
                        precision: str = "fp32") -> "ArticleScorer":
        return cls(load_engine(path, device, batch_size, max_length, precision))

    @property
    def metadata(self) -> dict:
        """What scored the text: precision, backend and device (written into prediction metadata)."""
        engine = self.engine
        return {"precision": getattr(engine, "precision", "fp32"), "device": getattr(engine, "device", "cpu"),
                "backend": getattr(engine, "backend", "sklearn")}

    def _results(self, texts, topic_probs, stance_probs, ids, spans) -> list[ParagraphResult]:
        results = []
        for i, text in enumerate(texts):
            on = topic_probs[i] >= self.thresholds
            results.append(ParagraphResult(
                id=ids[i], text=text, start=spans[i][0], end=spans[i][1],
                topics=[t for t, flag in zip(self.topic_labels, on) if flag],
                stance=self.stance_labels[int(stance_probs[i].argmax())],
                topic_scores={t: round(float(p), 4) for t, p in zip(self.topic_labels, topic_probs[i])},
                stance_scores={s: round(float(p), 4) for s, p in zip(self.stance_labels, stance_probs[i])}))
        return results

    def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated (topic_probs, stance_probs) arrays for paragraphs, in order."""
        return self.engine.predict_proba(list(texts))

    def score_paragraphs(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[ParagraphResult]:
        """Score paragraphs as given (no splitting). >>> scorer.score_paragraphs(["Wang met Blinken."])"""
        texts = list(texts)
        topic_probs, stance_probs = self.probabilities(texts)
        ids = list(ids) if ids is not None else [f"p{i:02d}" for i in range(len(texts))]
        return self._results(texts, topic_probs, stance_probs, ids, [(None, None)] * len(texts))

    def score_article(self, text: str, id: str | None = None) -> ArticleResult:
        """Split an article into headline and paragraphs, score them, and summarise."""
        return next(self.score_articles([{"id": id or "article", "text": text}]))

    def score_articles(self, articles: Iterable, chunk_paragraphs: int = CHUNK_PARAGRAPHS) -> Iterator[ArticleResult]:
        """Stream results for many articles: items are texts or {"id", "text"} dicts.

        Input is consumed lazily in chunks of about `chunk_paragraphs` paragraphs, and the next
        chunk is tokenised in a thread while the current one is scored: memory stays flat.
        """
        chunks = self._chunks(articles, chunk_paragraphs)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = None
            for chunk in chunks:
                future = pool.submit(self._encode_chunk, chunk)
                if pending is not None:
                    yield from self._score_chunk(*pending)
                pending = (chunk, future)
            if pending is not None:
                yield from self._score_chunk(*pending)

    @staticmethod
    def _chunks(articles: Iterable, size: int) -> Iterator[list[tuple[str, object]]]:
        chunk, count = [], 0
        for n, item in enumerate(articles):
            if isinstance(item, str):
                article_id, text = f"article-{n}", item
            else:
                article_id, text = str(item.get("id") or f"article-{n}"), item["text"]
            split = split_article(text)
            chunk.append((article_id, split))
            count += len(split.paragraphs)
            if count >= size:
                yield chunk
                chunk, count = [], 0
        if chunk:
            yield chunk

    def _encode_chunk(self, chunk):
        return self.engine.encode([p.text for _, split in chunk for p in split.paragraphs])

    def _score_chunk(self, chunk, future) -> Iterator[ArticleResult]:
        topic_probs, stance_probs = self.engine.probabilities(future.result())
        offset = 0
        for article_id, split in chunk:
            paragraphs: list[Paragraph] = split.paragraphs
            k = len(paragraphs)
            results = self._results([p.text for p in paragraphs], topic_probs[offset:offset + k],
                                    stance_probs[offset:offset + k],
                                    [f"{article_id}-p{p.index:02d}" for p in paragraphs],
                                    [(p.start, p.end) for p in paragraphs])
            offset += k
            yield ArticleResult(article_id, split.headline, results,
                                summarise(results, self.topic_labels, self.stance_labels))
