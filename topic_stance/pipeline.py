"""`transformers.pipeline("topic-stance", model=FOLDER)`: the model in the stock pipeline API.

Registered when `topic_stance` is imported. Each input paragraph gives the same topics,
stance and scores as `ArticleScorer.score_paragraphs` (the same windows, temperatures and
thresholds from the config, decided by decision.py).
"""

from __future__ import annotations

import numpy as np
from transformers import AutoModel, Pipeline
from transformers.pipelines import PIPELINE_REGISTRY

from .decision import stance_names, topic_names


class TopicStancePipeline(Pipeline):
    """Paragraph(s) in; per paragraph {"topics", "stance", "topic_scores", "stance_scores"} out."""

    def _sanitize_parameters(self, **kwargs):
        return {}, {}, {}

    def _engine(self):
        from .engines import TransformerEngine

        if getattr(self, "_topic_stance_engine", None) is None:
            self._topic_stance_engine = TransformerEngine(self.model, self.tokenizer, device=str(self.device),
                                                          batch_size=64, precision="fp32")
        return self._topic_stance_engine

    def preprocess(self, text):
        engine = self._engine()
        return {"encoded": engine.encode([text])}

    def _forward(self, model_inputs):
        engine = self._engine()
        topic_logits, stance_logits = engine.merged_logits(model_inputs["encoded"])
        return {"topic_logits": topic_logits, "stance_logits": stance_logits}

    def postprocess(self, model_outputs):
        from .decision import calibrated

        config = self.model.config
        topic_probs, stance_probs = calibrated(model_outputs["topic_logits"], model_outputs["stance_logits"],
                                               config.topic_temperature, config.stance_temperature)
        return {"topics": topic_names(topic_probs, config.topic_thresholds, config.topic_labels)[0],
                "stance": stance_names(stance_probs, config.stance_labels)[0],
                "topic_scores": {t: round(float(p), 4) for t, p in zip(config.topic_labels, np.ravel(topic_probs))},
                "stance_scores": {s: round(float(p), 4) for s, p in zip(config.stance_labels, np.ravel(stance_probs))}}


def register() -> None:
    from .model import TopicStanceModel  # noqa: F401  (registers the Auto classes)

    PIPELINE_REGISTRY.register_pipeline("topic-stance", pipeline_class=TopicStancePipeline, pt_model=AutoModel,
                                        type="text")
