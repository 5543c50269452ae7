"""topic-stance: label news paragraphs about US–China diplomacy by topic and stance.

>>> from topic_stance import ArticleScorer
>>> scorer = ArticleScorer.from_pretrained("models/minilm-topic-stance")
"""

from .labels import STANCES, TOPICS

__all__ = ["ArticleScorer", "TopicStanceConfig", "TopicStanceModel", "TOPICS", "STANCES", "load_splits"]


def __getattr__(name):
    # Lazy imports: `import topic_stance` stays fast and torch-free for the splitter and labels.
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
