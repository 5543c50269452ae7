"""evaluation.py: the report, the side-by-side table and the most confident mistakes."""

import numpy as np

from topic_stance.evaluation import evaluation_report, find_errors, format_table


class FixedScorer:
    """A scorer with known probabilities: decisions follow decision.py with these thresholds."""

    topic_labels = ["taiwan", "ukraine_russia", "trade", "human_rights"]
    stance_labels = ["confrontational", "conciliatory", "neutral"]
    thresholds = np.array([0.5, 0.5, 0.5, 0.5])

    def probabilities(self, texts):
        topic = np.array([[0.9, 0.1, 0.1, 0.1], [0.2, 0.1, 0.95, 0.1]])[:len(texts)]
        stance = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])[:len(texts)]
        return topic, stance


RECORDS = [{"id": "a-p00", "article_id": "a", "text": "one", "topics": ["taiwan"], "stance": "confrontational"},
           {"id": "b-p00", "article_id": "b", "text": "two", "topics": [], "stance": "conciliatory"}]


def test_mistakes_are_found_and_ranked_by_confidence():
    mistakes = find_errors(FixedScorer(), RECORDS)
    assert [(m["id"], m["kind"]) for m in mistakes] == [("b-p00", "topic trade"), ("b-p00", "stance")]
    assert mistakes[0]["confidence"] == 0.95 and mistakes[1]["predicted"] == "neutral"


def test_report_and_table_agree():
    report = evaluation_report(FixedScorer(), RECORDS, bootstrap_rounds=0)
    assert report["paragraphs"] == 2 and report["stance"]["accuracy"] == 0.5
    assert report["topics"]["micro_f1"] == 2 * 1 / (2 * 1 + 1)  # tp 1, fp 1 (trade), fn 0
    table = format_table({"fixed": report})
    assert "fixed" in table and "0.500" in table


def test_gold_topics_are_encoded_in_the_models_label_order():
    """A model whose config lists topics in another order is scored against the right columns."""

    class ReversedScorer(FixedScorer):
        topic_labels = FixedScorer.topic_labels[::-1]

        def probabilities(self, texts):
            topic, stance = FixedScorer.probabilities(self, texts)
            return topic[:, ::-1], stance

    records = [dict(RECORDS[0]), dict(RECORDS[1], topics=["trade"], stance="neutral")]
    report = evaluation_report(ReversedScorer(), records, bootstrap_rounds=0)
    assert report["topics"]["micro_f1"] == 1.0
    assert report["topics"]["per_label"]["trade"]["f1"] == 1.0
