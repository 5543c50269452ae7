"""model_card.py: the card says what the run measured, with repo-relative paths."""

from topic_stance.model_card import render_model_card
from topic_stance.training import make_arguments


def split(f1):
    return {"topics": {"micro_f1": f1, "macro_f1": f1, "per_label": {"taiwan": {"f1": f1, "support": 3}}},
            "stance": {"macro_f1": f1, "accuracy": f1, "per_class": {"neutral": {"f1": f1, "support": 2}}}}


def test_card_shows_metrics_distillation_checks_and_relative_paths():
    from topic_stance.data import DEFAULT_LABEL_DIR

    args, training_args = make_arguments(data=[str(DEFAULT_LABEL_DIR)])
    metrics = {"model": "transformer", "base_model": "b", "epochs_run": 2, "topic_temperature": 1.1,
               "stance_temperature": 0.9, "topic_thresholds": {"taiwan": 0.4}, "test": split(0.81),
               "validation": split(0.77), "baseline": {"test": split(0.5)},
               "distillation": {"teacher_base_model": "mpnet", "targets": "data/teacher/targets.jsonl", "alpha": 0.5,
                                "temperature": 1.0, "transfer": {"file": "data/transfer/paragraphs.jsonl",
                                                                 "paragraphs": 1234, "sha256": "ab"}},
               "checks": {"cases": 20, "pass_rate": 0.9,
                          "capabilities": {"tariff_cut": {"type": "MFT", "cases": 10, "pass_rate": 0.8}}}}
    card = render_model_card(metrics, args, training_args)
    assert "0.810" in card and "0.500" in card and "docs/labeling-guide.md" in card
    assert "1234 unlabelled transfer paragraphs" in card
    assert "soft targets of `mpnet`" in card and "| tariff_cut | MFT | 10 | 80% |" in card
    assert "- data: data/labelled " in card and "/work/" not in card and "/root/" not in card
