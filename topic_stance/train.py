"""Train the two-head topic / stance model. Read top to bottom; the helpers are in training.py.

    python train.py                                   # bundled MiniLM student (+ teacher targets if present)
    python train.py --model mpnet --epochs 3          # the teacher
    python train.py --gradient_accumulation_steps 2 --lr_scheduler_type cosine   # any TrainingArguments field

Phases: arguments -> splits (by article) -> teacher targets -> tokenise -> model -> Trainer ->
calibrate on validation -> evaluate (validation, seed test, TF-IDF baseline, behavioural checks)
-> save the folder atomically.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from .training import TrainArguments

logger = logging.getLogger(__name__)


def train(args: TrainArguments, training_args=None) -> Path:
    """Train, calibrate, evaluate and save; returns the finished model folder."""
    from datasets import DatasetDict, concatenate_datasets
    from transformers import AutoTokenizer, set_seed

    from . import training as T
    from .calibration import calibrate
    from .data import file_sha256, load_splits, repo_relative
    from .decision import calibrated
    from .distill import read_transfer, soft_features, soft_targets
    from .engines import TransformerEngine
    from .labels import STANCES, TOPICS
    from .runtime import pick_device, pick_training_precision

    # 1. Arguments: where to write, which device and precision; stock TrainingArguments pass through.
    training_args = training_args or T.default_training_arguments()
    device = pick_device(args.device)
    precision = pick_training_precision(args.precision, device)
    logger.info("training on %s in %s%s", device, precision,
                " (no native bf16 kernels on this CPU; where there are, bf16 autocast trains ~1.5x as fast)"
                if device == "cpu" and args.precision == "auto" and precision == "fp32" else "")
    output = T.default_output(args)
    staging = T.prepare_folders(output, args.overwrite, args.resume)
    training_args.output_dir = str(staging / "checkpoints")
    T.set_device_and_precision(training_args, device, precision)
    set_seed(training_args.seed)
    try:
        # 2. Splits: test = the real seed articles, validation = 15% of the other articles, by article.
        splits = load_splits(args.data)
        T.check_trainable(splits)

        # 3. Teacher soft targets (distillation), looked up by text hash; stale targets are refused.
        #    The transfer set (unlabelled text) joins training with the teacher's targets alone.
        targets = T.teacher_targets_path(args)
        transfer_file = T.transfer_path(args, targets)
        teacher = transfer = None
        if targets:
            topic_soft, stance_soft, teacher = soft_targets(targets, splits["train"]["text"], TOPICS, STANCES,
                                                            args.distill_temperature)
            splits["train"] = splits["train"].add_column("soft_topic", topic_soft.tolist()) \
                                             .add_column("soft_stance", stance_soft.tolist())
            teacher["alpha"] = args.distill_alpha
        feature_dims = 0
        if targets and args.distill_features > 0:  # the teacher's pooled vectors as a further target
            features = soft_features(targets, splits["train"]["text"])
            splits["train"] = splits["train"].add_column("soft_features", features.tolist())
            feature_dims = features.shape[1]
            teacher["features"] = {"dims": feature_dims, "weight": args.distill_features}
        if transfer_file:
            texts = read_transfer(transfer_file)
            transfer = T.transfer_split(texts, *soft_targets(targets, texts, TOPICS, STANCES, args.distill_temperature)[:2],
                                        soft_features(targets, texts) if feature_dims else None)
            splits["train"] = splits["train"].add_column("gold_mask", [1.0] * len(splits["train"]))
            teacher["transfer"] = {"file": repo_relative(transfer_file), "sha256": file_sha256(transfer_file),
                                   "paragraphs": len(texts), "epochs": args.transfer_epochs}
            training_args.num_train_epochs = args.transfer_epochs
        logger.info("distillation: %s", f"teacher targets {targets} (alpha {args.distill_alpha}), transfer paragraphs "
                    f"{len(transfer) if transfer else 0}" if teacher else "off, training on gold labels only")

        # 4. Tokenise without padding (the collator pads per batch) and build the two-head model.
        base = T.resolve_base_model(args.model)
        tokenizer = AutoTokenizer.from_pretrained(base)
        tokenized = T.tokenize_splits(splits, tokenizer, args.max_length)
        if transfer:
            extra = T.tokenize_splits(DatasetDict(train=transfer), tokenizer, args.max_length)["train"]
            tokenized["train"] = concatenate_datasets([tokenized["train"], extra.cast(tokenized["train"].features)])
        model = T.build_model(args, base, splits, distill_alpha=args.distill_alpha if teacher else 0.0,
                              feature_dims=feature_dims)

        # 5. Train: stock Trainer, length-grouped batches, early stopping on the validation score.
        trainer = T.build_trainer(training_args, model, tokenizer, tokenized, args.patience)
        result = trainer.train(resume_from_checkpoint=T.last_checkpoint(staging) if args.resume else None)
        model = trainer.model.float().eval()

        # 6. Calibrate on validation with the inference engine itself (same windows as prediction):
        #    one temperature per head, then per-topic thresholds; refuse non-finite or collapsed values.
        engine = TransformerEngine(model, tokenizer, device=device)
        logits = {name: engine.merged_logits(engine.encode(splits[name]["text"]))
                  for name in ("validation", "test") if len(splits[name])}
        fitted = calibrate(*logits["validation"], splits["validation"]["topic_labels"],
                           splits["validation"]["stance_label"])
        for key in ("topic_temperature", "stance_temperature", "topic_thresholds"):
            setattr(model.config, key, fitted[key])

        # 7. Evaluate: validation and seed test (calibrated), the TF-IDF baseline on the same splits,
        #    and the behavioural checks.
        metrics = T.run_metadata(args, model, trainer, result, device, precision, fitted, teacher)
        for name, (topic_logits, stance_logits) in logits.items():
            probs = calibrated(topic_logits, stance_logits, fitted["topic_temperature"], fitted["stance_temperature"])
            metrics[name] = T.score_split(splits[name], *probs, fitted["topic_thresholds"], args.bootstrap)
        _, metrics["baseline"] = T.fit_baseline(splits, training_args.seed, args.bootstrap)
        metrics["checks"] = T.behavioural_checks(engine)

        # 8. Save: weights, tokenizer, config, metrics, data hashes, arguments, model card; then rename.
        folder = staging / "model"
        model.config.distill_alpha = 0.0  # training-only settings; the saved model needs no teacher
        model.drop_feature_head()
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        T.save_run_record(folder, args, training_args, splits, metrics)
        T.publish(folder, output)
    except BaseException:
        if T.last_checkpoint(staging) is None:  # nothing worth resuming: leave no staging folder behind
            shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    logger.info("model written to %s", output)
    return output
