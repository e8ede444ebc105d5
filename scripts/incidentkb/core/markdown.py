"""Reading Markdown: the one place that decides what is a heading, a section, a list, a table, code or text.

Record bodies are read by the checks (runbook sections, raw HTML outside code), similar incidents
(fields by heading), drills (root cause, lessons), the importers (sections become fields), and the
site (headings demoted under the page's own, glossary terms found in text). They all ask this
module, so they agree with each other and with the site: the parser is markdown-it-py, CommonMark
plus pipe tables and ~~strike~~, whose block rules are those every engine follows for the cases
that matter here (fences of any length, setext headings, HTML blocks, indented code, a link inside
`inline code` being code).

Two ways in, by cost:
- `headings`, `sections`, `code_lines`, `demote_headings` read the block structure only (the
  inline rules are off): a body of a few kilobytes takes a fraction of a millisecond, and the
  tokens of a text are cached, because a build reads each body from several stages.
- `outline` parses everything, inline too, for readers that need the text of paragraphs, list
  items and table cells (the importers, drills).

Lines are 0-based and ranges half-open, as markdown-it's `Token.map`. Pass Markdown without its
YAML front matter: the closing `---` would read as a setext underline.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Block structure only: "inline" (and what runs after it) would turn every paragraph into inline tokens.
_BLOCKS = MarkdownIt("commonmark", {"html": True, "maxNesting": 40}).enable("table").disable(["inline", "text_join"])
_FULL = MarkdownIt("commonmark", {"html": True, "maxNesting": 40}).enable(["table", "strikethrough"])


@dataclass(frozen=True)
class Heading:
    level: int
    text: str  # plain text: links keep their text, emphasis and code marks go
    start: int  # first line of the heading
    end: int  # line after it (after the underline of a setext heading)
    setext: bool = False


@dataclass(frozen=True)
class Section:
    heading: Heading | None  # None for the text before the first heading
    start: int  # first line after the heading
    end: int  # line of the next heading that cuts, or the end of the text

    @property
    def title(self) -> str:
        return self.heading.text if self.heading else ""


# ------------------------------------------------------------------------------ block structure


@lru_cache(maxsize=256)
def block_tokens(text: str) -> tuple[Token, ...]:
    """The block tokens of a text (cached: a body is read by several stages of one build)."""
    return tuple(_BLOCKS.parse(text))


def _headings_of(tokens, top_level_only: bool, inline_text) -> list[Heading]:
    out = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.map and (token.level == 0 or not top_level_only):
            inline = tokens[index + 1] if index + 1 < len(tokens) else None
            out.append(Heading(int(token.tag[1]), inline_text(inline) if inline is not None else "",
                               token.map[0], token.map[1], token.markup in ("=", "-")))
    return out


def _source_text(inline: Token) -> str:
    """Plain text of a heading read with the block parser only: its inline source, parsed as inline text."""
    return inline_text(_FULL.parseInline(inline.content)[0]) if inline.content else ""


def headings(text: str) -> list[Heading]:
    """Every heading (ATX `## x` and setext `x` + `---`), in order, at any depth (lists, block quotes),
    never inside code or HTML blocks."""
    return _headings_of(block_tokens(text), False, _source_text)


def sections(text: str, max_level: int = 6) -> list[Section]:
    """The text cut at every heading of level `max_level` or above (a lower heading stays inside the
    section it belongs to). The first section holds what comes before the first heading, if anything."""
    lines = text.split("\n")
    cuts = [h for h in headings(text) if h.level <= max_level]
    out = []
    start, current = 0, None
    for heading in cuts + [None]:
        end = heading.start if heading is not None else len(lines)
        if current is not None or "\n".join(lines[start:end]).strip():
            out.append(Section(current, start, end))
        if heading is not None:
            current, start = heading, heading.end
    return out


def section_text(text: str, section: Section) -> str:
    return "\n".join(text.split("\n")[section.start:section.end]).strip("\n")


def sections_by_title(text: str, max_level: int = 6) -> dict[str, str]:
    """Section text by lower-cased heading; the first section of a title wins, text before any heading is left out."""
    out: dict[str, str] = {}
    for section in sections(text, max_level):
        if section.heading is not None:
            out.setdefault(section.title.lower(), section_text(text, section).strip())
    return out


def code_lines(text: str) -> set[int]:
    """The lines that are code: fenced and indented code blocks, fence lines included."""
    out: set[int] = set()
    for token in block_tokens(text):
        if token.type in ("fence", "code_block") and token.map:
            out.update(range(*token.map))
    return out


def open_fence_at_end(text: str) -> bool:
    """Whether a code fence is still open at the end: text appended there would be code."""
    last = next((t for t in reversed(block_tokens(text)) if t.map), None)
    if last is None or last.type != "fence":
        return False
    lines = text.rstrip("\n").split("\n")
    closing = lines[last.map[1] - 1].strip() if last.map[1] - 1 < len(lines) else ""
    # A closed fence ends on a line of the same character, at least as long as the opening one.
    return last.map[1] - last.map[0] < 2 or not (closing and set(closing) == {last.markup[0]}
                                                   and len(closing) >= len(last.markup))


_ATX_PREFIX = re.compile(r"^((?:[ \t]*>)*[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?[ \t]*)(#{1,6})(?=[ \t]|$)")
_SETEXT_PREFIX = re.compile(r"^((?:[ \t]*>)*[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?)")


def demote_headings(text: str, levels: int = 1) -> str:
    """Push every heading down `levels` (at most h6), so a body nests under the page's own headings.

    An ATX heading gets more #s; a setext heading becomes an ATX heading of the new level, its
    source kept as written."""
    found = headings(text)
    if not found or levels <= 0:
        return text
    lines = text.split("\n")
    for heading in reversed(found):
        level = min(6, heading.level + levels)
        if heading.setext:
            prefix = _SETEXT_PREFIX.match(lines[heading.start]).group(1)
            content = " ".join(line[len(prefix):].strip() for line in lines[heading.start:heading.end - 1])
            lines[heading.start:heading.end] = [f"{prefix}{'#' * level} {content}"]
        else:
            lines[heading.start] = _ATX_PREFIX.sub(lambda m: m.group(1) + "#" * level, lines[heading.start], count=1)
    return "\n".join(lines)


# ------------------------------------------------------------------------------ text of blocks


def inline_text(inline: Token) -> str:
    """The text a reader sees in an inline token: link and image text kept, marks and raw HTML dropped."""
    parts = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(inline_text(child))
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def plain_text(markdown: str) -> str:
    """What a reader sees of some Markdown, as one line of plain text: link text without targets,
    emphasis and code marks dropped, raw HTML left out, code blocks kept as text, whitespace collapsed."""
    if not markdown:
        return ""
    parts = []
    for token in _FULL.parse(markdown):
        if token.type == "inline":
            parts.append(inline_text(token))
        elif token.type in ("fence", "code_block"):
            parts.append(token.content)
    return " ".join(" ".join(parts).split())


@dataclass
class Outline:
    """The whole structure of one Markdown text, inline too, for readers of paragraphs, lists and tables."""

    lines: list[str]
    tokens: list[Token]
    headings: list[Heading]  # headings at the top level of the document (not inside lists or quotes)

    def sections(self, max_level: int = 2) -> list[Section]:
        """A section per top-level heading of level 1..max_level; deeper headings stay inside their section."""
        kept = [h for h in self.headings if h.level <= max_level]
        ends = [h.start for h in kept[1:]] + [len(self.lines)]
        return [Section(h, h.end, end) for h, end in zip(kept, ends)]

    def text(self, start: int, end: int) -> str:
        return "\n".join(self.lines[start:end]).strip("\n")

    def blocks(self, start: int, end: int) -> list[Token]:
        """The tokens of the blocks that begin within lines [start, end)."""
        return [t for t in self.tokens if t.map is not None and start <= t.map[0] < end]


def outline(text: str) -> Outline:
    tokens = _FULL.parse(text)
    return Outline(text.split("\n"), tokens, _headings_of(tokens, True, inline_text))


def paragraphs(doc: Outline, start: int, end: int) -> list[str]:
    """Plain text of the paragraphs directly in lines [start, end): not in lists, tables, quotes or code."""
    out = []
    tokens = doc.tokens
    for index, token in enumerate(tokens):
        if token.type == "paragraph_open" and token.level == 0 and token.map and start <= token.map[0] < end:
            text = inline_text(tokens[index + 1])
            if text:
                out.append(text)
    return out


def list_items(doc: Outline | str, start: int = 0, end: int | None = None) -> list[str]:
    """Plain text of each top-level list item in lines [start, end) of an outline (or of a whole text),
    nested items folded into their parent."""
    if isinstance(doc, str):
        doc = outline(doc)
    end = len(doc.lines) if end is None else end
    out = []
    current: list[str] | None = None
    for token in doc.tokens:
        if token.map is not None and not start <= token.map[0] < end:
            continue
        if token.type == "list_item_open" and token.level == 1:
            current = []
            out.append(current)
        elif token.type == "list_item_close" and token.level == 1:
            current = None
        elif token.type == "inline" and current is not None:
            current.append(inline_text(token))
    return [text for text in (" ".join(p for p in parts if p) for parts in out) if text]


def table_rows(doc: Outline, start: int, end: int) -> list[list[str]]:
    """The rows of the tables in lines [start, end), header rows included, each as its cells' plain text."""
    rows: list[list[str]] = []
    current: list[str] | None = None
    inside_table = False
    for token in doc.tokens:
        if token.type == "table_open":
            inside_table = token.map is not None and start <= token.map[0] < end
        elif not inside_table:
            continue
        elif token.type == "tr_open":
            current = []
            rows.append(current)
        elif token.type == "inline" and current is not None:
            current.append(inline_text(token))
        elif token.type == "table_close":
            inside_table = False
    return rows


