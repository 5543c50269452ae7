"""Datasheet numbers for data/README.md, computed from the label files (never typed by hand).

    python -m tools.datasheet            # print the generated section
    python -m tools.datasheet --write data/README.md   # replace it between the markers
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from topic_stance.data import DATA_DIR, assign_splits, label_counts
from topic_stance.labels import STANCES, TOPICS, load_records

BEGIN, END = "<!-- BEGIN GENERATED: python -m tools.datasheet -->", "<!-- END GENERATED -->"
INDEPENDENT = DATA_DIR / "annotations" / "seed-independent.jsonl"
FIRST_PASS = DATA_DIR / "annotations" / "seed-first-pass.jsonl"
SECOND_READERS = "authored-*-second-reader.jsonl"  # one blind second pass per data round, named by its batches
FLOORS = {"topic": 150, "no_topic": 200, "two_or_more": 100, "stance": 150}


def _read(path: Path) -> dict[str, dict]:
    """Records by paragraph id (annotation lines carry article_id + paragraph instead of an id)."""
    records = map(json.loads, path.read_text(encoding="utf-8").splitlines())
    return {r.get("id") or f"{r['article_id']}-p{r['paragraph']:02d}": r for r in records}


def agreement(first_path: Path = FIRST_PASS, other_path: Path = INDEPENDENT) -> dict:
    """Inter-annotator agreement of two label files: per-topic share of equal decisions, stance Cohen's kappa."""
    from sklearn.metrics import cohen_kappa_score

    gold = _read(first_path)
    other = _read(other_path)
    ids = sorted(set(gold) & set(other))
    per_topic = {t: sum((t in gold[i]["topics"]) == (t in other[i]["topics"]) for i in ids) / len(ids) for t in TOPICS}
    kappa = cohen_kappa_score([gold[i]["stance"] for i in ids], [other[i]["stance"] for i in ids])
    return {"paragraphs": len(ids), "topic_agreement": per_topic, "stance_kappa": float(kappa)}


def _table(rows: dict[str, dict]) -> list[str]:
    head = "| | paragraphs | articles | " + " | ".join(TOPICS) + " | no topic | 2+ topics | " + " | ".join(STANCES) + " |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, c in rows.items():
        lines.append(f"| {name} | {c['paragraphs']} | {c['articles']} | " + " | ".join(str(c["topics"][t]) for t in TOPICS)
                     + f" | {c['no_topic']} | {c['two_or_more_topics']} | " + " | ".join(str(c["stances"][s]) for s in STANCES) + " |")
    return lines


def render(label_dir: Path = DATA_DIR / "labelled") -> str:
    records = load_records([label_dir])
    splits = assign_splits(records)
    by_source: dict[str, list] = {}
    for r in records:
        by_source.setdefault(r["source"], []).append(r)
    authored = label_counts(by_source.get("authored", []))
    floors_met = (all(authored["topics"][t] >= FLOORS["topic"] for t in TOPICS)
                  and authored["no_topic"] >= FLOORS["no_topic"] and authored["two_or_more_topics"] >= FLOORS["two_or_more"]
                  and all(authored["stances"][s] >= FLOORS["stance"] for s in STANCES))
    lines = [BEGIN, "", "### Counts by source", ""]
    lines += _table({name: label_counts(rows) for name, rows in sorted(by_source.items())})
    lines += ["", "### Counts by split (train / validation / test)", ""]
    lines += _table({name: label_counts(rows) for name, rows in splits.items()})
    lines += ["", f"Authored-corpus floors (each topic >= {FLOORS['topic']}, no topic >= {FLOORS['no_topic']}, "
                  f"2+ topics >= {FLOORS['two_or_more']}, each stance >= {FLOORS['stance']}): "
                  f"**{'met' if floors_met else 'NOT met'}**."]
    if INDEPENDENT.exists() and FIRST_PASS.exists():
        seeds = agreement()
        gold = agreement(DATA_DIR / "labelled" / "seed.jsonl", INDEPENDENT)
        lines += ["", f"Seed labels, two independent annotation passes ({seeds['paragraphs']} paragraphs, "
                  "`data/annotations/seed-first-pass.jsonl` vs `seed-independent.jsonl`): per-topic agreement "
                  + ", ".join(f"{t} {v:.3f}" for t, v in seeds["topic_agreement"].items())
                  + f"; stance Cohen's kappa {seeds['stance_kappa']:.3f}. The gold file `seed.jsonl` is the "
                  f"adjudicated result (stance kappa {gold['stance_kappa']:.3f} with the independent pass)."]
    for path in sorted((DATA_DIR / "annotations").glob(SECOND_READERS), key=lambda p: int(p.name.split("-")[1])):
        batches = "-".join(path.name.split("-")[1:3])
        second = agreement(DATA_DIR / "labelled" / "authored.jsonl", path)
        lines += ["", f"Batches {batches}, a blind second reader ({second['paragraphs']} paragraphs, "
                  f"`data/annotations/{path.name}`) against the adjudicated gold: per-topic "
                  "agreement " + ", ".join(f"{t} {v:.3f}" for t, v in second["topic_agreement"].items())
                  + f"; stance Cohen's kappa {second['stance_kappa']:.3f}."]
    lines += ["", END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", type=Path, help="replace the generated section of this Markdown file")
    args = parser.parse_args(argv)
    section = render()
    if not args.write:
        print(section)
        return
    text = args.write.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    args.write.write_text(text[:start] + section + text[end:], encoding="utf-8")
    print(f"updated {args.write}")


if __name__ == "__main__":
    main()
