"""pipeline.py: `transformers.pipeline("topic-stance")` gives what ArticleScorer gives."""

import json

import pytest

from conftest import REPO


def test_pipeline_equals_the_scorer_on_the_seed_paragraphs(tiny_model_dir):
    import topic_stance  # noqa: F401  (registers the task)
    from transformers import pipeline

    from topic_stance.inference import ArticleScorer

    texts = [json.loads(line)["text"] for line in (REPO / "data/labelled/seed.jsonl").read_text().splitlines()]
    texts.append("met on " * 200 + "drills near taiwan")  # a windowed paragraph too
    classifier = pipeline("topic-stance", model=str(tiny_model_dir), device="cpu")
    from_pipeline = classifier(texts)
    from_scorer = ArticleScorer.from_pretrained(tiny_model_dir, device="cpu").score_paragraphs(texts)
    assert len(from_pipeline) == len(from_scorer) == 86
    for mine, theirs in zip(from_pipeline, from_scorer):
        assert mine["topics"] == theirs.topics and mine["stance"] == theirs.stance
        assert mine["topic_scores"] == pytest.approx(theirs.topic_scores, abs=2e-4)
        assert mine["stance_scores"] == pytest.approx(theirs.stance_scores, abs=2e-4)
