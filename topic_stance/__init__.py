"""topic-stance: label news paragraphs about US–China diplomacy by topic and stance.

`import topic_stance` stays fast (no torch, no transformers): the model is registered with
transformers' Auto classes and the `pipeline("topic-stance", model=FOLDER)` task at the moment
transformers' own auto / pipelines modules are imported (see `_registration`), so
`AutoModel.from_pretrained(folder)` and `pipeline("topic-stance", ...)` work after it.
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


from . import _registration  # noqa: E402

_registration.install()
