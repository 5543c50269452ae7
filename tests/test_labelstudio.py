"""Label Studio round trip: predictions / label files -> tasks + config -> (simulated or real) export -> labels."""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from topic_stance.errors import TopicStanceError
from topic_stance.labels import STANCES, TOPICS, LabelFileError, read_label_file, validate_record
from topic_stance.labelstudio import (CONTEXT_KEYS,
                                      export_tasks, import_labels, labelling_config, labels_from_export,
                                      run_export_tasks, run_import_labels)

REPO = Path(__file__).resolve().parent.parent


def scores(chosen, names, high=0.9, low=0.1):
    return {name: (high if name in chosen else low) for name in names}


def paragraph_prediction(pid, text, topics, stance, **extra):
    """A line of `predict --unit paragraph --output x.jsonl`."""
    return {"id": pid, "text": text, "start": None, "end": None, "topics": topics, "stance": stance,
            "topic_scores": scores(topics, TOPICS), "stance_scores": scores([stance], STANCES, 0.7, 0.15),
            "meta": extra.pop("meta", {}), **extra}


PREDICTIONS = [
    paragraph_prediction("art-1-p00", "Blinken warned Beijing over drills near Taiwan.", ["taiwan"], "confrontational",
                         meta={"url": "https://example.com/a1", "title": "Blinken in Beijing"}, note="keep me"),
    paragraph_prediction("art-1-p01", "The two sides agreed to keep talking about tariffs.", ["trade"], "conciliatory",
                         meta={"url": "https://example.com/a1", "title": "Blinken in Beijing"}),
    paragraph_prediction("art-1-p02", "Officials met in Geneva on Tuesday.", [], "neutral",
                         meta={"url": "https://example.com/a1", "title": "Blinken in Beijing"}),
    paragraph_prediction("art-2-p00", "Xi and Putin hailed their ties.", ["ukraine_russia"], "conciliatory"),
    paragraph_prediction("art-2-p01", "Detained Americans were freed.", ["human_rights"], "conciliatory"),
]


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def predictions(tmp_path) -> Path:
    path = write_jsonl(tmp_path / "preds.jsonl", PREDICTIONS)
    (tmp_path / "preds.jsonl.meta.json").write_text(json.dumps({"model": "models/minilm-topic-stance"}))
    return path


def simulate_export(tasks: list[dict], annotate) -> list[dict]:
    """What Label Studio's JSON export holds after annotation: ids, data as imported, annotations."""
    out = []
    for number, task in enumerate(tasks, start=1):
        exported = {"id": 100 + number, "data": copy.deepcopy(task["data"]), "annotations": [],
                    "predictions": [number], "meta": {}, "project": 1}
        exported["annotations"] = annotate(exported, task)
        out.append(exported)
    return out


def annotation(number, topics, stance, when, user=3, cancelled=False, **extra):
    result = [{"from_name": "topics", "to_name": "text", "type": "choices", "value": {"choices": topics}},
              {"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": [stance]}}]
    if not topics:
        result = result[1:]  # Label Studio leaves an empty multi-choice out of the result
    return {"id": number, "completed_by": user, "result": result + extra.pop("result", []), "was_cancelled": cancelled,
            "ground_truth": False, "created_at": when, "updated_at": when, "lead_time": 4.2, "task": 0, **extra}


# ---------------------------------------------------------------- export
def test_config_is_valid_xml_with_multi_topics_single_stance():
    root = ET.fromstring(labelling_config())
    controls = {c.get("name"): c for c in root.iter("Choices")}
    assert controls["topics"].get("choice") == "multiple" and controls["topics"].get("toName") == "text"
    assert controls["stance"].get("choice") == "single" and controls["stance"].get("required") == "true"
    assert [c.get("value") for c in controls["topics"].iter("Choice")] == list(TOPICS)
    assert [c.get("value") for c in controls["stance"].iter("Choice")] == list(STANCES)
    values = {t.get("value") for t in root.iter("Text")}
    assert values == {"$text", *(f"${key}" for key in CONTEXT_KEYS)}


