"""Label Studio round trip: model suggestions out as tasks, reviewed labels back as a label file.

`export-tasks` turns a prediction file (`predict --unit paragraph` or article-unit `.jsonl`) or any
label file into Label Studio's task import format: one task per paragraph, its `data` holding every
field of the record (id, article_id, text, source, start/end, meta, anything else) plus the article
context shown beside it (headline, neighbouring paragraphs), and the record's labels as a
pre-annotation (`predictions`: one `choices` result for the topics, one for the stance, each with
the model's `score`). It also writes the matching labelling config (topics `choice="multiple"`,
stance `choice="single"`).

`import-labels` reads Label Studio's JSON export back into the guide's record format: id,
article_id, text, topics, stance, source, `annotator` and `annotated_at` (from the annotation's
`completed_by` / `updated_at`), then every other key the task data carried. Each record is checked
with `labels.validate_record`; problems are reported as `file:task N [paragraph id]: field ...`.

Both directions are plain JSON, which is Label Studio's own import/export format, so the project
venv needs nothing extra. (label-studio-sdk pins numpy<2.3 through opencv and is not installed
here; tools/labelstudio/ runs a real server in its own venv for the end-to-end test.)
"""

from __future__ import annotations

import codecs
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence
from xml.sax.saxutils import quoteattr

from .errors import TopicStanceError
from .labels import STANCES, TOPICS, LabelFileError, Problem, article_id_of, iter_jsonl, iter_label_paths, \
    validate_record

TEXT = "text"                      # the object tag the controls label (the paragraph)
TOPICS_CONTROL = "topics"          # Choices, choice="multiple"
STANCE_CONTROL = "stance"          # Choices, choice="single"
CONTEXT_KEYS = ("context_headline", "context_before", "context_after")  # shown, never imported back
MODEL_KEYS = ("topics", "stance", "topic_scores", "stance_scores")      # become the pre-annotation
LEADING_KEYS = ("id", "article_id", "text", "topics", "stance", "source", "annotator", "annotated_at")
# task data fields that are addressed in the XML or rebuilt on import
_DATA_FIELDS = {"id": "data.id", "article_id": "data.article_id", "text": "data.text", "source": "data.source"}
_MISSING_ID = "missing: the task has no paragraph id (tasks made by export-tasks carry it in data.id)"


# ---------------------------------------------------------------- the labelling config
def labelling_config(topics: Sequence[str] = TOPICS, stances: Sequence[str] = STANCES) -> str:
    """Label Studio XML: article context around the paragraph, multi-choice topics, single-choice stance.

    Every `$key` it uses is present in each exported task (empty when unknown), since Label Studio
    refuses tasks that lack a key the config names.
    """
    def choices(names):
        return "\n".join(f"    <Choice value={quoteattr(name)}/>" for name in names)

    muted = '"color: #57606a; padding: 0.25em 1em;"'
    return f"""<View>
  <Header value="Label the marked paragraph by its own words (docs/labeling-guide.md); the context only tells who is speaking."/>
  <View style={muted}>
    <Text name="context_headline" value="$context_headline" granularity="word"/>
    <Text name="context_before" value="$context_before" granularity="word"/>
  </View>
  <View style="border-left: 4px solid #0969da; background: #f6f8fa; padding: 0.5em 1em;">
    <Text name="{TEXT}" value="$text" granularity="word"/>
  </View>
  <View style={muted}>
    <Text name="context_after" value="$context_after" granularity="word"/>
  </View>
  <Header value="Topics: every one the paragraph names; none when no topic applies"/>
  <Choices name="{TOPICS_CONTROL}" toName="{TEXT}" choice="multiple" showInline="true">
{choices(topics)}
  </Choices>
  <Header value="Stance"/>
  <Choices name="{STANCE_CONTROL}" toName="{TEXT}" choice="single" required="true" showInline="true">
{choices(stances)}
  </Choices>
</View>
"""


# ---------------------------------------------------------------- export: records -> tasks
@dataclass
class Paragraph:
    """One paragraph read for export: the record as given (plus article_id), where it came from."""

    record: dict
    article_id: str
    headline: str | None
    model_version: str
    path: str
    line: int


