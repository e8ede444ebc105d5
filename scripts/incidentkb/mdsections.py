"""Markdown structure read with a real CommonMark parser: headings, sections, code, with line ranges.

Hand-written line patterns get Markdown wrong in ways that matter to an importer: a `## ` line
inside a four-backtick fence is not a heading, `Title` underlined with `===` is one (setext),
and a link inside `inline code` is code, not a link. markdown-it-py (CommonMark, the parser
behind MyST) gives block tokens with line ranges; this module turns them into the few shapes
the rest of the package needs. Pass Markdown without its YAML front matter: the closing `---`
would read as a setext underline.

Lines are 0-based and ranges are half-open, as markdown-it's `Token.map`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["Heading", "Outline", "Section", "code_ranges", "inside", "list_items", "outline", "paragraphs", "plain_text",
           "table_rows"]


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # CommonMark plus the two GitHub extensions post-mortems use: pipe tables and ~~strike~~.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


@dataclass(frozen=True)
class Heading:
    level: int
    text: str  # plain text: links keep their text, emphasis and code marks go
    start: int  # first line of the heading
    end: int  # line after it (after the underline of a setext heading)
    setext: bool


@dataclass(frozen=True)
class Section:
    heading: Heading
    start: int  # first line after the heading
    end: int  # line of the next heading of the same or a higher level, or the end of the text


@dataclass
class Outline:
    """The top-level structure of one Markdown text."""

    lines: list[str]
    tokens: list[Token]
    headings: list[Heading]  # headings at the top level of the document (not inside lists or quotes)

    def sections(self, max_level: int = 2) -> list[Section]:
        """A section per heading of level 1..max_level; deeper headings stay inside their section."""
        kept = [h for h in self.headings if h.level <= max_level]
        ends = [h.start for h in kept[1:]] + [len(self.lines)]
        return [Section(h, h.end, end) for h, end in zip(kept, ends)]

    def text(self, start: int, end: int) -> str:
        return "\n".join(self.lines[start:end]).strip("\n")

    def blocks(self, start: int, end: int) -> list[Token]:
        """The tokens of the blocks that begin within lines [start, end)."""
        return [t for t in self.tokens if t.map is not None and start <= t.map[0] < end]


def outline(text: str) -> Outline:
    tokens = _parser().parse(text)
    headings = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.level == 0 and token.map:
            inline = tokens[index + 1]
            headings.append(Heading(int(token.tag[1]), plain_text(inline), token.map[0], token.map[1],
                                    token.markup in ("=", "-")))
    return Outline(text.split("\n"), tokens, headings)


def plain_text(inline: Token) -> str:
    """The text a reader sees in an inline token: link and image text kept, marks and raw HTML dropped."""
    parts = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(plain_text(child))
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def paragraphs(doc: Outline, start: int, end: int) -> list[str]:
    """Plain text of the paragraphs directly in lines [start, end): not in lists, tables, quotes or code."""
    out = []
    tokens = doc.tokens
    for index, token in enumerate(tokens):
        if token.type == "paragraph_open" and token.level == 0 and token.map and start <= token.map[0] < end:
            text = plain_text(tokens[index + 1])
            if text:
                out.append(text)
    return out


def list_items(doc: Outline, start: int, end: int) -> list[str]:
    """Plain text of each top-level list item in lines [start, end), nested items folded into their parent."""
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
            current.append(plain_text(token))
    return [text for text in (" ".join(p for p in parts if p) for parts in out) if text]


def table_rows(doc: Outline, start: int, end: int) -> list[list[str]]:
    """The rows of the tables in lines [start, end), header rows included, each as its cells' plain text."""
    rows: list[list[str]] = []
    current: list[str] | None = None
    inside = False
    for token in doc.tokens:
        if token.type == "table_open":
            inside = token.map is not None and start <= token.map[0] < end
        elif not inside:
            continue
        elif token.type == "tr_open":
            current = []
            rows.append(current)
        elif token.type == "inline" and current is not None:
            current.append(plain_text(token))
        elif token.type == "table_close":
            inside = False
    return rows


def code_ranges(text: str) -> list[tuple[int, int]]:
    """Character ranges of code: fenced and indented blocks, and inline code spans. Sorted, not overlapping.

    markdown-it gives blocks with line ranges but no character offsets for inline code, so spans are
    found with the CommonMark rule itself (a run of n backticks closes at the next run of exactly n)
    over the source lines of each inline block."""
    doc = outline(text)
    starts = [0]
    for line in doc.lines:
        starts.append(starts[-1] + len(line) + 1)
    ranges: list[tuple[int, int]] = []
    for token in doc.tokens:
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
