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


@pytest.mark.parametrize("name", ["01_data.ipynb", "02_evaluation.ipynb", "03_labelling.ipynb"])
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


def test_labelling_notebook_runs_the_loop(python3_kernel, synthetic_data):
    """select -> export tasks -> simulated corrections -> import -> retrain, twice, with the learning curves."""
    parameters = "\n".join([f"DATA = [{str(synthetic_data)!r}]", "START = 20", "BATCH = 10", "ROUNDS = 2",
                            "PER_ARTICLE_CAP = 3", "SEED = 0"])
    nb = run_notebook("03_labelling.ipynb", parameters, python3_kernel)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(o.get("text", "") for o in outputs)
    assert "round 1: 10 tasks" in text and "round 2: 10 tasks" in text and "-> 40 labels" in text
    assert '"annotator": "user 7"' in text  # who labelled survived the import
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 1
