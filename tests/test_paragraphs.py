import json
from collections import Counter
from pathlib import Path

import pytest

from topic_stance.paragraphs import (comparison_key, evaluate_lines, evaluate_pages, leak_summary, normalise, render_table,
                                     report, split_article)

SEEDS = Path(__file__).resolve().parent.parent / "data" / "raw" / "seed"
EXPECTED = {  # file -> (headline, body paragraph count)
    "000_a7768227a7faf809.txt": ("Blinken says talks with Chinese FM 'useful, candid and constructive'", 14),
    "001_2d9272706c5d0ec8.txt": ("Blinken Wang holds hours of ‘candid’ talks as US-China ties continue to topple", 19),
    "002_b4ea95ff5258972d.txt": (None, 11),
    "003_7fc9efdcb6e9b017.txt": ("US concerned at China’s ‘alignment’ with Russia, Blinken says", 19),
    "004_d2cca29d2d1a184b.txt": ("Blinken and Wang meet in bid to defuse US-China tensions | China", 22),
}


def split(name):
    return split_article((SEEDS / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_headline_and_paragraph_count(name):
    article = split(name)
    assert (article.headline, len(article.paragraphs)) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_offsets_point_into_the_raw_text_in_order(name):
    raw = (SEEDS / name).read_text(encoding="utf-8")
    article = split_article(raw)
    previous_end = -1
    for i, p in enumerate(article.paragraphs):
        assert p.index == i
        assert p.start > previous_end
        assert normalise(raw[p.start:p.end]) == p.text
        previous_end = p.end


def test_named_boilerplate_is_dropped():
    texts = {name: " ".join(split(name).texts) for name in EXPECTED}
    everything = " ".join(texts.values())
    for line in ("Skip to Content", "Leave a Comment", "Your email address will not be published",
                 "Jump to comments", "Cable News Network", "All rights reserved", "Read next",
                 "Story by Reuters", "Question of tariffs", "Conforms to The Trust Project", "Scroll to Top",
                 "BE PART OF THE CONVERSATION", "KRDO NewsChannel 13"):
        assert line not in everything, line


def test_duplicated_twitter_caption_is_dropped():
    article = split("001_2d9272706c5d0ec8.txt")
    assert not any("Twitter/@SpokespersonCHN" in t for t in article.texts)
    assert sum("Twitter/@SpokespersonCHN" in d for d in article.dropped) == 2
    assert {d.kind for d in article.dropped_lines if "Twitter/@" in d.text} == {"caption_repeated"}
    assert article.texts[0].startswith("In another high-level bilateral talk")


def test_subheading_byline_and_footer():
    raw = ("Skip to content\nTariffs rise again\n\nBy Jane Doe and Li Wei\n\n"
           "Washington raised tariffs on $200 billion of Chinese goods on Friday.\n\nWhat comes next\n\n"
           "Beijing said it would have to take countermeasures.\n\n© 2019 Example News. All rights reserved.\n"
           "Some footer sentence that is long enough to look like a paragraph.\n")
    article = split_article(raw)
    assert article.headline == "Tariffs rise again"
    assert article.texts == ["Washington raised tariffs on $200 billion of Chinese goods on Friday.",
                             "Beijing said it would have to take countermeasures."]


def test_exact_repeat_is_kept_once_and_whitespace_folded():
    raw = "Headline here\nThe  two sides   met in Bali on Saturday for talks.\nThe two sides met in Bali on Saturday for talks.\n"
    article = split_article(raw)
    assert article.texts == ["The two sides met in Bali on Saturday for talks."]


def test_comparison_key_folds_quotes_and_case():
    assert comparison_key("China’s “core” – Interests") == comparison_key("china's \"core\" - interests")


def test_windows_line_endings_and_bom():
    article = split_article("\ufeffHeadline\r\n\r\nFirst paragraph of the body text is here.\r\n")
    assert article.headline == "Headline"
    assert article.texts == ["First paragraph of the body text is here."]


def test_byline_before_headline_is_dropped_but_sentences_starting_with_by_are_kept():
    article = split_article("By Jane Doe and Li Wei\nTariffs rise again\n\n"
                            "By the end of the week, Beijing said it would take countermeasures.\n")
    assert article.headline == "Tariffs rise again"
    assert article.texts == ["By the end of the week, Beijing said it would take countermeasures."]


# ---- no silent loss ---------------------------------------------------------------------

def test_every_line_is_headline_paragraph_or_dropped_with_a_reason():
    for path in sorted(SEEDS.glob("*.txt")) + sorted((BOILERPLATE / "pages").glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        article = split_article(raw)
        for d in article.dropped_lines:
            assert d.kind and d.reason, d
            assert normalise(raw[d.start:d.end]) == d.text
        accounted = len(article.paragraphs) + len(article.dropped_lines) + (article.headline is not None)
        assert accounted == sum(1 for line in raw.splitlines() if line.strip()), path.name
        assert article.dropped == [d.text for d in article.dropped_lines]


def test_copyright_mentioned_in_the_body_does_not_end_it():
    raw = ("Hollywood waits on Beijing\n\n"
           "Washington has long accused Chinese platforms of tolerating copyright infringement on a large scale.\n\n"
           "Every release carries the studio's © notice and the words all rights reserved, officials said.\n\n"
           "All rights reserved.\n\n"
           "Beijing says its copyright enforcement has improved and that the complaints are out of date.\n\n"
           "Negotiators will meet again in Geneva next month to discuss market access for films.\n\n"
           "A third round of talks on intellectual property is planned for the autumn, officials said.\n\n"
           "© 2025 Example News. All rights reserved.\nA footer sentence that is long enough to look like a paragraph.\n")
    article = split_article(raw)
    assert len(article.texts) == 5
    assert article.texts[1].startswith("Every release carries the studio's ©")
    kinds = [(d.text[:20], d.kind, d.reason) for d in article.dropped_lines]
    assert kinds[0] == ("All rights reserved.", "footer", "copyright line")  # drops itself only
    assert kinds[1][1] == "footer" and kinds[2][2].startswith("after the footer")


def test_comment_marker_near_the_top_drops_only_itself():
    raw = ("Xi and Biden talk by phone\n12 Comments\n"
           "Xi Jinping and Joe Biden spoke by phone on Tuesday for the first time since November.\n"
           "They discussed Taiwan, Ukraine and the flow of fentanyl into the United States.\n")
    article = split_article(raw)
    assert len(article.texts) == 2 and article.dropped_lines[0].kind == "footer"


def test_chinese_and_arabic_paragraphs_are_body_and_a_chinese_subheading_is_not():
    raw = ("王毅同布林肯举行会谈\n\n"
           "王毅表示，中美关系开始企稳，这是双方共同努力的结果，值得珍惜。但负面因素仍在增加和累积。\n\n"
           "中美关系的未来走向\n\n"
           "双方同意继续就禁毒、两军沟通、人工智能和人文交流等议题保持磋商\n\n"
           "رحّبت وزارة الخارجية السعودية بالمحادثات بين الولايات المتحدة والصين، ودعت الطرفين إلى مواصلة التواصل.\n")
    article = split_article(raw)
    assert article.headline == "王毅同布林肯举行会谈"
    assert len(article.texts) == 3 and article.texts[2].startswith("رحّبت")
    assert [(d.text, d.kind) for d in article.dropped_lines] == [("中美关系的未来走向", "subheading")]


# ---- real-page boilerplate ----------------------------------------------------------------

def test_real_page_boilerplate_kinds():
    raw = ("IE 11 is not supported. For an optimal experience visit our site on another browser.\nWorld\n"
           "Blinken presses Wang on Russia\n"
           "Blinken presses Wang on Russia | World News\n"
           "Key points:\n• The two met for five hours\n• Washington warns of sanctions\n"
           "The secretary of state came away with a promise to keep talking, but little else\n"
           "By Reuters Apr 16, 2024 | 2:08 PM\n"
           "In this handout photo released by the Chinese Foreign Ministry, Wang Yi meets Antony Blinken in Beijing.\n"
           "Wang Yi and Antony Blinken at their meeting in Beijing.\nWang Yi and Antony Blinken at their meeting in Beijing.\n"
           "Secretary of State Antony Blinken told Wang Yi on Friday that Washington would act over Chinese support for Russia.\n"
           "ALSO SEE: Xi tells Blinken the two countries should be partners\n"
           "Sign up for our newsletter\n"
           "Wang said relations had stabilised but warned that negative factors were still growing.\n"
           "• Taiwan's new president takes office\n• Yellen warns Beijing over cheap exports\n"
           "Jane Porter is a senior correspondent at the Pacific Desk covering US-China relations.\n"
           "Senior Staff Reporter at The Harbour Post\n")
    article = split_article(raw)
    assert article.headline == "Blinken presses Wang on Russia"
    assert len(article.texts) == 2 and article.texts[0].startswith("Secretary of State")
    kinds = {d.text[:12]: d.kind for d in article.dropped_lines}
    assert kinds == {"IE 11 is not": "notice", "World": "nav", "Blinken pres": "headline_repeat",
                     "Key points:": "key_points", "• The two me": "key_points", "• Washington": "key_points",
                     "The secretar": "deck", "By Reuters A": "byline_datetime", "In this hand": "caption",
                     "Wang Yi and ": "caption_repeated", "ALSO SEE: Xi": "related", "Sign up for ": "notice",
                     "• Taiwan's n": "related", "• Yellen war": "related", "Jane Porter ": "bio", "Senior Staff": "bio"}
    assert sum(d.kind == "caption_repeated" for d in article.dropped_lines) == 2


BOILERPLATE = Path(__file__).resolve().parent.parent / "data" / "boilerplate"


def test_page_labels_match_the_page_files():
    records = [json.loads(line) for line in (BOILERPLATE / "pages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert 10 <= len(records) <= 15 and {r["page"] for r in records} == {p.name for p in (BOILERPLATE / "pages").glob("*.txt")}
    for record in records:
        lines = (BOILERPLATE / "pages" / record["page"]).read_text(encoding="utf-8").splitlines()
        assert [label["line"] for label in record["lines"]] == [n for n, text in enumerate(lines, 1) if text.strip()]
        for label in record["lines"]:
            assert lines[label["line"] - 1] == label["text"], (record["page"], label["line"])
        assert 4 <= sum(label["kind"] == "body" for label in record["lines"]) <= 8, record["page"]
    lines_file = [json.loads(line) for line in (BOILERPLATE / "lines.jsonl").read_text(encoding="utf-8").splitlines()]
    per_kind = Counter(r["kind"] for r in lines_file)
    assert len(lines_file) >= 150 and min(per_kind.values()) >= 10, per_kind


def test_boilerplate_recall_and_leak_on_labelled_pages():
    table = evaluate_pages()
    print("\n" + render_table(table))
    recall, leak = leak_summary(table)
    assert recall >= 0.98
    assert leak <= 0.10


def test_boilerplate_lines_alone_do_not_leak_or_cost_body():
    table = evaluate_lines()
    print("\n" + render_table(table))
    recall, leak = leak_summary(table)
    assert recall == 1.0
    assert leak <= 0.10


def test_boilerplate_readme_table_is_current():
    readme = (BOILERPLATE / "README.md").read_text(encoding="utf-8")
    assert report() in readme, "run: python -m topic_stance.paragraphs --report and paste into data/boilerplate/README.md"
