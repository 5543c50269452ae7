"""Raw article text -> headline + ordered body paragraphs, with offsets into the raw text.

Pure Python, no torch: the same splitter builds the label files and feeds inference, so
training text and scored text can never drift apart. A paragraph is one non-empty line
(the labelling guide's unit). Every other line is kept in `Article.dropped_lines` with the
kind of boilerplate it is and the evidence, so nothing is lost silently.

How a line is judged, as a robust extractor does: first on its own (known notice, caption
credit, byline and footer patterns; length and sentence punctuation, counting CJK characters
rather than spaces), then in context: where it sits (above the headline, between the headline
and the first body paragraph, after the last one), whether it repeats another line, and what
header it follows ("Key points", "Related stories"). A footer (copyright, comments) ends the
body only when it is footer-shaped and near the end; elsewhere it drops just itself.

    python -m topic_stance.paragraphs FILE...        # how files split, with reasons
    python -m topic_stance.paragraphs --report       # recall/leak table on data/boilerplate
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# "By Jane Doe and Li Wei, Reuters": matched case-sensitively, so "By the end of the week, ..." stays.
_BYLINE = re.compile(r"[Bb][Yy] [A-Z][\w.'’-]*( [A-Z][\w.'’-]*){0,3}(,? (and|&) [A-Z][\w.'’-]*( [A-Z][\w.'’-]*){0,3})?"
                     r"(,? [\w ,]{0,40})?")

# Lines that are never body text, wherever they stand: (kind, pattern matched on the whole
# comparison key, i.e. case-folded with plain quotes and dashes).
_KNOWN = [
    ("nav", r"skip to (main )?(content|navigation|search)|scroll to top|back to top"),
    ("nav", r"menu|search|sections|home|log ?in|sign ?in|my account|live tv|watch live|newsletters|podcasts"),
    ("nav", r"edition: .{1,30}|.{1,40} logo|(tags?|topics?|filed under|categories|article topic follows):.*"),
    ("related", r"((read|see) (next|more|also)( here| on)?|also (see|read)|related( (stories|story|articles|coverage|content|topics|links|reading))?)(:.*)?"),
    ("related", r"(recommended|further reading|in other news|editor'?s picks|top stories|more stories|sponsored stories)( for you)?:?( .*)?"),
    ("related", r"(you (may|might) (also )?like|don'?t miss|more (from|on|in) .{1,40}|most (read|viewed|popular|shared)( .{0,30})?|trending( stories| now)?|explore more( on these topics)?|watch( now)?: .*)"),
    ("promo", r"(advertisement|advert|sponsored( content| by)?|ad|story continues below( advertisement)?|continue reading( below)?)"),
    ("promo", r"(share|share this( article| story| post)?|share on \w+|share - \w+|print|email|tweet|save( to read later)?|copy link( copied)?|reuse this content|learn more)"),
    ("promo", r"(click|tap) here\b.*|(listen to|watch:?) (this|the) (article|story|video).*|.{0,80}\b\d+ min(ute)?s? read|listen to this article( [\d:]+)?"),
    ("notice", r"(sign up|subscribe|newsletter|follow us)\b.*|conforms to the trust project.*|why you can trust .{1,40}|our standards:.*"),
    ("bio", r"(story|reporting|written|words|text|edited|editing|compiled|produced) by\b.{0,80}|about the author"),
    ("bio", r"((senior|chief|staff|contributing|special|foreign|political|china|asia|beijing|washington) )*(staff )?(reporter|writer|correspondent|editor|columnist)( (at|for) .{1,40})?"),
    ("byline_datetime", r"(updated|published|posted|last updated|first published)( on)?:? .{0,60}"),
    ("caption", r"(photo|photos|image|picture|file photo|video|photograph|caption|credit|photo credit)( credit)?:.*|image caption,? .*"),
    ("footer", r"source: .{1,60}|(about|contact) us( [a-z |&]{0,40})?"),
]
_KNOWN_RE = [(kind, re.compile(rf"^(?:{pattern})$", re.IGNORECASE)) for kind, pattern in _KNOWN]

# Site notices that can be full sentences: browser, cookie, paywall, newsletter, comment rules.
_NOTICE = re.compile(
    r"\b(ie ?11|internet explorer)\b.{0,40}\bnot supported|your browser\b.{0,60}\b(out of date|not supported|update|upgrade)"
    r"|(enable|turn on) javascript|javascript (is )?(disabled|required)|audio is not supported"
    r"|\bcookies?\b.{0,80}\b(our|this) (site|website)|(we|you) (use|accept|consent to|agree to)\b.{0,40}\bcookies"
    r"|this (article|story|content) is more than \d+ \w+ old|an earlier version of this (article|story)"
    r"|this (story|article) has been updated|^corrections?:|(have|got) a (news |confidential )?tip"
    r"|contact (our|the) newsroom|views expressed (in|here|on)\b.{0,60}\b(author|writer|publication|outlet|editorial)"
    r"|(do(es)?|may) not necessarily reflect|^sign up\b|\bsign up (here|now)\b|sign up for (our|the|a free)\b.{0,40}\b(newsletter|briefing|alerts)"
    r"|in your inbox|already a subscriber|free articles? (left|remaining)|\bclick here to (subscribe|review|sign|read|share)"
    r"|to continue reading|for full access|subscribe (now|today)|(download|get) (our|the) (\w+ )?app\b|\btry it free\b"
    r"|we'?ve updated our (privacy|cookie)|commenting platform|keep your comments|committed to providing a forum"
    r"|share a story idea|best viewed with|resolution (are|is) suggested",
    re.IGNORECASE,
)
# Photo credits: "(AP Photo/Doug Mills)", "[Photo/Xinhua]", "REUTERS/Aly Song", "Photo: AFP", "- Twitter/@X".
_CREDIT_WORDS = r"(ap|afp|reuters|xinhua|getty images|epa(-efe)?|bloomberg|kyodo|yonhap|vcg|cns|pool|handout|file photo|file|photo|twitter/@\w+)"
_CAPTION_CREDIT = re.compile(
    rf"(\s[-–—|]\s*|\()(photo:?\s*)?{_CREDIT_WORDS}\b[^.]{{0,60}}\)?\s*$"
    r"|[\[(][^\[\]()]{0,80}\b(ap|afp|reuters|xinhua|getty|epa|pool|handout|photo|file|bloomberg|kyodo|credit)\b[^\[\]()]{0,60}[\])]\s*$"
    r"|(^|[.,]\s+)(photo(graph)?|image|picture|credit|courtesy)s?\s*(:|/)\s*.{1,60}$"
    r"|\bvia (ap|afp|reuters|getty images|xinhua)\b[^.]{0,20}$|purchase licensing rights",
    re.IGNORECASE,
)
# "REUTERS/Aly Song", "(Xinhua/Li Ziheng)": an agency, a slash, a photographer's name (so "AP/NORC poll" stays).
_AGENCY_SLASH = re.compile(r"\b(REUTERS|Reuters|AP|AFP|EPA|EPA-EFE|Xinhua|XINHUA)/[A-Z][a-z]+")
_CAPTION_START = re.compile(
    r"^(file( photo)?\s*[-–—:]|in this (undated |handout |file |aerial |still |video )*(photo|image|picture|video|frame)"
    r"|this (undated |handout |file )*(photo|image|picture)|photo (taken|shows|released)|\[\d+/\d+\])",
    re.IGNORECASE,
)
# "Blinken, left, shakes hands with ...", "Wang Yi (L) meeting ...": only captions point at people in a picture.
_CAPTION_POINTER = re.compile(r"[A-Z][\w.'’-]+(, (left|right|center|centre|second (left|right)|from left|top|above|below)( to right)?,"
                              r"| \((L|R|C|left|right|center|centre)\))")
_CAPTION_VERB = re.compile(r"\b(speaks|speak|arrives|arrive|attends|attend|meets|meet|shakes hands|shake hands|poses?|walks?|waves?|gestures?|greets?"
                           r"|delivers?|tours?|sits?|stands?|looks on|listens?|leaves|addresses|chats?|salutes?|signs?|smiles?|visits?|departs?"
                           r"|lands|boards?|takes part|is seen|are seen|celebrates?|gathers?|holds?|sails?|flies|fly|flutters?|waits?|reviews?|inspects?)\b")
# A finite past-tense or reporting verb: body prose reports, captions describe a picture in the present.
_PAST = re.compile(r"\b(said|says|told|tells|was|were|had|met|held|took|made|gave|went|came|saw|spoke|began|sent|according"
                   r"|will|would|could|should|might|must|(due|expected|set|plans?|going) to"
                   r"|(?!(?:need|speed|seed|feed|breed|proceed|exceed|succeed|hundred|sacred|kindred|naked|embed)\b)[a-z]{2,}ed)\b")
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(rf"\b{_MONTH} \d{{1,2}}(st|nd|rd|th)?,? \d{{4}}\b|\b\d{{1,2}} {_MONTH},? \d{{4}}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b"
                   rf"|\b\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{4}}\b|\b{_MONTH} \d{{1,2}}\b|\b\d{{1,2}} {_MONTH}\b", re.IGNORECASE)
_TIME = re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\b|\b\d{1,2}[.:]\d{2} ?([ap]\.?m\.?|gmt|bst|utc|edt|est|et|ist|kst|cst)\b"
                   r"|\b\d+ (minutes?|mins?|hours?|hrs?|days?) ago\b", re.IGNORECASE)
_DATE_END = re.compile(rf"({_MONTH} \d{{1,2}},? \d{{4}}|\d{{1,2}} {_MONTH} \d{{4}}|{_MONTH} \d{{4}})\W*$", re.IGNORECASE)
_BYLINE_PREFIX = re.compile(r"^(by|published|updated|posted|last updated|first published|date|source|released)\b", re.IGNORECASE)
# Comment sections: the article is over.
_COMMENTS = re.compile(r"^(leave a (comment|reply)|jump to comments\b.*|(\d+ )?comments?( \(\d+\))?|(show|view|load|read) (all )?\d* ?comments"
                       r"|be part of the conversation|join the (conversation|discussion)|your email address will not be published.*)$", re.IGNORECASE)
# Copyright-shaped: the mark opens the line, or the line is short and built around it.
_COPYRIGHT_START = re.compile(r"^(™\s*(&|and)\s*)?(©|\(c\)\s*\d{4}|copyright\s*(©|\(c\))?\s*\d{4}|copyright ©)", re.IGNORECASE)
# In a short line: "© 2025 Northgate Review", "Harbour Media. All rights reserved." (its own sentence, at the end).
_COPYRIGHT_MARK = re.compile(r"©\s*(\d{4}|[A-Z])|(?i:\(c\) \d{4}|copyright \d{4})|(^|[.|•-]\s*)(?i:all rights reserved)\W*$")
_KEY_POINTS = re.compile(r"^(key (points|takeaways|facts)|takeaways|highlights|in (short|brief)|at a glance|summary|what to know"
                         r"|what you need to know|the big picture|quick read|tl;?dr)\s*[:：]?$", re.IGNORECASE)
_BULLET = re.compile(r"^([•·▪►▸‣◦●■*]|-|–|—)\s+")
_DATELINE = re.compile(r"^[A-Z][A-Z .'’-]{2,}(,| \(|\s*[—–-])")
_NAV_SEPARATOR = re.compile(r"\s[|›»>/·•]\s")
# Bios stand after the body: "Jane Doe is a senior fellow at ...", "Doe covers ... for the AP".
_BIO = re.compile(r"^([A-Z][\w'’.-]*\s){1,4}((covers|writes (about|on|for)|reports on)\b"
                  r"|(is|was|has been|serves as)\b.*\b(reporter|correspondent|editor|writer|journalist|columnist|fellow|analyst"
                  r"|contributor|chief|producer|author|professor|researcher)\b)")
_CREDIT_LINE = re.compile(r"(?i:contributed (reporting|to this (report|story|article))|\b(writers?|reporters?|correspondents?|staff|wire|press"
                          r"|news|agency|reuters|ap|afp|bloomberg|xinhua)\b.{0,30}\bcontributed)\.?$|\breported from [A-Z][\w ,.'-]{1,40}\.?$")
# "Reporting by A; Additional reporting by B in Beijing; Editing by C": every part a credit.
_CREDITS = re.compile(r"^((additional |further )?(reporting|writing|editing|research|graphics|production) by [A-Z][^;]{1,80}(; |\.?$))+$", re.IGNORECASE)
_CONTACT = re.compile(r"\bfollow (him|her|them|me|us) on\b|\b[\w.-]+@[\w-]+\.[a-z]{2,}\b|^@\w+$|^contact (the|this) (reporter|author|writer)", re.IGNORECASE)
_WEAK_DATE = "date or time in a short non-sentence line"
_SENTENCE_END = re.compile(r"[.!?…:;。！？；：؟۔]$")
_TRAILING_CLOSERS = "\"'”’)]»」』》）】 "
_OPENING_QUOTES = "\"'“‘«「『"
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"',
                         "–": "-", "—": "-", "\u00a0": " "})
_SPACE = re.compile(r"\s+")

SUBHEADING_MAX_WORDS = 8  # kept for callers of looks_like_heading; the splitter uses the limits below
HEADLINE_MAX_WORDS = 30
HEADING_MAX_UNITS = 15    # an unpunctuated line this short inside the body is a sub-heading
DECK_MAX_UNITS = 35       # an unpunctuated line between headline and body is a deck up to this long
FOOTER_MAX_BODY_AFTER = 3  # a footer with more body-like lines after it is not the end of the article


@dataclass(frozen=True)
class Paragraph:
    """One body paragraph: `text` is raw[start:end] with runs of whitespace folded to one space."""

    index: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Dropped:
    """A line that is not body text: `kind` is what it is (caption, byline_datetime, ...), `reason` the evidence."""

    text: str
    start: int
    end: int
    kind: str
    reason: str


@dataclass(frozen=True)
class Article:
    """A split article: optional headline, body paragraphs in order, and every line dropped, with why."""

    headline: str | None
    paragraphs: list[Paragraph]
    dropped_lines: list[Dropped] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [p.text for p in self.paragraphs]

    @property
    def dropped(self) -> list[str]:
        """Texts of the dropped lines, in order (the headline is not dropped)."""
        return [d.text for d in self.dropped_lines]


def normalise(text: str) -> str:
    """Whitespace folded, Unicode NFC. Quotes are kept as written: they are part of the text."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def comparison_key(text: str) -> str:
    """Looser form for spotting repeats: curly quotes and dashes made plain, case folded."""
    return normalise(text).translate(_QUOTES).casefold()


