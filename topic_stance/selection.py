"""What to label next: the paragraphs whose labels would teach the model most.

Two ingredients, combined greedily:

- **Uncertainty** from the model's calibrated probabilities. Topics: how close each topic's
  probability lies to its own threshold (1 at the threshold, 0 at 0 or 1), the closest topic
  counting. Stance: 1 - (top probability - second probability) (`margin`, default) or the
  normalised entropy (`entropy`). The two are averaged (`topic_weight` 0.5).
- **Diversity**, so that N picks are not N copies of one story: every paragraph's cosine distance
  (0..1) to the nearest paragraph already picked (and, with `labelled`, already labelled). Features
  are the model's own view of the text: mean-pooled last hidden states of the encoder for a
  transformer folder, TF-IDF vectors for a baseline folder (or when no encoder is at hand).

Each step picks the paragraph with the highest ``(uncertainty + 0.001) * distance ** diversity``
(uncertainty-weighted k-center greedy; `diversity` 0 is pure uncertainty sampling), skipping
articles that already hold `per_article_cap` picks. A near-duplicate of a pick has distance ~0, so
it is passed over while anything else is left. Probabilities become labels only through
decision.py, so the suggestions are exactly what `predict` would say.

>>> picks = select_records(ArticleScorer.from_pretrained("models/tfidf-baseline"), read_pool(["pool.jsonl"]), n=100)
"""

from __future__ import annotations

import json
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .decision import stance_names, topic_names
from .errors import TopicStanceError
from .labels import Problem, article_id_of, iter_jsonl, iter_label_paths

log = logging.getLogger(__name__)

STANCE_MEASURES = ("margin", "entropy")
FEATURE_KINDS = ("auto", "model", "tfidf")
UNCERTAINTY_FLOOR = 1e-3  # so that distance still orders paragraphs the model is sure about


# ---------------------------------------------------------------- uncertainty
def topic_uncertainty(topic_probs, thresholds: Sequence[float]) -> np.ndarray:
    """(n,) in [0, 1]: per paragraph, the largest closeness of a topic probability to its threshold.

    Closeness is 1 - |p - t| / t below the threshold and 1 - (p - t) / (1 - t) above it, so 1 means
    "exactly on the threshold" and 0 means "probability 0 or 1", whatever the threshold.
    """
    probs = np.asarray(topic_probs, dtype=np.float64)
    if probs.ndim != 2:
        raise ValueError(f"topic_probs must be (n, topics), got shape {probs.shape}")
    if probs.shape[1] == 0:
        return np.zeros(len(probs))
    t = np.clip(np.asarray(thresholds, dtype=np.float64), 1e-6, 1 - 1e-6)
    span = np.where(probs < t, t, 1.0 - t)
    closeness = 1.0 - np.abs(probs - t) / span
    return np.clip(closeness, 0.0, 1.0).max(axis=1)


def stance_uncertainty(stance_probs, measure: str = "margin") -> np.ndarray:
    """(n,) in [0, 1]: 1 - (top - second probability) for `margin`, entropy / log(k) for `entropy`."""
    probs = np.asarray(stance_probs, dtype=np.float64)
    if probs.ndim != 2:
        raise ValueError(f"stance_probs must be (n, stances), got shape {probs.shape}")
    if measure not in STANCE_MEASURES:
        raise ValueError(f"stance measure must be one of {', '.join(STANCE_MEASURES)}, not {measure!r}")
    k = probs.shape[1]
    if k < 2:
        return np.zeros(len(probs))
    if measure == "margin":
        top2 = np.sort(probs, axis=1)[:, -2:]
        return np.clip(1.0 - (top2[:, 1] - top2[:, 0]), 0.0, 1.0)
    p = np.clip(probs, 1e-12, 1.0)
    return np.clip(-(probs * np.log(p)).sum(axis=1) / math.log(k), 0.0, 1.0)