def read_for_export(paths: Iterable[str | Path], source: str | None = None,
                    model_version: str | None = None) -> list[Paragraph]:
    """Paragraphs of prediction files (paragraph or article unit) and label files, in file order.

    Raises LabelFileError listing every bad record (unknown label, missing text, duplicate id, ...).
    """
    files = list(iter_label_paths(paths))
    if not files:
        raise LabelFileError([Problem(", ".join(map(str, paths)), 0, "<file>", "no .jsonl files found")])
    paragraphs: list[Paragraph] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in files:
        name = str(path)
        if path.suffix.lower() != ".jsonl":
            problems.append(Problem(name, 0, "<file>", "export-tasks reads .jsonl prediction or label files "
                                                       "(predict --output x.jsonl)"))
            continue
        version = model_version or _model_version(path)
        before = len(paragraphs)
        for number, item in iter_jsonl(path):
            if isinstance(item, Problem):
                problems.append(item)
            elif isinstance(item, dict) and isinstance(item.get("paragraphs"), list):
                _article_paragraphs(item, name, number, version, source, paragraphs, problems)
            else:
                found = _check_paragraph(item, name, number, "")
                if found:
                    problems.extend(found)
                    continue
                meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
                record = dict(item)
                record.setdefault("source", source or path.stem)
                paragraphs.append(Paragraph(record, article_id_of(record), meta.get("title") or item.get("headline"),
                                            version or _default_version(record, path), name, number))
        for p in paragraphs[before:]:
            pid = p.record["id"]
            if pid in seen:
                problems.append(Problem(name, p.line, "id", f"duplicate id {pid!r} (also at {seen[pid]})"))
            seen.setdefault(pid, f"{name}:{p.line}")
        if len(paragraphs) == before and not any(pr.path == name for pr in problems):
            problems.append(Problem(name, 0, "<file>", "holds no records"))
    if problems:
        raise LabelFileError(problems)
    return paragraphs


def _article_paragraphs(article: dict, name: str, number: int, version: str, source: str | None,
                        out: list[Paragraph], problems: list[Problem]) -> None:
    article_id = article.get("id")
    if not isinstance(article_id, str) or not article_id.strip():
        problems.append(Problem(name, number, "id", "an article line needs a non-empty string id"))
        return
    meta = article.get("meta") if isinstance(article.get("meta"), dict) else {}
    headline = article.get("headline") or meta.get("title")
    for index, paragraph in enumerate(article["paragraphs"]):
        found = _check_paragraph(paragraph, name, number, f"paragraphs[{index}].")
        if found:
            problems.extend(found)
            continue
        record = {"id": paragraph["id"], "article_id": article_id, **paragraph}
        record.setdefault("source", source or Path(name).stem)
        if meta:
            record.setdefault("meta", meta)
        out.append(Paragraph(record, article_id, headline, version or _default_version(record, Path(name)), name,
                             number))


def _check_paragraph(item: object, name: str, number: int, prefix: str) -> list[Problem]:
    """validate_record, with unlabelled records ({id, text} only: no pre-annotation) allowed."""
    if isinstance(item, dict) and "topics" not in item and "stance" not in item:
        found = validate_record({**item, "topics": [], "stance": STANCES[0]}, name, number)
    else:
        found = validate_record(item, name, number)
    if isinstance(item, dict):
        for key in CONTEXT_KEYS:
            if key in item:
                found.append(Problem(name, number, key, "is a name export-tasks uses for the article context; "
                                                        "rename the field"))
        for key in ("topic_scores", "stance_scores"):
            scores = item.get(key)
            if key in item and not (isinstance(scores, dict) and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in scores.values())):
                found.append(Problem(name, number, key, "must map label names to numbers"))
    return [Problem(p.path, p.line, prefix + p.field, p.message) for p in found]


def _model_version(path: Path) -> str | None:
    """`topic-stance:<model folder>` from predict's `<output>.meta.json`, when there is one."""
    sidecar = path.with_name(path.name + ".meta.json")
    try:
        model = json.loads(sidecar.read_text(encoding="utf-8")).get("model")
    except (OSError, ValueError, AttributeError):
        return None
    return f"topic-stance:{Path(model).name}" if isinstance(model, str) and model.strip() else None


