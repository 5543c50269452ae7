"""Input reading and output writing of `predict` (topic_stance/io.py), on inputs built in tmp_path."""

from __future__ import annotations

import codecs
import csv
import io as stdio
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from topic_stance import io
from topic_stance.io import (InputRecord, OutputPathError, ResultWriter, Terminated, atomic_path, attach_meta,
                             check_output_path, expand_inputs, read_inputs)
from topic_stance.labels import Problem, read_label_file
from topic_stance.paragraphs import split_article

ARTICLE = "US and China resume talks\n\nBlinken met Wang in Beijing on Monday to discuss tariffs.\n"
PARAGRAPHS = ["Beijing and Washington agreed on Tuesday to resume talks on tariffs, officials said after a "
              "long meeting in the capital.",
              "The Chinese foreign ministry spokesperson warned against new export controls on advanced chips "
              "and said dialogue must continue.",
              "Analysts said the agreement could ease tensions that have weighed on markets for months."]


def page(title="China and US agree to resume trade talks", date="2024-03-05", body=PARAGRAPHS,
         url="https://news.example.com/world/trade-talks", charset="utf-8") -> str:
    paragraphs = "\n".join(f"<p>{p}</p>" for p in body)
    return textwrap.dedent(f"""\
        <!DOCTYPE html>
        <html><head><meta charset="{charset}">
        <title>{title} | Daily Example</title>
        <meta property="og:site_name" content="Daily Example">
        <meta property="og:title" content="{title}">
        <meta name="date" content="{date}">
        <link rel="canonical" href="{url}">
        </head><body>
        <nav><ul><li><a href="/">Home</a></li><li><a href="/world">World news</a></li>
        <li><a href="/business">Business desk</a></li></ul></nav>
        <article><h1>{title}</h1>
        {paragraphs}
        </article>
        <footer><p>Copyright 2024 Daily Example. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
        </body></html>""")


def read(inputs, **kwargs):
    items = list(read_inputs(expand_inputs(inputs), **kwargs))
    return [i for i in items if isinstance(i, InputRecord)], [i for i in items if isinstance(i, Problem)]


def jsonl(path: Path, *records, prefix: bytes = b"") -> Path:
    path.write_bytes(prefix + "".join(json.dumps(r) + "\n" for r in records).encode())
    return path


# ---------------------------------------------------------------- HTML
def test_html_page_main_text_title_and_metadata(tmp_path):
    (tmp_path / "story.html").write_text(page(), encoding="utf-8")
    records, problems = read([tmp_path / "story.html"])
    assert not problems and len(records) == 1
    record = records[0]
    assert record.id == "story" and record.line == 1
    assert record.meta == {"url": "https://news.example.com/world/trade-talks",
                           "title": "China and US agree to resume trade talks", "date": "2024-03-05",
                           "site": "Daily Example"}
    lines = record.text.splitlines()
    assert lines[0] == "China and US agree to resume trade talks"
    assert all(p in lines for p in PARAGRAPHS)  # one paragraph a line
    for boilerplate in ("Home", "World news", "Business desk", "Copyright", "Privacy policy"):
        assert boilerplate not in record.text
    split = split_article(record.text)
    assert split.headline == "China and US agree to resume trade talks" and split.texts == PARAGRAPHS


def test_html_paragraph_unit_leaves_the_title_out(tmp_path):
    (tmp_path / "story.htm").write_text(page(), encoding="utf-8")
    records, problems = read([tmp_path / "story.htm"], unit="paragraph")
    assert not problems and [r.text for r in records] == PARAGRAPHS
    assert all(r.meta["title"] == "China and US agree to resume trade talks" for r in records)


def test_html_declared_charset_and_bad_bytes(tmp_path):
    (tmp_path / "latin.html").write_bytes(page(title="Caf\u00e9 diplomacy in Beijing", charset="iso-8859-1")
                                          .encode("latin-1"))
    (tmp_path / "broken.html").write_bytes(page().encode() + "<p>Caf\u00e9</p>".encode("latin-1"))
    records, problems = read([tmp_path / "latin.html", tmp_path / "broken.html"])
    assert [r.meta["title"] for r in records] == ["Caf\u00e9 diplomacy in Beijing"]
    assert len(problems) == 1 and "broken.html" in str(problems[0]) and "not valid utf-8" in str(problems[0])