def length_units(text: str) -> int:
    """Length in words, counting two CJK characters as one word: Chinese has no spaces to count."""
    cjk = len(_CJK.findall(text))
    return len(_CJK.sub(" ", text).split()) + math.ceil(cjk / 2)


def ends_like_sentence(text: str) -> bool:
    """Sentence-final punctuation in any script, looking past closing quotes and brackets."""
    return bool(_SENTENCE_END.search(normalise(text).rstrip(_TRAILING_CLOSERS)))


def looks_like_heading(line: str, max_words: int) -> bool:
    """A short line with no sentence-final punctuation: a headline or a sub-heading."""
    return length_units(line) <= max_words and not ends_like_sentence(line)


def _known_kind(text: str) -> tuple[str, str] | None:
    """(kind, reason) for a line that is boilerplate on its own evidence, wherever it stands."""
    key = comparison_key(text)
    plain = normalise(text).translate(_QUOTES)
    units = length_units(text)
    if _COMMENTS.match(key):
        return "footer", "comment section"
    if is_copyright_line(text):
        return "footer", "copyright line"
    for kind, pattern in _KNOWN_RE:
        if pattern.match(key):
            return kind, "known pattern"
    if _BYLINE.fullmatch(plain):
        return "byline_datetime", "byline"
    if _NOTICE.search(key) and units <= 80:
        return "notice", "site notice"
    if _CAPTION_START.search(plain) or (units <= 60 and (_CAPTION_CREDIT.search(plain) or _AGENCY_SLASH.search(plain))):
        return "caption", "photo credit or caption opener"
    if units <= 45 and _CAPTION_POINTER.search(plain) and not _PAST.search(plain):
        return "caption", "points at people in a picture"
    if units <= 40 and _DATE_END.search(plain) and _CAPTION_VERB.search(plain) and not _PAST.search(plain) \
            and not any(q in plain for q in "\"“”"):
        return "caption", "present-tense scene ending in a date"
    if units <= 25 and (_TIME.search(plain) or _DATE.search(plain) and (
            _BYLINE_PREFIX.match(plain) or re.search(r"[|•]", plain) or length_units(_strip_dates(plain)) <= 3)):
        if not ends_like_sentence(plain) or _BYLINE_PREFIX.match(plain) or re.search(r"[|•]", plain):
            return "byline_datetime", _WEAK_DATE
    if _CREDITS.match(plain) or units <= 25 and (_CREDIT_LINE.search(plain) and "contributed" in plain or _CONTACT.search(plain)):
        return "bio", "reporting credit or contact"
    if units <= 14 and not ends_like_sentence(plain) and _NAV_SEPARATOR.search(plain) \
            and all(length_units(part) <= 4 for part in _NAV_SEPARATOR.split(plain)):
        return "nav", "menu or breadcrumb"
    return None


