"""The text a reader of the site sees, for the secret scan: what a token looks like once rendered.

A token can be written so that the source does not show it and the page does:
`ghp&#95;…` (an HTML entity, which the browser decodes), a zero-width space inside it
(invisible, and copied along when selected), or `ghp_R8c2**Lq9V**x4Tn…` (Markdown emphasis,
which renders as one word with a bold middle). normalise() undoes the three, and maps each
position of the result back to the source, so a finding keeps the line and column of the
text that was written.

- HTML entities with their semicolon, named (`&lowbar;`) and numeric (`&#95;`, `&#x5f;`):
  Python-Markdown passes these to the page as they are, and the browser decodes them. An
  `&` without a semicolon is escaped by Markdown and shows as written, so it stays.
- Invisible characters are dropped: zero-width space, non-joiner and joiner (U+200B-U+200D),
  word joiner and invisible operators (U+2060-U+2064), zero-width no-break space (U+FEFF),
  soft hyphen (U+00AD), Mongolian vowel separator (U+180E).
- Emphasis and code markers between two letters or digits are dropped: runs of `*`, of
  backticks, and of two or more `_`. A single `_` stays: inside a word it is a letter in
  Markdown (no emphasis) and part of many tokens (ghp_, github_pat_).

The scan reads the source text and this one; a finding in the normalised text only counts
where the source text had none (secrets.detect).
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right

INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
_INVISIBLE_TABLE = {ord(c): None for c in INVISIBLE}
# Searches that each start with a literal, which Python's re skips to as fast as str.find. One
# pattern of alternatives, a set of characters or a lookbehind first makes it try every position
# instead: 0.65 ms on a 5 kB record as one pattern, 0.06 ms for just [*`_], 0.002 ms for a literal.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_INVISIBLES = re.compile("[" + INVISIBLE + "]+")  # only run on non-ASCII text
_MARKER_RUNS = (re.compile(r"\*\**"), re.compile(r"``*"), re.compile(r"___*"))
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


class Normalised:
    """A normalised text and the way back to the source: `pieces` holds, in order, (start in
    the normalised text, start in the source, whether the piece was replaced). Characters of a
    replaced piece (a decoded entity) all map to the source span of what they replaced."""

    __slots__ = ("text", "_starts", "_pieces")

    def __init__(self, text: str, pieces: list[tuple[int, int, int, bool]]):
        self.text = text
        self._pieces = pieces  # (normalised start, source start, source end, replaced)
        self._starts = [p[0] for p in pieces]

    def _piece(self, index: int) -> tuple[int, int, int, bool]:
        return self._pieces[max(0, bisect_right(self._starts, index) - 1)]

    def source_start(self, index: int) -> int:
        start, source, _, replaced = self._piece(index)
        return source if replaced else source + index - start

    def source_end(self, end: int) -> int:
        """The source position just after the character before `end` (an exclusive end)."""
        start, source, source_end, replaced = self._piece(end - 1)
        return source_end if replaced else source + end - start


def normalise(text: str) -> Normalised | None:
    """The text as rendered (see the module docstring), or None when that is the text itself."""
    edits = _edits(text)
    if not edits:
        return None
    out: list[str] = []
    pieces: list[tuple[int, int, int, bool]] = []
    length = position = 0
    for start, end, replacement in edits:
        if start > position:
            pieces.append((length, position, start, False))
            out.append(text[position:start])
            length += start - position
        if replacement:
            pieces.append((length, start, end, True))
            out.append(replacement)
            length += len(replacement)
        position = end
    pieces.append((length, position, len(text), False))
    out.append(text[position:])
    return Normalised("".join(out), pieces)


def _edits(text: str) -> list[tuple[int, int, str]]:
    """What normalise() changes: (start, end, replacement), in order, not overlapping."""
    edits = []
    if "&" in text:
        for m in _ENTITY.finditer(text):
            replacement = html.unescape(m.group()).translate(_INVISIBLE_TABLE)
            if replacement != m.group():  # else not an entity the browser knows: shown as written
                edits.append((m.start(), m.end(), replacement))
    if not text.isascii():
        edits += [(m.start(), m.end(), "") for m in _INVISIBLES.finditer(text)]
    for pattern in _MARKER_RUNS:
        for m in pattern.finditer(text):
            start, end = m.start(), m.end()
            if start and end < len(text) and text[start - 1] in _ALNUM and text[end] in _ALNUM:
                edits.append((start, end, ""))
    return sorted(edits)
