"""Label files -> `datasets.DatasetDict` with article-grouped train / validation / test splits.

Why split by article: paragraphs of one article share names, events and phrasing, so a
paragraph-level split leaks the test set into training and inflates every metric.

- test: the real seed articles (`source == "seed"`), never trained on by default;
- validation: a deterministic 15% of the other articles, those with the lowest hash of their
  article id (independent of file order and of Python's hash seed);
- train: the rest.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Iterable

from .labels import STANCES, TOPICS, encode_topics, load_records

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = REPO / "data"
DEFAULT_LABEL_DIR = DATA_DIR / "labelled"
TEST_SOURCE = "seed"
VALIDATION_SHARE = 0.15


class LeakageError(AssertionError):
    """An article or an identical paragraph text sits in two splits."""


def article_bucket(article_id: str) -> float:
    """A stable pseudo-random number in [0, 1) for an article id (SHA-256 based, not Python's hash)."""
    digest = hashlib.sha256(article_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(records: Iterable[dict], validation_share: float = VALIDATION_SHARE,
                  test_source: str = TEST_SOURCE) -> dict[str, list[dict]]:
    """Records grouped into train / validation / test; every article lands in exactly one split.

    Test: every article whose records have `source == test_source`. Validation: the
    `validation_share` of the other articles with the lowest `article_bucket` (deterministic,
    independent of file order). Train: the rest.

    >>> splits = assign_splits(load_records([DEFAULT_LABEL_DIR]))
    >>> {r["source"] for r in splits["test"]}
    {'seed'}
    """
    records = list(records)
    test_articles = {r["article_id"] for r in records if r.get("source") == test_source}
    others = sorted({r["article_id"] for r in records} - test_articles, key=article_bucket)
    count = round(len(others) * validation_share) if len(others) > 1 else 0
    validation_articles = set(others[:max(count, 1 if len(others) > 1 else 0)])
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for record in records:
        article = record["article_id"]
        name = "test" if article in test_articles else "validation" if article in validation_articles else "train"
        splits[name].append(record)
    return splits


def check_no_leakage(splits: dict[str, list[dict]]) -> None:
    """Raise LeakageError if an article id or an identical (normalised) text is in two splits."""
    owner_article: dict[str, str] = {}
    owner_text: dict[str, tuple[str, str]] = {}
    for name, records in splits.items():
        for record in records:
            previous = owner_article.setdefault(record["article_id"], name)
            if previous != name:
                raise LeakageError(f"article {record['article_id']!r} is in both {previous} and {name}")
            key = " ".join(record["text"].split()).casefold()
            seen = owner_text.setdefault(key, (name, record["id"]))
            if seen[0] != name:
                raise LeakageError(f"paragraph {record['id']!r} ({name}) repeats {seen[1]!r} ({seen[0]}) word for word")


def to_features(record: dict) -> dict:
    """The columns the model trains on, beside the record's own fields."""
    return {
        "id": record["id"],
        "article_id": record["article_id"],
        "text": record["text"],
        "topics": list(record["topics"]),
        "stance": record["stance"],
        "source": str(record.get("source", "")),
        "topic_labels": encode_topics(record["topics"]),
        "stance_label": STANCES.index(record["stance"]),
    }


def load_splits(paths: Iterable[str | Path] | None = None, validation_share: float = VALIDATION_SHARE,
                test_source: str = TEST_SOURCE):
    """Validate label files and return a DatasetDict with train, validation and test.

    >>> splits = load_splits()                       # the bundled data/labelled/*.jsonl
    >>> splits["test"].unique("source")
    ['seed']
    """
    from datasets import Dataset, DatasetDict, Features, List, Value

    records = load_records([DEFAULT_LABEL_DIR] if paths is None else paths)
    splits = assign_splits(records, validation_share, test_source)
    check_no_leakage(splits)
    features = Features({
        "id": Value("string"), "article_id": Value("string"), "text": Value("string"),
        "topics": List(Value("string")), "stance": Value("string"), "source": Value("string"),
        "topic_labels": List(Value("float32"), length=len(TOPICS)), "stance_label": Value("int64"),
    })
    result = {}
    for name, rows in splits.items():
        encoded = [to_features(r) for r in rows]
        result[name] = Dataset.from_dict({key: [row[key] for row in encoded] for key in features}, features=features)
    return DatasetDict(result)


def label_counts(records: Iterable[dict]) -> dict:
    """Counts a datasheet or model card reports: paragraphs, articles, per topic, per stance."""
    records = list(records)
    topics = Counter(t for r in records for t in r["topics"])
    stances = Counter(r["stance"] for r in records)
    return {
        "paragraphs": len(records),
        "articles": len({r["article_id"] for r in records}),
        "topics": {t: topics.get(t, 0) for t in TOPICS},
        "no_topic": sum(1 for r in records if not r["topics"]),
        "two_or_more_topics": sum(1 for r in records if len(r["topics"]) >= 2),
        "stances": {s: stances.get(s, 0) for s in STANCES},
    }


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in blocks (model weights are hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def repo_relative(path: str | Path) -> str:
    """A path as model cards and manifests show it: relative to the repository when inside it,
    so a folder trained on one machine does not carry that machine's absolute paths."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(REPO))
    except ValueError:
        return str(path)