def _strip_dates(text: str) -> str:
    """What a dated line says besides the date: "Tuesday, April 16, 2024" says nothing else."""
    text = _TIME.sub(" ", _DATE.sub(" ", text))
    return re.sub(r"\b(mon|tues|wednes|thurs|fri|satur|sun)day\b|\d{4}|[^\w\s]", " ", text, flags=re.IGNORECASE)


def is_copyright_line(line: str) -> bool:
    """A copyright footer: the mark opens the line, or a short line is built around it.

    A sentence of prose that mentions copyright ("accused of tolerating copyright infringement",
    "the credits say all rights reserved", "a © mark") is not one, however short.
    """
    text = normalise(line)
    if _COPYRIGHT_START.match(text):
        return length_units(text) <= 80
    return length_units(text) <= 15 and bool(_COPYRIGHT_MARK.search(text))


def is_boilerplate(line: str) -> bool:
    """Navigation, share buttons, bylines, captions, notices: lines that carry no body text on their own."""
    found = _known_kind(line)
    return found is not None and found[0] != "footer"


def is_footer(line: str) -> bool:
    """A comment-section or copyright line (whether it ends the body depends on where it stands)."""
    found = _known_kind(line)
    return found is not None and found[0] == "footer"


@dataclass
class _Line:
    start: int
    end: int
    text: str
    key: str
    units: int
    sentence: bool
    kind: str | None = None
    reason: str = ""

    def drop(self, kind: str, reason: str) -> None:
        if self.kind is None:
            self.kind, self.reason = kind, reason

    @property
    def heading(self) -> bool:
        return not self.sentence and self.units <= HEADING_MAX_UNITS

    @property
    def title(self) -> bool:
        """No full stop at the end: a story title may end in "?" but not in "."."""
        return not self.text.rstrip(_TRAILING_CLOSERS).endswith((".", "。", "…"))

    @property
    def bodylike(self) -> bool:
        return self.kind is None and not self.heading