def _default_version(record: dict, path: Path) -> str:
    """Without a sidecar: `topic-stance:<file stem>` for scored records, `labels:<file stem>` for labels."""
    return f"{'topic-stance' if 'topic_scores' in record or 'stance_scores' in record else 'labels'}:{path.stem}"


def build_tasks(paragraphs: Sequence[Paragraph], context: int = 1) -> list[dict]:
    """Label Studio tasks, one per paragraph, with `context` neighbouring paragraphs either side."""
    by_article: dict[str, list[int]] = {}
    for index, p in enumerate(paragraphs):
        by_article.setdefault(p.article_id, []).append(index)
    tasks: list[dict] = [{}] * len(paragraphs)
    for members in by_article.values():
        headline = next((paragraphs[i].headline for i in members if paragraphs[i].headline), None)
        for position, index in enumerate(members):
            before = [paragraphs[i].record["text"] for i in members[max(0, position - context):position]] if context else []
            after = [paragraphs[i].record["text"] for i in members[position + 1:position + 1 + context]] if context else []
            tasks[index] = task_for(paragraphs[index], headline, before, after)
    return tasks


def task_for(paragraph: Paragraph, headline: str | None, before: Sequence[str], after: Sequence[str]) -> dict:
    """One task: every non-label field of the record in `data` (nothing is lost), labels as a prediction."""
    record = paragraph.record
    data = {"id": record["id"], "article_id": paragraph.article_id, "source": record.get("source"),
            "context_headline": headline or "", "context_before": "\n\n".join(before),
            "text": record["text"], "context_after": "\n\n".join(after)}
    data.update({k: v for k, v in record.items() if k not in data and k not in MODEL_KEYS})
    task = {"data": data}
    if "stance" in record:
        task["predictions"] = [prediction(record, paragraph.model_version)]
    return task


def prediction(record: dict, model_version: str) -> dict:
    """A Label Studio prediction of the record's topics and stance.

    Scores (present when the record has `topic_scores` / `stance_scores`): the stance result's is the
    chosen stance's probability; the topics result's is the probability that the weakest of the four
    topic decisions is right (p for a chosen topic, 1 - p for one left out); the prediction's is the
    lower of the two, so sorting tasks by prediction score brings the least certain first.
    """
    topic_scores, stance_scores = record.get("topic_scores") or {}, record.get("stance_scores") or {}
    topics_score = stance_score = None
    if topic_scores and all(t in topic_scores for t in TOPICS):
        topics_score = round(min(float(topic_scores[t]) if t in record["topics"] else 1.0 - float(topic_scores[t])
                                 for t in TOPICS), 4)
    if record["stance"] in stance_scores:
        stance_score = round(float(stance_scores[record["stance"]]), 4)
    results = []
    for control, chosen, score in ((TOPICS_CONTROL, list(record["topics"]), topics_score),
                                   (STANCE_CONTROL, [record["stance"]], stance_score)):
        result = {"from_name": control, "to_name": TEXT, "type": "choices", "value": {"choices": chosen}}
        if score is not None:
            result["score"] = score
        results.append(result)
    out = {"model_version": model_version, "result": results}
    scores = [s for s in (topics_score, stance_score) if s is not None]
    if scores:
        out["score"] = min(scores)
    return out