def test_export_paragraph_predictions(predictions, tmp_path):
    summary = export_tasks([predictions], tmp_path / "tasks.json")
    assert summary["tasks"] == 5 and summary["articles"] == 2 and summary["pre_annotated"] == 5
    config = tmp_path / "tasks.config.xml"
    assert config.read_text() == labelling_config()
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    first, middle, last_of_article = tasks[0], tasks[1], tasks[2]
    # every $key of the config exists in every task (Label Studio refuses the import otherwise)
    for task in tasks:
        assert {"text", *CONTEXT_KEYS} <= set(task["data"])
    assert first["data"]["id"] == "art-1-p00" and first["data"]["article_id"] == "art-1"
    assert first["data"]["context_headline"] == "Blinken in Beijing"
    assert first["data"]["context_before"] == "" and first["data"]["context_after"] == PREDICTIONS[1]["text"]
    assert middle["data"]["context_before"] == PREDICTIONS[0]["text"]
    assert middle["data"]["context_after"] == PREDICTIONS[2]["text"]
    assert last_of_article["data"]["context_after"] == ""  # the next record is another article
    assert tasks[3]["data"]["context_headline"] == "" and tasks[3]["data"]["context_before"] == ""
    # metadata and unknown keys travel in data; labels and scores travel as the prediction
    assert first["data"]["meta"]["url"] == "https://example.com/a1" and first["data"]["note"] == "keep me"
    assert first["data"]["source"] == "preds" and first["data"]["start"] is None
    assert not {"topics", "stance", "topic_scores", "stance_scores"} & set(first["data"])
    (prediction,) = first["predictions"]
    assert prediction["model_version"] == "topic-stance:minilm-topic-stance"
    topics_result, stance_result = prediction["result"]
    assert topics_result == {"from_name": "topics", "to_name": "text", "type": "choices",
                             "value": {"choices": ["taiwan"]}, "score": 0.9}
    assert stance_result["value"] == {"choices": ["confrontational"]} and stance_result["score"] == 0.7
    assert prediction["score"] == 0.7
    assert tasks[2]["predictions"][0]["result"][0]["value"] == {"choices": []}  # no topic is a suggestion too


def test_export_article_unit_predictions(tmp_path):
    paragraphs = [{k: v for k, v in paragraph_prediction(f"doc-p0{i}", f"Paragraph {i} on trade.", ["trade"],
                                                          "neutral").items() if k != "meta"} for i in range(3)]
    article = {"id": "doc", "headline": "Tariff talks", "meta": {"site": "Example"}, "summary": {"paragraphs": 3},
               "paragraphs": paragraphs}
    path = write_jsonl(tmp_path / "articles.jsonl", [article])
    export_tasks([path], tmp_path / "out.json", tmp_path / "config.xml", model_version="v7", context=2)
    tasks = json.loads((tmp_path / "out.json").read_text())
    assert [t["data"]["id"] for t in tasks] == ["doc-p00", "doc-p01", "doc-p02"]
    assert {t["data"]["article_id"] for t in tasks} == {"doc"}
    assert tasks[2]["data"]["context_before"] == "Paragraph 0 on trade.\n\nParagraph 1 on trade."
    assert tasks[0]["data"]["context_headline"] == "Tariff talks" and tasks[0]["data"]["meta"] == {"site": "Example"}
    assert "summary" not in tasks[0]["data"]
    assert tasks[0]["predictions"][0]["model_version"] == "v7"
    assert (tmp_path / "config.xml").exists()


