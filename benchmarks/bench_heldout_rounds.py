"""Models before and after a data round, scored on one fixed held-out set.

Validation is the 15% of authored articles with the lowest SHA-256 of their id, so adding articles
adds new validation articles too, and validation figures of two rounds are not comparable. This
script rebuilds the validation set as it stood when the corpus ended at `--upto` (by default
authored-215, before batches 15-19): the same articles either round held out, so a model trained
on either corpus has never seen them. It scores every model folder given (and the seed test) at fp32.

    python benchmarks/bench_heldout_rounds.py models/mpnet-v1 models/mpnet-topic-stance models/minilm-topic-stance
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from topic_stance.data import assign_splits, load_splits  # noqa: E402
from topic_stance.evaluation import evaluation_report  # noqa: E402
from topic_stance.inference import ArticleScorer  # noqa: E402
from topic_stance.labels import load_records  # noqa: E402


def heldout_of_round(upto: int) -> list[dict]:
    """Validation records as assign_splits chose them when the corpus had authored-001..`upto`."""
    records = [r for r in load_records([REPO / "data" / "labelled" / "authored.jsonl"])
               if int(r["article_id"].rsplit("-", 1)[1]) <= upto]
    heldout = assign_splits(records)["validation"]
    held_now = {r["article_id"] for r in load_splits()["validation"]}
    assert {r["article_id"] for r in heldout} <= held_now, "some of these articles are in today's training split"
    return heldout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--upto", type=int, default=215, help="last authored article of the earlier round")
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "heldout-rounds.json"))
    args = parser.parse_args()
    heldout = heldout_of_round(args.upto)
    test = load_splits()["test"]
    sets = {f"validation of round <= {args.upto}": heldout, "seed test": list(test)}
    results = {}
    print(f"{'model':34s}" + "".join(f"{name[:30]:>34s}" for name in sets))
    for folder in args.models:
        scorer = ArticleScorer.from_pretrained(folder, precision="fp32")
        results[folder] = {}
        for name, records in sets.items():
            report = evaluation_report(scorer, records, bootstrap_rounds=0)
            results[folder][name] = {"paragraphs": report["paragraphs"], "topic_micro_f1": report["topics"]["micro_f1"],
                                     "stance_macro_f1": report["stance"]["macro_f1"]}
        print(f"{folder[-34:]:34s}" + "".join(
            f"{'topic %.3f / stance %.3f' % (r['topic_micro_f1'], r['stance_macro_f1']):>34s}"
            for r in results[folder].values()))
    Path(args.output).write_text(json.dumps({"upto": args.upto, "paragraphs": {k: len(v) for k, v in sets.items()},
                                             "results": results}, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