def export_tasks(inputs: Sequence[str | Path], output: str | Path, config: str | Path | None = None, *,
                 model_version: str | None = None, source: str | None = None, context: int = 1) -> dict:
    """Write Label Studio tasks (`output`, a JSON array) and the labelling config XML; return a summary."""
    from .io import atomic_path, check_output_path

    output = Path(output)
    if output.suffix.lower() != ".json":
        raise TopicStanceError(f"--output {output}: Label Studio imports tasks as a JSON array; name it *.json")
    config = Path(config) if config else default_config_path(output)
    if config.resolve() == output.resolve():
        raise TopicStanceError(f"--label-config {config}: is the tasks file; give another name")
    paths = [Path(p) for p in inputs]
    check_output_path(output, paths)
    check_output_path(config, paths)
    if context < 0:
        raise TopicStanceError(f"--context must be >= 0, got {context}")
    paragraphs = read_for_export(paths, source=source, model_version=model_version)
    tasks = build_tasks(paragraphs, context)
    with atomic_path(output) as tmp:
        tmp.write_text("[\n" + ",\n".join(json.dumps(t, ensure_ascii=False) for t in tasks) + "\n]\n", encoding="utf-8")
    with atomic_path(config) as tmp:
        tmp.write_text(labelling_config(), encoding="utf-8")
    return {"tasks": len(tasks), "articles": len({p.article_id for p in paragraphs}),
            "pre_annotated": sum("predictions" in t for t in tasks),
            "model_versions": sorted({p.model_version for p in paragraphs}), "output": str(output), "config": str(config)}


def default_config_path(output: Path) -> Path:
    """tasks.json -> tasks.config.xml"""
    return output.with_name(output.stem + ".config.xml")


# ---------------------------------------------------------------- import: Label Studio export -> records
@dataclass
class ImportResult:
    """What `labels_from_export` found: the label records and what it skipped or chose."""

    records: list[dict]
    tasks: int = 0
    unannotated: list[str] = field(default_factory=list)   # tasks with no (live) annotation, skipped
    cancelled: int = 0                                     # cancelled annotations skipped
    several: list[str] = field(default_factory=list)       # tasks with several annotations: which was kept

    def summary(self) -> str:
        lines = [f"{len(self.records)} label record(s) from {self.tasks} task(s)"]
        if self.unannotated:
            shown = ", ".join(self.unannotated[:10]) + (" ..." if len(self.unannotated) > 10 else "")
            lines.append(f"skipped {len(self.unannotated)} task(s) with no annotation: {shown} "
                         f"(--strict makes this an error)")
        if self.cancelled:
            lines.append(f"skipped {self.cancelled} cancelled annotation(s)")
        if self.several:
            lines.append(f"{len(self.several)} task(s) had several annotations; kept the most recent:")
            lines.extend(f"  {note}" for note in self.several)
        return "\n".join(lines)


