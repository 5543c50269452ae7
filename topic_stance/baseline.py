"""TF-IDF + logistic regression: the baseline every transformer number is shown beside.

Same splits, same label schema, same metrics file layout. Topics: one-vs-rest logistic
regression; stance: multinomial logistic regression; both with balanced class weights.

The folder holds no pickle (a pickle runs its author's code when loaded):

    config.json            model_type, format_version, labels, thresholds, seed, vectoriser settings
    vocabulary.json        the vectoriser's terms in column order (term -> its position)
    baseline.safetensors   idf, topic_coef/topic_intercept (one row per topic),
                           stance_coef/stance_intercept/stance_classes (as sklearn stores them)

`load` rebuilds the vectoriser from its settings, vocabulary and idf and computes the
probabilities from the stored weights exactly as sklearn's `predict_proba` does; nothing is fitted.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .labels import STANCES, TOPICS

BASELINE_TYPE = "tfidf_logreg"
FORMAT_VERSION = 1  # of the JSON + safetensors layout; the old joblib folders carried no version
CONFIG_FILE, VOCABULARY_FILE, WEIGHTS_FILE = "config.json", "vocabulary.json", "baseline.safetensors"
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
RETRAIN = "retrain it with `topic-stance baseline`"

# The TfidfVectorizer parameters that decide what `transform` returns (min_df/max_df/max_features only
# shaped the fitted vocabulary; they are kept as a record). Callables and file input are not allowed.
VECTORIZER_SETTINGS: dict[str, Any] = {
    "analyzer": "word", "lowercase": True, "strip_accents": "unicode", "token_pattern": r"(?u)\b\w\w+\b",
    "ngram_range": [1, 2], "stop_words": None, "binary": False, "norm": "l2", "use_idf": True,
    "smooth_idf": True, "sublinear_tf": True, "dtype": "float64", "min_df": 1, "max_df": 1.0,
    "max_features": None}
TENSORS = ("idf", "topic_coef", "topic_intercept", "stance_coef", "stance_intercept", "stance_classes")


class TfidfBaseline:
    """TF-IDF (1-2 grams) + logistic regression per topic and for stance.

    `TfidfBaseline().fit(texts, topic_matrix, stance_ids).predict_proba(texts)` returns
    (topic_probs, stance_probs) like every engine, so it is scored by the same code.
    """

    model_type = BASELINE_TYPE

    def __init__(self, topic_labels: Sequence[str] = TOPICS, stance_labels: Sequence[str] = STANCES,
                 topic_thresholds: Sequence[float] | None = None, seed: int = 42):
        self.topic_labels = list(topic_labels)
        self.stance_labels = list(stance_labels)
        self.topic_thresholds = list(topic_thresholds or [0.5] * len(self.topic_labels))
        self.seed = seed
        self.vectorizer = None  # a fitted sklearn TfidfVectorizer
        # topic_coef (n_topics, n_features), topic_intercept (n_topics,): one binary model per topic; a topic
        # constant in training (sklearn's _ConstantPredictor) is a zero row with intercept +inf or -inf.
        # stance_coef/stance_intercept: sklearn's LogisticRegression coef_/intercept_ (one row when only two
        # stances were seen, else one per class); stance_classes: the stance ids they belong to.
        self.weights: dict[str, np.ndarray] | None = None

    @staticmethod
    def _vectorizer(settings: dict[str, Any] = VECTORIZER_SETTINGS, **extra):
        from sklearn.feature_extraction.text import TfidfVectorizer  # here: sklearn takes ~1 s to import

        params = {**settings, "ngram_range": tuple(settings["ngram_range"]), "dtype": np.dtype(settings["dtype"]).type}
        return TfidfVectorizer(**params, **extra)

    def fit(self, texts: Sequence[str], topic_matrix, stance_ids) -> "TfidfBaseline":
        texts = list(texts)
        topic_matrix = np.asarray(topic_matrix, dtype=int)
        stance_ids = np.asarray(stance_ids, dtype=int)
        if topic_matrix.shape != (len(texts), len(self.topic_labels)):
            raise ValueError(f"topic_matrix has shape {topic_matrix.shape}, "
                             f"expected {(len(texts), len(self.topic_labels))}")
        if (stance_ids.shape != (len(texts),) or stance_ids.min(initial=0) < 0
                or stance_ids.max(initial=0) >= len(self.stance_labels)):
            raise ValueError(f"stance_ids must be {len(texts)} ids in 0..{len(self.stance_labels) - 1}")
        # One vectoriser for both heads: the two pipelines this replaces fitted identical ones on the same texts.
        vectorizer = self._vectorizer()
        features = vectorizer.fit_transform(texts)
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        topic_model = OneVsRestClassifier(
            LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000, random_state=self.seed))
        topic_model.fit(features, topic_matrix)
        stance_model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000, random_state=self.seed)
        stance_model.fit(features, stance_ids)
        n_features = len(vectorizer.vocabulary_)
        topic_coef = np.zeros((len(self.topic_labels), n_features))
        topic_intercept = np.zeros(len(self.topic_labels))
        for j, estimator in enumerate(topic_model.estimators_):
            if hasattr(estimator, "coef_"):
                if list(estimator.classes_) != [0, 1]:
                    raise ValueError(f"topic {self.topic_labels[j]!r}: expected classes 0/1, got {estimator.classes_}")
                topic_coef[j], topic_intercept[j] = estimator.coef_[0], estimator.intercept_[0]
            else:  # the topic was constant in training: sklearn predicts that constant with certainty
                topic_intercept[j] = math.inf if float(np.ravel(estimator.y_)[0]) >= 0.5 else -math.inf
        self.vectorizer = vectorizer
        self.weights = {
            "idf": np.asarray(vectorizer.idf_, dtype=np.float64),
            "topic_coef": topic_coef, "topic_intercept": topic_intercept,
            "stance_coef": np.asarray(stance_model.coef_, dtype=np.float64),
            "stance_intercept": np.asarray(stance_model.intercept_, dtype=np.float64),
            "stance_classes": np.asarray(stance_model.classes_, dtype=np.int64)}
        return self

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(topic_probs (n, n_topics), stance_probs (n, n_stances)); sklearn's predict_proba, from the weights."""
        if self.vectorizer is None or self.weights is None:
            raise RuntimeError("TfidfBaseline is not fitted: call fit() or TfidfBaseline.load()")
        if isinstance(texts, (str, bytes)):
            raise TypeError("predict_proba takes a sequence of texts, not a single string")
        texts = list(texts)
        topic_probs = np.zeros((len(texts), len(self.topic_labels)))
        stance_probs = np.zeros((len(texts), len(self.stance_labels)))
        if not texts:
            return topic_probs, stance_probs
        from scipy.special import expit, softmax
        from sklearn.utils.extmath import safe_sparse_dot

        w = self.weights
        features = self.vectorizer.transform(texts)
        topic_probs[:] = expit(safe_sparse_dot(features, w["topic_coef"].T, dense_output=True) + w["topic_intercept"])
        scores = safe_sparse_dot(features, w["stance_coef"].T, dense_output=True) + w["stance_intercept"]
        if len(w["stance_classes"]) == 2:  # binary LogisticRegression: one row, [1 - p, p]
            positive = expit(scores[:, 0])
            stance_probs[:, w["stance_classes"]] = np.stack([1.0 - positive, positive], axis=1)
        else:
            stance_probs[:, w["stance_classes"]] = softmax(scores, axis=1)
        return topic_probs, stance_probs

    def save(self, folder: str | Path) -> None:
        if self.vectorizer is None or self.weights is None:
            raise RuntimeError("TfidfBaseline is not fitted: nothing to save")
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        # The pickle an older version of this method wrote here would make the folder unloadable.
        (folder / "baseline.joblib").unlink(missing_ok=True)
        params = self.vectorizer.get_params()
        settings = {key: params[key] for key in VECTORIZER_SETTINGS}
        settings["ngram_range"] = list(settings["ngram_range"])
        settings["dtype"] = np.dtype(settings["dtype"]).name
        if settings["stop_words"] is not None and not isinstance(settings["stop_words"], str):
            settings["stop_words"] = sorted(settings["stop_words"])
        terms = [""] * len(self.vectorizer.vocabulary_)
        for term, index in self.vectorizer.vocabulary_.items():
            terms[index] = term
        save_file({name: np.ascontiguousarray(self.weights[name]) for name in TENSORS}, str(folder / WEIGHTS_FILE),
                  metadata={"model_type": BASELINE_TYPE, "format_version": str(FORMAT_VERSION)})
        (folder / VOCABULARY_FILE).write_text(json.dumps(terms, ensure_ascii=False) + "\n", encoding="utf-8")
        # config.json last: a half-written folder is not mistaken for a model folder
        (folder / CONFIG_FILE).write_text(json.dumps({
            "model_type": BASELINE_TYPE, "format_version": FORMAT_VERSION,
            "topic_labels": self.topic_labels, "stance_labels": self.stance_labels,
            "topic_thresholds": [float(t) for t in self.topic_thresholds], "seed": self.seed,
            "vectorizer": settings, "files": {"vocabulary": VOCABULARY_FILE, "weights": WEIGHTS_FILE}},
            indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> "TfidfBaseline":
        """Rebuild a saved baseline from JSON + safetensors; refuse (ValueError) anything else. No pickle is read."""
        folder = Path(folder)
        if not folder.is_dir():
            raise ValueError(f"refusing to load the TF-IDF baseline {folder}: not a folder")
        _refuse_pickles(folder)
        check = _Checker(folder)
        config = check.json_object(CONFIG_FILE)
        check.equal(CONFIG_FILE, "model_type", config.get("model_type"), BASELINE_TYPE)
        if config.get("format_version") != FORMAT_VERSION:
            check.fail(CONFIG_FILE, "format_version", f"is {config.get('format_version')!r}; this version of "
                       f"topic-stance reads format {FORMAT_VERSION} only ({RETRAIN})")
        topic_labels = check.labels(config, "topic_labels")
        stance_labels = check.labels(config, "stance_labels")
        thresholds = config.get("topic_thresholds")
        if not (isinstance(thresholds, list) and len(thresholds) == len(topic_labels)
                and all(_is_number(t) and 0.0 <= t <= 1.0 for t in thresholds)):
            check.fail(CONFIG_FILE, "topic_thresholds", f"must be {len(topic_labels)} numbers in [0, 1] "
                       f"(one per topic label), got {thresholds!r}")
        seed = config.get("seed")
        if type(seed) is not int:
            check.fail(CONFIG_FILE, "seed", f"must be an integer, got {seed!r}")
        settings = check.vectorizer_settings(config.get("vectorizer"))

        terms = check.json_value(VOCABULARY_FILE)
        if not (isinstance(terms, list) and terms and all(isinstance(t, str) and t for t in terms)):
            check.fail(VOCABULARY_FILE, "terms", "must be a non-empty list of non-empty strings")
        if len(set(terms)) != len(terms):
            check.fail(VOCABULARY_FILE, "terms", "has duplicate terms")

        weights = check.tensors(WEIGHTS_FILE)
        n_features, n_topics, n_stances = len(terms), len(topic_labels), len(stance_labels)
        check.array(weights, "idf", np.float64, (n_features,), finite=True)
        if not np.all(weights["idf"] > 0):
            check.fail(WEIGHTS_FILE, "idf", "must be positive")
        check.array(weights, "topic_coef", np.float64, (n_topics, n_features), finite=True)
        check.array(weights, "topic_intercept", np.float64, (n_topics,), finite=False)
        infinite = ~np.isfinite(weights["topic_intercept"])
        if np.any(np.isnan(weights["topic_intercept"])) or np.any(weights["topic_coef"][infinite] != 0):
            check.fail(WEIGHTS_FILE, "topic_intercept", "must be finite (or +-inf for a constant topic, whose "
                       "topic_coef row is zero)")
        classes = weights["stance_classes"]
        if classes.ndim != 1:
            check.fail(WEIGHTS_FILE, "stance_classes", f"has shape {classes.shape}, expected a vector")
        check.array(weights, "stance_classes", np.int64, classes.shape)
        if not (2 <= len(classes) <= n_stances and np.all(np.diff(classes) > 0)
                and classes[0] >= 0 and classes[-1] < n_stances):
            check.fail(WEIGHTS_FILE, "stance_classes", f"must be 2..{n_stances} increasing stance ids in "
                       f"0..{n_stances - 1}, got {classes.tolist()}")
        rows = 1 if len(classes) == 2 else len(classes)
        check.array(weights, "stance_coef", np.float64, (rows, n_features), finite=True)
        check.array(weights, "stance_intercept", np.float64, (rows,), finite=True)

        baseline = cls(topic_labels, stance_labels, [float(t) for t in thresholds], seed)
        vectorizer = cls._vectorizer(settings, vocabulary={term: i for i, term in enumerate(terms)})
        vectorizer.idf_ = weights["idf"]  # sklearn's documented way to hand a vectoriser its idf
        baseline.vectorizer, baseline.weights = vectorizer, {name: weights[name] for name in TENSORS}
        return baseline


def _refuse_pickles(folder: Path) -> None:
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise ValueError(
            f"refusing to load the TF-IDF baseline {folder}: {', '.join(pickles)} is a pickle (joblib), which runs "
            f"arbitrary code when loaded, so it will not be loaded. This folder was written by an older "
            f"topic-stance; {RETRAIN}, which saves JSON + safetensors.")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class _Checker:
    """Reads the folder's files and raises ValueError naming the folder, the file and the field."""

    def __init__(self, folder: Path):
        self.folder = folder

    def fail(self, file: str, field: str | None, problem: str):
        where = f"{file}, field {field!r}" if field else file
        raise ValueError(f"refusing to load the TF-IDF baseline {self.folder}: {where}: {problem}")

    def equal(self, file: str, field: str, value, expected) -> None:
        if value != expected:
            self.fail(file, field, f"is {value!r}, expected {expected!r}")

    def _read(self, file: str) -> Path:
        path = self.folder / file
        if not path.is_file():
            self.fail(file, None, f"missing ({RETRAIN})")
        return path

    def json_value(self, file: str):
        try:
            return json.loads(self._read(file).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            self.fail(file, None, f"not valid JSON ({error})")

    def json_object(self, file: str) -> dict:
        value = self.json_value(file)
        if not isinstance(value, dict):
            self.fail(file, None, "must hold a JSON object")
        return value

    def labels(self, config: dict, field: str) -> list[str]:
        labels = config.get(field)
        if not (isinstance(labels, list) and labels and all(isinstance(x, str) and x for x in labels)
                and len(set(labels)) == len(labels)):
            self.fail(CONFIG_FILE, field, f"must be a non-empty list of distinct label names, got {labels!r}")
        return labels

    def vectorizer_settings(self, settings) -> dict[str, Any]:
        field = "vectorizer"
        if not isinstance(settings, dict) or set(settings) != set(VECTORIZER_SETTINGS):
            keys = sorted(settings) if isinstance(settings, dict) else settings
            self.fail(CONFIG_FILE, field, f"must be an object with exactly the keys {sorted(VECTORIZER_SETTINGS)}, "
                      f"got {keys!r}")
        choices = {"analyzer": ("word", "char", "char_wb"), "strip_accents": (None, "ascii", "unicode"),
                   "norm": (None, "l1", "l2"), "dtype": ("float64",), "use_idf": (True,)}
        for key, allowed in choices.items():
            if settings[key] not in allowed or (key == "use_idf" and type(settings[key]) is not bool):
                self.fail(CONFIG_FILE, f"{field}.{key}", f"must be one of {allowed}, got {settings[key]!r}")
        for key in ("lowercase", "binary", "smooth_idf", "sublinear_tf"):
            if type(settings[key]) is not bool:
                self.fail(CONFIG_FILE, f"{field}.{key}", f"must be true or false, got {settings[key]!r}")
        ngram = settings["ngram_range"]
        if not (isinstance(ngram, list) and len(ngram) == 2 and all(type(n) is int for n in ngram)
                and 1 <= ngram[0] <= ngram[1]):
            self.fail(CONFIG_FILE, f"{field}.ngram_range",
                      f"must be [min_n, max_n] with 1 <= min_n <= max_n, got {ngram!r}")
        pattern = settings["token_pattern"]
        try:
            re.compile(pattern)
        except (TypeError, re.error) as error:
            self.fail(CONFIG_FILE, f"{field}.token_pattern", f"must be a regular expression ({error})")
        stop = settings["stop_words"]
        if not (stop is None or stop == "english"
                or (isinstance(stop, list) and all(isinstance(w, str) for w in stop))):
            self.fail(CONFIG_FILE, f"{field}.stop_words", f"must be null, \"english\" or a list of words, got {stop!r}")
        for key in ("min_df", "max_df"):
            if not _is_number(settings[key]):
                self.fail(CONFIG_FILE, f"{field}.{key}", f"must be a number, got {settings[key]!r}")
        if not (settings["max_features"] is None or type(settings["max_features"]) is int):
            self.fail(CONFIG_FILE, f"{field}.max_features",
                      f"must be null or an integer, got {settings['max_features']!r}")
        return settings

    def tensors(self, file: str) -> dict[str, np.ndarray]:
        from safetensors import SafetensorError, safe_open

        path = self._read(file)
        try:
            with safe_open(str(path), framework="np") as handle:
                metadata = handle.metadata() or {}
                tensors = {name: handle.get_tensor(name) for name in handle.keys()}
        except (SafetensorError, OSError, ValueError) as error:
            self.fail(file, None, f"not a readable safetensors file ({error})")
        self.equal(file, "metadata.model_type", metadata.get("model_type"), BASELINE_TYPE)
        self.equal(file, "metadata.format_version", metadata.get("format_version"), str(FORMAT_VERSION))
        missing, extra = set(TENSORS) - set(tensors), set(tensors) - set(TENSORS)
        if missing or extra:
            self.fail(file, sorted(missing or extra)[0], "missing" if missing else "unexpected tensor")
        return tensors

    def array(self, tensors: dict, name: str, dtype, shape: tuple, finite: bool = False) -> None:
        value = tensors[name]
        if value.dtype != dtype:
            self.fail(WEIGHTS_FILE, name, f"has dtype {value.dtype}, expected {np.dtype(dtype).name}")
        if value.shape != shape:
            self.fail(WEIGHTS_FILE, name, f"has shape {value.shape}, expected {shape} (config.json and "
                      f"{VOCABULARY_FILE} give the label and term counts)")
        if finite and not np.all(np.isfinite(value)):
            self.fail(WEIGHTS_FILE, name, "holds NaN or infinite values")


def is_baseline_folder(folder: str | Path) -> bool:
    config = Path(folder) / CONFIG_FILE
    if not config.exists():
        return False
    try:
        content = json.loads(config.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{config}: not valid JSON ({error})") from error
    return isinstance(content, dict) and content.get("model_type") == BASELINE_TYPE
