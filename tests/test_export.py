"""export.py: ONNX graphs and reduced-precision paths, each validated against fp32 and chosen by `auto` only if validated."""

import json
import shutil

import numpy as np
import pytest

from topic_stance.cli import main
from topic_stance.engines import choose_precision
from topic_stance.inference import ArticleScorer
from topic_stance.runtime import cpu_supports_bf16

TEXTS = ["wang warned on tariffs and trade sanctions", "constructive dialogue and cooperation on drills near taiwan",
         "met on russia war in ukraine " * 40]


@pytest.fixture(scope="module")
def exported(tiny_model_dir, tmp_path_factory, synthetic_data):
    folder = tmp_path_factory.mktemp("exported") / "model"
    shutil.copytree(tiny_model_dir, folder)
    main(["export", "--model", str(folder), "--format", "onnx", "--quantize", "int8", "--data", str(synthetic_data)])
    return folder


def fp32_probs(folder):
    return ArticleScorer.from_pretrained(folder, device="cpu", precision="fp32").probabilities(TEXTS)


def test_export_writes_graphs_and_a_validation_report(exported):
    for name in ("model.onnx", "model-int8.onnx", "model-int8-static.onnx", "model-int8-block.onnx"):
        assert (exported / "onnx" / name).exists(), name
    report = json.loads((exported / "precision.json").read_text())
    assert report["fp32_paragraphs_per_s"] > 0 and report["machine"] and report["min_agreement"] == 0.995
    for path in ("onnx-fp32", "int8-block", "int8-static", "int8", "int8-guarded"):
        result = report["paths"][path]
        assert result["paragraphs_per_s"] > 0
        assert 0.0 <= result["label_agreement"] <= 1.0 and result["paragraphs"] > 0
        assert result["validated"] == (result["label_agreement"] >= 0.995)


def test_static_int8_is_calibrated_on_training_text_only(tiny_model_dir, synthetic_data):
    from topic_stance.export import calibration_texts, split_texts, validation_texts

    calibration = calibration_texts(tiny_model_dir, [str(synthetic_data)], n=50)
    assert len(calibration) == 50 and set(calibration) <= set(split_texts(tiny_model_dir, "train", [str(synthetic_data)]))
    assert not set(calibration) & set(validation_texts(tiny_model_dir, [str(synthetic_data)]))


@pytest.mark.parametrize("precision", ["int8-block", "int8-static"])
def test_int8_graphs_score_close_to_fp32(exported, precision):
    import onnx

    reference = fp32_probs(exported)
    scorer = ArticleScorer.from_pretrained(exported, precision=precision)
    assert scorer.metadata == {"precision": precision, "device": "cpu", "backend": "onnx"}
    for a, b in zip(reference, scorer.probabilities(TEXTS)):
        assert np.abs(a - b).max() < 0.1
    ops = {n.op_type for n in onnx.load(str(exported / "onnx" / f"model-{precision}.onnx")).graph.node}
    assert ("MatMulNBits" in ops) if precision == "int8-block" else ("QuantizeLinear" in ops)


