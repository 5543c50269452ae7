"""The model folder's README.md, generated from what the run actually measured."""

from __future__ import annotations

from pathlib import Path

from .labels import STANCES, TOPICS


def _row(name: str, split: dict | None) -> str:
    if not split:
        return f"| {name} | – | – | – | – |"
    ci = split.get("ci95", {})
    def cell(value, key):
        interval = ci.get(key)
        return f"{value:.3f}" + (f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else "")
    return (f"| {name} | {cell(split['topics']['micro_f1'], 'topic_micro_f1')} | {split['topics']['macro_f1']:.3f} | "
            f"{cell(split['stance']['macro_f1'], 'stance_macro_f1')} | {cell(split['stance']['accuracy'], 'stance_accuracy')} |")


def render_model_card(metrics: dict, args, training_args=None) -> str:
    from .data import repo_relative

    is_baseline = metrics.get("model") == "tfidf_logreg"
    baseline = metrics if is_baseline else metrics.get("baseline", {})
    lines = [
        "---", "library_name: transformers" if not is_baseline else "library_name: sklearn",
        "tags: [text-classification, multi-label, stance, news, us-china]", "language: en", "---", "",
        f"# topic-stance: {'TF-IDF + logistic regression baseline' if is_baseline else 'two-head transformer'}",
        "",
        "Labels paragraphs of news about US–China diplomacy by **topic** (multi-label: "
        + ", ".join(f"`{t}`" for t in TOPICS) + ") and **stance** (" + ", ".join(f"`{s}`" for s in STANCES)
        + ") following the project's annotation guide, `docs/labeling-guide.md`.",
        "",
        "## Intended use",
        "Pre-annotating and summarising news coverage of US–China diplomacy for analysts and researchers: "
        "per-paragraph topics and stance, aggregated per article. Not for judging outlets or people, and not "
        "for text outside this domain (other countries' diplomacy, non-news text) without re-evaluation.",
        "",
        "## Training",
        f"- base model: `{metrics.get('base_model', 'tfidf')}`" if not is_baseline else "- TF-IDF (1–2 grams) + logistic regression, balanced class weights",
        f"- data: {', '.join(repo_relative(d) for d in args.data)} (files and hashes in `data.json`); test = the real seed articles, "
        "validation = ~15% of authored articles by id hash, split by article",
    ]
    if not is_baseline:
        lines += [
            f"- epochs run: {metrics.get('epochs_run')} of at most {training_args.num_train_epochs} (early stopping, "
            f"patience {args.patience}); learning rate {training_args.learning_rate}; batch "
            f"{training_args.per_device_train_batch_size} x {training_args.gradient_accumulation_steps} accumulation; "
            f"max length {args.max_length} (stride {args.stride}); seed {training_args.seed}; "
            f"{metrics.get('device')} / {metrics.get('precision')}",
            "- distillation: " + (f"soft targets of `{metrics['distillation']['teacher_base_model']}` "
                                  f"(`{metrics['distillation']['targets']}`, weight {metrics['distillation']['alpha']}, "
                                  f"temperature {metrics['distillation']['temperature']})"
                                  + (f", plus {metrics['distillation']['transfer']['paragraphs']} unlabelled transfer "
                                     f"paragraphs (`{metrics['distillation']['transfer']['file']}`) learned from the "
                                     f"teacher alone" if metrics["distillation"].get("transfer") else "")
                                  if metrics.get("distillation") else "none (gold labels only)"),
            f"- training time: {metrics.get('train_runtime_s')} s ({metrics.get('train_examples_per_s')} examples/s)",
            f"- calibration (validation): topic temperature {metrics['topic_temperature']:.3f}, "
            f"stance temperature {metrics['stance_temperature']:.3f}; topic thresholds "
            + ", ".join(f"{k} {v:.2f}" for k, v in metrics["topic_thresholds"].items()),
        ]
    lines += [
        "",
        "## Metrics",
        "Topic micro-F1 / macro-F1, stance macro-F1 / accuracy; brackets: 95% bootstrap interval over articles.",
        "",
        "| model / split | topic micro-F1 | topic macro-F1 | stance macro-F1 | stance accuracy |",
        "|---|---|---|---|---|",
    ]
    if not is_baseline:
        lines += [_row("this model, test (seed, real text)", metrics.get("test")),
                  _row("this model, validation (authored)", metrics.get("validation"))]
    lines += [_row("TF-IDF baseline, test (seed, real text)", baseline.get("test")),
              _row("TF-IDF baseline, validation (authored)", baseline.get("validation"))]
    test = metrics.get("test")
    if test:
        lines += ["", "Per topic on the test split (F1, support): " + ", ".join(
            f"{t} {v['f1']:.2f} ({v['support']})" for t, v in test["topics"]["per_label"].items()),
            "Per stance on the test split (F1, support): " + ", ".join(
            f"{s} {v['f1']:.2f} ({v['support']})" for s, v in test["stance"]["per_class"].items())]
    checks = metrics.get("checks")
    if checks:
        lines += ["", "## Behavioural checks", f"Pass rate over {checks.get('cases', '?')} cases of the bundled "
                  f"CheckList-style suite (`data/checks`, kept apart from the training text): "
                  f"**{checks['pass_rate']:.1%}**.", "", "| capability | type | cases | pass rate |", "|---|---|---|---|"]
        lines += [f"| {name} | {c['type']} | {c['cases']} | {c['pass_rate']:.0%} |"
                  for name, c in checks["capabilities"].items()]
    lines += [
        "",
        "## Limitations",
        "- The training text is authored for the project (realistic, but not real reporting); the only real "
        "text is the five seed articles, which form the test split. Five articles on two events (Bali 2022, "
        "Jakarta 2023) are a small and narrow test: see the wide intervals above.",
        "- Stance is a judgement about tone; annotators disagree on some paragraphs (seed labels were "
        "adjudicated against an independent annotation, stance kappa ~0.9 before adjudication).",
        "- English only; paragraphs longer than the max length are scored over windows at inference.",
        "",
        "## Files",
        "`config.json` (labels, thresholds, temperatures, base model), weights (`model.safetensors`), tokenizer, "
        "`metrics.json`, `data.json` (data files, hashes, counts), `training_args.json` (arguments, versions).",
        "",
    ]
    return "\n".join(lines)


def write_model_card(folder: Path, metrics: dict, args, training_args=None) -> None:
    (Path(folder) / "README.md").write_text(render_model_card(metrics, args, training_args), encoding="utf-8")