def test_html_without_text_is_a_problem(tmp_path):
    (tmp_path / "empty.html").write_text("<html><head><title>Nothing</title></head>"
                                         "<body><div><img src='x.png'></div></body></html>")
    records, problems = read([tmp_path / "empty.html"])
    assert not records and "no article text found" in str(problems[0])


# ---------------------------------------------------------------- WARC
def write_warc(path: Path, gzip: bool = True) -> dict[str, int]:
    """Two HTML responses, an image, a request record, a 404 and one non-UTF-8 HTML response;
    returns the byte offset of each record by URI (as written)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    entries = [
        ("https://news.example.com/a/1", "200 OK", "text/html; charset=utf-8",
         page(title="Talks on Taiwan resume", url="https://news.example.com/a/1").encode()),
        ("https://news.example.com/logo.png", "200 OK", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ("https://news.example.com/a/bad", "200 OK", "text/html; charset=utf-8",
         page(title="Caf\u00e9 talks").encode("latin-1")),
        ("https://news.example.com/gone", "404 Not Found", "text/html", b"<html><body><p>Not found.</p></body></html>"),
        ("https://news.example.com/a/2", "200 OK", "text/html",
         page(title="Sanctions debate in Washington", url="https://news.example.com/a/2", date="2024-04-01").encode()),
    ]
    offsets = {}
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=gzip)
        get = b"GET /a/1 HTTP/1.1\r\nHost: news.example.com\r\n\r\n"
        request = writer.create_warc_record("https://news.example.com/a/1", "request", payload=stdio.BytesIO(get))
        writer.write_record(request)
        for uri, status, content_type, body in entries:
            headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
            offsets[uri] = handle.tell()
            writer.write_record(writer.create_warc_record(uri, "response", payload=stdio.BytesIO(body),
                                                          http_headers=headers))
    return offsets


@pytest.mark.parametrize("name,gzip", [("crawl.warc.gz", True), ("crawl.WARC", False)])
def test_warc_html_responses_are_articles(tmp_path, name, gzip):
    offsets = write_warc(tmp_path / name, gzip)
    records, problems = read([tmp_path / name])
    assert [r.id for r in records] == ["https://news.example.com/a/1", "https://news.example.com/a/2"]
    assert records[0].meta["title"] == "Talks on Taiwan resume" and records[0].meta["url"] == records[0].id
    assert records[1].meta["date"] == "2024-04-01" and records[1].meta["site"] == "Daily Example"
    assert split_article(records[0].text).headline == "Talks on Taiwan resume"
    assert [r.line for r in records] == [offsets[r.id] for r in records]
    # the image, the request and the 404 are not articles: skipped silently; the bad record is reported
    assert len(problems) == 1
    bad = problems[0]
    assert bad.path == str(tmp_path / name) and bad.line == offsets["https://news.example.com/a/bad"]
    assert "https://news.example.com/a/bad" in bad.message and "not valid utf-8" in bad.message
    assert f"byte {bad.line}" in bad.message


def test_warc_paragraph_unit(tmp_path):
    write_warc(tmp_path / "crawl.warc.gz")
    records, _ = read([tmp_path / "crawl.warc.gz"], unit="paragraph")
    assert [r.text for r in records[:3]] == PARAGRAPHS
    assert records[0].id == "https://news.example.com/a/1-l2"  # line 1 of the main text is the title


@pytest.mark.parametrize("gzip", [True, False])
@pytest.mark.parametrize("cut", [40, 400, -10])
def test_damaged_warc_keeps_what_came_before(tmp_path, gzip, cut):
    offsets = write_warc(tmp_path / "crawl.warc", gzip)
    raw = (tmp_path / "crawl.warc").read_bytes()
    last = offsets["https://news.example.com/a/2"]
    (tmp_path / "cut.warc").write_bytes(raw[:last + cut] if cut > 0 else raw[:cut])
    records, problems = read([tmp_path / "cut.warc"])
    ids = [r.id for r in records]
    assert ids[0] == "https://news.example.com/a/1" and "/a/bad" in problems[0].message
    if gzip and cut == -10:  # only the gzip trailer is lost: every record is complete
        assert ids == ["https://news.example.com/a/1", "https://news.example.com/a/2"] and len(problems) == 1
        return
    assert ids == ["https://news.example.com/a/1"] and len(problems) == 2
    assert problems[1].line == last and ("damaged" in problems[1].message or "truncated" in problems[1].message)


# ---------------------------------------------------------------- tables
def test_csv_with_custom_columns_and_metadata(tmp_path):
    path = tmp_path / "articles.CSV"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["doc", "body", "url", "site"])
        writer.writerow(["d1", ARTICLE, "https://x.example/1", "X"])
        writer.writerow(["d2", "Second article about trade.\nWith two lines.", "", ""])
        writer.writerow(["d3", "   ", "", ""])
    records, problems = read([path], text_column="body", id_column="doc")
    assert [r.id for r in records] == ["d1", "d2"] and records[0].text == ARTICLE
    assert records[0].meta == {"url": "https://x.example/1", "site": "X"} and records[1].meta == {}
    assert records[0].line == 2 and records[1].line == 6  # the line where the row starts
    assert len(problems) == 1 and str(problems[0]).endswith(":8: field 'body': is empty")


@pytest.mark.parametrize("kwargs,column", [({"text_column": "content"}, "content"),
                                           ({"text_column": "body", "id_column": "key"}, "key")])
def test_missing_column_is_one_clear_problem(tmp_path, kwargs, column):
    path = tmp_path / "t.csv"
    path.write_text("doc,body\n" + "".join(f"d{i},text {i}\n" for i in range(5)))
    records, problems = read([path], **kwargs)
    assert not records and len(problems) == 1
    assert str(path) in str(problems[0]) and f"no column '{column}'" in problems[0].message


def test_csv_without_id_column_numbers_rows(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"text\nFirst article.\nSecond article.\n")
    records, problems = read([path])
    assert not problems and [r.id for r in records] == ["plain-2", "plain-3"]


def test_parquet_with_custom_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"key": ["p1", "p2", "p3"], "content": [ARTICLE, None, "Third one."],
                      "title": ["A title", None, None], "n": [1, 2, 3]})
    pq.write_table(table, tmp_path / "a.parquet")
    records, problems = read([tmp_path / "a.parquet"], text_column="content", id_column="key")
    assert [r.id for r in records] == ["p1", "p3"] and records[0].meta == {"title": "A title"}
    assert [str(p) for p in problems] == [f"{tmp_path / 'a.parquet'}:2: field 'content': is empty (null)"]
    _, problems = read([tmp_path / "a.parquet"])
    assert len(problems) == 1 and "no column 'text'" in problems[0].message and "'content'" in problems[0].message
    _, problems = read([tmp_path / "a.parquet"], text_column="n")
    assert len(problems) == 1 and "not text" in problems[0].message


# ---------------------------------------------------------------- stdin
def test_stdin_jsonl_read_once_and_cached(tmp_path, monkeypatch):
    data = json.dumps({"id": "s1", "text": ARTICLE}) + "\n" + json.dumps({"text": "No id here."}) + "\n{bad\n"
    monkeypatch.setattr(sys, "stdin", stdio.TextIOWrapper(stdio.BytesIO(data.encode()), encoding="utf-8"))
    paths = expand_inputs(["-"])
    for _ in range(2):  # predict validates, then scores: both passes see the same input
        items = list(read_inputs(paths))
        assert [i.id for i in items if isinstance(i, InputRecord)] == ["s1", "stdin-2"]
        assert [str(i) for i in items if isinstance(i, Problem)][0].startswith("<stdin>:3: field '<json>'")


def test_stdin_without_buffer(monkeypatch):
    monkeypatch.setattr(sys, "stdin", stdio.StringIO(json.dumps({"id": "x", "text": "Caf\u00e9 talks."}) + "\n"))
    records, problems = read(["-"])
    assert not problems and records[0].text == "Caf\u00e9 talks." and records[0].path == "<stdin>"


def test_a_file_named_dash_is_not_stdin(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").write_text(ARTICLE)
    records, problems = read(["./-"])
    assert not problems and records[0].text == ARTICLE


# ---------------------------------------------------------------- encodings
def test_jsonl_with_utf8_bom(tmp_path):
    path = jsonl(tmp_path / "bom.jsonl", {"id": "a", "text": ARTICLE}, {"id": "b", "text": "More."},
                 prefix=codecs.BOM_UTF8)
    records, problems = read([path])
    assert not problems and [r.id for r in records] == ["a", "b"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_with_bom_is_decoded(tmp_path, encoding):
    bom = b"" if encoding == "utf-16" else codecs.BOM_UTF16_BE
    (tmp_path / "a.txt").write_bytes(bom + ARTICLE.replace("Wang", "W\u00e1ng").encode(encoding))
    (tmp_path / "b.jsonl").write_bytes(bom + (json.dumps({"id": "b", "text": "T\u00e9xt."}, ensure_ascii=False)
                                              + "\n").encode(encoding))
    records, problems = read([tmp_path / "a.txt", tmp_path / "b.jsonl"])
    assert not problems and records[0].text == ARTICLE.replace("Wang", "W\u00e1ng") and records[1].text == "T\u00e9xt."


def test_utf16_without_bom_is_named_not_binary(tmp_path):
    (tmp_path / "a.txt").write_bytes(ARTICLE.encode("utf-16-le"))
    (tmp_path / "png.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    _, problems = read([tmp_path / "a.txt", tmp_path / "png.txt"])
    assert "UTF-16" in problems[0].message and "convert it to UTF-8" in problems[0].message
    assert "binary" in problems[1].message


def test_lone_surrogate_is_a_problem_for_that_record_only(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "a", "text": "fine text"}\n{"id": "b", "text": "bad \\ud800 text"}\n'
                    '{"id": "c\\udfff", "text": "bad id"}\n{"id": "d", "text": "also fine"}\n')
    records, problems = read([path])
    assert [r.id for r in records] == ["a", "d"]
    assert [(p.line, p.field) for p in problems] == [(2, "text"), (3, "id")]
    assert "lone surrogate \\ud800" in problems[0].message
    for r in records:  # what is yielded can always be written
        json.dumps(r.text, ensure_ascii=False).encode("utf-8")


def test_same_bad_byte_same_message_as_label_files(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"id": "a", "text": "ok", "topics": [], "stance": "neutral"}\n'
                     b'{"id": "b", "text": "caf\xe9", "topics": [], "stance": "neutral"}\n')
    _, label_problems = read_label_file(path)
    _, problems = read([path])
    assert problems == label_problems and problems[0].line == 2


# ---------------------------------------------------------------- duplicates, folders, links
def test_duplicate_ids_name_both_places(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", {"id": "x", "text": "one"}, {"id": "y", "text": "two"},
                 {"id": "x", "text": "three"})
    records, problems = read([path])
    assert [r.id for r in records] == ["x", "y"]
    assert str(problems[0]) == f"{path}:3: field 'id': duplicate id 'x' (also at {path}:1)"


def test_same_file_twice_is_read_once_with_a_warning(tmp_path, monkeypatch, caplog):
    (tmp_path / "a.txt").write_text(ARTICLE)
    os.symlink(tmp_path / "a.txt", tmp_path / "link.txt")
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING, logger="topic_stance.io"):
        records, problems = read(["a.txt", str(tmp_path / "a.txt"), "link.txt", tmp_path])
    assert not problems and [r.id for r in records] == ["a"]
    assert len([m for m in caplog.messages if "given twice" in m and "read once" in m]) == 4


def test_same_name_in_two_subfolders_is_a_duplicate(tmp_path):
    for sub in ("one", "two"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "story.txt").write_text(ARTICLE)
    records, problems = read([tmp_path])
    assert len(records) == 1 and len(problems) == 1
    assert str(tmp_path / "one" / "story.txt") in str(problems[0])
    assert str(tmp_path / "two" / "story.txt") in str(problems[0])


def test_folder_scan_reads_documents_case_insensitive_hidden_skipped(tmp_path):
    """Folders give their documents; record files (.jsonl/.csv/.parquet) are read only when named,
    so an earlier run's predictions or a metadata file beside the articles is never scored."""
    (tmp_path / "a.TXT").write_text(ARTICLE)
    (tmp_path / "b.Html").write_text(page())
    jsonl(tmp_path / "c.jsonl", {"id": "c", "text": "From jsonl."})
    (tmp_path / "d.csv").write_text("id,text\nd,From csv.\n")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["e"], "text": ["From parquet."]}), tmp_path / "e.parquet")
    write_warc(tmp_path / "f.warc.gz")
    (tmp_path / "notes.md").write_text("not an input")
    (tmp_path / ".hidden.txt").write_text("hidden")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text("hidden folder")
    (tmp_path / ".out.jsonl.tmp-1").write_text("temporary output")
    names = [p.name for p in expand_inputs([tmp_path])]
    assert names == ["a.TXT", "b.Html", "f.warc.gz"]
    named = [p.name for p in expand_inputs([tmp_path / "c.jsonl", tmp_path / "d.csv", tmp_path / "e.parquet"])]
    assert named == ["c.jsonl", "d.csv", "e.parquet"]
    records, _ = read([tmp_path / "a.TXT", tmp_path / "b.Html", tmp_path / "c.jsonl", tmp_path / "d.csv",
                       tmp_path / "e.parquet"])
    assert [r.id for r in records] == ["a", "b", "c", "d", "e"]


