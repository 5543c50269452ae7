"""The predict / evaluate / errors / export subcommands (train lives in training.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


from .cli import UserError
from .io import MAX_PARAGRAPH_CHARS, OUTPUT_FORMATS, InputRecord, ResultWriter, atomic_path, expand_inputs, read_inputs
from .labels import Problem


def _scorer_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="trained model folder (transformer or TF-IDF baseline)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=256, help="tokens per window; longer paragraphs are windowed")
    parser.add_argument("--device", default="auto", help="auto|cpu|cuda|mps")
    parser.add_argument("--precision", default="fp32", help="fp32|bf16|int8|auto (see README: fast CPU inference)")


def _load_scorer(args):
    from .inference import ArticleScorer

    try:
        return ArticleScorer.from_pretrained(args.model, device=args.device, batch_size=args.batch_size,
                                             max_length=args.max_length, precision=args.precision)
    except (FileNotFoundError, OSError, ValueError) as err:
        raise UserError(f"cannot load model from {args.model}: {err}") from None


# ---------------------------------------------------------------- predict
def predict(argv: list[str]) -> None:
    """`topic-stance predict --model DIR INPUT... --output OUT`: score articles or paragraphs."""
    parser = argparse.ArgumentParser(prog="topic-stance predict", description=predict.__doc__)
    _scorer_args(parser)
    parser.add_argument("inputs", nargs="+", help=".txt files, folders of .txt, or .jsonl with {id, text} per line")
    parser.add_argument("--output", required=True, help="OUT.jsonl (one article a line), OUT.csv or OUT.parquet "
                                                        "(one paragraph a row)")
    parser.add_argument("--unit", choices=("article", "paragraph"), default="article",
                        help="paragraph: each record / line is one paragraph, not split, id kept")
    parser.add_argument("--on-error", choices=("fail", "skip"), default="fail",
                        help="fail: stop before writing anything; skip: leave bad records out and report them")
    parser.add_argument("--max-chars", type=int, default=MAX_PARAGRAPH_CHARS, help="longest paragraph accepted")
    args = parser.parse_args(argv)
    output = Path(args.output)
    fmt = output.suffix or ".jsonl"
    if fmt not in OUTPUT_FORMATS:
        raise UserError(f"--output {output}: unknown format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    try:
        paths = expand_inputs(args.inputs)
    except FileNotFoundError as err:
        raise UserError(str(err)) from None

    def records():
        return read_inputs(paths, args.unit, args.max_chars)

    if args.on_error == "fail":  # a validation pass first: nothing is written if any input is bad
        problems = [item for item in records() if isinstance(item, Problem)]
        if problems:
            raise UserError(f"{len(problems)} bad input(s), nothing written (use --on-error skip to leave them out):\n"
                            + "\n".join(f"  {p}" for p in problems[:50]))
    scorer = _load_scorer(args)
    skipped: list[Problem] = []

    def good_records():
        for item in records():
            if isinstance(item, Problem):
                skipped.append(item)
                print(f"skipped: {item}", file=sys.stderr)
            else:
                yield item

    started, articles, paragraphs = time.time(), 0, 0
    with atomic_path(output) as tmp:
        with ResultWriter(tmp, fmt, scorer.topic_labels, scorer.stance_labels, args.unit) as writer:
            for result in _progress(_score(scorer, good_records(), args.unit), unit=args.unit):
                writer.write(result)
                articles += 1
                paragraphs += len(result["paragraphs"])
    meta = {"model": str(args.model), **scorer.metadata, "unit": args.unit, "inputs": [str(p) for p in paths],
            "records": articles, "paragraphs": paragraphs, "skipped": len(skipped),
            "skipped_details": [str(p) for p in skipped], "seconds": round(time.time() - started, 2)}
    with atomic_path(output.with_name(output.name + ".meta.json")) as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"scored {articles} {args.unit}(s), {paragraphs} paragraph(s) in {meta['seconds']} s "
          f"({scorer.metadata['precision']}); skipped {len(skipped)}; wrote {output}", file=sys.stderr)


def _score(scorer, records, unit: str):
    """Yield one article dict per input record (a one-paragraph 'article' for --unit paragraph)."""
    if unit == "article":
        for result in scorer.score_articles({"id": r.id, "text": r.text} for r in records):
            yield result.to_dict()
        return
    batch: list[InputRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) == 512:
            yield from _score_paragraph_batch(scorer, batch)
            batch = []
    yield from _score_paragraph_batch(scorer, batch)


def _score_paragraph_batch(scorer, batch):
    if not batch:
        return
    for record, result in zip(batch, scorer.score_paragraphs([r.text for r in batch], ids=[r.id for r in batch])):
        yield {"id": record.id, "headline": None, "paragraphs": [result.to_dict()]}


def _progress(iterable, unit: str):
    from tqdm import tqdm

    return tqdm(iterable, unit=unit, disable=not sys.stderr.isatty())


# ---------------------------------------------------------------- evaluate
def evaluation_report(scorer, records: list[dict], bootstrap_rounds: int = 1000) -> dict:
    """Score labelled records with a scorer and compute every metric (see metrics.score_predictions)."""
    from .labels import encode_topics
    from .metrics import score_predictions

    topic_probs, stance_probs = scorer.probabilities([r["text"] for r in records])
    topic_true = [encode_topics(r["topics"]) for r in records]
    stance_true = [scorer.stance_labels.index(r["stance"]) for r in records]
    return score_predictions([r["article_id"] for r in records], topic_true, stance_true, topic_probs, stance_probs,
                             scorer.thresholds, scorer.topic_labels, scorer.stance_labels, bootstrap_rounds)


def format_table(reports: dict[str, dict]) -> str:
    """A compact text table: headline figures, then per-label F1, one column per model."""
    names = list(reports)
    rows = [("paragraphs / articles", [f"{r['paragraphs']} / {r['articles']}" for r in reports.values()])]
    for key, label in (("micro_f1", "topic micro-F1"), ("macro_f1", "topic macro-F1"),
                       ("subset_accuracy", "topic subset accuracy"), ("hamming_loss", "topic Hamming loss")):
        rows.append((label, [f"{r['topics'][key]:.3f}" for r in reports.values()]))
    for key, label in (("macro_f1", "stance macro-F1"), ("accuracy", "stance accuracy")):
        rows.append((label, [f"{r['stance'][key]:.3f}" for r in reports.values()]))
    for key in ("topic_ece", "stance_ece", "topic_brier", "stance_brier"):
        rows.append((key.replace("_", " "), [f"{r['calibration'][key]:.3f}" for r in reports.values()]))
    first = next(iter(reports.values()))
    for topic in first["topics"]["per_label"]:
        rows.append((f"  F1 {topic}", [f"{r['topics']['per_label'][topic]['f1']:.3f} "
                                      f"(n={r['topics']['per_label'][topic]['support']})" for r in reports.values()]))
    for stance in first["stance"]["per_class"]:
        rows.append((f"  F1 {stance}", [f"{r['stance']['per_class'][stance]['f1']:.3f} "
                                       f"(n={r['stance']['per_class'][stance]['support']})" for r in reports.values()]))
    if "ci95" in first:
        for key in first["ci95"]:
            rows.append((f"  95% CI {key}", ["[{:.3f}, {:.3f}]".format(*r["ci95"][key]) for r in reports.values()]))
    width = max(len(r[0]) for r in rows) + 2
    cols = [max(len(n), *(len(r[1][i]) for r in rows)) + 2 for i, n in enumerate(names)]
    out = ["".ljust(width) + "".join(n.ljust(c) for n, c in zip(names, cols))]
    out += [label.ljust(width) + "".join(v.ljust(c) for v, c in zip(values, cols)) for label, values in rows]
    return "\n".join(out)


def evaluate(argv: list[str]) -> None:
    """`topic-stance evaluate --model DIR --data FILE_OR_FOLDER [--output metrics.json] [--compare DIR2]`."""
    from .labels import load_records

    parser = argparse.ArgumentParser(prog="topic-stance evaluate", description=evaluate.__doc__)
    _scorer_args(parser)
    parser.add_argument("--data", nargs="+", required=True, help="label files or folders in the guide's format")
    parser.add_argument("--output", help="write all metrics as JSON here")
    parser.add_argument("--compare", help="a second model folder (e.g. the TF-IDF baseline) shown side by side")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap rounds for the 95%% intervals (0: off)")
    args = parser.parse_args(argv)
    records = load_records(args.data)
    reports = {args.model: evaluation_report(_load_scorer(args), records, args.bootstrap)}
    if args.compare:
        other = argparse.Namespace(**{**vars(args), "model": args.compare})
        reports[args.compare] = evaluation_report(_load_scorer(other), records, args.bootstrap)
    print(format_table(reports))
    if args.output:
        payload = {"data": [str(p) for p in args.data], **({"models": reports} if args.compare else reports[args.model])}
        with atomic_path(args.output) as tmp:
            tmp.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.output}", file=sys.stderr)


# ---------------------------------------------------------------- errors
def errors(argv: list[str]) -> None:
    """`topic-stance errors --model DIR --data FILE`: the paragraphs the model gets wrong, most confident first."""
    from .analysis import find_errors
    from .labels import load_records

    parser = argparse.ArgumentParser(prog="topic-stance errors", description=errors.__doc__)
    _scorer_args(parser)
    parser.add_argument("--data", nargs="+", required=True)
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--output", help="write every mistake as JSON Lines here")
    args = parser.parse_args(argv)
    mistakes = find_errors(_load_scorer(args), load_records(args.data))
    for m in mistakes[:args.limit]:
        print(f"{m['confidence']:.2f}  {m['id']}  {m['kind']}: gold {m['gold']}  predicted {m['predicted']}\n"
              f"      {m['text'][:160]}")
    print(f"{len(mistakes)} mistake(s) in total", file=sys.stderr)
    if args.output:
        with atomic_path(args.output) as tmp:
            tmp.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in mistakes))


def export(argv: list[str]) -> None:
    """`topic-stance export --model DIR --format onnx [--quantize int8]`."""
    from .export import main as export_main

    export_main(argv)
