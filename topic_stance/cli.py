"""`topic-stance` command line: every parser, and the one place errors become messages and exit codes.

Library code raises ordinary exceptions (errors.py, LabelFileError, FileNotFoundError, ...);
`main` maps them to one clear line on stderr and exit status 2, Ctrl-C to 130, and anything
unexpected to exit status 1 with the exception named (TOPIC_STANCE_DEBUG=1 shows the traceback).
Flags are spelled with dashes; the underscore spelling of v1 is accepted too.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

COMMANDS = {
    "train": "fine-tune the two-head model (python train.py --help for every option)",
    "baseline": "train the TF-IDF + logistic regression baseline on the same splits",
    "teacher-targets": "score the training text with the teacher and write its soft targets",
    "predict": "score articles or paragraphs and write .jsonl / .csv / .parquet",
    "predict-ray": "score inputs (local or s3:// / gs://) on Ray Data into a folder of Parquet or JSONL shards",
    "evaluate": "metrics on labelled data (optionally beside a second model) and behavioural checks",
    "errors": "the labelled paragraphs a model gets wrong, most confident first",
    "export": "export ONNX (fp32, int8) and validate reduced-precision paths against fp32",
    "select": "choose the paragraphs whose labels would teach the model most (uncertainty x diversity)",
    "audit": "find likely label errors with cleanlab from out-of-fold probabilities",
    "export-tasks": "write Label Studio tasks (the model's labels as pre-annotations) and the labelling config",
    "import-labels": "read a Label Studio JSON export back into a label file",
}
USER_ERRORS: tuple[type[BaseException], ...] = ()


def flag(parser, name: str, **kwargs):
    """Add `--dashed-name` with the `--underscore_name` spelling accepted as an alias."""
    names = [name] + (["--" + name[2:].replace("-", "_")] if "-" in name[2:] else [])
    return parser.add_argument(*names, **kwargs)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def ray_flags(parser) -> None:
    """The flags of the Ray engine (predict --engine ray, and predict-ray)."""
    from .distributed import DEFAULT_FILES_PER_CHECKPOINT, FORMATS

    flag(parser, "--format", choices=FORMATS, default="parquet",
         help="parquet: one paragraph a row (columns as predict's .parquet); jsonl: one article a line")
    flag(parser, "--address", default=None,
         help="Ray cluster to join (auto, HOST:PORT or ray://head:10001); default: start a local one")
    flag(parser, "--workers", type=positive_int, default=1, help="scoring actors (each holds one model)")
    flag(parser, "--threads-per-worker", type=positive_int, default=1,
         help="torch threads and CPUs reserved per actor (keep workers x threads <= cores)")
    flag(parser, "--gpus-per-worker", type=non_negative_float, default=0, help="GPUs per actor (e.g. 1 or 0.5)")
    flag(parser, "--records-per-batch", type=positive_int, default=None,
         help="records handed to an actor at a time (default 64 articles, 512 with --unit paragraph)")
    flag(parser, "--io-cpus", type=non_negative_float, default=None,
         help="CPUs reserved by each reader / writer task (default: up to 1 left over by the workers, else 0)")
    flag(parser, "--rows-per-shard", type=positive_int, default=None,
         help="minimum rows per output shard (default 50000 paragraphs for parquet, 10000 articles for jsonl)")
    flag(parser, "--files-per-checkpoint", type=positive_int, default=DEFAULT_FILES_PER_CHECKPOINT,
         help="input files per checkpoint: a re-run on the same --output resumes after the last finished one")
    flag(parser, "--record-files", action="store_true",
         help="in folders, read .jsonl/.csv/.parquet files too (predict reads them only when named), e.g. a folder "
              "or bucket prefix of Parquet shards")
    flag(parser, "--overwrite", action="store_true",
         help="start again: empty a previous output in --output instead of resuming it")
    flag(parser, "--num-cpus", type=positive_int, default=None, help="CPUs of the local Ray instance (default: all)")


def ray_flag_defaults() -> dict:
    """{dest: default} of the Ray engine's flags: a local predict must leave them all at these."""
    parser = argparse.ArgumentParser(add_help=False)
    ray_flags(parser)
    return vars(parser.parse_args([]))


