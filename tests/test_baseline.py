"""The TF-IDF baseline saves and loads without pickle, and refuses folders it cannot trust."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import numpy as np
import pytest

from topic_stance.baseline import TfidfBaseline, is_baseline_folder
from topic_stance.labels import STANCES, TOPICS

PHRASES = ("drills near taiwan", "russia war in ukraine", "tariffs and trade sanctions", "human rights in xinjiang")
TONES = ("warned and condemned", "constructive dialogue and cooperation", "met on")
PROBE = ["wang warned drills near taiwan", "constructive trade talks", "", "Blinken met Wang in Beijing.", "xinjiang"]


def corpus(n: int = 40, seed: int = 0):
    rng = random.Random(seed)
    texts, topics, stances = [], [], []
    for i in range(n):
        row = [int(rng.random() < 0.4) for _ in TOPICS]
        row[i % len(TOPICS)] = 1 if i < 2 * len(TOPICS) else row[i % len(TOPICS)]  # every topic seen
        row[(i + 1) % len(TOPICS)] = 0 if i < 2 * len(TOPICS) else row[(i + 1) % len(TOPICS)]  # and unseen
        stance = i % len(STANCES)
        texts.append(f"wang {TONES[stance]} " + " ".join(p for p, on in zip(PHRASES, row) if on) + f" blinken {i}")
        topics.append(row)
        stances.append(stance)
    return texts, np.array(topics), np.array(stances)


@pytest.fixture(scope="module")
def fitted() -> TfidfBaseline:
    baseline = TfidfBaseline(seed=0).fit(*corpus())
    baseline.topic_thresholds = [0.3, 0.45, 0.5, 0.71]
    return baseline


@pytest.fixture
def saved(tmp_path, fitted) -> Path:
    folder = tmp_path / "tfidf"
    fitted.save(folder)
    return folder


def test_round_trip_gives_the_same_probabilities(saved, fitted):
    loaded = TfidfBaseline.load(saved)
    assert is_baseline_folder(saved)
    assert loaded.topic_labels == list(TOPICS) and loaded.stance_labels == list(STANCES)
    assert loaded.topic_thresholds == [0.3, 0.45, 0.5, 0.71] and loaded.seed == 0
    before, after = fitted.predict_proba(PROBE), loaded.predict_proba(PROBE)
    for b, a, width in zip(before, after, (len(TOPICS), len(STANCES))):
        assert a.shape == (len(PROBE), width)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    np.testing.assert_allclose(after[1].sum(axis=1), 1.0)
    # a loaded model saves to the same files
    loaded.save(saved.parent / "again")
    for name in ("config.json", "vocabulary.json"):
        assert (saved / name).read_bytes() == (saved.parent / "again" / name).read_bytes()
    from safetensors.numpy import load_file

    first = load_file(str(saved / "baseline.safetensors"))
    second = load_file(str(saved.parent / "again" / "baseline.safetensors"))
    assert first.keys() == second.keys() and all(np.array_equal(first[k], second[k]) for k in first)


def test_probabilities_match_sklearn_pipelines():
    """The weights-only predict_proba is what the sklearn pipelines the baseline used to pickle give."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline

    texts, topics, stances = corpus()
    baseline = TfidfBaseline(seed=0).fit(texts, topics, stances)
    logreg = dict(C=10.0, class_weight="balanced", max_iter=2000, random_state=0)
    topic_model = make_pipeline(TfidfBaseline._vectorizer(), OneVsRestClassifier(LogisticRegression(**logreg)))
    stance_model = make_pipeline(TfidfBaseline._vectorizer(), LogisticRegression(**logreg))
    topic_model.fit(texts, topics)
    stance_model.fit(texts, stances)
    topic_probs, stance_probs = baseline.predict_proba(PROBE)
    np.testing.assert_allclose(topic_probs, topic_model.predict_proba(PROBE), atol=1e-9)
    np.testing.assert_allclose(stance_probs, stance_model.predict_proba(PROBE), atol=1e-9)