def _lines_with_offsets(raw: str):
    """Yield (start, end, line) for each non-blank line, offsets excluding outer whitespace."""
    for match in re.finditer(r"[^\r\n]+", raw):
        line = match.group()
        stripped = line.strip()
        if stripped:
            start = match.start() + (len(line) - len(line.lstrip()))
            yield start, start + len(stripped), stripped


def _title_tokens(text: str) -> list[str]:
    return re.findall(r"\w+", comparison_key(text))


def _repeats_headline(line: str, headline: str) -> bool:
    """The headline again, maybe with a site name or "Share:" around it, or cut short."""
    a, b = _title_tokens(line), _title_tokens(headline)
    if not a or not b:
        return False
    longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
    if len(longer) - len(shorter) > 6 or len(shorter) < 0.6 * len(longer) or len(shorter) < 3:
        return False
    return any(longer[i:i + len(shorter)] == shorter for i in range(len(longer) - len(shorter) + 1))


def _pick_headline(lines: list[_Line]) -> int | None:
    """The headline: the first heading-shaped line above the first body line that is not a section name.

    Above it sit only site chrome: "World", "Opinion", "The Pacific Review" (short, every word capitalised).
    """
    candidates = []
    for i, line in enumerate(lines):
        if line.kind is not None:
            continue
        if line.sentence or line.units > HEADLINE_MAX_WORDS:
            break
        candidates.append(i)
    if candidates:
        section = [i for i in candidates if lines[i].units <= 3 and all(w[:1].isupper() or not w[:1].isalpha()
                                                                        for w in lines[i].text.split())]
        return next((i for i in candidates if i not in section), candidates[0])
    # No clean candidate: fall back to a breadcrumb or dated line rather than no headline at all.
    for i, line in enumerate(lines):
        if line.kind is None or line.sentence or line.units > HEADLINE_MAX_WORDS:
            break
        if line.reason in ("menu or breadcrumb", _WEAK_DATE):
            return i
    return None


