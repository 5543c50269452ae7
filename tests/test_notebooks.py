"""The notebooks run headless end to end, and their figures equal the `evaluate` command's."""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from conftest import REPO, synthetic_records

NOTEBOOKS = REPO / "notebooks"


# ---------------------------------------------------------------- plots.py, fast
def test_data_plots_return_axes():
    import matplotlib.pyplot as plt

    from topic_stance import plots
    from topic_stance.data import assign_splits

    records = synthetic_records(articles=8, per_article=3)
    splits = assign_splits(records)
    try:
        for draw in (lambda: plots.label_counts_by_split(splits), lambda: plots.topic_cooccurrence(records),
                     lambda: plots.stance_by_topic(records), lambda: plots.paragraph_lengths(splits)):
            assert isinstance(draw(), matplotlib.axes.Axes)
        table = plots.label_count_frame(splits)
        assert table.loc["paragraphs", "all"] == len(records)
        assert table.loc["paragraphs"].drop("all").sum() == len(records)
        _, ax = plt.subplots()
        assert plots.topic_cooccurrence(records, ax=ax) is ax  # draws on the Axes it is given
    finally:
        plt.close("all")


def test_evaluation_plots_return_axes_and_match_the_metrics():
    import matplotlib.pyplot as plt

    from topic_stance import plots
    from topic_stance.metrics import score_predictions

    rng = np.random.default_rng(0)
    n = 40
    topic_true = rng.integers(0, 2, (n, 4))
    stance_true = rng.integers(0, 3, n)
    topic_probs = np.clip(topic_true * 0.6 + rng.random((n, 4)) * 0.4, 0, 1)
    stance_probs = rng.dirichlet(np.ones(3), n)
    report = score_predictions([f"a{i // 4}" for i in range(n)], topic_true, stance_true, topic_probs, stance_probs,
                               [0.5] * 4, bootstrap_rounds=0)
    try:
        assert isinstance(plots.per_label_f1_bars({"a": report, "b": report}), matplotlib.axes.Axes)
        assert isinstance(plots.confusion_matrix(report), matplotlib.axes.Axes)
        assert isinstance(plots.confusion_matrix(report["stance"], normalize=True), matplotlib.axes.Axes)
        ax = plots.precision_recall_per_topic(topic_probs, topic_true, [0.5] * 4, ["t0", "t1", "t2", "t3"])
        assert isinstance(ax, matplotlib.axes.Axes)
        # the reliability inputs are the ones the reported ECE is computed from
        ax = plots.reliability_diagram(*plots.topic_confidence(topic_probs, topic_true), title="topics")
        assert f"ECE {report['calibration']['topic_ece']:.3f}" in ax.get_title()
        ax = plots.reliability_diagram(*plots.stance_confidence(stance_probs, stance_true))
        assert f"ECE {report['calibration']['stance_ece']:.3f}" in ax.get_title()
    finally:
        plt.close("all")


# ---------------------------------------------------------------- notebooks, headless
@pytest.fixture(scope="module")
def python3_kernel(tmp_path_factory, monkeypatch_module):
    """A `python3` kernelspec that starts this interpreter (the venv's), whatever else is installed.

    The venv's ipykernel ships a python3 spec whose argv "python" jupyter_client maps to
    sys.executable; a user-level spec (~/.local/share/jupyter) would take precedence over it,
    so a spec on JUPYTER_PATH, searched first, pins the kernel to sys.executable.
    """
    from jupyter_client.kernelspec import KernelSpecManager

    folder = tmp_path_factory.mktemp("jupyter") / "kernels" / "python3"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (test)", "language": "python"}))
    monkeypatch_module.setenv("JUPYTER_PATH", str(folder.parent.parent))
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] == sys.executable
    return "python3"


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def run_notebook(name: str, parameters: str, kernel_name: str):
    """Execute a notebook with its "parameters" cell replaced; raise on the first failing cell."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    tagged = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name}: expected one cell tagged 'parameters'"
    tagged[0].source = parameters
    NotebookClient(nb, timeout=600, kernel_name=kernel_name,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


@pytest.mark.parametrize("name", ["01_data.ipynb", "02_evaluation.ipynb"])
def test_notebooks_are_committed_clean(name):
    import nbformat

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: outputs not cleared"


def test_data_notebook_runs(python3_kernel):
    nb = run_notebook("01_data.ipynb", 'DATA = ["../data/labelled"]', python3_kernel)
    images = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
              if "image/png" in o.get("data", {})]
    assert len(images) == 4


def test_evaluation_notebook_matches_the_evaluate_command(python3_kernel, tiny_model_dir, synthetic_data, tmp_path):
    from topic_stance import training
    from topic_stance.cli import main

    args, _ = training.make_arguments(data=[str(synthetic_data)], bootstrap=0, output=str(tmp_path / "tfidf"))
    baseline = training.train_baseline(args)
    notebook_json, command_json = tmp_path / "notebook.json", tmp_path / "command.json"
    parameters = "\n".join([f"MODEL = {str(tiny_model_dir)!r}", f"BASELINE = {str(baseline)!r}",
                            f"DATA = [{str(synthetic_data)!r}]", "BOOTSTRAP = 50",
                            f"REPORT_PATH = {str(notebook_json)!r}"])
    nb = run_notebook("02_evaluation.ipynb", parameters, python3_kernel)
    images = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
              if "image/png" in o.get("data", {})]
    assert len(images) == 5  # F1 bars, confusion, reliability, precision-recall, comparison

    main(["evaluate", "--model", str(tiny_model_dir), "--compare", str(baseline), "--data", str(synthetic_data),
          "--output", str(command_json), "--bootstrap", "50", "--device", "cpu"])
    from_notebook = json.loads(notebook_json.read_text())["models"]
    from_command = json.loads(command_json.read_text())["models"]
    for name, folder in (("transformer", tiny_model_dir), ("baseline", baseline)):
        mine, theirs = from_notebook[name], from_command[str(folder)]
        assert mine["topics"]["micro_f1"] == pytest.approx(theirs["topics"]["micro_f1"], abs=1e-9)
        assert mine["stance"]["macro_f1"] == pytest.approx(theirs["stance"]["macro_f1"], abs=1e-9)
        for key, interval in theirs["ci95"].items():
            np.testing.assert_allclose(mine["ci95"][key], interval, rtol=0, atol=1e-9)
        assert mine["stance"]["confusion_matrix"] == theirs["stance"]["confusion_matrix"]
