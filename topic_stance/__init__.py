"""topic-stance: label news paragraphs about US–China diplomacy by topic and stance.

Importing the package registers the model with transformers' Auto classes and the
`pipeline("topic-stance", model=FOLDER)` task, when torch and transformers are installed.
"""

from .labels import STANCES, TOPICS

__all__ = ["ArticleScorer", "TopicStanceConfig", "TopicStanceModel", "TOPICS", "STANCES", "load_splits"]


def __getattr__(name):
    # Lazy attributes: the scorer, model classes and data loader import torch / datasets on first use.
    if name == "ArticleScorer":
        from .inference import ArticleScorer
        return ArticleScorer
    if name in ("TopicStanceConfig", "TopicStanceModel"):
        from . import model
        return getattr(model, name)
    if name == "load_splits":
        from .data import load_splits
        return load_splits
    raise AttributeError(name)


def _register() -> None:
    try:
        from .pipeline import register
    except ImportError:  # torch or transformers missing: the splitter and labels still work
        return
    register()


_register()
