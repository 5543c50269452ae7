"""inference.py: ArticleScorer, results, summaries, streaming, windows, empty input."""

import pytest

from topic_stance.inference import ArticleScorer

ARTICLE = ("Talks on tariffs\n\nBy Jane Doe\n\nwang warned on tariffs and trade sanctions.\n\n"
           "constructive dialogue and cooperation on drills near taiwan.\n\nLeave a Comment\n")


@pytest.fixture(scope="module")
def scorer(tiny_model_dir):
    return ArticleScorer.from_pretrained(tiny_model_dir, device="cpu", batch_size=4, max_length=32)


def test_score_article_fields_and_summary(scorer):
    result = scorer.score_article(ARTICLE, id="a1")
    assert result.headline == "Talks on tariffs"
    assert [p.id for p in result.paragraphs] == ["a1-p00", "a1-p01"]
    p = result.paragraphs[0]
    assert ARTICLE[p.start:p.end] == p.text
    assert set(p.topic_scores) == set(scorer.topic_labels) and p.stance in scorer.stance_labels
    assert abs(sum(p.stance_scores.values()) - 1) < 1e-3
    assert p.topics == [t for t in scorer.topic_labels if p.topic_scores[t] >= scorer.thresholds[scorer.topic_labels.index(t)]]
    summary = result.summary
    assert summary["paragraphs"] == 2 and summary["dominant_stance"] in scorer.stance_labels
    assert abs(sum(summary["stance_distribution"].values()) - 1) < 1e-6


def test_batching_and_sorting_do_not_change_results(scorer, tiny_model_dir):
    texts = ["wang warned", "constructive dialogue and cooperation on drills near taiwan " * 3, "met on"] * 3
    one_by_one = [scorer.score_paragraphs([t])[0].topic_scores for t in texts]
    batched = [r.topic_scores for r in scorer.score_paragraphs(texts)]
    for a, b in zip(one_by_one, batched):
        assert a == pytest.approx(b, abs=2e-4)


def test_score_articles_streams_lazily(scorer):
    consumed = []

    def articles():
        for i in range(10_000):
            consumed.append(i)
            yield {"id": f"x{i}", "text": ARTICLE}

    stream = scorer.score_articles(articles(), chunk_paragraphs=8)
    first = next(stream)
    assert first.id == "x0"
    assert len(consumed) < 50  # only the first chunks were read, not 10,000 articles
    assert [r.id for r in (next(stream) for _ in range(5))] == [f"x{i}" for i in range(1, 6)]


def test_long_paragraph_is_windowed_not_cut(scorer):
    tail = " drills near taiwan" * 5
    long_text = "met on " * 60 + tail
    encoded = scorer.engine.encode([long_text])
    assert len(encoded["input_ids"]) > 1 and set(encoded["owner"]) == {0}
    merged = scorer.score_paragraphs([long_text])[0]
    windows = scorer.engine.tokenizer.batch_decode(encoded["input_ids"], skip_special_tokens=True)
    assert "taiwan" in windows[-1]
    last = scorer.score_paragraphs([windows[-1]])[0]
    # topics are the max over windows: the merged score is at least the last window's
    assert merged.topic_scores["taiwan"] >= last.topic_scores["taiwan"] - 1e-3


def test_empty_inputs_give_empty_results(scorer):
    assert scorer.score_paragraphs([]) == []
    topic, stance = scorer.probabilities([])
    assert topic.shape == (0, 4) and stance.shape == (0, 3)
    empty = scorer.score_article("")
    assert empty.paragraphs == [] and empty.summary.dominant_stance is None
    headline_only = scorer.score_article("Only a headline here")
    assert headline_only.headline == "Only a headline here" and headline_only.paragraphs == []


def test_articles_without_body_inside_a_stream(scorer):
    stream = [{"id": "h", "text": "Headline only"}, {"id": "a", "text": ARTICLE}, {"id": "e", "text": "Another headline"}]
    results = list(scorer.score_articles(stream, chunk_paragraphs=1))
    assert [r.id for r in results] == ["h", "a", "e"] and [len(r.paragraphs) for r in results] == [0, 2, 0]


def test_summary_is_typed_and_serialisable(scorer):
    from topic_stance.inference import ArticleSummary

    result = scorer.score_article(ARTICLE, id="a1")
    assert isinstance(result.summary, ArticleSummary)
    as_dict = result.to_dict()["summary"]
    assert as_dict["paragraphs"] == 2 and set(as_dict["topic_share"]) == set(scorer.topic_labels)
    assert result.summary["dominant_stance"] == result.summary.dominant_stance  # v1 dict-style access


def test_labels_come_from_the_config_not_module_constants(tiny_model_dir, tmp_path):
    import shutil

    from topic_stance.model import TopicStanceConfig

    folder = tmp_path / "renamed"
    shutil.copytree(tiny_model_dir, folder)
    config = TopicStanceConfig.from_pretrained(folder)
    config.topic_labels = ["t1", "t2", "t3", "t4"]
    config.stance_labels = ["s1", "s2", "s3"]
    config.save_pretrained(folder)
    result = ArticleScorer.from_pretrained(folder, device="cpu").score_paragraphs(["wang warned"])[0]
    assert set(result.topic_scores) == {"t1", "t2", "t3", "t4"} and result.stance in {"s1", "s2", "s3"}


def test_repeated_paragraphs_are_scored_once(scorer, tiny_model_dir):
    from topic_stance.inference import ArticleScorer

    fresh = ArticleScorer.from_pretrained(tiny_model_dir, device="cpu")
    calls = []
    original = fresh.engine.encode
    fresh.engine.encode = lambda texts: (calls.append(list(texts)), original(texts))[1]
    syndicated = [{"id": f"site{i}", "text": ARTICLE.replace("wang", "wang  ")} for i in range(4)]
    results = list(fresh.score_articles(syndicated, chunk_paragraphs=3))
    assert sum(len(c) for c in calls) == 2 and fresh.reused_share == 0.75  # 8 paragraphs, 2 distinct
    first = results[0].paragraphs[0]
    assert all(r.paragraphs[0].topic_scores == first.topic_scores for r in results)
    alone = scorer.score_paragraphs([first.text])[0]
    assert alone.topic_scores == pytest.approx(first.topic_scores, abs=2e-4)
