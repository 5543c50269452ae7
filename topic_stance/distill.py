"""Teacher soft targets: computed once by the teacher, stored as a versioned data file.

Why a file: the teacher (all-mpnet-base-v2, 110M parameters) takes most of an hour to train
and minutes to score the corpus on a laptop CPU, while the student trains in a few minutes.
`make teacher` writes `data/teacher/targets.jsonl`: a header line with the teacher's weights
hash, its temperatures and the hash of every text it scored, then one line per text with the
teacher's raw logits keyed by the text's sha256. The student's training run looks every
training paragraph up by hash, so an edited or added paragraph makes the file stale, and a
stale file is refused with the command that refreshes it, never silently half-used.

The transfer set (`data/transfer/paragraphs.jsonl`, built by `python -m tools.corpus build` from
`data/transfer/raw/*.txt`) is unlabelled text the teacher scores too: the student learns from
its soft targets alone there, so more of the teacher's reading reaches it than 2,500 gold
paragraphs carry.

With `--feature-dims` the file also holds the teacher's pooled vector of each text (PCA-reduced), for
`train.py --distill_features`; measured without gain (benchmarks/results/variance-features-cpu.json), off by default.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable

import numpy as np

from .decision import calibrated
from .errors import TopicStanceError

FORMAT = "topic-stance-teacher-targets/1"
REFRESH = "make teacher-targets   (or: topic-stance teacher-targets --teacher models/mpnet-topic-stance)"


class StaleTargets(TopicStanceError):
    """The teacher targets do not cover the training text (or were made by another teacher)."""


def text_key(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def corpus_hash(keys: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(keys))).encode()).hexdigest()


def write_targets(teacher_dir: str | Path, texts: list[str], output: str | Path, batch_size: int = 32,
                  feature_dims: int = 0) -> dict:
    """Score `texts` with the teacher folder and write the targets file atomically; returns the header.

    `feature_dims` > 0 also stores the teacher's pooled representation of each text (the vector its
    heads read), reduced by PCA to that many dimensions, for representation distillation.
    """
    from .engines import load_engine
    from .io import atomic_path
    from .data import file_sha256, repo_relative

    teacher_dir = Path(teacher_dir)
    engine = load_engine(teacher_dir, device="auto", batch_size=batch_size, precision="fp32")
    unique = list(dict.fromkeys(texts))
    keys = [text_key(t) for t in unique]
    weights_sha256 = file_sha256(teacher_dir / "model.safetensors")
    # the same teacher's scores of unchanged text are kept: only new or edited paragraphs are scored
    known = {}
    if Path(output).exists():
        try:
            old_header, known = read_targets(output)
            if old_header.get("teacher_weights_sha256") != weights_sha256:
                known = {}
        except StaleTargets:
            known = {}
    features = None
    if feature_dims:  # the PCA basis is fit on all texts, so every text is encoded again
        features, explained = pca_features(pooled_features(engine.model, engine.tokenizer, unique, engine.max_length,
                                                           batch_size), feature_dims)
    todo = [t for t, k in zip(unique, keys) if k not in known]
    if todo:
        for text, t, s in zip(todo, *engine.merged_logits(engine.encode(todo))):
            known[text_key(text)] = ([round(float(v), 5) for v in t], [round(float(v), 5) for v in s])
    header = {"format": FORMAT, "teacher": repo_relative(teacher_dir),
              "teacher_base_model": engine.config.base_model,
              "teacher_weights_sha256": weights_sha256,
              "topic_temperature": engine.config.topic_temperature,
              "stance_temperature": engine.config.stance_temperature,
              "topic_labels": engine.topic_labels, "stance_labels": engine.stance_labels,
              "texts": len(unique), "texts_sha256": corpus_hash(keys)}
    if features is not None:
        header.update(feature_dims=int(features.shape[1]), feature_explained_variance=round(explained, 4))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(header) + "\n")
            for i, key in enumerate(keys):
                row = {"key": key, "topic_logits": known[key][0], "stance_logits": known[key][1]}
                if features is not None:
                    row["features"] = [round(float(v), 3) for v in features[i]]
                handle.write(json.dumps(row) + "\n")
    header["scored"] = len(todo)
    return header


def pooled_features(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 32) -> np.ndarray:
    """The model's pooled final hidden state (what its heads read) for each text's first window, as training sees it."""
    import torch

    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], truncation=True, max_length=max_length,
                              padding=True, return_tensors="pt")
            batch = {k: v.to(model.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
            hidden = model.encoder(**batch).last_hidden_state
            out.append(model.pool(hidden, batch["attention_mask"]).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.hidden_size), dtype=np.float32)


def pca_features(features: np.ndarray, dims: int) -> tuple[np.ndarray, float]:
    """Centred features projected on their top `dims` principal axes, scaled to unit mean variance per axis.

    One scale for all axes keeps the geometry (the student is asked for the teacher's distances, not
    for equal attention to its minor axes); returns the share of variance the axes keep.
    """
    centred = features - features.mean(0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    dims = min(dims, axes.shape[0])
    projected = centred @ axes[:dims].T
    scale = np.sqrt((projected ** 2).mean())
    return projected / scale, float((singular[:dims] ** 2).sum() / (singular ** 2).sum())


def read_targets(path: str | Path) -> tuple[dict, dict[str, tuple[list[float], list[float], list[float] | None]]]:
    """(header, {text key: (topic logits, stance logits, pooled features or None)})."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0])
        rows = {}
        for number, line in enumerate(lines[1:], start=2):
            row = json.loads(line)
            rows[row["key"]] = (row["topic_logits"], row["stance_logits"], row.get("features"))
    except (OSError, IndexError, KeyError, ValueError) as err:
        raise StaleTargets(f"{path}: unreadable teacher targets ({type(err).__name__}: {err}); refresh: {REFRESH}")
    if header.get("format") != FORMAT:
        raise StaleTargets(f"{path}: format {header.get('format')!r}, expected {FORMAT!r}; refresh: {REFRESH}")
    return header, rows


