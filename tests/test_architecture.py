"""Module boundaries: no import cycle, SystemExit only in cli.py, the API never exits the host."""

import ast
import re
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "topic_stance"


def import_graph() -> dict[str, set[str]]:
    """Module -> package modules it imports anywhere (function-local imports included)."""
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")}
    graph = {}
    for name in modules:
        deps = set()
        for node in ast.walk(ast.parse((PACKAGE / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("topic_stance."):
                deps.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                deps.update(a.name.split(".")[1] for a in node.names if a.name.startswith("topic_stance."))
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_inside_the_package():
    graph = import_graph()
    assert len(graph) > 15
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def exits(tree: ast.AST) -> list[int]:
    """Lines raising SystemExit or calling sys.exit, outside `if __name__ == "__main__":` blocks."""
    found = []

    def walk(node, in_main=False):
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            in_main = True
        if not in_main and isinstance(node, ast.Raise) and node.exc is not None and "SystemExit" in ast.unparse(node.exc):
            found.append(node.lineno)
        if not in_main and isinstance(node, ast.Call) and ast.unparse(node.func) in ("sys.exit", "exit", "quit"):
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            walk(child, in_main)

    walk(tree)
    return found


def test_system_exit_is_raised_only_in_cli():
    offenders = {p.name: exits(ast.parse(p.read_text())) for p in PACKAGE.glob("*.py")
                 if p.name not in ("cli.py", "__main__.py")}
    assert {name: lines for name, lines in offenders.items() if lines} == {}
    assert exits(ast.parse("def f():\n    raise SystemExit('x')\n")) == [2]  # the finder finds one


def test_one_decision_function(tmp_path):
    """Thresholds are compared and stance argmaxed only in decision.py (calibration/metrics call it)."""
    pattern = re.compile(r">=\s*(self\.)?thresholds|>=\s*np\.asarray\(.*threshold|(stance|sp)[\w\[\]:, ]*\.argmax\(")
    offenders = [p.name for p in PACKAGE.glob("*.py") if p.name != "decision.py" and pattern.search(p.read_text())]
    assert offenders == []


BAD_CALLS = {
    "missing folder": lambda tmp: __import__("topic_stance.inference").inference.ArticleScorer.from_pretrained(tmp / "nope"),
    "cuda without a gpu": lambda tmp: __import__("topic_stance.runtime").runtime.pick_device("cuda"),
    "unknown device": lambda tmp: __import__("topic_stance.runtime").runtime.pick_device("tpu"),
    "fp16 on cpu": lambda tmp: __import__("topic_stance.runtime").runtime.pick_training_precision("fp16", "cpu"),
    "bad label file": lambda tmp: __import__("topic_stance.labels").labels.load_records(
        [(tmp / "bad.jsonl").write_text("{oops\n") and tmp / "bad.jsonl"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_the_python_api_raises_exceptions_never_system_exit(tmp_path, case):
    import torch

    if case == "cuda without a gpu" and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    try:
        BAD_CALLS[case](tmp_path)
    except SystemExit:  # pragma: no cover - the failure this test exists for
        pytest.fail(f"{case}: raised SystemExit")
    except Exception as err:
        assert str(err)
    else:
        pytest.fail(f"{case}: no error")


def test_model_api_with_bad_sizes_raises_value_errors(tiny_model_dir):
    from topic_stance.errors import UnsupportedSetting
    from topic_stance.inference import ArticleScorer

    for kwargs in ({"batch_size": -1}, {"batch_size": 0}, {"max_length": 3}, {"precision": "int4"},
                   {"device": "cuda" if not __import__("torch").cuda.is_available() else "tpu"}):
        with pytest.raises(UnsupportedSetting):
            ArticleScorer.from_pretrained(tiny_model_dir, **kwargs)


def test_package_import_registers_auto_classes_and_pipeline(tiny_model_dir):
    import topic_stance  # noqa: F401
    from transformers import AutoConfig, AutoModel

    assert type(AutoModel.from_pretrained(tiny_model_dir)).__name__ == "TopicStanceModel"
    assert AutoConfig.from_pretrained(tiny_model_dir).model_type == "topic_stance"


def test_registration_in_a_fresh_process_and_a_fast_import(tiny_model_dir):
    """`import topic_stance` loads no torch; AutoModel and pipeline() still know the model afterwards."""
    import subprocess
    import sys

    code = ("import sys, topic_stance\n"
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
            "from transformers import AutoModel, pipeline\n"
            f"model = AutoModel.from_pretrained({str(tiny_model_dir)!r})\n"
            "assert type(model).__name__ == 'TopicStanceModel'\n"
            f"out = pipeline('topic-stance', model={str(tiny_model_dir)!r}, device='cpu')('wang warned on tariffs')\n"
            "assert set(out) == {'topics', 'stance', 'topic_scores', 'stance_scores'}\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
