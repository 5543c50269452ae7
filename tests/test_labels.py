import json

import pytest

from topic_stance.labels import (LabelFileError, decode_topics, encode_topics, load_records, read_label_file)

from conftest import REPO


def good(i, **over):
    return {"id": f"a-p{i:02d}", "article_id": "a", "text": f"Paragraph {i} about tariffs.", "topics": ["trade"],
            "stance": "neutral", **over}


def test_encode_decode_round_trip():
    assert encode_topics(["trade", "taiwan"]) == [1.0, 0.0, 1.0, 0.0]
    assert decode_topics(encode_topics(["human_rights"])) == ["human_rights"]


def test_every_problem_named_by_file_line_field_and_rest_kept(tmp_path):
    path = tmp_path / "bad.jsonl"
    lines = [
        json.dumps(good(0)),
        "{not json",
        json.dumps(good(2, topics=["weather"])),
        json.dumps({k: v for k, v in good(3).items() if k != "text"}),
        json.dumps(good(4, text="   ")),
        json.dumps(good(0)),                        # duplicate id of line 1
        json.dumps(good(6, stance="angry")),
        json.dumps(good(7)),
    ]
    path.write_text("\n".join(lines) + "\n")
    records, problems = read_label_file(path)
    assert [r["id"] for r in records] == ["a-p00", "a-p07"]
    found = {(p.line, p.field) for p in problems}
    assert found == {(2, "<json>"), (3, "topics"), (4, "text"), (5, "text"), (6, "id"), (7, "stance")}
    assert all(p.path == str(path) for p in problems)
    assert "weather" in str([p for p in problems if p.line == 3][0])


def test_load_records_raises_with_all_problems(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps(good(0)) + "\n" + json.dumps(good(1, stance="x")) + "\n")
    (tmp_path / "b.jsonl").write_text(json.dumps(good(0)) + "\n")
    with pytest.raises(LabelFileError) as err:
        load_records([tmp_path])
    message = str(err.value)
    assert "a.jsonl:2: field 'stance'" in message
    assert "duplicate id 'a-p00'" in message


def test_non_utf8_line_is_reported(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(json.dumps(good(0)).encode() + b"\n" + b'{"id": "caf\xe9"}\n')
    records, problems = read_label_file(path)
    assert len(records) == 1 and problems[0].line == 2 and "UTF-8" in problems[0].message


def test_bundled_label_files_follow_the_guide():
    records = load_records([REPO / "data" / "labelled"])
    assert len(records) >= 85
    assert {r["source"] for r in records} >= {"seed"}
