"""Raw article text -> headline + ordered body paragraphs, with offsets into the raw text.

Pure Python, no torch: the same splitter builds the label files and feeds inference, so
training text and scored text can never drift apart. A paragraph is one non-empty line
(the labelling guide's unit); web boilerplate, bylines, sub-headings, photo captions and
everything after a copyright or comment-section marker is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# "By Jane Doe and Li Wei, Reuters": matched case-sensitively, so "By the end of the week, ..." stays.
_BYLINE = re.compile(r"[Bb][Yy] [A-Z][\w.'’-]*( [A-Z][\w.'’-]*){0,3}(,? (and|&) [A-Z][\w.'’-]*( [A-Z][\w.'’-]*){0,3})?"
                     r"(,? [\w ,]{0,40})?")
# Lines that are never body text, wherever they stand (matched on the normalised line).
_BOILERPLATE = [
    r"skip to (main )?content",
    r"scroll to top",
    r"(read|see) (next|more|also)\b.*",
    r"related( (stories|articles|coverage|content))?:?.*",
    r"(advertisement|advert|sponsored( content)?|ad)",
    r"(share|share this( article| story)?|share on \w+|print|email|tweet)",
    r"(sign up|subscribe|newsletter|follow us)\b.*",
    r"(click|tap) here\b.*",
    r"(tags?|topics?|filed under|categories):.*",
    r"conforms to the trust project.*",
    r"article topic follows:.*",
    r"(story|reporting|written|words|text|edited) by\b.{0,80}",
    r"(updated|published|posted|last updated):? .{0,60}",
    r"(photo|image|picture|file photo|video)( credit)?:.*",
    r"(listen to|watch:?) (this|the) (article|story|video).*",
    r".{0,80}\b\d+ min(ute)?s? read",
]
# Lines after which the article body is over: comment sections and copyright footers.
_FOOTER = [
    r"leave a (comment|reply)",
    r"jump to comments\b.*",
    r"(\d+ )?comments?( \(\d+\))?",
    r"be part of the conversation",
    r"your email address will not be published.*",
    r".*(©|\(c\) \d{4}|copyright \d{4}|all rights reserved).*",
]
# A trailing photo credit marks a caption: "... July 13, 2023. - Twitter/@SpokespersonCHN".
_CAPTION_CREDIT = re.compile(
    r"(\s[-–—|]\s*|\()(photo:?\s*)?(twitter/@\w+|reuters|afp|ap photo|ap|getty images|xinhua|epa|"
    r"bloomberg|file photo|photo)[^.]{0,60}\)?\s*$",
    re.IGNORECASE,
)
_BOILERPLATE_RE = re.compile(r"^(?:" + "|".join(_BOILERPLATE) + r")$", re.IGNORECASE)
_FOOTER_RE = re.compile(r"^(?:" + "|".join(_FOOTER) + r")$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?…:;]$")
_TRAILING_CLOSERS = "\"'”’)]» "
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"',
                         "–": "-", "—": "-", "\u00a0": " "})
_SPACE = re.compile(r"\s+")

SUBHEADING_MAX_WORDS = 8
HEADLINE_MAX_WORDS = 30


@dataclass(frozen=True)
class Paragraph:
    """One body paragraph: `text` is raw[start:end] with runs of whitespace folded to one space."""

    index: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Article:
    """A split article: optional headline, body paragraphs in order, and what was dropped."""

    headline: str | None
    paragraphs: list[Paragraph]
    dropped: list[str] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [p.text for p in self.paragraphs]


def normalise(text: str) -> str:
    """Whitespace folded, Unicode NFC. Quotes are kept as written: they are part of the text."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def comparison_key(text: str) -> str:
    """Looser form for spotting repeats: curly quotes and dashes made plain, case folded."""
    return normalise(text).translate(_QUOTES).casefold()


def is_boilerplate(line: str) -> bool:
    """Navigation, share buttons, bylines, captions, datelines: lines that carry no body text."""
    plain = comparison_key(line)
    if _BOILERPLATE_RE.match(plain) or _BYLINE.fullmatch(normalise(line).translate(_QUOTES)):
        return True
    return bool(_CAPTION_CREDIT.search(normalise(line)))


def is_footer(line: str) -> bool:
    """A comment-section or copyright line: the body ends here."""
    return bool(_FOOTER_RE.match(comparison_key(line)))


def looks_like_heading(line: str, max_words: int) -> bool:
    """A short line with no sentence-final punctuation: a headline or a sub-heading."""
    text = normalise(line)
    return len(text.split()) <= max_words and not _SENTENCE_END.search(text.rstrip(_TRAILING_CLOSERS))


def _lines_with_offsets(raw: str):
    """Yield (start, end, line) for each non-blank line, offsets excluding outer whitespace."""
    for match in re.finditer(r"[^\r\n]+", raw):
        line = match.group()
        stripped = line.strip()
        if stripped:
            start = match.start() + (len(line) - len(line.lstrip()))
            yield start, start + len(stripped), stripped


def split_article(raw: str) -> Article:
    """Split raw article text into a headline and body paragraphs.

    >>> art = split_article("Skip to Content\\nUS and China talk\\n\\nBlinken met Wang.\\n\\nLeave a Comment")
    >>> art.headline, art.texts
    ('US and China talk', ['Blinken met Wang.'])
    """
    raw = raw.lstrip("\ufeff")
    headline: str | None = None
    paragraphs: list[Paragraph] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for start, end, line in _lines_with_offsets(raw):
        text = normalise(line)
        if is_footer(text):
            dropped.append(text)
            dropped.extend(normalise(rest) for _, _, rest in _lines_with_offsets(raw[end:]))
            break
        key = comparison_key(text)
        if is_boilerplate(text) or key in seen:
            dropped.append(text)
            continue
        seen.add(key)
        if headline is None and not paragraphs and looks_like_heading(text, HEADLINE_MAX_WORDS):
            headline = text
            continue
        if looks_like_heading(text, SUBHEADING_MAX_WORDS):
            dropped.append(text)
            continue
        paragraphs.append(Paragraph(len(paragraphs), text, start, end))
    return Article(headline, paragraphs, dropped)


def main() -> None:
    """Print how a file splits: `python -m topic_stance.paragraphs FILE...`."""
    import sys

    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as handle:
            article = split_article(handle.read())
        print(f"== {path}\nHEADLINE: {article.headline}")
        for p in article.paragraphs:
            print(f"[{p.index}] {p.text}")
        for line in article.dropped:
            print(f"  (dropped) {line}")


if __name__ == "__main__":
    main()
