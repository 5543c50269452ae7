"""Training throughput: the project's trainer vs a plain Trainer with max_length=128 padding.

Same model (the bundled all-MiniLM-L6-v2, or the mpnet teacher), same training paragraphs, batch 16,
one epoch each, in one process, alternating, no evaluation or checkpoints. Prints examples/second and
ratios; the project's trainer also runs without attention dropout (no masks to draw), then with its lowest
2 layers fixed as well (no backward pass through them), and on a CPU with native bf16 under bf16 autocast.

    python benchmarks/bench_training.py [--examples 480] [--repeats 2]
    python benchmarks/bench_training.py --model mpnet --examples 160 --repeats 1   # the teacher (make teacher)
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from transformers import AutoTokenizer, Trainer, TrainingArguments, set_seed

from topic_stance.data import load_splits
from topic_stance.model import TopicStanceModel
from topic_stance.runtime import cpu_supports_bf16
from topic_stance.training import (build_model, build_trainer, make_arguments, resolve_base_model,
                                   set_device_and_precision, tokenize_splits)


def plain_trainer(base, tokenizer, splits, n, out):
    """What a user writes with stock tools: pad every paragraph to 128 tokens, random batches."""
    data = splits["train"].select(range(n)).map(
        lambda b: tokenizer(b["text"], padding="max_length", truncation=True, max_length=128), batched=True,
        remove_columns=[c for c in splits["train"].column_names if c not in ("topic_labels", "stance_label")])
    model = TopicStanceModel.from_encoder(base)
    args = TrainingArguments(output_dir=out, num_train_epochs=1, per_device_train_batch_size=16, report_to="none",
                             use_cpu=True, save_strategy="no", eval_strategy="no", logging_strategy="no",
                             label_names=["topic_labels", "stance_label"], disable_tqdm=True)
    return Trainer(model=model, args=args, train_dataset=data)


def project_trainer(name, base, tokenizer, splits, n, out, precision, **options):
    """The recipe's own Trainer (dynamic padding, length-grouped batches), without evaluation or checkpoints."""
    tokenized = tokenize_splits(splits, tokenizer, 128)
    tokenized["train"] = tokenized["train"].select(range(n))
    args, training_args = make_arguments(model=name, num_train_epochs=1, per_device_train_batch_size=16,
                                         output_dir=out, eval_strategy="no", save_strategy="no",
                                         logging_strategy="no", disable_tqdm=True, **options)
    set_device_and_precision(training_args, "cpu", precision)
    return build_trainer(training_args, build_model(args, base, splits), tokenizer, tokenized, patience=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=480)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model", default="bundled", help="bundled (the student) or mpnet (the teacher)")
    opts = parser.parse_args()
    base = resolve_base_model(opts.model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    splits = load_splits()
    n = min(opts.examples, len(splits["train"]))
    def project(precision, **options):
        return lambda out: project_trainer(opts.model, base, tokenizer, splits, n, out, precision, **options)

    contenders = {"plain Trainer, pad to 128": lambda out: plain_trainer(base, tokenizer, splits, n, out),
                  "project: dynamic padding + length groups, fp32": project("fp32"),
                  "project: same, no attention dropout": project("fp32", attention_dropout=0),
                  "project: same + lowest 2 layers fixed, no attention dropout":
                      project("fp32", freeze_layers=2, attention_dropout=0)}
    if cpu_supports_bf16():
        contenders["project: same + bf16 autocast"] = project("bf16")
    rates = {name: [] for name in contenders}
    for _ in range(opts.repeats):
        for name, make in contenders.items():
            set_seed(0)
            with tempfile.TemporaryDirectory() as out:
                trainer = make(out)
                start = time.perf_counter()
                trainer.train()
                rates[name].append(n / (time.perf_counter() - start))
    reference = max(rates["plain Trainer, pad to 128"])
    print(f"\ntraining throughput of {opts.model}, {n} paragraphs, batch 16, torch threads {torch.get_num_threads()}")
    for name, values in rates.items():
        best = max(values)
        print(f"  {name:50s} {best:7.1f} examples/s   x{best / reference:4.2f}")


if __name__ == "__main__":
    main()