def _mark_top(lines: list[_Line], first: int) -> None:
    """Between the headline and the first body paragraph: decks, key points, bylines, captions."""
    i, key_points = first, 0
    while i < len(lines):
        line = lines[i]
        if line.kind is not None:
            key_points = 0 if line.kind != "key_points" else key_points
            i += 1
            continue
        if _KEY_POINTS.match(line.key):
            line.drop("key_points", "key points header")
            key_points = 5
        elif _BULLET.match(line.text) and line.units <= DECK_MAX_UNITS:
            line.drop("key_points", "bulleted summary above the body")
            key_points = 0  # bulleted: only bullets continue the block
        elif key_points and line.units <= 30:
            line.drop("key_points", "summary line under a key points header")
            key_points -= 1
        elif not line.sentence and line.units <= DECK_MAX_UNITS:
            line.drop("deck", "unpunctuated line between headline and body")
        else:
            # A standfirst sentence (or two) set off from the body by the byline under it.
            j = i
            while j < min(i + 2, len(lines)) and _sentence_deck(lines[j]):
                j += 1
            if j == i or j >= len(lines) or lines[j].kind != "byline_datetime":
                return
            for line in lines[i:j]:
                line.drop("deck", "sentence between headline and byline")
            i = j
            continue
        i += 1


