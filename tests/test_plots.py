"""plots.py: every plot returns its Axes and draws what the metrics say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np

from conftest import synthetic_records


def test_data_plots_return_axes():
    import matplotlib.pyplot as plt

    from topic_stance import plots
    from topic_stance.data import assign_splits

    records = synthetic_records(articles=8, per_article=3)
    splits = assign_splits(records)
    try:
        for draw in (lambda: plots.label_counts_by_split(splits), lambda: plots.topic_cooccurrence(records),
                     lambda: plots.stance_by_topic(records), lambda: plots.paragraph_lengths(splits)):
            assert isinstance(draw(), matplotlib.axes.Axes)
        table = plots.label_count_frame(splits)
        assert table.loc["paragraphs", "all"] == len(records)
        assert table.loc["paragraphs"].drop("all").sum() == len(records)
        _, ax = plt.subplots()
        assert plots.topic_cooccurrence(records, ax=ax) is ax  # draws on the Axes it is given
    finally:
        plt.close("all")


def test_evaluation_plots_return_axes_and_match_the_metrics():
    import matplotlib.pyplot as plt

    from topic_stance import plots
    from topic_stance.metrics import score_predictions

    rng = np.random.default_rng(0)
    n = 40
    topic_true = rng.integers(0, 2, (n, 4))
    stance_true = rng.integers(0, 3, n)
    topic_probs = np.clip(topic_true * 0.6 + rng.random((n, 4)) * 0.4, 0, 1)
    stance_probs = rng.dirichlet(np.ones(3), n)
    report = score_predictions([f"a{i // 4}" for i in range(n)], topic_true, stance_true, topic_probs, stance_probs,
                               [0.5] * 4, bootstrap_rounds=0)
    try:
        assert isinstance(plots.per_label_f1_bars({"a": report, "b": report}), matplotlib.axes.Axes)
        assert isinstance(plots.confusion_matrix(report), matplotlib.axes.Axes)
        assert isinstance(plots.confusion_matrix(report["stance"], normalize=True), matplotlib.axes.Axes)
        ax = plots.precision_recall_per_topic(topic_probs, topic_true, [0.5] * 4, ["t0", "t1", "t2", "t3"])
        assert isinstance(ax, matplotlib.axes.Axes)
        # the reliability inputs are the ones the reported ECE is computed from
        ax = plots.reliability_diagram(*plots.topic_confidence(topic_probs, topic_true), title="topics")
        assert f"ECE {report['calibration']['topic_ece']:.3f}" in ax.get_title()
        ax = plots.reliability_diagram(*plots.stance_confidence(stance_probs, stance_true))
        assert f"ECE {report['calibration']['stance_ece']:.3f}" in ax.get_title()
    finally:
        plt.close("all")