def test_export_refuses_bad_input(tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [
        {"id": "x-p00", "text": "fine", "topics": ["trade"], "stance": "neutral"},
        {"id": "x-p01", "text": "bad", "topics": ["tariffs"], "stance": "neutral"},
        {"id": "x-p00", "text": "again", "topics": [], "stance": "neutral"},
        {"id": "y-p00", "text": "mine", "topics": [], "stance": "neutral", "context_before": "oops"},
        {"article": "no paragraphs key", "id": "z", "paragraphs": [{"id": "z-p00", "text": "t", "topics": [],
                                                                      "stance": "angry"}]},
    ])
    with pytest.raises(LabelFileError) as err:
        export_tasks([bad], tmp_path / "tasks.json")
    text = str(err.value)
    assert f"{bad}:2: field 'topics': unknown label 'tariffs'" in text
    assert f"{bad}:3: field 'id': duplicate id 'x-p00'" in text
    assert f"{bad}:4: field 'context_before'" in text
    assert f"{bad}:5: field 'paragraphs[0].stance': unknown label 'angry'" in text
    assert not (tmp_path / "tasks.json").exists() and not (tmp_path / "tasks.config.xml").exists()
    with pytest.raises(TopicStanceError, match=r"\*\.json"):
        export_tasks([bad], tmp_path / "tasks.jsonl")


# ---------------------------------------------------------------- import
def test_round_trip_with_edited_annotations(predictions, tmp_path):
    export_tasks([predictions], tmp_path / "tasks.json")
    tasks = json.loads((tmp_path / "tasks.json").read_text())

    def annotate(exported, task):
        pid = exported["data"]["id"]
        if pid == "art-1-p00":  # accepted as suggested
            suggested = task["predictions"][0]["result"]
            return [dict(annotation(1, [], "neutral", "2026-03-01T10:00:00Z"), result=copy.deepcopy(suggested))]
        if pid == "art-1-p01":  # two annotators; the later one wins
            return [annotation(3, ["trade", "taiwan"], "neutral", "2026-03-02T09:00:00.5Z", user=4),
                    annotation(2, ["trade"], "confrontational", "2026-03-01T10:00:00Z", user={"id": 5, "email": "b@x.org"})]
        if pid == "art-1-p02":  # only a cancelled (skipped) annotation
            return [annotation(4, [], "neutral", "2026-03-01T10:00:00Z", cancelled=True)]
        if pid == "art-2-p00":  # edited, plus a cancelled one that is newer
            note = {"from_name": "comment", "to_name": "text", "type": "textarea", "value": {"text": ["check quote"]}}
            return [annotation(5, [], "neutral", "2026-03-01T10:00:00Z", result=[note]),
                    annotation(6, ["taiwan"], "neutral", "2026-03-05T10:00:00Z", cancelled=True)]
        return []  # art-2-p01: not labelled yet

    exported = simulate_export(tasks, annotate)
    export_path = tmp_path / "project-1-at-2026.json"
    export_path.write_text(json.dumps(exported))

    result = labels_from_export(exported, str(export_path))
    assert [r["id"] for r in result.records] == ["art-1-p00", "art-1-p01", "art-2-p00"]
    assert result.unannotated == ["task 103 [art-1-p02]", "task 105 [art-2-p01]"]
    assert result.cancelled == 2
    assert len(result.several) == 1 and result.several[0].startswith("task 102 [art-1-p01]: 2 annotations; "
                                                                      "kept annotation 3 by user 4")
    for number, record in enumerate(result.records, start=1):
        assert validate_record(record, "import", number) == []
    accepted, edited, with_note = result.records
    assert accepted["topics"] == ["taiwan"] and accepted["stance"] == "confrontational"
    assert list(accepted)[:8] == ["id", "article_id", "text", "topics", "stance", "source", "annotator", "annotated_at"]
    assert accepted["annotator"] == "user 3" and accepted["annotated_at"] == "2026-03-01T10:00:00Z"
    assert accepted["source"] == "preds" and accepted["note"] == "keep me" and accepted["start"] is None
    assert accepted["meta"] == PREDICTIONS[0]["meta"] and not set(CONTEXT_KEYS) & set(accepted)
    assert accepted["text"] == PREDICTIONS[0]["text"] and accepted["article_id"] == "art-1"
    assert edited["topics"] == ["trade", "taiwan"] and edited["stance"] == "neutral"
    assert edited["annotator"] == "user 4" and edited["annotated_at"] == "2026-03-02T09:00:00.5Z"
    assert with_note["topics"] == [] and with_note["comment"] == "check quote"

    out = tmp_path / "reviewed.jsonl"
    written = import_labels(export_path, out)
    assert "2 task(s) with no annotation" in written.summary() and "several" in written.summary()
    records, problems = read_label_file(out)
    assert problems == [] and records == result.records