def _sentence_deck(line: _Line) -> bool:
    return (line.kind is None and line.sentence and line.units <= 35 and not _DATELINE.match(line.text)
            and not line.text.startswith(tuple(_OPENING_QUOTES)))


def _caption_like(text: str) -> bool:
    """Weak caption evidence for a line printed twice: a short present-tense description."""
    plain = normalise(text)
    return length_units(plain) <= 40 and not _PAST.search(plain) and not any(q in plain for q in "\"“”")


def split_article(raw: str) -> Article:
    """Split raw article text into a headline and body paragraphs.

    >>> art = split_article("Skip to Content\\nUS and China talk\\n\\nBlinken met Wang.\\n\\nLeave a Comment")
    >>> art.headline, art.texts
    ('US and China talk', ['Blinken met Wang.'])
    >>> [(d.text, d.kind) for d in art.dropped_lines]
    [('Skip to Content', 'nav'), ('Leave a Comment', 'footer')]
    """
    raw = raw.lstrip("\ufeff")
    lines = []
    for start, end, text in _lines_with_offsets(raw):
        text = normalise(text)
        lines.append(_Line(start, end, text, comparison_key(text), length_units(text), ends_like_sentence(text)))
    for line in lines:
        found = _known_kind(line.text)
        if found:
            line.kind, line.reason = found

    # A caption is often printed twice (image alt text and caption): both copies go.
    copies = Counter(line.key for line in lines)
    for line in lines:
        if copies[line.key] > 1 and (line.kind in (None, "caption")) and not line.heading and _caption_like(line.text):
            line.kind, line.reason = "caption_repeated", "caption printed twice"

    top = _pick_headline(lines)
    headline = lines[top].text if top is not None else None
    for line in lines[:top or 0]:
        line.drop("nav", "above the headline")
    if top is not None:
        lines[top].kind = "headline"
    seen: dict[str, int] = {}
    for i, line in enumerate(lines):
        if line.kind == "headline":
            seen[line.key] = i
        elif headline is not None and line.kind is None and (not line.sentence or line.text.endswith(("?", "!"))) \
                and _repeats_headline(line.text, headline):
            line.drop("headline_repeat", "repeats the headline")
        elif line.key in seen and line.kind is None:
            line.drop("repeat", f"repeats line {seen[line.key] + 1}")
        seen.setdefault(line.key, i)
    if top is not None:
        _mark_top(lines, top + 1)

    _mark_footer(lines)
    _mark_lists(lines)
    _mark_pull_quotes(lines)
    _mark_tail(lines)
    for line in lines:
        if line.kind is None and line.heading:
            line.drop("subheading", "short line without sentence punctuation")
        elif line.kind is None and line.units <= 6 and line.text.endswith("?"):
            line.drop("subheading", "short question standing alone")

    paragraphs: list[Paragraph] = []
    dropped: list[Dropped] = []
    for line in lines:
        if line.kind is None:
            paragraphs.append(Paragraph(len(paragraphs), line.text, line.start, line.end))
        elif line.kind != "headline":
            dropped.append(Dropped(line.text, line.start, line.end, line.kind, line.reason))
    return Article(headline, paragraphs, dropped)