def test_onnx_fp32_matches_torch(exported):
    reference = fp32_probs(exported)
    onnx = ArticleScorer.from_pretrained(exported, precision="onnx-fp32").probabilities(TEXTS)
    for a, b in zip(reference, onnx):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_onnx_paths_run_without_torch_or_transformers(exported, tmp_path):
    """The fast first answer: predict on an ONNX path imports neither torch nor transformers (seconds saved)."""
    import subprocess
    import sys

    article = tmp_path / "a.txt"
    article.write_text("Wang warned\n\nwang warned on tariffs and trade sanctions today.\n")
    code = ("import sys; from topic_stance.cli import main\n"
            "try:\n"
            f"    main(['predict', '--model', {str(exported)!r}, {str(article)!r}, '--precision', 'onnx-fp32',"
            f" '--output', {str(tmp_path / 'o.jsonl')!r}])\n"
            f"    main(['predict', '--model', {str(exported)!r}, {str(article)!r}, '--precision', 'int8-guarded',"
            f" '--output', {str(tmp_path / 'g.jsonl')!r}])\n"
            "finally:\n"
            "    print(sorted(m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert json.loads((tmp_path / "o.jsonl").read_text())["paragraphs"][0]["stance"]


def test_int8_path_scores_close_to_fp32(exported):
    reference = fp32_probs(exported)
    scorer = ArticleScorer.from_pretrained(exported, precision="int8")
    assert scorer.metadata == {"precision": "int8", "device": "cpu", "backend": "onnx"}
    for a, b in zip(reference, scorer.probabilities(TEXTS)):
        assert np.abs(a - b).max() < 0.1


@pytest.mark.skipif(not cpu_supports_bf16(), reason="this CPU has no native bf16 kernels (AVX512-BF16/AMX)")
def test_bf16_path_scores_close_to_fp32(exported):
    reference = fp32_probs(exported)
    scorer = ArticleScorer.from_pretrained(exported, precision="bf16")
    assert scorer.metadata["precision"] == "bf16"
    for a, b in zip(reference, scorer.probabilities(TEXTS)):
        assert np.abs(a - b).max() < 0.1


def test_guarded_int8_rescores_uncertain_paragraphs_in_fp32(exported):
    reference = fp32_probs(exported)
    scorer = ArticleScorer.from_pretrained(exported, precision="int8-guarded")
    topic, stance = scorer.probabilities(TEXTS)
    engine = scorer.engine
    assert scorer.metadata["precision"] == "int8-guarded"
    fast_topic, fast_stance = engine.fast.predict_proba(TEXTS)
    for i in range(len(TEXTS)):
        near = (abs(fast_topic[i] - scorer.thresholds) < engine.margin).any() or \
            np.diff(np.sort(fast_stance[i])[-2:])[0] < 2 * engine.margin
        expected = (reference[0][i], reference[1][i]) if near else (fast_topic[i], fast_stance[i])
        np.testing.assert_allclose(topic[i], expected[0], atol=1e-4)  # re-scored by the fp32 graph: torch to 1e-4
        np.testing.assert_allclose(stance[i], expected[1], atol=1e-4)


def test_auto_picks_the_fastest_validated_path_measured_here(exported):
    report_path = exported / "precision.json"
    original = report_path.read_text()
    report = json.loads(original)
    try:
        report["fp32_paragraphs_per_s"] = 100.0
        for result in report["paths"].values():
            result.update(validated=False, paragraphs_per_s=200.0)
        report_path.write_text(json.dumps(report))
        assert choose_precision(exported, "cpu") == "fp32"           # nothing validated
        report["paths"]["int8"].update(validated=True, paragraphs_per_s=300.0)
        report["paths"]["onnx-fp32"].update(validated=True, paragraphs_per_s=150.0)
        report_path.write_text(json.dumps(report))
        assert choose_precision(exported, "cpu") == "int8"            # fastest validated
        assert ArticleScorer.from_pretrained(exported, precision="auto").metadata["precision"] == "int8"
        report["paths"]["bf16"] = {"validated": True, "paragraphs_per_s": 320.0}
        report_path.write_text(json.dumps(report))
        assert choose_precision(exported, "cpu") == "int8"            # torch path not >1.5x as fast: no imports
        report["paths"]["bf16"]["paragraphs_per_s"] = 440.0
        report_path.write_text(json.dumps(report))
        assert choose_precision(exported, "cpu") == "int8"            # 1.47x: still not worth the imports
        report["paths"]["bf16"]["paragraphs_per_s"] = 460.0
        report_path.write_text(json.dumps(report))
        assert choose_precision(exported, "cpu") == "bf16"            # clearly faster
        del report["paths"]["bf16"]
        report["paths"]["int8"]["paragraphs_per_s"] = 90.0
        report["paths"]["onnx-fp32"]["paragraphs_per_s"] = 95.0
        report_path.write_text(json.dumps(report))
        assert choose_precision(exported, "cpu") == "fp32"           # validated but slower than fp32
        report["machine"] = "another cpu x64"
        report["paths"]["int8"]["paragraphs_per_s"] = 900.0
        report_path.write_text(json.dumps(report))
        assert choose_precision(exported, "cpu") == "fp32"           # speeds measured elsewhere do not count
    finally:
        report_path.write_text(original)


def test_auto_without_export_is_fp32(tiny_model_dir):
    assert choose_precision(tiny_model_dir, "cpu") == "fp32"


def test_missing_export_gives_a_clear_message(tiny_model_dir, capsys, tmp_path):
    (tmp_path / "a.txt").write_text("Headline\n\nwang warned on tariffs and trade sanctions today.\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--model", str(tiny_model_dir), str(tmp_path / "a.txt"), "--precision", "int8",
              "--output", str(tmp_path / "o.jsonl")])
    assert exit_info.value.code == 2 and "topic-stance export" in capsys.readouterr().err
