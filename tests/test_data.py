import pytest

from topic_stance.data import LeakageError, article_bucket, assign_splits, check_no_leakage, load_splits
from topic_stance.labels import load_records

from conftest import REPO

DATA = REPO / "data"


@pytest.fixture(scope="module")
def bundled():
    return load_splits()


def test_test_split_is_the_seed_articles(bundled):
    assert set(bundled["test"]["source"]) == {"seed"}
    assert len(set(bundled["test"]["article_id"])) == 5
    assert "seed" not in set(bundled["train"]["source"]) | set(bundled["validation"]["source"])


def test_splits_are_article_disjoint_and_share_no_paragraph_text(bundled):
    articles = {name: set(split["article_id"]) for name, split in bundled.items()}
    texts = {name: {" ".join(t.split()).casefold() for t in split["text"]} for name, split in bundled.items()}
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        assert not articles[a] & articles[b]
        assert not texts[a] & texts[b]


def test_validation_is_about_15_percent_of_authored_articles(bundled):
    train, validation = set(bundled["train"]["article_id"]), set(bundled["validation"]["article_id"])
    assert len(train | validation) >= 40
    assert abs(len(validation) / len(train | validation) - 0.15) < 0.01


def test_split_is_deterministic_and_by_article():
    assert 0 <= article_bucket("authored-007") < 1
    assert article_bucket("authored-007") != article_bucket("authored-008")
    assert article_bucket("authored-007") == 0.0 + int.from_bytes(
        __import__("hashlib").sha256(b"authored-007").digest()[:8], "big") / 2**64  # not Python's salted hash
    records = load_records([DATA / "labelled"])
    splits = assign_splits(records)
    assert assign_splits(list(reversed(records)))["validation"] != [] and \
        {r["id"] for r in assign_splits(list(reversed(records)))["validation"]} == {r["id"] for r in splits["validation"]}
    by_article = {}
    for name, rows in splits.items():
        for r in rows:
            assert by_article.setdefault(r["article_id"], name) == name


def test_leakage_check_catches_shared_article_and_shared_text():
    a = {"id": "x-p00", "article_id": "x", "text": "Same words here."}
    with pytest.raises(LeakageError):
        check_no_leakage({"train": [a], "validation": [dict(a, id="x-p01")], "test": []})
    with pytest.raises(LeakageError):
        check_no_leakage({"train": [a], "validation": [], "test": [dict(a, id="y-p00", article_id="y")]})


def test_features_encode_labels(bundled):
    row = bundled["test"][0]
    assert len(row["topic_labels"]) == 4 and row["stance_label"] in (0, 1, 2)