def _mark_footer(lines: list[_Line]) -> None:
    """A footer near the end ends the body: everything after it goes, whatever it looks like."""
    for i, line in enumerate(lines):
        if line.kind != "footer" or line.reason not in ("comment section", "copyright line"):
            continue
        before = sum(other.bodylike for other in lines[:i])
        after = sum(other.bodylike for other in lines[i + 1:])
        if after <= FOOTER_MAX_BODY_AFTER and after < before:
            for other in lines[i + 1:]:
                if other.kind is None:
                    other.kind, other.reason = "footer", f"after the footer on line {i + 1}"
            return


def _mark_lists(lines: list[_Line]) -> None:
    """Titles of other stories: bulleted titles, and short lines under a "Related" / "Most read" header."""
    under_header = 0
    for line in lines:
        if line.kind == "related" and line.units <= 6:
            under_header = 10
            continue
        if line.kind is None and _BULLET.match(line.text) and line.title:
            line.drop("related", "bulleted title")
        elif under_header and line.kind is None and line.units <= 25 and line.title:
            line.drop("related", "title under a related-stories header")
            under_header -= 1
        elif line.kind is None:
            under_header = 0


def _mark_pull_quotes(lines: list[_Line]) -> None:
    """A short line quoting a longer line of the same article is a pull quote."""
    keys = [line.key for line in lines if line.kind is None]
    for line in lines:
        if line.kind is None and line.units <= 30:
            core = line.key.strip(" \"'.…").strip()
            if len(core.split()) >= 5 and any(core in other and len(other) > len(line.key) for other in keys):
                line.drop("pullquote", "quotes a longer paragraph")


def _mark_tail(lines: list[_Line]) -> None:
    """After the last body paragraph: author bios, credits and bulleted lists."""
    for line in reversed(lines):
        if line.kind is not None or line.heading:
            continue
        if _BIO.match(line.text) and line.units <= 60 or _CREDIT_LINE.search(line.text) and line.units <= 20:
            line.drop("bio", "about the author, after the body")
        elif _BULLET.match(line.text):
            line.drop("related", "bulleted line after the body")
        else:
            return


# ---- evaluation on data/boilerplate -------------------------------------------------------

BOILERPLATE_DIR = Path(__file__).resolve().parent.parent / "data" / "boilerplate"


def _line_number(raw: str, offset: int) -> int:
    return raw.count("\n", 0, offset) + 1


