"""`topic-stance` command line: train, baseline, predict, evaluate, errors, export.

Each subcommand is a thin layer over one module; errors in user input become one clear
message and exit code 2, never a traceback from inside a library.
"""

from __future__ import annotations

import logging
import sys

from .labels import LabelFileError

COMMANDS = ("train", "baseline", "predict", "evaluate", "errors", "export")


class UserError(Exception):
    """Bad input or a refused action: printed as one message, exit status 2."""


def run_train(argv: list[str], baseline: bool = False) -> None:
    from transformers import HfArgumentParser

    from .training import TrainArguments, train

    parser = HfArgumentParser(TrainArguments, prog="topic-stance " + ("baseline" if baseline else "train"))
    (args,) = parser.parse_args_into_dataclasses(argv)
    if baseline:
        args.model = "tfidf"
    folder = train(args)
    print(f"model written to {folder}")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: topic-stance {" + ",".join(COMMANDS) + "} [options]   (topic-stance COMMAND --help)",
              file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        sys.exit(0 if argv and argv[0] in ("-h", "--help") else 2)
    command, rest = argv[0], argv[1:]
    try:
        if command in ("train", "baseline"):
            run_train(rest, baseline=command == "baseline")
        else:
            from . import commands

            getattr(commands, command)(rest)
    except (LabelFileError, UserError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        sys.exit(130)
    except SystemExit as err:
        if isinstance(err.code, str):
            print(f"error: {err.code}", file=sys.stderr)
            sys.exit(2)
        raise