def test_hidden_file_given_explicitly_is_read(tmp_path):
    (tmp_path / ".draft.txt").write_text(ARTICLE)
    records, _ = read([tmp_path / ".draft.txt"])
    assert [r.id for r in records] == [".draft"]


def test_broken_symlink_given_or_found_is_reported(tmp_path):
    (tmp_path / "good.txt").write_text(ARTICLE)
    os.symlink(tmp_path / "missing.txt", tmp_path / "dangling.txt")
    with pytest.raises(FileNotFoundError, match="broken symbolic link"):
        expand_inputs([tmp_path / "dangling.txt"])
    records, problems = read([tmp_path])
    assert [r.id for r in records] == ["good"]
    assert len(problems) == 1 and "dangling.txt" in str(problems[0]) and "broken symbolic link" in str(problems[0])


def test_empty_folder_and_missing_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.md").write_text("not an input")
    with pytest.raises(FileNotFoundError, match="holds no articles"):
        expand_inputs([tmp_path / "sub"])
    with pytest.raises(FileNotFoundError, match="no such file"):
        expand_inputs([tmp_path / "nope.txt"])


def test_old_signatures_still_work(tmp_path):
    (tmp_path / "a.txt").write_text(ARTICLE)
    items = list(read_inputs(expand_inputs([str(tmp_path)]), "paragraph", 1000))
    assert [i.id for i in items] == ["a-l1", "a-l3"] and items[0].meta == {}
    assert InputRecord("i", "t", "p", 1).meta == {}


