"""Reading Markdown: the one place that decides what is a heading, a section, code or text.

Record bodies are read by the checks (runbook sections), the similar-incident index (fields by
heading), drills (root cause, lessons), the importers (sections become fields), the site (headings
demoted under the page's own, glossary terms found in text) and the HTML check (code is not
markup). They all ask this module, so they agree with each other and with the site: the parser is
markdown-it-py, CommonMark, whose block rules are those Python-Markdown and every other engine
follow for the cases that matter here (fences of any length, setext headings, HTML blocks,
indented code).

Only the block structure is parsed (the inline rules are switched off): a body of a few kilobytes
takes a fraction of a millisecond. Line numbers are 0-based offsets into the text given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Block structure only: "inline" (and what runs after it) would turn every paragraph into
# inline tokens, which no reader here needs and which costs more than the block parse.
_BLOCKS = MarkdownIt("commonmark", {"maxNesting": 40}).enable("table").disable(["inline", "text_join"])
# Plain text needs the inline structure (links, emphasis, code spans), for short texts only.
_INLINE = MarkdownIt("commonmark", {"maxNesting": 40}).enable(["table", "strikethrough"])


@dataclass(frozen=True)
class Heading:
    level: int
    text: str  # the heading's inline source, e.g. "Root *cause*", closing #s and indentation removed
    line: int  # its first line
    end: int  # the line after it (a setext heading spans its text and its underline)
    setext: bool = False


@dataclass(frozen=True)
class Section:
    heading: Heading | None  # None for the text before the first heading
    text: str  # the source lines between this heading and the next one, stripped of blank edges
    start: int  # first line of `text`'s range in the document
    end: int  # the line after the range

    @property
    def title(self) -> str:
        return self.heading.text if self.heading else ""

    @property
    def level(self) -> int:
        return self.heading.level if self.heading else 0


@lru_cache(maxsize=256)
def block_tokens(text: str) -> tuple[Token, ...]:
    """The block tokens of a text (cached: a body is read by several stages of one build)."""
    return tuple(_BLOCKS.parse(text))


def headings(text: str) -> list[Heading]:
    """Every heading (ATX `## x` and setext `x` + `---`), in order, at any depth (lists, block quotes),
    never inside code, HTML blocks or front matter-like text that is not a heading."""
    tokens = block_tokens(text)
    out = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.map:
            content = tokens[index + 1].content if index + 1 < len(tokens) else ""
            out.append(Heading(int(token.tag[1]), content.strip(), token.map[0], token.map[1],
                               setext=token.markup in ("=", "-")))
    return out


def sections(text: str, max_level: int = 6) -> list[Section]:
    """The text cut at every heading of level `max_level` or above (a lower heading stays inside the
    section it belongs to). The first section holds what comes before the first heading."""
    lines = text.split("\n")
    cuts = [h for h in headings(text) if h.level <= max_level]
    out = []
    start, current = 0, None
    for heading in cuts + [None]:
        end = heading.line if heading is not None else len(lines)
        body = "\n".join(lines[start:end]).strip("\n")
        if current is not None or body.strip():
            out.append(Section(current, body, start, end))
        if heading is not None:
            current, start = heading, heading.end
    return out


def sections_by_title(text: str, max_level: int = 6) -> dict[str, str]:
    """Section text by lower-cased heading; the first section of a title wins, text before any heading is left out."""
    out: dict[str, str] = {}
    for section in sections(text, max_level):
        if section.heading is not None:
            out.setdefault(section.title.lower(), section.text.strip())
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
    tokens = block_tokens(text)
    last = next((t for t in reversed(tokens) if t.map), None)
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

    An ATX heading gets more #s; a setext heading becomes an ATX heading of the new level."""
    found = headings(text)
    if not found or levels <= 0:
        return text
    lines = text.split("\n")
    for heading in reversed(found):
        level = min(6, heading.level + levels)
        if heading.setext:
            prefix = _SETEXT_PREFIX.match(lines[heading.line]).group(1)
            lines[heading.line:heading.end] = [f"{prefix}{'#' * level} {heading.text}"]
        else:
            lines[heading.line] = _ATX_PREFIX.sub(lambda m: m.group(1) + "#" * level, lines[heading.line], count=1)
    return "\n".join(lines)


def _inline_text(tokens) -> list[str]:
    out = []
    for token in tokens:
        if token.type in ("text", "code_inline"):
            out.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif token.type == "image":
            out += _inline_text(token.children or [])
    return out


def plain_text(markdown: str) -> str:
    """What a reader sees of some Markdown, as one line of plain text: link text without targets,
    emphasis and code marks dropped, raw HTML left out, whitespace collapsed."""
    if not markdown:
        return ""
    parts = []
    for token in _INLINE.parse(markdown):
        if token.type == "inline":
            parts += _inline_text(token.children or [])
            parts.append(" ")
        elif token.type in ("fence", "code_block"):
            parts += [token.content, " "]
    return " ".join("".join(parts).split())


def list_items(text: str) -> list[str]:
    """The plain text of each item of the top-level lists of a text (nested lists stay inside their item)."""
    tokens = _INLINE.parse(text or "")
    items: list[str] = []
    depth = 0
    current: list[str] | None = None
    for token in tokens:
        if token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif token.type == "list_item_open" and depth == 1:
            current = []
        elif token.type == "list_item_close" and depth == 1 and current is not None:
            items.append(" ".join(" ".join(current).split()))
            current = None
        elif token.type == "inline" and current is not None:
            current += _inline_text(token.children or [])
    return [item for item in items if item]