def evaluate_pages(root: Path = BOILERPLATE_DIR) -> dict[str, list[int]]:
    """Per kind [lines, kept as paragraphs] over the labelled pages (body: kept is recall)."""
    table: dict[str, list[int]] = {}
    for record in map(json.loads, (root / "pages.jsonl").read_text(encoding="utf-8").splitlines()):
        raw = (root / "pages" / record["page"]).read_text(encoding="utf-8")
        kept = {_line_number(raw, p.start) for p in split_article(raw).paragraphs}
        for label in record["lines"]:
            row = table.setdefault(label["kind"], [0, 0])
            row[0] += 1
            row[1] += label["line"] in kept
    return table


def evaluate_lines(root: Path = BOILERPLATE_DIR) -> dict[str, list[int]]:
    """Per kind [lines, kept]: each boilerplate line of lines.jsonl set alone into template.txt."""
    headline, *body = (root / "template.txt").read_text(encoding="utf-8").strip().splitlines()
    body = [b for b in body if b.strip()]
    slots = {"before_headline": 0, "after_headline": 1, "middle": 1 + len(body) // 2, "end": 1 + len(body)}
    table: dict[str, list[int]] = {"body": [0, 0]}
    for record in map(json.loads, (root / "lines.jsonl").read_text(encoding="utf-8").splitlines()):
        page = [record.get("headline", headline)] + body
        inserted = [record["text"]] * (2 if record["kind"] == "caption_repeated" else 1)
        page[slots[record["where"]]:slots[record["where"]]] = inserted
        texts = split_article("\n\n".join(page)).texts
        row = table.setdefault(record["kind"], [0, 0])
        row[0] += 1
        row[1] += any(normalise(line) in texts for line in inserted)
        table["body"][0] += len(body)
        table["body"][1] += sum(normalise(b) in texts for b in body)
    return table


def leak_summary(table: dict[str, list[int]]) -> tuple[float, float]:
    """(body recall, share of non-body lines kept) from an evaluate_* table; the headline counts as non-body."""
    body_total, body_kept = table.get("body", [0, 0])
    other = [row for kind, row in table.items() if kind != "body"]
    total, kept = sum(r[0] for r in other), sum(r[1] for r in other)
    return body_kept / max(body_total, 1), kept / max(total, 1)


def render_table(table: dict[str, list[int]]) -> str:
    """Markdown: kept / lines per kind, body first (recall), then leak per boilerplate kind."""
    recall, leak = leak_summary(table)
    rows = ["| kind | lines | kept as paragraph | rate |", "|---|---:|---:|---:|"]
    for kind in ["body"] + sorted(k for k in table if k != "body"):
        total, kept = table[kind]
        rows.append(f"| {kind} | {total} | {kept} | {kept / max(total, 1):.2f} |")
    rows.append(f"| **all non-body** | {sum(r[0] for k, r in table.items() if k != 'body')} | "
                f"{sum(r[1] for k, r in table.items() if k != 'body')} | {leak:.2f} |")
    return "\n".join(rows) + f"\n\nBody recall {recall:.2f}; non-body lines kept {leak:.2f}."


def report(root: Path = BOILERPLATE_DIR) -> str:
    """The per-kind tables written into data/boilerplate/README.md."""
    return ("### Pages (`pages/*.txt`, labels in `pages.jsonl`)\n\n" + render_table(evaluate_pages(root))
            + "\n\n### Single lines (`lines.jsonl`, each set alone into `template.txt`)\n\n"
            + render_table(evaluate_lines(root)) + "\n")


def main(argv: list[str] | None = None) -> int:
    """`python -m topic_stance.paragraphs FILE...` prints how files split; `--report` prints the tables."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--report"]:
        print(report(), end="")
        return 0
    for path in args:
        with open(path, encoding="utf-8") as handle:
            article = split_article(handle.read())
        print(f"== {path}\nHEADLINE: {article.headline}")
        for p in article.paragraphs:
            print(f"[{p.index}] {p.text}")
        for d in article.dropped_lines:
            print(f"  (dropped: {d.kind}, {d.reason}) {d.text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