def read_transfer(path: str | Path) -> list[str]:
    """The transfer set's paragraph texts; LabelFileError naming file, line and field on a bad line."""
    from .labels import LabelFileError, Problem, iter_jsonl

    texts, problems = [], []
    for number, record in iter_jsonl(Path(path)):
        if isinstance(record, Problem):
            problems.append(record)
        elif not isinstance(record, dict) or not isinstance(record.get("text"), str) or not record["text"].strip():
            problems.append(Problem(str(path), number, "text", "expected an object with a non-empty string 'text'"))
        else:
            texts.append(record["text"])
    if problems:
        raise LabelFileError(problems)
    return texts


def soft_features(path: str | Path, texts: list[str]) -> np.ndarray:
    """The teacher's stored (PCA-reduced) representations of `texts`, in order; StaleTargets if absent."""
    header, rows = read_targets(path)
    if not header.get("feature_dims"):
        raise StaleTargets(f"{path} holds no teacher features: write them with "
                           f"topic-stance teacher-targets --feature-dims 64, or train with --distill_features 0")
    missing = [t for t in texts if text_key(t) not in rows]
    if missing:
        raise StaleTargets(f"{path} is stale: {len(missing)} of {len(texts)} paragraphs have no teacher features "
                           f"(first: {missing[0][:80]!r}); refresh: {REFRESH}")
    return np.asarray([rows[text_key(t)][2] for t in texts], dtype=np.float32)


def soft_targets(path: str | Path, texts: list[str], topic_labels, stance_labels,
                 temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray, dict]:
    """The teacher's calibrated probabilities for `texts`, in order; StaleTargets if any is missing.

    `temperature` divides the calibrated logits once more: > 1 softens the targets (more of the
    teacher's ranking between wrong classes), < 1 sharpens them towards its decisions.
    """
    header, rows = read_targets(path)
    if list(header["topic_labels"]) != list(topic_labels) or list(header["stance_labels"]) != list(stance_labels):
        raise StaleTargets(f"{path}: the teacher's labels {header['topic_labels']} / {header['stance_labels']} "
                           f"differ from the data's; refresh: {REFRESH}")
    keys = [text_key(t) for t in texts]
    missing = [t for t, k in zip(texts, keys) if k not in rows]
    if missing:
        raise StaleTargets(f"{path} is stale: {len(missing)} of {len(texts)} paragraphs to train on were not scored by "
                           f"the teacher (first: {missing[0][:80]!r}); refresh: {REFRESH} "
                           f"or train without it: --teacher_targets none")
    topic = np.asarray([rows[k][0] for k in keys], dtype=np.float64)
    stance = np.asarray([rows[k][1] for k in keys], dtype=np.float64)
    topic_probs, stance_probs = calibrated(topic, stance, header["topic_temperature"] * temperature,
                                           header["stance_temperature"] * temperature)
    from .data import repo_relative

    info = {"targets": repo_relative(path), "teacher": header["teacher"], "teacher_base_model": header["teacher_base_model"],
            "teacher_weights_sha256": header["teacher_weights_sha256"], "texts_sha256": header["texts_sha256"],
            "temperature": temperature}
    return topic_probs, stance_probs, info