def predict_ray_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The flags of `topic-stance predict-ray` (= predict --engine ray; underscore aliases as in cli.flag)."""
    scorer_flags(parser, precision="auto")  # --model, --batch-size, --max-length, --device, --precision (as predict)
    parser.add_argument("inputs", nargs="+", help=".txt, .html/.htm, .warc/.warc.gz, .jsonl, .csv, .parquet files, "
                                                  "folders of them, or URIs (s3://, gs://, hdfs://, file://)")
    flag(parser, "--output", required=True, help="output folder or URI: shards part-*.parquet|jsonl, bad records "
                                                 "in _errors/, run metadata in _meta.json (written last)")
    ray_flags(parser)
    input_flags(parser)
    parser.set_defaults(engine="ray", on_error="skip")
    return parser


def export_tasks_flags(parser) -> None:
    parser.add_argument("inputs", nargs="+", help="prediction files (predict --output x.jsonl, paragraph or "
                                                  "article unit), label files, or folders of .jsonl")
    parser.add_argument("--output", required=True, help="Label Studio tasks file to write (.json)")
    parser.add_argument("--label-config", "--label_config", dest="label_config", default=None,
                        help="labelling config XML to write (default: OUTPUT with .config.xml)")
    parser.add_argument("--model-version", "--model_version", dest="model_version", default=None,
                        help="model_version of the pre-annotations (default: the model named in "
                             "OUTPUT.meta.json of predict, else labels:<file name>)")
    parser.add_argument("--source", default=None,
                        help="source of records that have none (default: the input file's name)")
    parser.add_argument("--context", type=int, default=1,
                        help="neighbouring paragraphs shown before and after each one (0: none)")


def import_labels_flags(parser) -> None:
    parser.add_argument("export", help="Label Studio export of the project (Export > JSON)")
    parser.add_argument("--output", required=True, help="label file to write (.jsonl)")
    parser.add_argument("--strict", action="store_true",
                        help="a task with no annotation is an error (default: skipped and counted)")
    parser.add_argument("--source", default=None,
                        help="source of records whose task data has none (default: the export's file name)")


def _unit_float(text: str) -> float:

    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {text}")
    return value


def select_flags(parser) -> None:
    """The flags of `topic-stance select` (dashes; the underscore spelling is accepted too)."""
    from .selection import FEATURE_KINDS, STANCE_MEASURES

    flag(parser, "--model", required=True, help="trained model folder (transformer or TF-IDF baseline)")
    flag(parser, "--pool", nargs="+", required=True,
         help="unlabelled paragraphs: label files, `predict` output (.jsonl) or {id, text} JSONL; folders too")
    flag(parser, "--n", type=positive_int, required=True, help="how many paragraphs to pick")
    flag(parser, "--output", required=True, help="JSONL in the label-file format, best pick first")
    flag(parser, "--per-article-cap", type=positive_int, default=None,
         help="at most K picks from one article (default: no cap)")
    flag(parser, "--seed", type=int, default=0, help="breaks ties between equal scores")
    flag(parser, "--labelled", nargs="+", default=None,
         help="label files already labelled: their paragraphs are left out of the pool and count for diversity")
    flag(parser, "--stance-measure", choices=STANCE_MEASURES, default="margin",
         help="stance uncertainty: 1 - (top - second probability), or normalised entropy")
    flag(parser, "--topic-weight", type=_unit_float, default=0.5,
         help="weight of topic uncertainty against stance uncertainty (0..1)")
    flag(parser, "--diversity", type=non_negative_float, default=1.0,
         help="exponent of the distance to earlier picks (0: uncertainty alone)")
    flag(parser, "--features", choices=FEATURE_KINDS, default="auto",
         help="what diversity is measured on: the model's encoder or vectoriser (auto/model), or TF-IDF")
    flag(parser, "--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    flag(parser, "--batch-size", type=positive_int, default=64)


def audit_flags(parser) -> None:
    """The flags of `topic-stance audit` (dashes; the underscore spelling is accepted too)."""
    from .audit import TFIDF

    flag(parser, "--data", nargs="+", default=None,
         help="label files or folders to audit (default: the bundled data/labelled)")
    flag(parser, "--folds", type=positive_int, default=5, help="K of the article-grouped K-fold (>= 2)")
    flag(parser, "--model", default=TFIDF,
         help="tfidf (default: a TF-IDF baseline per fold), a TF-IDF baseline folder, or a transformer folder "
              "whose frozen encoder feeds logistic-regression heads per fold")
    flag(parser, "--output", required=True, help="JSONL: the suspect records, each with an `audit` object")
    flag(parser, "--top", type=positive_int, default=None, help="write only the N likeliest errors")
    flag(parser, "--all", action="store_true", help="rank every record, not only those cleanlab flags")
    flag(parser, "--seed", type=int, default=0, help="fold assignment and model seed")
    flag(parser, "--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    flag(parser, "--batch-size", type=positive_int, default=64)


def input_flags(parser) -> None:
    """How input records are read: shared by predict and predict-ray."""
    from .io import MAX_PARAGRAPH_CHARS

    flag(parser, "--unit", choices=("article", "paragraph"), default="article",
         help="paragraph: each record / line is one paragraph, not split, id kept")
    flag(parser, "--max-chars", type=positive_int, default=MAX_PARAGRAPH_CHARS, help="longest paragraph accepted")
    flag(parser, "--text-column", default="text", help="text column of .csv / .parquet / .jsonl input")
    flag(parser, "--id-column", default="id", help="id column of .csv / .parquet / .jsonl input")


def scorer_flags(parser, precision: str = "fp32") -> None:
    """Model and scoring flags. predict defaults to --precision auto (the fastest path `export` validated on
    this machine, labels >= 99.5% those of fp32; fp32 where nothing was validated); evaluate and errors
    measure the model itself, in fp32."""
    from .engines import MIN_MAX_LENGTH, PRECISIONS

    def max_length(text: str) -> int:
        value = int(text)
        if value < MIN_MAX_LENGTH:
            raise argparse.ArgumentTypeError(f"must be >= {MIN_MAX_LENGTH} tokens, got {value}")
        return value

    flag(parser, "--model", required=True, help="trained model folder (transformer or TF-IDF baseline)")
    flag(parser, "--batch-size", type=positive_int, default=64, help="paragraphs per forward pass")
    flag(parser, "--max-length", type=max_length, default=None,
         help="tokens per window (default: the model's, as calibrated); longer paragraphs are windowed")
    flag(parser, "--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    flag(parser, "--precision", default=precision, choices=PRECISIONS,
         help="auto picks the fastest path that `export` validated on this machine (else fp32)")


def load_scorer(args):
    from .inference import ArticleScorer

    return ArticleScorer.from_pretrained(args.model, device=args.device, batch_size=args.batch_size,
                                         max_length=args.max_length, precision=args.precision)


def build_parser() -> argparse.ArgumentParser:
    from .io import OUTPUT_FORMATS

    parser = argparse.ArgumentParser(prog="topic-stance", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, text in COMMANDS.items():
        if name in ("train", "baseline"):
            sub.add_parser(name, help=text, add_help=False)  # parsed by HfArgumentParser (train_parser)

    p = sub.add_parser("teacher-targets", help=COMMANDS["teacher-targets"])
    flag(p, "--teacher", default="models/mpnet-topic-stance", help="the trained teacher folder")
    flag(p, "--data", nargs="+", default=None, help="label files whose train/validation text is scored "
                                                    "(default: the bundled data/labelled)")
    flag(p, "--transfer", default=None, help="unlabelled paragraphs (JSONL with 'text') the teacher labels for the "
                                             "student too (default: data/transfer/paragraphs.jsonl when present; 'none')")
    flag(p, "--output", default=None, help="targets file (default: data/teacher/targets.jsonl)")
    flag(p, "--batch-size", type=positive_int, default=32)
    flag(p, "--feature-dims", type=int, default=0, help="also store the teacher's pooled vectors, PCA-reduced to this "
                                                        "many dimensions (for train --distill_features)")

    p = sub.add_parser("predict", help=COMMANDS["predict"])
    scorer_flags(p, precision="auto")
    p.add_argument("inputs", nargs="+", help=".txt, .html/.htm, .warc/.warc.gz, .jsonl ({id, text} per line), .csv, "
                                             ".parquet, folders of them, or - for JSONL on stdin")
    flag(p, "--output", required=True, help="OUT" + "|OUT".join(OUTPUT_FORMATS) + " (.jsonl: one article a line; "
                                            ".csv/.parquet: one paragraph a row)")
    flag(p, "--on-error", choices=("fail", "skip"), default=None,
         help="fail (default): stop before writing anything; skip: leave bad records out and report them "
              "(always so with --engine ray: bad records go to OUTPUT/_errors/)")
    input_flags(p)
    flag(p, "--engine", choices=("local", "ray"), default="local",
         help="local: this process; ray: Ray Data on a local instance or a cluster (--address), --output is a "
              "folder of shards, re-runs resume")
    ray_flags(p.add_argument_group("with --engine ray"))

    p = sub.add_parser("evaluate", help=COMMANDS["evaluate"])
    scorer_flags(p)
    flag(p, "--data", nargs="+", help="label files or folders in the guide's format")
    flag(p, "--output", help="write all metrics as JSON here")
    flag(p, "--compare", help="a second model folder (e.g. the TF-IDF baseline) shown side by side")
    flag(p, "--bootstrap", type=int, default=1000, help="bootstrap rounds for the 95%% intervals (0: off)")
    flag(p, "--checks", nargs="*", default=None,
         help="run the behavioural suite (default files: data/checks) and print pass rates per capability")

    p = sub.add_parser("errors", help=COMMANDS["errors"])
    scorer_flags(p)
    flag(p, "--data", nargs="+", required=True)
    flag(p, "--limit", type=positive_int, default=30)
    flag(p, "--output", help="write every mistake as JSON Lines here")

    p = sub.add_parser("export", help=COMMANDS["export"])
    flag(p, "--model", required=True, type=Path)
    flag(p, "--format", choices=("onnx",), default="onnx")
    flag(p, "--quantize", choices=("int8",), default=None)
    flag(p, "--data", nargs="+", help="label files whose validation split is used for the report "
                                      "(default: the files recorded in the model's data.json)")
    predict_ray_flags(sub.add_parser("predict-ray", help=COMMANDS["predict-ray"]))
    select_flags(sub.add_parser("select", help=COMMANDS["select"]))
    audit_flags(sub.add_parser("audit", help=COMMANDS["audit"]))
    export_tasks_flags(sub.add_parser("export-tasks", help=COMMANDS["export-tasks"]))
    import_labels_flags(sub.add_parser("import-labels", help=COMMANDS["import-labels"]))
    return parser


# ---------------------------------------------------------------- commands
def run_train(argv: list[str], baseline: bool = False) -> None:
    from .training import parse_train_arguments

    args, training_args = parse_train_arguments(argv, prog=f"topic-stance {'baseline' if baseline else 'train'}")
    if baseline:
        from .training import train_baseline

        folder = train_baseline(args)
    else:
        from .train import train

        folder = train(args, training_args)
    print(f"model written to {folder}")


def run_teacher_targets(args) -> None:
    from .data import DEFAULT_LABEL_DIR, load_splits
    from .distill import read_transfer, write_targets
    from .training import DEFAULT_TEACHER_TARGETS, DEFAULT_TRANSFER

    splits = load_splits(args.data or [DEFAULT_LABEL_DIR])
    texts = list(splits["train"]["text"]) + list(splits["validation"]["text"])
    transfer = DEFAULT_TRANSFER if args.transfer is None and DEFAULT_TRANSFER.exists() else args.transfer
    if transfer not in (None, "none"):
        texts += read_transfer(transfer)
    output = Path(args.output) if args.output else DEFAULT_TEACHER_TARGETS
    header = write_targets(args.teacher, texts, output, args.batch_size, feature_dims=args.feature_dims)
    print(f"wrote {output}: teacher soft targets for {header['texts']} paragraphs ({header['scored']} scored now, "
          f"the rest kept from the same teacher's earlier run) "
          f"(teacher weights sha256 {header['teacher_weights_sha256'][:12]}...)", file=sys.stderr)


def run_predict(args) -> None:
    from .errors import TopicStanceError

    if args.engine == "ray":
        if args.on_error == "fail":
            raise TopicStanceError("--on-error fail: not available with --engine ray, which never stops for a bad "
                                   "record (they go to OUTPUT/_errors/); leave the flag out")
        run_predict_ray(args)
        return
    given = [name for name, default in ray_flag_defaults().items() if getattr(args, name) != default]
    if given:
        raise TopicStanceError(f"--{given[0].replace('_', '-')}: only with --engine ray")
    args.on_error = args.on_error or "fail"
    from .inference import score_records
    from .io import OUTPUT_FORMATS, ResultWriter, atomic_path, check_output_path, expand_inputs, read_inputs
    from .labels import Problem

    output = Path(args.output)
    fmt = output.suffix.lower() or ".jsonl"
    if fmt not in OUTPUT_FORMATS:
        raise TopicStanceError(f"--output {output}: unknown format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    paths = expand_inputs(args.inputs)
    check_output_path(output, [*args.inputs, *paths])  # before anything is read: never overwrite an input

    def records():
        return read_inputs(paths, args.unit, args.max_chars, text_column=args.text_column, id_column=args.id_column)

    if args.on_error == "fail":  # a validation pass first: nothing is written if any input is bad
        problems = [item for item in records() if isinstance(item, Problem)]
        if problems:
            raise TopicStanceError(f"{len(problems)} bad input(s), nothing written (use --on-error skip to leave "
                                   f"them out):\n" + "\n".join(f"  {p}" for p in problems[:50]))
    scorer = load_scorer(args)
    skipped: list = []

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
            for result in progress(score_records(scorer, good_records(), args.unit), unit=args.unit):
                writer.write(result)
                articles += 1
                paragraphs += len(result["paragraphs"])
    meta = {"model": str(args.model), **scorer.metadata, "unit": args.unit, "inputs": [str(p) for p in paths],
            "records": articles, "paragraphs": paragraphs, "skipped": len(skipped),
            "skipped_details": [str(p) for p in skipped], "seconds": round(time.time() - started, 2),
            "repeated_paragraphs_reused": round(scorer.reused_share, 4)}
    with atomic_path(output.with_name(output.name + ".meta.json")) as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"scored {articles} {args.unit}(s), {paragraphs} paragraph(s) in {meta['seconds']} s "
          f"({scorer.metadata['precision']}); skipped {len(skipped)}; wrote {output}", file=sys.stderr)


def progress(iterable, unit: str):
    from tqdm import tqdm

    return tqdm(iterable, unit=unit, disable=not sys.stderr.isatty())


def run_evaluate(args) -> None:
    from .errors import TopicStanceError
    from .evaluation import evaluation_report, format_table
    from .io import atomic_path
    from .labels import load_records

    if not args.data and args.checks is None:
        raise TopicStanceError("evaluate needs --data FILES, --checks, or both")
    if args.compare and not Path(args.compare, "config.json").exists():
        raise TopicStanceError(f"--compare {args.compare}: not a model folder (no config.json)")
    records = load_records(args.data) if args.data else []
    scorers = {args.model: load_scorer(args)}
    if args.compare:
        scorers[args.compare] = load_scorer(argparse.Namespace(**{**vars(args), "model": args.compare}))
    payload: dict = {}
    if records:
        reports = {name: evaluation_report(scorer, records, args.bootstrap) for name, scorer in scorers.items()}
        print(format_table(reports))
        payload = {"data": [str(p) for p in args.data], **({"models": reports} if args.compare else reports[args.model])}
    if args.checks is not None:
        from .checks import DEFAULT_CHECKS, format_checks, load_checks, run_checks

        checks = load_checks(args.checks or [DEFAULT_CHECKS])
        for name, scorer in scorers.items():
            report = run_checks(scorer, checks)
            print(f"\nbehavioural checks, {name}:\n{format_checks(report)}")
            payload.setdefault("checks", {})[name] = report
    if args.output:
        with atomic_path(args.output) as tmp:
            tmp.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.output}", file=sys.stderr)


def printable(text: str) -> str:
    """Text safe for a terminal: control characters (escape codes) shown as \\x.. escapes."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def run_errors(args) -> None:
    from .evaluation import find_errors
    from .io import atomic_path
    from .labels import load_records

    mistakes = find_errors(load_scorer(args), load_records(args.data))
    for m in mistakes[:args.limit]:
        print(f"{m['confidence']:.2f}  {printable(m['id'])}  {m['kind']}: gold {m['gold']}  predicted {m['predicted']}\n"
              f"      {printable(m['text'][:160])}")
    print(f"{len(mistakes)} mistake(s) in total", file=sys.stderr)
    if args.output:
        with atomic_path(args.output) as tmp:
            tmp.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in mistakes))


