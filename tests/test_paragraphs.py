from pathlib import Path

import pytest

from topic_stance.paragraphs import comparison_key, normalise, split_article

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