def read_export(path: str | Path) -> list:
    """The task list of a Label Studio JSON export (Export > JSON), or LabelFileError."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise LabelFileError([Problem(name, 0, "<file>", f"cannot read: {err.strerror or err}")]) from None
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        tasks = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise LabelFileError([Problem(name, 0, "<file>", f"not UTF-8 (byte {err.start})")]) from None
    except json.JSONDecodeError as err:
        raise LabelFileError([Problem(name, err.lineno, "<json>", f"invalid JSON: {err.msg} (column {err.colno}); "
                                                                  f"export the project as JSON")]) from None
    if not isinstance(tasks, list):
        raise LabelFileError([Problem(name, 0, "<file>", "expected a JSON array of tasks (Label Studio's JSON "
                                                         f"export), got {type(tasks).__name__}")])
    if tasks and all(isinstance(t, dict) and "data" not in t and "annotation_id" in t for t in tasks):
        raise LabelFileError([Problem(name, 0, "<file>", "this is a JSON-MIN export, which drops cancelled and "
                                                         "earlier annotations; export the project as JSON")])
    return tasks


def labels_from_export(tasks: list, path: str = "<export>", *, strict: bool = False,
                       source: str | None = None) -> ImportResult:
    """Label records from an exported task list; raise LabelFileError listing every problem.

    Per task: cancelled annotations (`was_cancelled`) are skipped; of the rest the most recent
    (`updated_at`, then `created_at`, then id) is kept, and `several` says so; a task left with
    none is skipped and listed in `unannotated`, or is an error when `strict`.
    """
    result = ImportResult(records=[], tasks=len(tasks))
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for index, task in enumerate(tasks, start=1):
        ref = _task_ref(task, index)
        if not isinstance(task, dict):
            problems.append(Problem(path, ref, "<task>", f"expected a JSON object, got {type(task).__name__}"))
            continue
        data = task.get("data")
        if not isinstance(data, dict):
            problems.append(Problem(path, ref, "data", "missing or not an object"))
            continue
        annotations = task.get("annotations", [])
        if not isinstance(annotations, list):
            problems.append(Problem(path, ref, "annotations", "must be a list"))
            continue
        bad = [i for i, a in enumerate(annotations) if not isinstance(a, dict)]
        if bad:
            problems.append(Problem(path, ref, f"annotations[{bad[0]}]", "expected a JSON object"))
            continue
        live = [(i, a) for i, a in enumerate(annotations) if not a.get("was_cancelled")]
        cancelled = len(annotations) - len(live)
        result.cancelled += cancelled
        if not live:
            why = "no annotation" + (f" ({cancelled} cancelled)" if cancelled else "")
            if strict:
                problems.append(Problem(path, ref, "annotations", f"{why}: label the task or leave out --strict"))
            else:
                result.unannotated.append(ref)
            continue
        position, chosen = max(live, key=lambda pair: _recency(pair[1]))
        record, found = _record(task, data, chosen, position, path, ref, source)
        if len(live) > 1:
            result.several.append(f"{ref}: {len(live)} annotations; kept annotation {chosen.get('id', position)}"
                                  f" by {record.get('annotator') or 'unknown'} at {record.get('annotated_at') or '?'}")
        if not found:
            found = [Problem(path, ref, _DATA_FIELDS.get(p.field, p.field),
                             _MISSING_ID if (p.field, p.message) == ("id", "missing") else p.message)
                     for p in validate_record(record, path, ref)]
        pid = data.get("id")
        if isinstance(pid, str) and pid in seen:
            found.append(Problem(path, ref, "data.id", f"duplicate id {pid!r} (also {seen[pid]})"))
        elif isinstance(pid, str):
            seen[pid] = ref
        if found:
            problems.extend(found)
            continue
        result.records.append(record)
    if problems:
        raise LabelFileError(problems)
    return result


def _task_ref(task: object, index: int) -> str:
    """'task 12 [seed-000-p03]': Label Studio's task id (else '#position') and the paragraph id."""
    task_id = task.get("id") if isinstance(task, dict) else None
    ref = f"task {task_id}" if isinstance(task_id, (int, str)) and not isinstance(task_id, bool) else f"task #{index}"
    data = task.get("data") if isinstance(task, dict) else None
    pid = data.get("id") if isinstance(data, dict) else None
    return f"{ref} [{pid}]" if isinstance(pid, str) and pid else ref


def _recency(annotation: dict) -> tuple:
    stamp = annotation.get("updated_at") or annotation.get("created_at")
    when = datetime.min.replace(tzinfo=timezone.utc)
    if isinstance(stamp, str):
        try:
            when = datetime.fromisoformat(stamp)
            when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    number = annotation.get("id")
    return when, number if isinstance(number, int) else -1


def annotator_of(annotation: dict) -> str | None:
    """Who made the annotation: the email (or username) Label Studio names, else 'user N'."""
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        name = who.get("email") or who.get("username")
        if name:
            return str(name)
        who = who.get("id")
    created = annotation.get("created_username")  # "email, id" in Label Studio's JSON export
    if isinstance(created, str) and created.strip():
        name = created.rsplit(",", 1)[0].strip() if "," in created else created.strip()
        if name:
            return name
    if isinstance(who, (int, str)) and not isinstance(who, bool) and str(who):
        return f"user {who}"
    return None