# ---------------------------------------------------------------- output path
def test_output_equal_to_an_input_is_refused(tmp_path, monkeypatch):
    source = jsonl(tmp_path / "in.jsonl", {"id": "a", "text": "x"})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputPathError, match="is also the input"):
        check_output_path("./sub/../in.jsonl", ["in.jsonl"])
    os.symlink(source, tmp_path / "alias.jsonl")
    with pytest.raises(OutputPathError, match="is also the input"):
        check_output_path("alias.jsonl", [str(source)])
    with pytest.raises(OutputPathError, match="inside the input folder"):
        check_output_path(tmp_path / "results.csv", [tmp_path])
    assert check_output_path(tmp_path / "out" / "results.csv", [source, "-"]) == tmp_path / "out" / "results.csv"
    assert check_output_path(tmp_path / ".results.csv", [tmp_path])  # hidden: never scanned


def test_output_folder_device_or_unwritable_is_refused(tmp_path, monkeypatch):
    with pytest.raises(OutputPathError, match="is a folder"):
        check_output_path(tmp_path, [])
    with pytest.raises(OutputPathError, match="not a regular file"):
        check_output_path("/dev/null", [])
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputPathError, match="is not a folder"):
        check_output_path(tmp_path / "file" / "out.jsonl", [])
    monkeypatch.setattr(io.os, "access", lambda path, mode: False)  # tests run as root: simulate no permission
    with pytest.raises(OutputPathError, match="permission denied"):
        check_output_path(tmp_path / "new" / "out.jsonl", [])


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_really_unwritable_parent(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(OutputPathError, match="permission denied"):
        check_output_path(locked / "out.jsonl", [])


# ---------------------------------------------------------------- atomic writing and SIGTERM
def test_sigterm_while_writing_leaves_no_temp_file(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("previous\n")
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            os.kill(os.getpid(), signal.SIGTERM)
            pytest.fail("SIGTERM did not interrupt")  # pragma: no cover
    assert target.read_text() == "previous\n" and sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
    assert signal.getsignal(signal.SIGTERM) == before
    assert issubclass(Terminated, KeyboardInterrupt)


def test_sigterm_from_outside_process(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from topic_stance.io import atomic_path
        with atomic_path({str(tmp_path / 'out.csv')!r}) as tmp:
            tmp.write_text("partial")
            print("ready", flush=True)
            time.sleep(30)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parent.parent)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode != 0 and "Terminated" in err
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_a_symlinked_target(tmp_path):
    (tmp_path / "real.jsonl").write_text("old\n")
    os.symlink(tmp_path / "real.jsonl", tmp_path / "link.jsonl")
    with atomic_path(tmp_path / "link.jsonl") as tmp:
        tmp.write_text("new\n")
    assert (tmp_path / "link.jsonl").is_symlink() and (tmp_path / "real.jsonl").read_text() == "new\n"


# ---------------------------------------------------------------- writer metadata
def scored(article_id: str) -> dict:
    paragraph = {"id": f"{article_id}-p00", "start": 0, "end": 5, "text": "Hello", "topics": ["trade"],
                 "stance": "neutral", "topic_scores": {"trade": 0.9}, "stance_scores": {"neutral": 0.8}}
    return {"id": article_id, "headline": "from text", "summary": {}, "paragraphs": [paragraph]}


def test_writer_carries_meta_into_every_format(tmp_path):
    import pyarrow.parquet as pq

    with_meta = attach_meta(scored("a"), InputRecord("a", "t", "p", 1, {"url": "https://x/1", "title": "T",
                                                                          "ignored": "z"}))
    assert with_meta["headline"] == "T" and with_meta["meta"] == {"url": "https://x/1", "title": "T"}
    plain = scored("b")  # nothing attached: an empty meta object, empty columns
    for fmt in (".jsonl", ".csv", ".parquet"):
        path = tmp_path / f"out{fmt}"
        with ResultWriter(path, fmt, ["trade"], ["neutral"], "article") as writer:
            writer.write(with_meta)
            writer.write(plain)
        if fmt == ".jsonl":
            lines = [json.loads(line) for line in path.read_text().splitlines()]
            assert list(lines[0])[:3] == ["id", "headline", "meta"]
            assert lines[0]["meta"] == {"url": "https://x/1", "title": "T"} and lines[1]["meta"] == {}
        elif fmt == ".csv":
            rows = list(csv.DictReader(path.open()))
            assert [r["url"] for r in rows] == ["https://x/1", ""] and [r["date"] for r in rows] == ["", ""]
            assert rows[0]["title"] == "T" and rows[0]["site"] == ""
        else:
            table = pq.read_table(path).to_pylist()
            assert [r["url"] for r in table] == ["https://x/1", None] and table[0]["title"] == "T"


def test_paragraph_unit_jsonl_with_meta_is_still_a_label_file(tmp_path):
    path = tmp_path / "p.jsonl"
    with ResultWriter(path, ".jsonl", ["trade"], ["neutral"], "paragraph") as writer:
        writer.write(attach_meta(scored("k1"), InputRecord("k1", "t", "p", 1, {"site": "X"})))
    records, problems = read_label_file(path)
    assert not problems and records[0]["meta"] == {"site": "X"}


def test_output_refusal_is_a_user_error():
    from topic_stance.errors import TopicStanceError

    assert issubclass(OutputPathError, TopicStanceError) and issubclass(OutputPathError, ValueError)