def run_export(args) -> None:
    from .export import describe, run_export as export

    written, report = export(args.model, args.quantize, args.data)
    for path in written:
        print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)", file=sys.stderr)
    print(describe(report))


def run_predict_ray(args) -> None:
    from .distributed import run

    run(args)


def run_select(args) -> None:
    from .selection import run

    run(args)


def run_audit(args) -> None:
    from .audit import run

    run(args)


def run_export_tasks(args) -> None:
    from .labelstudio import run_export_tasks as run

    run(args)


def run_import_labels(args) -> None:
    from .labelstudio import run_import_labels as run

    run(args)


HANDLERS = {"teacher-targets": run_teacher_targets, "predict": run_predict, "evaluate": run_evaluate,
            "errors": run_errors, "export": run_export, "export-tasks": run_export_tasks, "predict-ray": run_predict_ray,
            "select": run_select, "audit": run_audit,
            "import-labels": run_import_labels}


# ---------------------------------------------------------------- the error boundary
def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input or a refused action: one line, exit status 2."""
    from .errors import TopicStanceError
    from .labels import LabelFileError

    return (TopicStanceError, LabelFileError, FileNotFoundError, FileExistsError, IsADirectoryError,
            NotADirectoryError, PermissionError)


def dispatch(argv: list[str]) -> None:
    if argv and argv[0] in ("train", "baseline"):
        run_train(argv[1:], baseline=argv[0] == "baseline")
        return
    args = build_parser().parse_args(argv)
    HANDLERS[args.command](args)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        dispatch(argv)
    except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM during a write (io.Terminated)
        print("interrupted: nothing was written", file=sys.stderr)
        sys.exit(143 if type(err).__name__ == "Terminated" else 130)
    except user_errors() as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:  # disk full, unwritable output, ...
        print(f"error: {err.strerror or err}{f': {err.filename}' if err.filename else ''}", file=sys.stderr)
        sys.exit(2)
    except SystemExit:
        raise  # argparse's own usage errors and --help
    except BaseException as err:  # includes tokenizer / safetensors panics, which are not Exceptions
        if os.environ.get("TOPIC_STANCE_DEBUG"):
            raise
        print(f"error: unexpected {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''} "
              f"(set TOPIC_STANCE_DEBUG=1 for the traceback)", file=sys.stderr)
        sys.exit(1)
