"""ArticleScorer: score new articles paragraph by paragraph, from Python or the CLI.

The scorer splits articles (paragraphs.py), asks an engine (engines.py) for calibrated
probabilities, turns them into labels (decision.py) and summarises each article. The next
chunk of input is tokenised in a thread while the current one is scored, so memory stays
flat over a stream of any length.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from .decision import stance_names, topic_names
from .paragraphs import split_article

CHUNK_PARAGRAPHS = 512
REUSE_CACHE = 200_000  # paragraphs whose probabilities are kept for reuse within a scorer's life


def paragraph_id(article_id: str, index: int) -> str:
    """The one spelling of a paragraph id (labels, predictions and the corpus build use it).

    >>> paragraph_id("a1", 3)
    'a1-p03'
    """
    return f"{article_id}-p{index:02d}"


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
class ArticleSummary:
    """Article-level view: share of paragraphs per topic, mean topic probabilities, stance mix."""

    paragraphs: int = 0
    topic_share: dict[str, float] = field(default_factory=dict)
    topic_mean_scores: dict[str, float] = field(default_factory=dict)
    stance_distribution: dict[str, float] = field(default_factory=dict)
    dominant_stance: str | None = None
    no_topic_paragraphs: list[int] = field(default_factory=list)

    def __getitem__(self, key: str):  # dict-style access kept for notebooks written against v1
        return getattr(self, key)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ArticleResult:
    """A scored article: headline, its paragraphs and an aggregate summary."""

    id: str
    headline: str | None
    paragraphs: list[ParagraphResult]
    summary: ArticleSummary = field(default_factory=ArticleSummary)
    meta: dict = field(default_factory=dict)
    dropped: list[dict] = field(default_factory=list)  # lines the splitter left out, each with its reason

    def to_dict(self) -> dict:
        out = {"id": self.id, "headline": self.headline, "summary": self.summary.to_dict(),
               "paragraphs": [p.to_dict() for p in self.paragraphs], "dropped": self.dropped}
        if self.meta:
            out["meta"] = self.meta
        return out


def summarise(paragraphs: Sequence[ParagraphResult], topic_labels: Sequence[str],
              stance_labels: Sequence[str]) -> ArticleSummary:
    """Share of paragraphs per topic, mean topic probabilities, stance mix and the dominant stance."""
    n = len(paragraphs)
    if n == 0:
        return ArticleSummary()
    stance_counts = {s: sum(p.stance == s for p in paragraphs) for s in stance_labels}
    return ArticleSummary(
        paragraphs=n,
        topic_share={t: round(sum(t in p.topics for p in paragraphs) / n, 4) for t in topic_labels},
        topic_mean_scores={t: round(float(np.mean([p.topic_scores[t] for p in paragraphs])), 4) for t in topic_labels},
        stance_distribution={s: round(c / n, 4) for s, c in stance_counts.items()},
        dominant_stance=max(stance_labels, key=lambda s: (stance_counts[s], sum(p.stance_scores[s] for p in paragraphs))),
        no_topic_paragraphs=[i for i, p in enumerate(paragraphs) if not p.topics],
    )


class ArticleScorer:
    """Score paragraphs and whole articles with a trained model folder.

    Labels, thresholds and temperatures are read from the model's config, never from module
    constants, so a folder trained with other labels decodes correctly.
    """

    def __init__(self, engine):
        self.engine = engine
        # Syndicated wire copy repeats whole paragraphs across articles: identical text (after
        # whitespace normalisation) is scored once and its probabilities reused.
        self._reuse: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._pending: set[str] = set()  # keys of the chunk being encoded ahead (scored next, not again)
        self.paragraphs_seen = 0
        self.paragraphs_scored = 0
        self.topic_labels = list(engine.topic_labels)
        self.stance_labels = list(engine.stance_labels)

    @property
    def thresholds(self) -> np.ndarray:
        """The engine's (so the config's) thresholds at use: a recalibrated model decides with its new values."""
        return np.asarray(self.engine.topic_thresholds, dtype=np.float64)

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str = "auto", batch_size: int = 64,
                        max_length: int | None = None, precision: str = "fp32") -> "ArticleScorer":
        """Load a model folder (transformer or TF-IDF baseline); see engines.load_engine."""
        from .engines import load_engine

        return cls(load_engine(path, device, batch_size, max_length, precision))

    @property
    def metadata(self) -> dict:
        """What scored the text: precision, backend and device (written into prediction metadata)."""
        engine = self.engine
        return {"precision": engine.precision, "device": engine.device, "backend": engine.backend}

    def _results(self, texts, topic_probs, stance_probs, ids, spans) -> list[ParagraphResult]:
        topics = topic_names(topic_probs, self.thresholds, self.topic_labels)
        stances = stance_names(stance_probs, self.stance_labels)
        return [ParagraphResult(
            id=ids[i], text=text, start=spans[i][0], end=spans[i][1], topics=topics[i], stance=stances[i],
            topic_scores={t: round(float(p), 4) for t, p in zip(self.topic_labels, topic_probs[i])},
            stance_scores={s: round(float(p), 4) for s, p in zip(self.stance_labels, stance_probs[i])})
            for i, text in enumerate(texts)]

    def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated (topic_probs, stance_probs) arrays for paragraphs, in order."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.topic_labels))), np.zeros((0, len(self.stance_labels)))
        return self.engine.predict_proba(texts)

    def score_paragraphs(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> list[ParagraphResult]:
        """Score paragraphs as given (no splitting); ids default to p00, p01, ..."""
        texts = list(texts)
        topic_probs, stance_probs = self.probabilities(texts)
        ids = list(ids) if ids is not None else [f"p{i:02d}" for i in range(len(texts))]
        return self._results(texts, topic_probs, stance_probs, ids, [(None, None)] * len(texts))

    def score_article(self, text: str, id: str | None = None) -> ArticleResult:
        """Split an article into headline and paragraphs, score them, and summarise."""
        return next(self.score_articles([{"id": id or "article", "text": text}]))

    def score_articles(self, articles: Iterable, chunk_paragraphs: int = CHUNK_PARAGRAPHS) -> Iterator[ArticleResult]:
        """Stream results for many articles: items are texts or {"id", "text", "meta"?} dicts.

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
    def _chunks(articles: Iterable, size: int) -> Iterator[list[tuple[str, object, dict]]]:
        chunk, count = [], 0
        for n, item in enumerate(articles):
            if isinstance(item, str):
                article_id, text, meta = f"article-{n}", item, {}
            else:
                article_id, text, meta = str(item.get("id") or f"article-{n}"), item["text"], item.get("meta") or {}
            split = split_article(text)
            chunk.append((article_id, split, meta))
            count += len(split.paragraphs)
            if count >= size:
                yield chunk
                chunk, count = [], 0
        if chunk:
            yield chunk

    @property
    def reused_share(self) -> float:
        """Share of the paragraphs seen by score_articles whose probabilities were reused, not recomputed."""
        return 1 - self.paragraphs_scored / self.paragraphs_seen if self.paragraphs_seen else 0.0

    def _encode_chunk(self, chunk):
        texts: dict[str, str] = {}
        keys = []
        for _, split, _ in chunk:
            for p in split.paragraphs:
                key = " ".join(p.text.split())
                keys.append(key)
                texts.setdefault(key, p.text)
        todo = [k for k in texts if k not in self._reuse and k not in self._pending]
        self._pending.update(todo)
        return keys, todo, texts, (self.engine.encode([texts[k] for k in todo]) if todo else None)

    def _score_chunk(self, chunk, future) -> Iterator[ArticleResult]:
        keys, todo, texts, encoded = future.result()
        if encoded is not None:
            fresh_topic, fresh_stance = self.engine.probabilities(encoded)
            if len(self._reuse) + len(todo) > REUSE_CACHE:  # bounded memory: forget the oldest half
                for key in list(self._reuse)[:len(self._reuse) // 2 + len(todo)]:
                    del self._reuse[key]
            self._reuse.update({k: (t, s) for k, t, s in zip(todo, fresh_topic, fresh_stance)})
            self._pending.difference_update(todo)
        missing = [k for k in dict.fromkeys(keys) if k not in self._reuse]  # evicted meanwhile: score again
        if missing:
            topic, stance = self.engine.predict_proba([texts[k] for k in missing])
            self._reuse.update({k: (t, s) for k, t, s in zip(missing, topic, stance)})
            todo = todo + missing
        self.paragraphs_seen += len(keys)
        self.paragraphs_scored += len(todo)
        topic_probs = np.asarray([self._reuse[k][0] for k in keys]).reshape(len(keys), len(self.topic_labels))
        stance_probs = np.asarray([self._reuse[k][1] for k in keys]).reshape(len(keys), len(self.stance_labels))
        offset = 0
        for article_id, split, meta in chunk:
            paragraphs = split.paragraphs
            k = len(paragraphs)
            results = self._results([p.text for p in paragraphs], topic_probs[offset:offset + k],
                                    stance_probs[offset:offset + k],
                                    [paragraph_id(article_id, p.index) for p in paragraphs],
                                    [(p.start, p.end) for p in paragraphs])
            offset += k
            dropped = [{"text": d.text, "start": d.start, "end": d.end, "kind": d.kind, "reason": d.reason}
                       for d in getattr(split, "dropped_lines", [])]
            yield ArticleResult(article_id, split.headline or meta.get("title"), results,
                                summarise(results, self.topic_labels, self.stance_labels), dict(meta), dropped)


def score_records(scorer, records, unit: str):
    """Scored article dicts for input records (io.InputRecord): one per article, or for `unit='paragraph'`
    a one-paragraph article per record, scored in batches of 512. Used by `predict` and `predict-ray`."""
    if unit == "article":
        for result in scorer.score_articles({"id": r.id, "text": r.text, "meta": getattr(r, "meta", None)}
                                            for r in records):
            yield result.to_dict()
        return
    batch: list = []
    for record in records:
        batch.append(record)
        if len(batch) == 512:
            yield from _paragraph_batch(scorer, batch)
            batch = []
    yield from _paragraph_batch(scorer, batch)


def _paragraph_batch(scorer, batch):
    for record, result in zip(batch, scorer.score_paragraphs([r.text for r in batch], ids=[r.id for r in batch])):
        article = {"id": record.id, "headline": None, "paragraphs": [result.to_dict()]}
        if getattr(record, "meta", None):
            article["meta"] = record.meta
        yield article