def test_two_stances_and_a_constant_topic_round_trip(tmp_path):
    texts, topics, stances = corpus()
    topics[:, 3] = 0  # never seen: sklearn predicts 0 with certainty
    stances = stances % 2  # binary logistic regression for stance
    with pytest.warns(UserWarning):
        baseline = TfidfBaseline(seed=0).fit(texts, topics, stances)
    baseline.save(tmp_path / "m")
    loaded = TfidfBaseline.load(tmp_path / "m")
    for b, a in zip(baseline.predict_proba(PROBE), loaded.predict_proba(PROBE)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    topic_probs, stance_probs = loaded.predict_proba(PROBE)
    assert np.all(topic_probs[:, 3] == 0.0) and np.all(stance_probs[:, 2] == 0.0)
    np.testing.assert_allclose(stance_probs.sum(axis=1), 1.0)


def test_empty_input_gives_empty_arrays(saved):
    topic_probs, stance_probs = TfidfBaseline.load(saved).predict_proba([])
    assert topic_probs.shape == (0, len(TOPICS)) and stance_probs.shape == (0, len(STANCES))


def test_saved_folder_holds_no_pickle(saved):
    names = sorted(p.name for p in saved.iterdir())
    assert names == ["baseline.safetensors", "config.json", "vocabulary.json"]
    for path in saved.rglob("*"):
        assert path.suffix not in (".joblib", ".pkl", ".pickle")
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"
    config = json.loads((saved / "config.json").read_text())
    assert config["format_version"] == 1 and config["vectorizer"]["ngram_range"] == [1, 2]


class _Payload:
    """Unpickling this creates the marker file: proof that the pickle was executed."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("name", ["baseline.joblib", "weights.pkl"])
def test_a_folder_with_a_pickle_is_refused_without_unpickling(saved, tmp_path, name):
    marker = tmp_path / "pwned"
    (saved / name).write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ValueError, match=rf"{name} is a pickle.*will not be loaded.*topic-stance baseline") as error:
        TfidfBaseline.load(saved)
    assert str(saved) in str(error.value)
    assert not marker.exists()
    pickle.loads((saved / name).read_bytes())  # the payload does work: the check above is meaningful
    assert marker.exists()


def test_an_old_joblib_only_folder_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "tfidf_logreg", "topic_labels": list(TOPICS),
                                                    "stance_labels": list(STANCES), "seed": 42,
                                                    "topic_thresholds": [0.5] * 4}))
    (folder / "baseline.joblib").write_bytes(pickle.dumps(_Payload(marker)))
    assert is_baseline_folder(folder)
    with pytest.raises(ValueError, match="baseline.joblib is a pickle"):
        TfidfBaseline.load(folder)
    assert not marker.exists()


def test_saving_over_an_old_folder_removes_its_pickle(tmp_path, fitted):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "baseline.joblib").write_bytes(b"\x80\x04.")
    fitted.save(folder)
    assert not (folder / "baseline.joblib").exists()
    TfidfBaseline.load(folder)


@pytest.mark.parametrize("name", ["config.json", "vocabulary.json"])
def test_malformed_json_names_the_file(saved, name):
    (saved / name).write_text('{"model_type": "tfidf_logreg", ')
    with pytest.raises(ValueError, match=rf"{name}: not valid JSON") as error:
        TfidfBaseline.load(saved)
    assert str(saved) in str(error.value)


def test_truncated_safetensors_names_the_file(saved):
    path = saved / "baseline.safetensors"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"baseline.safetensors: not a readable safetensors file"):
        TfidfBaseline.load(saved)


@pytest.mark.parametrize("name", ["config.json", "vocabulary.json", "baseline.safetensors"])
def test_missing_file_is_named(saved, name):
    (saved / name).unlink()
    with pytest.raises(ValueError, match=rf"{name}: missing"):
        TfidfBaseline.load(saved)


def _edit_config(folder: Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("changes, field", [
    ({"format_version": 2}, "format_version"),
    ({"format_version": None}, "format_version"),
    ({"topic_labels": list(TOPICS) + ["extra"]}, "topic_thresholds"),
    ({"topic_thresholds": [0.5, 0.5, 0.5, "x"]}, "topic_thresholds"),
    ({"stance_labels": ["a", "a", "b"]}, "stance_labels"),
    ({"vectorizer": {"ngram_range": [1, 2]}}, "vectorizer"),
])
def test_bad_config_names_the_field(saved, changes, field):
    _edit_config(saved, **changes)
    with pytest.raises(ValueError, match=rf"config.json, field '{field}'"):
        TfidfBaseline.load(saved)


def test_vectorizer_reading_files_is_refused(saved):
    config = json.loads((saved / "config.json").read_text())
    config["vectorizer"]["input"] = "filename"
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="field 'vectorizer'"):
        TfidfBaseline.load(saved)


def test_shape_disagreements_are_refused(saved):
    terms = json.loads((saved / "vocabulary.json").read_text())
    (saved / "vocabulary.json").write_text(json.dumps(terms[:-1]))
    with pytest.raises(ValueError, match=r"baseline.safetensors, field 'idf': has shape"):
        TfidfBaseline.load(saved)


def test_edited_tensors_are_refused(saved, tmp_path):
    from safetensors.numpy import load_file, save_file

    path = saved / "baseline.safetensors"
    tensors = load_file(str(path))
    metadata = {"model_type": "tfidf_logreg", "format_version": "1"}
    bad = {**tensors, "stance_coef": tensors["stance_coef"][:2]}
    save_file(bad, str(path), metadata=metadata)
    with pytest.raises(ValueError, match=r"field 'stance_coef': has shape"):
        TfidfBaseline.load(saved)
    bad = {**tensors, "topic_coef": np.full_like(tensors["topic_coef"], np.nan)}
    save_file(bad, str(path), metadata=metadata)
    with pytest.raises(ValueError, match=r"field 'topic_coef': holds NaN"):
        TfidfBaseline.load(saved)
    save_file({k: v for k, v in tensors.items() if k != "idf"}, str(path), metadata=metadata)
    with pytest.raises(ValueError, match=r"field 'idf': missing"):
        TfidfBaseline.load(saved)
    save_file(tensors, str(path), metadata={**metadata, "format_version": "7"})
    with pytest.raises(ValueError, match=r"field 'metadata.format_version'"):
        TfidfBaseline.load(saved)