# ------------------------------------------------------------------------------ code in text


def code_ranges(text: str) -> list[tuple[int, int]]:
    """Character ranges of code: fenced and indented blocks, and inline code spans. Sorted, not overlapping.

    markdown-it gives blocks with line ranges but no character offsets for inline code, so spans are
    found with the CommonMark rule itself (a run of n backticks closes at the next run of exactly n)
    over the source lines of each inline block."""
    tokens = block_tokens(text)
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    ranges: list[tuple[int, int]] = []
    for token in tokens:
        if token.map is None:
            continue
        first, last = token.map
        if token.type in ("fence", "code_block"):
            ranges.append((starts[first], starts[last] - 1 if last > first else starts[first]))
        elif token.type == "inline":
            offset = starts[first]
            source = text[offset:starts[last] - 1]
            ranges += [(offset + a, offset + b) for a, b in _code_spans(source)]
    ranges.sort()
    return ranges


_BACKTICKS = re.compile(r"`+")


def _code_spans(source: str) -> list[tuple[int, int]]:
    spans = []
    position = 0
    while True:
        opening = _BACKTICKS.search(source, position)
        if opening is None:
            return spans
        backslashes = len(source[:opening.start()]) - len(source[:opening.start()].rstrip("\\"))
        if backslashes % 2:  # \` is a literal backtick; the rest of the run may still open a span
            position = opening.start() + 1
            continue
        width = len(opening.group())
        closing = _BACKTICKS.search(source, opening.end())
        while closing is not None and len(closing.group()) != width:
            closing = _BACKTICKS.search(source, closing.end())
        if closing is None:
            position = opening.end()
            continue
        spans.append((opening.start(), closing.end()))
        position = closing.end()


def inside(ranges: list[tuple[int, int]], index: int) -> bool:
    """Whether a character offset falls in one of the (sorted) ranges."""
    at = bisect.bisect_right(ranges, (index, float("inf"))) - 1
    return at >= 0 and ranges[at][0] <= index < ranges[at][1]