def _record(task: dict, data: dict, annotation: dict, position: int, path: str, ref: str,
            source: str | None) -> tuple[dict, list[Problem]]:
    """The label record of one annotation (and the problems of its result)."""
    where = f"annotations[{position}]"
    problems: list[Problem] = []
    results = annotation.get("result")
    if not isinstance(results, list):
        return {}, [Problem(path, ref, f"{where}.result", "missing or not a list")]
    chosen: dict[str, object] = {}
    for item in results:
        if not isinstance(item, dict) or not isinstance(item.get("from_name"), str):
            problems.append(Problem(path, ref, f"{where}.result", "each result needs a from_name"))
            continue
        control, value = item["from_name"], item.get("value")
        if control in chosen:
            problems.append(Problem(path, ref, control, "given twice in one annotation"))
            continue
        if control in (TOPICS_CONTROL, STANCE_CONTROL):
            picks = value.get("choices") if isinstance(value, dict) else None
            if not isinstance(picks, list) or not all(isinstance(p, str) for p in picks):
                problems.append(Problem(path, ref, control, "expected a choices result (a list of label names)"))
                continue
            if control == STANCE_CONTROL and len(picks) != 1:
                problems.append(Problem(path, ref, control, f"choose exactly one stance, got {picks}"))
                continue
            chosen[control] = picks if control == TOPICS_CONTROL else picks[0]
        elif control in LEADING_KEYS or control in CONTEXT_KEYS:
            problems.append(Problem(path, ref, control, "a control of this name would overwrite a record field"))
        else:  # another control of a customised config (a note, a flag): carried as its value
            chosen[control] = _plain(value)
    if STANCE_CONTROL not in chosen and not problems:
        problems.append(Problem(path, ref, STANCE_CONTROL, "no stance chosen in the annotation"))
    record = {"id": data.get("id"), "article_id": data.get("article_id"), "text": data.get("text"),
              "topics": chosen.pop(TOPICS_CONTROL, []), "stance": chosen.pop(STANCE_CONTROL, None),
              "source": data.get("source") or source, "annotator": annotator_of(annotation),
              "annotated_at": annotation.get("updated_at") or annotation.get("created_at")}
    for key in ("id", "text"):
        if record[key] is None:
            del record[key]  # validate_record reports it missing
    if record["article_id"] is None:
        if isinstance(record.get("id"), str) and record["id"]:
            record["article_id"] = article_id_of(record)
        else:
            del record["article_id"]
    if record["stance"] is None:
        del record["stance"]
    record.update({k: v for k, v in data.items() if k not in record and k not in CONTEXT_KEYS})
    for key, value in chosen.items():
        if key in data:
            problems.append(Problem(path, ref, key, "a control of this name would overwrite the task's data field"))
        record[key] = value
    if record.get("source") is None:
        record.pop("source", None)
    return record, problems


def _plain(value: object) -> object:
    """A control's value as a label-file field: choices as a list, text as one string, else as given."""
    if isinstance(value, dict):
        if isinstance(value.get("choices"), list):
            return value["choices"]
        text = value.get("text")
        if isinstance(text, list) and all(isinstance(t, str) for t in text):
            return "\n".join(text)
        if isinstance(text, str):
            return text
        if len(value) == 1:
            return next(iter(value.values()))
    return value


def import_labels(export: str | Path, output: str | Path, *, strict: bool = False,
                  source: str | None = None) -> ImportResult:
    """Read a Label Studio JSON export and write its labels as a JSONL label file (nothing on error)."""
    from .io import atomic_path, check_output_path

    export, output = Path(export), Path(output)
    check_output_path(output, [export])
    if output.suffix.lower() != ".jsonl":
        raise TopicStanceError(f"--output {output}: label files are JSON Lines; name it *.jsonl")
    result = labels_from_export(read_export(export), str(export), strict=strict, source=source or export.stem)
    if not result.records:
        raise TopicStanceError(f"{export}: no annotated task to import ({result.summary()}); nothing written")
    with atomic_path(output) as tmp:
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in result.records), encoding="utf-8")
    return result


# ---------------------------------------------------------------- CLI (wired by cli.py)
def run_export_tasks(args) -> None:
    summary = export_tasks(args.inputs, args.output, args.label_config, model_version=args.model_version,
                           source=args.source, context=args.context)
    print(f"wrote {summary['tasks']} task(s) from {summary['articles']} article(s) "
          f"({summary['pre_annotated']} pre-annotated by {', '.join(summary['model_versions'])}) to "
          f"{summary['output']}; labelling config: {summary['config']}", file=sys.stderr)


def run_import_labels(args) -> None:
    result = import_labels(args.export, args.output, strict=args.strict, source=args.source)
    print(f"{result.summary()}\nwrote {args.output}", file=sys.stderr)
