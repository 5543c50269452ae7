"""The authored corpus: built from raw files by the splitter, floors met, no copies, no near-duplicates."""

from pathlib import Path

from tools import corpus
from topic_stance.data import label_counts
from tools.datasheet import FLOORS, render
from topic_stance.labels import STANCES, TOPICS, load_records
from topic_stance.paragraphs import split_article

DATA = Path(__file__).resolve().parent.parent / "data"


def authored():
    return load_records([DATA / "labelled" / "authored.jsonl"])


def test_authored_file_is_exactly_what_the_build_produces():
    assert corpus.main(["check"]) == 0


def test_every_labelled_paragraph_is_what_the_splitter_yields():
    by_article = {}
    for record in authored():
        by_article.setdefault(record["article_id"], []).append(record)
    assert len(by_article) >= 80
    for article_id, records in by_article.items():
        split = split_article((DATA / "raw" / "authored" / f"{article_id}.txt").read_text(encoding="utf-8"))
        assert [r["text"] for r in records] == split.texts, article_id


def test_coverage_floors():
    counts = label_counts(authored())
    assert counts["paragraphs"] >= 800 and counts["articles"] >= 80
    assert all(counts["topics"][t] >= FLOORS["topic"] for t in TOPICS)
    assert counts["no_topic"] >= FLOORS["no_topic"] and counts["two_or_more_topics"] >= FLOORS["two_or_more"]
    assert all(counts["stances"][s] >= FLOORS["stance"] for s in STANCES)


def test_no_seed_sentence_and_no_near_duplicates():
    assert corpus.lint(authored()) == []


def test_near_duplicate_scan_catches_a_copy():
    record = {"id": "a", "text": "Beijing announced new export controls on gallium and germanium on Monday, citing security."}
    assert corpus.near_duplicates([record, dict(record, id="b")]) == [("a", "b", 1.0)]


def test_boilerplate_present_in_about_a_third_of_raw_articles():
    raws = sorted((DATA / "raw" / "authored").glob("*.txt"))
    with_boilerplate = sum(bool(split_article(p.read_text(encoding="utf-8")).dropped) for p in raws)
    assert 0.2 <= with_boilerplate / len(raws) <= 0.8


def test_datasheet_counts_are_current():
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert render() in readme, "run: python -m tools.datasheet --write data/README.md"


def test_transfer_text_never_near_copies_labelled_or_check_text(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    labelled = authored()[:50]
    copied = labelled[3]["text"]
    fresh = "Officials from both delegations toured a container terminal in Long Beach before the afternoon session began."
    near = fresh.replace("afternoon", "morning")
    (raw / "transfer-x01.txt").write_text(f"A headline for the test\n\n{copied}\n\n{fresh}\n\n{near}\n")
    records, left_out = corpus.build_transfer_records(labelled, raw)
    assert [r["text"] for r in records] == [fresh] and records[0]["source"] == "transfer"
    assert len(left_out) == 2 and labelled[3]["id"] in left_out[0] and left_out[1].endswith(records[0]["id"])
