"""TF-IDF + logistic regression: the baseline every transformer number is shown beside.

Same splits, same label schema, same metrics file layout. Topics: one-vs-rest logistic
regression; stance: multinomial logistic regression; both with balanced class weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline

from .labels import STANCES, TOPICS

BASELINE_TYPE = "tfidf_logreg"


class TfidfBaseline:
    """>>> baseline = TfidfBaseline().fit(texts, topic_matrix, stance_ids)
    >>> topic_probs, stance_probs = baseline.predict_proba(["Beijing held drills near Taiwan."])
    """

    model_type = BASELINE_TYPE

    def __init__(self, topic_labels: Sequence[str] = TOPICS, stance_labels: Sequence[str] = STANCES,
                 topic_thresholds: Sequence[float] | None = None, seed: int = 42):
        self.topic_labels = list(topic_labels)
        self.stance_labels = list(stance_labels)
        self.topic_thresholds = list(topic_thresholds or [0.5] * len(self.topic_labels))
        self.seed = seed
        self.topic_model = None
        self.stance_model = None

    def _vectorizer(self) -> TfidfVectorizer:
        return TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, strip_accents="unicode")

    def fit(self, texts: Sequence[str], topic_matrix, stance_ids) -> "TfidfBaseline":
        topic_matrix = np.asarray(topic_matrix, dtype=int)
        self.topic_model = make_pipeline(self._vectorizer(), OneVsRestClassifier(
            LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000, random_state=self.seed)))
        self.topic_model.fit(list(texts), topic_matrix)
        self.stance_model = make_pipeline(self._vectorizer(), LogisticRegression(
            C=10.0, class_weight="balanced", max_iter=2000, random_state=self.seed))
        self.stance_model.fit(list(texts), np.asarray(stance_ids, dtype=int))
        return self

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(topic_probs (n, n_topics), stance_probs (n, n_stances))."""
        texts = list(texts)
        topic_probs = np.asarray(self.topic_model.predict_proba(texts), dtype=float)
        stance_probs = np.zeros((len(texts), len(self.stance_labels)))
        stance_probs[:, self.stance_model.classes_] = self.stance_model.predict_proba(texts)
        return topic_probs, stance_probs

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump({"topic": self.topic_model, "stance": self.stance_model}, folder / "baseline.joblib")
        (folder / "config.json").write_text(json.dumps({
            "model_type": BASELINE_TYPE, "topic_labels": self.topic_labels, "stance_labels": self.stance_labels,
            "topic_thresholds": self.topic_thresholds, "seed": self.seed}, indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> "TfidfBaseline":
        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        baseline = cls(config["topic_labels"], config["stance_labels"], config["topic_thresholds"], config["seed"])
        models = joblib.load(folder / "baseline.joblib")
        baseline.topic_model, baseline.stance_model = models["topic"], models["stance"]
        return baseline


def is_baseline_folder(folder: str | Path) -> bool:
    config = Path(folder) / "config.json"
    return config.exists() and json.loads(config.read_text()).get("model_type") == BASELINE_TYPE
