"""Weight interpolation (WiSE-FT) of the fine-tuned student's encoder with its pre-trained one.

    python benchmarks/bench_interpolation.py                          # 3 seeds of the default recipe
    python benchmarks/bench_interpolation.py --models models/minilm-topic-stance --lambdas 1 0.8

Why: the student reads authored validation text well (0.86 stance) and real seed-article text less
well (0.80); fine-tuning may trade the pre-trained encoder's robustness for the authored style.
Interpolating the encoder's weights, theta = lam * fine-tuned + (1 - lam) * pre-trained (the heads
stay fine-tuned, calibration is fitted again on validation), is the cheapest test of that: no
training and no prediction cost. For each lam the script prints mean and spread over the models of
validation, seed test and behavioural pass rate. lam is a choice only validation and the checks may
make: the seed test stands in for unseen real text.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from topic_stance.calibration import calibrate  # noqa: E402
from topic_stance.data import load_splits  # noqa: E402
from topic_stance.decision import calibrated  # noqa: E402
from topic_stance.engines import TransformerEngine, load_model  # noqa: E402
from topic_stance.training import behavioural_checks, resolve_base_model, score_split  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from bench_variance import model_folders, summarise  # noqa: E402


def interpolate(model, fine_tuned: dict, pre_trained: dict, lam: float) -> None:
    """Set the encoder to lam * fine-tuned + (1 - lam) * pre-trained, in place (non-float buffers kept)."""
    mixed = {key: (lam * value.float() + (1 - lam) * pre_trained[key].float()).to(value.dtype)
             if key in pre_trained and value.is_floating_point() else value for key, value in fine_tuned.items()}
    model.encoder.load_state_dict(mixed)


def evaluate(folder: Path, lambdas: list[float], splits) -> list[dict]:
    from transformers import AutoModel, AutoTokenizer

    model = load_model(folder).float().eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    pre_trained = AutoModel.from_pretrained(resolve_base_model("bundled")).state_dict()
    fine_tuned = {key: value.clone() for key, value in model.encoder.state_dict().items()}
    rows = []
    for lam in lambdas:
        interpolate(model, fine_tuned, pre_trained, lam)
        engine = TransformerEngine(model, tokenizer, device="cpu")
        logits = {name: engine.merged_logits(engine.encode(splits[name]["text"])) for name in ("validation", "test")}
        fitted = calibrate(*logits["validation"], splits["validation"]["topic_labels"],
                           splits["validation"]["stance_label"], tolerance=1.0)
        for key in ("topic_temperature", "stance_temperature", "topic_thresholds"):
            setattr(model.config, key, fitted[key])
        row = {"model": str(folder), "lambda": lam}
        for name, (topic_logits, stance_logits) in logits.items():
            probs = calibrated(topic_logits, stance_logits, fitted["topic_temperature"], fitted["stance_temperature"])
            scores = score_split(splits[name], *probs, fitted["topic_thresholds"], 0)
            row[f"{name}_topic_micro_f1"] = scores["topics"]["micro_f1"]
            row[f"{name}_stance_macro_f1"] = scores["stance"]["macro_f1"]
        # a new engine: an engine copies the thresholds of the config it was built with
        row["checks_pass_rate"] = behavioural_checks(TransformerEngine(model, tokenizer, device="cpu"))["pass_rate"]
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=None, help="trained model folders (default: train --seeds)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--lambdas", type=float, nargs="+", default=[1.0, 0.9, 0.8, 0.7])
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "interpolation.json"))
    args = parser.parse_args()
    splits = load_splits()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folders = model_folders(args.models, args.seeds, Path(tmp))
        for folder in folders:
            rows += evaluate(folder, args.lambdas, splits)
    columns = ["validation_topic_micro_f1", "validation_stance_macro_f1", "test_topic_micro_f1",
               "test_stance_macro_f1", "checks_pass_rate"]
    summary = {}
    print(f"\nmean ± std over {len(rows) // len(args.lambdas)} models")
    print("lambda".ljust(8) + "".join(c.replace("_macro_f1", "").replace("_micro_f1", "").ljust(22) for c in columns))
    for lam in args.lambdas:
        summary[str(lam)] = summarise([r for r in rows if r["lambda"] == lam])
        print(f"{lam:<8}" + "".join(f"{summary[str(lam)][c][0]:.3f} ± {summary[str(lam)][c][1]:.3f}".ljust(22)
                                    for c in columns))
    out = Path(args.output)
    out.write_text(json.dumps({"lambdas": args.lambdas, "seeds": None if args.models else args.seeds,
                               "runs": rows, "summary": summary}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