def test_label_file_round_trip_loses_nothing(tmp_path):
    """Seed labels -> tasks -> every suggestion accepted -> the same records, plus annotator fields."""
    seed = REPO / "data" / "labelled" / "seed.jsonl"
    originals, problems = read_label_file(seed)
    assert not problems
    export_tasks([seed], tmp_path / "seed-tasks.json")
    tasks = json.loads((tmp_path / "seed-tasks.json").read_text())
    assert len(tasks) == len(originals)
    assert {t["predictions"][0]["model_version"] for t in tasks} == {"labels:seed"}
    assert "score" not in tasks[0]["predictions"][0]  # labels, not a model: no score to give

    def accept(exported, task):
        return [dict(annotation(1, [], "neutral", "2026-03-01T10:00:00Z", user={"id": 2, "email": "a@x.org"}),
                     result=[r for r in copy.deepcopy(task["predictions"][0]["result"]) if r["value"]["choices"]])]

    result = labels_from_export(simulate_export(tasks, accept), "export.json")
    back = [{k: v for k, v in r.items() if k not in ("annotator", "annotated_at")} for r in result.records]
    assert back == originals
    assert {r["annotator"] for r in result.records} == {"a@x.org"}


def test_bad_export_names_task_and_field(tmp_path):
    good = {"id": "ok-p00", "article_id": "ok", "text": "Fine.", "source": "s"}
    tasks = [
        {"id": 1, "data": good, "annotations": [annotation(1, ["tariffs"], "neutral", "2026-01-01T00:00:00Z")]},
        {"id": 2, "data": dict(good, id="b-p00"), "annotations": [
            dict(annotation(2, [], "neutral", "2026-01-01T00:00:00Z"),
                 result=[{"from_name": "stance", "to_name": "text", "type": "choices",
                          "value": {"choices": ["neutral", "conciliatory"]}}])]},
        {"id": 3, "data": dict(good, id="c-p00"), "annotations": [
            dict(annotation(3, ["trade"], "neutral", "2026-01-01T00:00:00Z"), result=[])]},
        {"id": 4, "data": {"text": "no id"}, "annotations": [annotation(4, [], "neutral", "2026-01-01T00:00:00Z")]},
        {"id": 5, "data": dict(good, id="e-p00", text="  "), "annotations": [
            annotation(5, [], "hostile", "2026-01-01T00:00:00Z")]},
        {"id": 6, "annotations": []},
        {"id": 7, "data": dict(good, id="b-p00", text="dup"), "annotations": [
            annotation(7, [], "neutral", "2026-01-01T00:00:00Z")]},
        "not a task",
    ]
    with pytest.raises(LabelFileError) as err:
        labels_from_export(tasks, "export.json")
    text = str(err.value)
    for expected in (
            "export.json:task 1 [ok-p00]: field 'topics': unknown label 'tariffs'",
            "export.json:task 2 [b-p00]: field 'stance': choose exactly one stance",
            "export.json:task 3 [c-p00]: field 'stance': no stance chosen",
            "export.json:task 4: field 'data.id': missing",
            "export.json:task 5 [e-p00]: field 'data.text': is empty",
            "export.json:task 5 [e-p00]: field 'stance': unknown label 'hostile'",
            "export.json:task 6: field 'data': missing or not an object",
            "export.json:task 7 [b-p00]: field 'data.id': duplicate id 'b-p00' (also task 2 [b-p00])",
            "export.json:task #8: field '<task>': expected a JSON object"):
        assert expected in text, f"{expected!r} not in\n{text}"
    assert len(err.value.problems) == 9


