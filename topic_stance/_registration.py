"""Register the model with transformers when transformers itself is imported, not before.

Why: registering eagerly imports torch and transformers' pipeline machinery (seconds), which
every `topic-stance` command and `import topic_stance` would pay even when they never touch a
model. Instead a meta-path finder waits for `transformers.models.auto.configuration_auto` and
`transformers.pipelines`; right after either has loaded, the matching registration runs. If
they are already imported, registration runs at once.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

AUTO = "transformers.models.auto.configuration_auto"
PIPELINES = "transformers.pipelines"
_done: set[str] = set()


def register_auto() -> None:
    if "auto" not in _done:
        _done.add("auto")
        from . import model  # noqa: F401  (AutoConfig / AutoModel.register at import)


def register_pipeline() -> None:
    if "pipeline" not in _done:
        _done.add("pipeline")
        register_auto()
        from .pipeline import register

        register()


HOOKS = {AUTO: register_auto, PIPELINES: register_pipeline}


class _Loader(importlib.abc.Loader):
    def __init__(self, inner, hook):
        self.inner, self.hook = inner, hook

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        self.inner.exec_module(module)
        try:
            self.hook()
        except ImportError:  # torch missing: the splitter and labels still work
            pass


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in HOOKS or name in sys.modules:
            return None
        sys.meta_path.remove(self)  # find the real spec with the other finders
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Loader(spec.loader, HOOKS[name])
        return spec


def install() -> None:
    for name, hook in HOOKS.items():
        if name in sys.modules:
            try:
                hook()
            except ImportError:
                pass
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