def uncertainty_scores(topic_probs, stance_probs, thresholds: Sequence[float], measure: str = "margin",
                       topic_weight: float = 0.5) -> dict[str, np.ndarray]:
    """{"topic", "stance", "combined"}: each (n,) in [0, 1]; combined = weighted mean of the two heads."""
    if not 0.0 <= topic_weight <= 1.0:
        raise ValueError(f"topic_weight must lie in [0, 1], got {topic_weight}")
    topic = topic_uncertainty(topic_probs, thresholds)
    stance = stance_uncertainty(stance_probs, measure)
    return {"topic": topic, "stance": stance, "combined": topic_weight * topic + (1.0 - topic_weight) * stance}


# ---------------------------------------------------------------- diversity
def _unit_rows(features):
    """Rows scaled to unit L2 norm (dense float64 or CSR); all-zero rows stay zero."""
    from scipy import sparse
    from sklearn.preprocessing import normalize

    if sparse.issparse(features):
        return normalize(sparse.csr_matrix(features, dtype=np.float64), norm="l2", copy=True)
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"features must be (n, dim), got shape {features.shape}")
    return normalize(features, norm="l2", copy=True)


def _similarity(features, rows) -> np.ndarray:
    """Cosine similarity (n, len(rows)) of unit-norm `features` with unit-norm `rows`, as dense array."""
    from scipy import sparse

    product = features @ rows.T
    return product.toarray() if sparse.issparse(product) else np.asarray(product)


def nearest_distance(features, centres, chunk: int = 2048) -> np.ndarray:
    """(n,) cosine distance (clipped to 0..1) of each unit-norm row of `features` to its nearest centre."""
    n = features.shape[0]
    distance = np.ones(n)
    if centres is None or centres.shape[0] == 0:
        return distance
    for start in range(0, centres.shape[0], chunk):
        sim = _similarity(features, centres[start:start + chunk])
        distance = np.minimum(distance, 1.0 - sim.max(axis=1))
    return np.clip(distance, 0.0, 1.0)


@dataclass(frozen=True)
class Pick:
    """One chosen paragraph: its index in the pool, its rank (1 = first), distance and greedy score."""

    index: int
    rank: int
    distance: float
    score: float


def select_indices(uncertainty, features, n: int, groups: Sequence[str] | None = None,
                   per_group_cap: int | None = None, seed: int = 0, diversity: float = 1.0,
                   labelled_features=None) -> list[Pick]:
    """Uncertainty-weighted k-center greedy: up to `n` picks, best first.

    uncertainty: (P,) in [0, 1]; features: (P, d) dense or sparse; groups: the article of each row
    (at most `per_group_cap` picks per article); labelled_features: rows already labelled, which
    count as picked for the distances. Fewer than `n` come back only when the pool (or the cap)
    runs out. Ties are broken by a tiny seeded jitter, so a seed gives one fixed answer.
    """
    u = np.asarray(uncertainty, dtype=np.float64).reshape(-1)
    size = len(u)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if features.shape[0] != size:
        raise ValueError(f"features has {features.shape[0]} rows for {size} uncertainty values")
    if per_group_cap is not None and per_group_cap < 1:
        raise ValueError(f"per_group_cap must be >= 1, got {per_group_cap}")
    if diversity < 0:
        raise ValueError(f"diversity must be >= 0, got {diversity}")
    if size == 0 or n == 0:
        return []
    if not np.all(np.isfinite(u)):
        raise ValueError("uncertainty holds NaN or inf")
    feats = _unit_rows(features)
    distance = nearest_distance(feats, None if labelled_features is None else _unit_rows(labelled_features))
    group_ids = np.zeros(size, dtype=np.int64)
    if groups is not None:
        if len(groups) != size:
            raise ValueError(f"groups has {len(groups)} entries for {size} pool rows")
        _, group_ids = np.unique(np.asarray(list(groups), dtype=object).astype(str), return_inverse=True)
    taken = np.zeros(int(group_ids.max()) + 1, dtype=np.int64)
    available = np.ones(size, dtype=bool)
    jitter = np.random.default_rng(seed).random(size) * 1e-9
    base = np.clip(u, 0.0, 1.0) + UNCERTAINTY_FLOOR
    picks: list[Pick] = []
    while len(picks) < n and available.any():
        score = base * distance ** diversity + jitter
        score[~available] = -np.inf
        best = int(np.argmax(score))
        picks.append(Pick(best, len(picks) + 1, float(distance[best]), float(score[best] - jitter[best])))
        available[best] = False
        if groups is not None and per_group_cap is not None:
            taken[group_ids[best]] += 1
            if taken[group_ids[best]] >= per_group_cap:
                available &= group_ids != group_ids[best]
        distance = np.minimum(distance, np.clip(1.0 - _similarity(feats, feats[best:best + 1])[:, 0], 0.0, 1.0))
    return picks


