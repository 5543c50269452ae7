"""Label audit: likely label errors, found by cleanlab from out-of-fold probabilities.

Every paragraph is scored by a model that never saw it: K folds grouped by article
(sklearn GroupKFold, so no paragraph is judged by a model trained on its own article), one model
fitted per fold. By default that model is the TF-IDF baseline (seconds per fold). With
`--model DIR` a TF-IDF baseline folder is refitted per fold with its own seed, and a transformer
folder lends its encoder: mean-pooled embeddings, computed once, with logistic-regression heads
fitted per fold (no fine-tuning; an encoder fine-tuned on these very labels has seen them, so
prefer the plain base encoder's folder or the TF-IDF default for an honest audit).

cleanlab then flags, from the given labels and those probabilities:
- topic issues (`cleanlab.multilabel_classification.filter.find_label_issues`, with
  `find_multilabel_issues_per_class` naming the suspect topics);
- stance issues (`cleanlab.filter.find_label_issues`).
Each paragraph's label quality is the lower of its topic quality (the worst topic's self-confidence,
`multilabel_classification.rank.get_label_quality_scores_per_class`: the out-of-fold probability of
the given yes/no) and its stance quality (`rank.get_label_quality_scores`, self-confidence: the
probability of the given stance), so both kinds of issue are ranked on one scale; flagged paragraphs
come first, lowest quality first. cleanlab's aggregated multi-label score is reported beside them. The suggestion uses decision.py: topics at thresholds tuned (calibration.tune_thresholds) on the
out-of-fold probabilities, stance by argmax.

The output is a label file (each line the original record, so it validates and opens in a
labelling tool) plus an `audit` object: rank, qualities, issues, given and suggested labels,
out-of-fold probabilities, fold, and the file and line the record came from.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .decision import decide_stance, decide_topics
from .errors import TopicStanceError
from .labels import STANCES, TOPICS, iter_jsonl, iter_label_paths

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install 'topic-stance[audit]'"
TFIDF = "tfidf"


def require_cleanlab():
    """The cleanlab modules the audit uses; TopicStanceError naming the `audit` extra when missing."""
    try:
        import cleanlab  # noqa: F401
        import cleanlab.filter
        import cleanlab.multilabel_classification.filter
        import cleanlab.multilabel_classification.rank
        import cleanlab.rank
    except ImportError as err:
        raise TopicStanceError(f"topic-stance audit needs cleanlab, which is not installed ({err}): "
                               f"{EXTRA_HINT}") from None
    return cleanlab


# ---------------------------------------------------------------- out-of-fold probabilities
def article_folds(records: Sequence[dict], folds: int, seed: int = 0) -> np.ndarray:
    """(n,) fold number per record: GroupKFold by article, so one article is always in one fold."""
    from sklearn.model_selection import GroupKFold

    groups = [r["article_id"] for r in records]
    articles = len(set(groups))
    if folds < 2:
        raise TopicStanceError(f"--folds must be at least 2, got {folds}")
    if articles < folds:
        raise TopicStanceError(f"--folds {folds}: the data hold only {articles} article(s); use at most {articles}")
    try:
        splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    except TypeError:  # scikit-learn < 1.6: no shuffle (still deterministic)
        splitter = GroupKFold(n_splits=folds)
    fold_of = np.full(len(records), -1, dtype=np.int64)
    for k, (_, test) in enumerate(splitter.split(np.zeros(len(records)), groups=groups)):
        fold_of[test] = k
    return fold_of


def _targets(records: Sequence[dict], topic_labels: Sequence[str], stance_labels: Sequence[str]):
    topics = np.array([[1 if t in r["topics"] else 0 for t in topic_labels] for r in records], dtype=np.int64)
    stances = np.array([list(stance_labels).index(r["stance"]) for r in records], dtype=np.int64)
    return topics.reshape(len(records), len(topic_labels)), stances


def _fit_heads(train_x, topic_y, stance_y, test_x, n_stances: int, seed: int):
    """Logistic-regression heads on fixed features (one binary model per topic, one multinomial)."""
    from sklearn.linear_model import LogisticRegression

    topic = np.zeros((test_x.shape[0], topic_y.shape[1]))
    for j in range(topic_y.shape[1]):
        column = topic_y[:, j]
        if column.min() == column.max():  # constant in this fold's training part
            topic[:, j] = float(column[0])
            continue
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=seed)
        topic[:, j] = model.fit(train_x, column).predict_proba(test_x)[:, 1]
    stance = np.zeros((test_x.shape[0], n_stances))
    classes = np.unique(stance_y)
    if len(classes) == 1:
        stance[:, classes[0]] = 1.0
    else:
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=seed)
        stance[:, model.fit(train_x, stance_y).classes_] = model.predict_proba(test_x)
    return topic, stance


def out_of_fold_probabilities(records: Sequence[dict], folds: int = 5, model: str = TFIDF, seed: int = 0,
                              device: str = "auto", batch_size: int = 64, verbose: bool = False):
    """(topic_probs (n, topics), stance_probs (n, stances), fold (n,), description) from K article-grouped folds.

    model: "tfidf" (a fresh TF-IDF baseline per fold) or a model folder (see the module docstring).
    Labels are the project's TOPICS and STANCES.
    """
    from .baseline import TfidfBaseline

    records = list(records)
    fold_of = article_folds(records, folds, seed)
    topic_y, stance_y = _targets(records, TOPICS, STANCES)
    texts = [r["text"] for r in records]
    topic = np.zeros((len(records), len(TOPICS)))
    stance = np.zeros((len(records), len(STANCES)))
    embeddings, baseline_seed, description = None, seed, "TF-IDF baseline refitted per fold"
    if model != TFIDF:
        from .engines import load_engine

        engine = load_engine(model, device, batch_size)
        if getattr(engine, "baseline", None) is not None:
            baseline_seed = engine.baseline.seed
            description = f"TF-IDF baseline ({model}, seed {baseline_seed}) refitted per fold"
        else:
            if list(engine.topic_labels) != list(TOPICS) or list(engine.stance_labels) != list(STANCES):
                log.info("%s was trained with other label names; only its encoder is used", model)
            from .selection import encoder_embeddings

            embeddings = encoder_embeddings(engine, texts, batch_size)
            description = f"encoder of {model} (mean-pooled, frozen) + logistic-regression heads per fold"
    for k in range(folds):
        test, train = fold_of == k, fold_of != k
        if verbose:
            print(f"fold {k + 1}/{folds}: fit on {int(train.sum())}, score {int(test.sum())} paragraph(s)",
                  file=sys.stderr)
        if embeddings is None:
            baseline = TfidfBaseline(seed=baseline_seed).fit([texts[i] for i in np.flatnonzero(train)],
                                                             topic_y[train], stance_y[train])
            topic[test], stance[test] = baseline.predict_proba([texts[i] for i in np.flatnonzero(test)])
        else:
            topic[test], stance[test] = _fit_heads(embeddings[train], topic_y[train], stance_y[train],
                                                   embeddings[test], len(STANCES), seed)
    return topic, stance, fold_of, description


# ---------------------------------------------------------------- cleanlab
def find_issues(records: Sequence[dict], topic_probs, stance_probs, fold=None,
                topic_labels: Sequence[str] = TOPICS, stance_labels: Sequence[str] = STANCES,
                include_all: bool = False, locations: dict | None = None, model: str | None = None) -> list[dict]:
    """Records with an `audit` object, likeliest label errors first (flagged only, unless include_all)."""
    require_cleanlab()
    from cleanlab.filter import find_label_issues
    from cleanlab.multilabel_classification.filter import find_label_issues as find_multilabel_issues
    from cleanlab.multilabel_classification.filter import find_multilabel_issues_per_class
    from cleanlab.multilabel_classification.rank import get_label_quality_scores as multilabel_quality
    from cleanlab.multilabel_classification.rank import get_label_quality_scores_per_class
    from cleanlab.rank import get_label_quality_scores

    from .calibration import tune_thresholds

    records = list(records)
    if not records:
        return []
    topic_probs = np.clip(np.asarray(topic_probs, dtype=np.float64), 0.0, 1.0)
    stance_probs = np.asarray(stance_probs, dtype=np.float64)
    stance_probs = stance_probs / stance_probs.sum(axis=1, keepdims=True)
    topic_y, stance_y = _targets(records, topic_labels, stance_labels)
    given = [list(np.flatnonzero(row)) for row in topic_y]

    topic_flag = np.asarray(find_multilabel_issues(labels=given, pred_probs=topic_probs), dtype=bool)
    topic_class_flag = np.asarray(find_multilabel_issues_per_class(labels=given, pred_probs=topic_probs), dtype=bool)
    # Per topic, cleanlab's self-confidence (the probability of the given yes/no); the worst topic counts, so
    # that topic and stance qualities are on one scale (cleanlab's aggregated multi-label score is kept too).
    topic_class_quality = np.asarray(get_label_quality_scores_per_class(given, topic_probs), dtype=np.float64)
    topic_class_quality = topic_class_quality.reshape(len(records), len(topic_labels))
    topic_quality = topic_class_quality.min(axis=1)
    topic_aggregate = np.asarray(multilabel_quality(given, topic_probs), dtype=np.float64)
    stance_flag = np.asarray(find_label_issues(labels=stance_y, pred_probs=stance_probs), dtype=bool)
    stance_quality = np.asarray(get_label_quality_scores(stance_y, stance_probs), dtype=np.float64)
    quality = np.minimum(topic_quality, stance_quality)

    thresholds = tune_thresholds(topic_probs, topic_y)
    suggested_topics = decide_topics(topic_probs, thresholds)
    suggested_stance = decide_stance(stance_probs)
    flagged = topic_flag | stance_flag
    order = sorted(range(len(records)), key=lambda i: (not flagged[i], quality[i], records[i]["id"]))
    if not include_all:
        order = [i for i in order if flagged[i]]
    out = []
    for rank, i in enumerate(order, start=1):
        record = records[i]
        issues = (["topics"] if topic_flag[i] else []) + (["stance"] if stance_flag[i] else [])
        suspect_topics = [t for j, t in enumerate(topic_labels) if topic_class_flag[i, j]] if topic_flag[i] else []
        audit = {
            "rank": rank, "flagged": bool(flagged[i]), "issues": issues,
            "label_quality": round(float(quality[i]), 4),
            "topic_quality": round(float(topic_quality[i]), 4), "stance_quality": round(float(stance_quality[i]), 4),
            "topic_quality_aggregated": round(float(topic_aggregate[i]), 4),
            "given": {"topics": list(record["topics"]), "stance": record["stance"]},
            "suggested": {"topics": [t for t, on in zip(topic_labels, suggested_topics[i]) if on],
                          "stance": stance_labels[int(suggested_stance[i])]},
            "suspect_topics": suspect_topics,
            "probabilities": {"topics": {t: round(float(p), 4) for t, p in zip(topic_labels, topic_probs[i])},
                              "stance": {s: round(float(p), 4) for s, p in zip(stance_labels, stance_probs[i])}},
            "topic_thresholds": [round(float(t), 2) for t in thresholds],
        }
        if fold is not None:
            audit["fold"] = int(fold[i])
        if locations and record["id"] in locations:
            audit["file"], audit["line"] = locations[record["id"]]
        if model:
            audit["model"] = model
        out.append({**{k: v for k, v in record.items() if k != "audit"}, "audit": audit})
    return out


def record_locations(paths: Iterable[str | Path]) -> dict[str, tuple[str, int]]:
    """id -> (file, 1-based line) for every record of the label files (first occurrence)."""
    where: dict[str, tuple[str, int]] = {}
    for path in iter_label_paths(paths):
        for line, value in iter_jsonl(path):
            if isinstance(value, dict) and isinstance(value.get("id"), str):
                where.setdefault(value["id"], (str(path), line))
    return where


def audit_records(records: Sequence[dict], folds: int = 5, model: str = TFIDF, seed: int = 0,
                  include_all: bool = False, locations: dict | None = None, device: str = "auto",
                  batch_size: int = 64, verbose: bool = False) -> list[dict]:
    """Out-of-fold probabilities, then cleanlab: the audited records, likeliest errors first."""
    require_cleanlab()
    topic, stance, fold, description = out_of_fold_probabilities(records, folds, model, seed, device, batch_size,
                                                                 verbose)
    return find_issues(records, topic, stance, fold, include_all=include_all, locations=locations,
                       model=description)


# ---------------------------------------------------------------- command line
def run(args) -> list[dict]:
    """`topic-stance audit`: find likely label errors and write them as a label file with `audit` objects."""
    from .data import DEFAULT_LABEL_DIR
    from .io import check_output_path
    from .labels import load_records
    from .selection import write_jsonl

    require_cleanlab()  # before reading or fitting anything
    data = args.data or [DEFAULT_LABEL_DIR]
    output = check_output_path(args.output, data)
    if args.folds < 2:
        raise TopicStanceError(f"--folds must be at least 2, got {args.folds}")
    model = getattr(args, "model", TFIDF) or TFIDF
    if model != TFIDF and not Path(model).is_dir():
        raise TopicStanceError(f"--model {model}: neither 'tfidf' nor a model folder")
    records = load_records(data)
    audited = audit_records(records, args.folds, model, getattr(args, "seed", 0), getattr(args, "all", False),
                            record_locations(data), getattr(args, "device", "auto"),
                            getattr(args, "batch_size", 64), verbose=True)
    flagged = sum(r["audit"]["flagged"] for r in audited)
    top = getattr(args, "top", None)
    written = audited[:top] if top else audited
    write_jsonl(output, written)
    kinds = {kind: sum(kind in r["audit"]["issues"] for r in audited) for kind in ("topics", "stance")}
    print(f"audited {len(records)} paragraph(s) in {args.folds} article-grouped folds: {flagged} flagged "
          f"({kinds['topics']} topic, {kinds['stance']} stance issue(s)); wrote {len(written)} to {output}",
          file=sys.stderr)
    return written