def test_strict_makes_an_unannotated_task_an_error():
    tasks = [{"id": 9, "data": {"id": "a-p00", "text": "t"}, "annotations": []},
             {"id": 10, "data": {"id": "a-p01", "text": "t"},
              "annotations": [annotation(1, [], "neutral", "2026-01-01T00:00:00Z", cancelled=True)]}]
    assert labels_from_export(tasks, "e.json").unannotated == ["task 9 [a-p00]", "task 10 [a-p01]"]
    with pytest.raises(LabelFileError) as err:
        labels_from_export(tasks, "e.json", strict=True)
    assert "e.json:task 9 [a-p00]: field 'annotations': no annotation" in str(err.value)
    assert "e.json:task 10 [a-p01]: field 'annotations': no annotation (1 cancelled)" in str(err.value)


def test_import_refuses_unreadable_exports(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": 1,')
    with pytest.raises(LabelFileError, match="invalid JSON"):
        import_labels(broken, tmp_path / "out.jsonl")
    minimal = tmp_path / "min.json"
    minimal.write_text(json.dumps([{"id": 1, "text": "t", "stance": "neutral", "annotation_id": 3, "annotator": 1}]))
    with pytest.raises(LabelFileError, match="JSON-MIN"):
        import_labels(minimal, tmp_path / "out.jsonl")
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps([{"id": 1, "data": {"id": "a", "text": "t"}, "annotations": []}]))
    with pytest.raises(TopicStanceError, match="no annotated task"):
        import_labels(empty, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_cli_entry_points(predictions, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    from topic_stance.cli import export_tasks_flags, import_labels_flags

    export_tasks_flags(sub.add_parser("export-tasks"))
    import_labels_flags(sub.add_parser("import-labels"))
    args = parser.parse_args(["export-tasks", str(predictions), "--output", str(tmp_path / "t.json"), "--context", "0"])
    run_export_tasks(args)
    assert "wrote 5 task(s) from 2 article(s)" in capsys.readouterr().err
    tasks = json.loads((tmp_path / "t.json").read_text())
    assert tasks[1]["data"]["context_before"] == "" and (tmp_path / "t.config.xml").exists()
    exported = simulate_export(tasks, lambda e, t: [annotation(1, ["trade"], "neutral", "2026-01-01T00:00:00Z")])
    (tmp_path / "export.json").write_text(json.dumps(exported))
    args = parser.parse_args(["import-labels", str(tmp_path / "export.json"), "--output", str(tmp_path / "l.jsonl"),
                              "--strict"])
    run_import_labels(args)
    assert "5 label record(s) from 5 task(s)" in capsys.readouterr().err
    records, problems = read_label_file(tmp_path / "l.jsonl")
    assert not problems and len(records) == 5


# ---------------------------------------------------------------- a real server
@pytest.mark.slow
def test_real_label_studio_server_round_trip(predictions, tmp_path):
    """Tasks and config into a real Label Studio on 127.0.0.1, predictions read back, annotations
    made through the API, its own JSON export imported as labels. About 10-20 s once the server
    venv exists (tools/labelstudio/install.sh: about 3 minutes, once, needs PyPI)."""
    from tools.labelstudio import server as ls

    why = ls.venv_status()
    if why and os.environ.get("TOPIC_STANCE_LABEL_STUDIO_INSTALL") == "1":
        failed = ls.install()
        if failed:
            pytest.skip(f"cannot install the Label Studio server (offline?): {failed}")
        why = ls.venv_status()
    if why:
        pytest.skip(f"{why}: run tools/labelstudio/install.sh once (about 3 min, needs PyPI), or set "
                    f"TOPIC_STANCE_LABEL_STUDIO_INSTALL=1")
    started = time.monotonic()
    export_tasks([predictions], tmp_path / "tasks.json")
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    checked = subprocess.run([str(ls.venv_dir() / "bin" / "python"), str(REPO / "tools/labelstudio/check_tasks.py"),
                              str(tmp_path / "tasks.json")], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr  # label-studio-sdk's LabelInterface agrees
    with ls.LabelStudioServer(tmp_path / "server") as server:
        ready = time.monotonic()
        project = server.api("POST", "/api/projects", {"title": "topic-stance round trip",
                                                       "label_config": (tmp_path / "tasks.config.xml").read_text()})
        imported = server.api("POST", f"/api/projects/{project['id']}/import", tasks)
        assert imported["task_count"] == 5 and imported["prediction_count"] == 5
        stored = server.api("GET", "/api/tasks", params={"project": project["id"], "fields": "all", "page_size": 100})
        stored = stored["tasks"] if isinstance(stored, dict) else stored
        by_id = {t["data"]["id"]: t for t in stored}
        assert set(by_id) == {p["id"] for p in PREDICTIONS}
        for sent in tasks:
            got = by_id[sent["data"]["id"]]
            assert got["data"] == sent["data"]  # ids, article ids, context and metadata intact
            (prediction,) = got["predictions"]
            assert prediction["model_version"] == "topic-stance:minilm-topic-stance"
            assert prediction["result"] == sent["predictions"][0]["result"]  # choices and per-result scores
            assert prediction["score"] == pytest.approx(sent["predictions"][0]["score"])

        def annotate(pid, topics, stance, cancelled=False):
            result = [{"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": [stance]}}]
            if topics:
                result.insert(0, {"from_name": "topics", "to_name": "text", "type": "choices",
                                  "value": {"choices": topics}})
            server.api("POST", f"/api/tasks/{by_id[pid]['id']}/annotations",
                       {"result": result, "was_cancelled": cancelled})

        annotate("art-1-p00", ["taiwan"], "confrontational")       # accepted
        annotate("art-1-p01", ["trade"], "confrontational")
        time.sleep(0.05)
        annotate("art-1-p01", ["trade", "taiwan"], "neutral")      # a later second annotation wins
        annotate("art-1-p02", [], "neutral", cancelled=True)       # skipped
        annotate("art-2-p00", [], "neutral")                       # edited to no topic
        snapshot = server.api("POST", f"/api/projects/{project['id']}/exports",
                              {"serialization_options": {"annotations__completed_by": {"only_id": False}}})
        for _ in range(120):
            if snapshot["status"] in ("completed", "failed"):
                break
            time.sleep(0.25)
            snapshot = server.api("GET", f"/api/projects/{project['id']}/exports/{snapshot['id']}")
        assert snapshot["status"] == "completed"
        exported = server.api("GET", f"/api/projects/{project['id']}/exports/{snapshot['id']}/download",
                              params={"exportType": "JSON"})
        plain = server.api("GET", f"/api/projects/{project['id']}/export", params={"exportType": "JSON"})
    result = labels_from_export(exported, "export.json")
    records = {r["id"]: r for r in result.records}
    assert set(records) == {"art-1-p00", "art-1-p01", "art-2-p00"}
    assert (records["art-1-p01"]["topics"], records["art-1-p01"]["stance"]) == (["trade", "taiwan"], "neutral")
    assert (records["art-2-p00"]["topics"], records["art-2-p00"]["stance"]) == ([], "neutral")
    assert records["art-1-p00"]["annotator"] == ls.USERNAME and records["art-1-p00"]["meta"] == PREDICTIONS[0]["meta"]
    assert records["art-1-p00"]["note"] == "keep me"
    assert result.unannotated == [f"task {by_id['art-1-p02']['id']} [art-1-p02]", f"task {by_id['art-2-p01']['id']} [art-2-p01]"]
    assert result.cancelled == 1 and len(result.several) == 1
    for number, record in enumerate(result.records, start=1):
        assert validate_record(record, "export.json", number) == []
    # the export the UI's Export > JSON gives names the annotator by id only
    assert {r["annotator"] for r in labels_from_export(plain, "plain.json").records} == {"user 1"}
    print(f"\nLabel Studio round trip: server ready in {ready - started:.1f} s, "
          f"{time.monotonic() - started:.1f} s in all")