# ---------------------------------------------------------------- features from a model
def tfidf_features(texts: Sequence[str], fit_texts: Sequence[str] | None = None):
    """TF-IDF rows (the baseline's vectoriser settings) fitted on `fit_texts` (default: `texts`)."""
    from .baseline import TfidfBaseline

    vectorizer = TfidfBaseline._vectorizer()
    vectorizer.fit(list(fit_texts if fit_texts is not None else texts))
    return vectorizer.transform(list(texts))


def _torch_engine(engine):
    """The engine if it holds a torch two-head model (whose encoder gives embeddings), else None."""
    return engine if hasattr(getattr(engine, "model", None), "encoder") else None


def encoder_embeddings(engine, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
    """(n, hidden) mean-pooled last hidden states of the model's encoder (first window of a long text)."""
    import torch

    torch_engine = _torch_engine(engine)
    if torch_engine is None:
        raise TopicStanceError("this model folder has no torch encoder to embed with (use --features tfidf)")
    texts = list(texts)
    encoder, tokenizer = torch_engine.model.encoder, torch_engine.tokenizer
    device = getattr(torch_engine, "device", "cpu")
    batch_size = batch_size or getattr(torch_engine, "batch_size", 32)
    hidden = torch_engine.model.config.hidden_size
    out = np.zeros((len(texts), hidden), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        encoded = tokenizer([texts[i] for i in rows], truncation=True, max_length=torch_engine.max_length,
                            padding=True, return_tensors="pt")
        mask = encoded["attention_mask"].to(device)
        with torch.inference_mode():
            state = encoder(input_ids=encoded["input_ids"].to(device), attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(state.dtype)
        pooled = (state * weights).sum(1) / weights.sum(1).clamp(min=1)
        out[rows] = pooled.float().cpu().numpy()
    return out


def model_features(scorer, texts: Sequence[str], labelled_texts: Sequence[str] = (), kind: str = "auto"):
    """(pool features, labelled features, name): encoder embeddings or TF-IDF vectors for both sets.

    auto: the baseline's own vectoriser for a TF-IDF folder, encoder embeddings for a transformer,
    and TF-IDF fitted on the texts at hand when the engine offers neither (ONNX only, fakes in tests).
    """
    if kind not in FEATURE_KINDS:
        raise TopicStanceError(f"--features must be one of {', '.join(FEATURE_KINDS)}, not {kind!r}")
    texts, labelled_texts = list(texts), list(labelled_texts)
    engine = getattr(scorer, "engine", None)
    baseline = getattr(engine, "baseline", None)
    if kind in ("auto", "model") and getattr(baseline, "vectorizer", None) is not None:
        vectorizer = baseline.vectorizer
        return (vectorizer.transform(texts), vectorizer.transform(labelled_texts) if labelled_texts else None,
                "tfidf (the baseline's vectoriser)")
    if kind in ("auto", "model") and _torch_engine(engine) is not None:
        both = encoder_embeddings(engine, texts + labelled_texts)
        return both[:len(texts)], (both[len(texts):] if labelled_texts else None), "encoder (mean-pooled)"
    if kind == "model":
        raise TopicStanceError("--features model: this model folder offers neither an encoder nor a TF-IDF "
                               "vectoriser (an ONNX-only engine?); use --features tfidf or --precision fp32")
    both = tfidf_features(texts + labelled_texts)
    return both[:len(texts)], (both[len(texts):] if labelled_texts else None), "tfidf (fitted on the pool)"


# ---------------------------------------------------------------- pool input
def _normal_text(text: str) -> str:
    return " ".join(text.split()).casefold()


def read_pool(paths: Iterable[str | Path]) -> list[dict]:
    """Paragraph records from label files, `predict` output (paragraph or article JSONL) or {id, text} JSONL.

    Each record keeps its fields and gains `article_id` (from the id, as labels.article_id_of does,
    when absent) and `source` (the file's stem when absent); an article line of `predict` output
    (`paragraphs` list) gives one record per paragraph. Every bad line is listed in one
    TopicStanceError; ids must be unique.
    """
    records: list[dict] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    files = list(iter_label_paths(paths))
    if not files:
        raise TopicStanceError(f"--pool {' '.join(map(str, paths))}: no files found")

    def add(item: object, name: str, line: int, article: str | None = None, source: str = "") -> None:
        if not isinstance(item, dict):
            problems.append(Problem(name, line, "<record>", f"expected a JSON object, got {type(item).__name__}"))
            return
        record_id, text = item.get("id"), item.get("text")
        if not isinstance(record_id, str) or not record_id.strip():
            problems.append(Problem(name, line, "id", "missing or not a non-empty string"))
            return
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem(name, line, "text", "missing, empty or not a string"))
            return
        if record_id in seen:
            problems.append(Problem(name, line, "id", f"duplicate id {record_id!r} (also in {seen[record_id]})"))
            return
        seen[record_id] = f"{name}:{line}"
        record = dict(item)
        if article and not record.get("article_id"):
            record["article_id"] = article
        if not isinstance(record.get("article_id"), str) or not record.get("article_id"):
            record.pop("article_id", None)
            record["article_id"] = article_id_of(record)
        record.setdefault("source", source)
        records.append(record)

    for path in files:
        found_before = len(records) + len(problems)
        for line, value in iter_jsonl(path):
            if isinstance(value, Problem):
                problems.append(value)
            elif isinstance(value, dict) and isinstance(value.get("paragraphs"), list):
                article = value.get("id") if isinstance(value.get("id"), str) and value.get("id") else None
                for paragraph in value["paragraphs"]:
                    add(paragraph, str(path), line, article, path.stem)
            else:
                add(value, str(path), line, None, path.stem)
        if len(records) + len(problems) == found_before:
            problems.append(Problem(str(path), 0, "<file>", "holds no records"))
    if problems:
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise TopicStanceError(f"{len(problems)} problem(s) in the pool, nothing selected:\n{shown}{more}")
    return records


# ---------------------------------------------------------------- records in, picks out
def select_records(scorer, pool: Sequence[dict], n: int, per_article_cap: int | None = None, seed: int = 0,
                   labelled: Sequence[dict] = (), measure: str = "margin", topic_weight: float = 0.5,
                   diversity: float = 1.0, features: str = "auto", model_name: str | None = None) -> list[dict]:
    """Score the pool, pick up to `n` paragraphs and return them as label-file-shaped records, rank order.

    `scorer` is an ArticleScorer (or anything with probabilities(texts), thresholds, topic_labels,
    stance_labels). Pool paragraphs that are already in `labelled` (same id or same text) are left
    out, and the labelled ones count as picked for diversity. Each record carries the model's labels
    as suggestions (`topics`, `stance`), its `topic_scores` / `stance_scores` and a `selection`
    object: rank, uncertainty (combined, topic, stance), distance to the nearest earlier pick, score.
    """
    known_ids = {r["id"] for r in labelled}
    known_texts = {_normal_text(r["text"]) for r in labelled}
    candidates = [{**r, "article_id": article_id_of(r)} for r in pool
                  if r["id"] not in known_ids and _normal_text(r["text"]) not in known_texts]
    dropped = len(pool) - len(candidates)
    if dropped:
        log.info("left out %d pool paragraph(s) that are already labelled", dropped)
    if not candidates or n == 0:
        return []
    texts = [r["text"] for r in candidates]
    topic_probs, stance_probs = scorer.probabilities(texts)
    topic_probs, stance_probs = np.asarray(topic_probs, dtype=np.float64), np.asarray(stance_probs, dtype=np.float64)
    thresholds = np.asarray(scorer.thresholds, dtype=np.float64)
    scores = uncertainty_scores(topic_probs, stance_probs, thresholds, measure, topic_weight)
    pool_features, labelled_features, feature_name = model_features(scorer, texts, [r["text"] for r in labelled],
                                                                    features)
    picks = select_indices(scores["combined"], pool_features, n, [r["article_id"] for r in candidates],
                           per_article_cap, seed, diversity, labelled_features)
    topic_labels, stance_labels = list(scorer.topic_labels), list(scorer.stance_labels)
    suggested_topics = topic_names(topic_probs, thresholds, topic_labels)
    suggested_stance = stance_names(stance_probs, stance_labels)
    out = []
    for pick in picks:
        i, record = pick.index, candidates[pick.index]
        extra = {k: v for k, v in record.items()
                 if k not in ("id", "article_id", "text", "topics", "stance", "source", "topic_scores",
                              "stance_scores", "selection", "paragraphs")}
        selection = {
            "rank": pick.rank, "uncertainty": round(float(scores["combined"][i]), 4),
            "topic_uncertainty": round(float(scores["topic"][i]), 4),
            "stance_uncertainty": round(float(scores["stance"][i]), 4),
            "distance": round(pick.distance, 4), "score": round(pick.score, 4),
            "features": feature_name, "stance_measure": measure, "seed": seed}
        if model_name:
            selection["model"] = model_name
        if "topics" in record or "stance" in record:  # the pool was a label file: keep what it said
            selection["pool_labels"] = {"topics": record.get("topics"), "stance": record.get("stance")}
        out.append({
            "id": record["id"], "article_id": record["article_id"], "text": record["text"],
            "topics": suggested_topics[i], "stance": suggested_stance[i],
            "source": record.get("source") or "selection",
            "topic_scores": {t: round(float(p), 4) for t, p in zip(topic_labels, topic_probs[i])},
            "stance_scores": {s: round(float(p), 4) for s, p in zip(stance_labels, stance_probs[i])},
            **extra, "selection": selection})
    return out


# ---------------------------------------------------------------- command line
def write_jsonl(path: str | Path, records: Iterable[dict]) -> None:
    """JSON Lines written atomically (io.atomic_path): complete or not at all."""
    from .io import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def run(args) -> list[dict]:
    """`topic-stance select`: read the pool, score it with --model, write the picks to --output."""
    from .inference import ArticleScorer
    from .io import check_output_path
    from .labels import LabelFileError, load_records

    output = check_output_path(args.output, [*args.pool, *(args.labelled or [])])
    pool = read_pool(args.pool)
    labelled: list[dict] = []
    if args.labelled:
        try:
            labelled = load_records(args.labelled)
        except LabelFileError as err:
            raise TopicStanceError(f"--labelled: {err}") from None
    scorer = ArticleScorer.from_pretrained(args.model, device=getattr(args, "device", "auto"),
                                           batch_size=getattr(args, "batch_size", 64))
    picks = select_records(scorer, pool, args.n, per_article_cap=args.per_article_cap, seed=args.seed,
                           labelled=labelled, measure=getattr(args, "stance_measure", "margin"),
                           topic_weight=getattr(args, "topic_weight", 0.5),
                           diversity=getattr(args, "diversity", 1.0), features=getattr(args, "features", "auto"),
                           model_name=str(args.model))
    write_jsonl(output, picks)
    articles = len({p["article_id"] for p in picks})
    short = f" (the pool{' and the cap' if args.per_article_cap else ''} allowed no more)" if len(picks) < args.n else ""
    mean_u = float(np.mean([p["selection"]["uncertainty"] for p in picks])) if picks else 0.0
    print(f"picked {len(picks)} of {len(pool)} paragraph(s){short} from {articles} article(s), mean uncertainty "
          f"{mean_u:.3f}; wrote {output}", file=sys.stderr)
    return picks
