"""The `>>>` examples in the package run and give what they show."""

import doctest
import importlib

import pytest

from conftest import REPO

MODULES = ["decision", "labels", "inference", "model", "metrics", "paragraphs", "data", "plots"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    import matplotlib

    matplotlib.use("Agg")
    from topic_stance.data import DEFAULT_LABEL_DIR, assign_splits
    from topic_stance.labels import load_records

    module = importlib.import_module(f"topic_stance.{name}")
    result = doctest.testmod(module, extraglobs={"DATA": REPO / "data", "DEFAULT_LABEL_DIR": DEFAULT_LABEL_DIR,
                                                 "assign_splits": assign_splits, "load_records": load_records},
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
