"""Safe, bounded YAML parsing that remembers where every key and item came from.

Why not plain `yaml.safe_load`:
- PyYAML silently keeps the last of two equal keys; a contributor who wrote
  `severity:` twice deserves to hear about it.
- Checks must name the line of the bad value, so containers keep their marks.
- Timestamps stay strings: PyYAML would turn `2025-03-01T10:00` into a naive
  datetime and the missing offset could no longer be reported.
- An alias bomb (billion laughs) must be rejected before it is expanded.

libyaml's `CSafeLoader` is used when present: it is about ten times faster and
gives the same marks. The pure-Python loader is the fallback.
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass

import yaml

TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"

# Set INCIDENTKB_PURE_YAML=1 to force the pure-Python parser (the tests do, to
# prove the fallback works on machines without libyaml).
HAVE_LIBYAML = getattr(yaml, "__with_libyaml__", False) and not os.environ.get("INCIDENTKB_PURE_YAML")

# Expanded size of one document, counting every alias as the whole subtree it
# names. A real incident has a few hundred nodes; the policy file a few thousand.
MAX_NODES = 200_000

# Deepest nesting of mappings and lists accepted. Front matter needs four or
# five levels. Without a limit of our own, construction recurses once per level
# and hits Python's recursion limit at a depth that depends on the caller's
# stack, with no line to report (tests/badinput/nesting-5000-deep).
MAX_DEPTH = 100


class MarkedDict(dict):
    """A mapping that remembers the (line, column) of each of its keys."""

    __slots__ = ("marks", "line", "column")


class MarkedList(list):
    """A sequence that remembers the (line, column) of each of its items."""

    __slots__ = ("marks", "line", "column")


@dataclass(frozen=True)
class YAMLDocumentError(Exception):
    """A YAML document that cannot be used, with the position and a fix."""

    code: str
    message: str
    hint: str
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class DuplicateKey:
    key: str
    line: int
    column: int
    first_line: int


# YAML also ends a line at CR, NEL, LS and PS (U+0085, U+2028, U+2029); a file line, for editors and
# for findings, ends only at LF. Text pasted from a web page can carry U+2028, which would shift every
# later line number (even past the end of the file). Marks also carry a character index (libyaml and
# PyYAML alike), which gives the file position whatever the parser counted as a line.
_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029]")


class _Positions:
    """Turns a YAML mark into the 1-based (line, column) in the file."""

    def __init__(self, text: str, line_offset: int):
        self.line_offset = line_offset
        self.newlines = [m.start() for m in re.finditer("\n", text)] if _OTHER_BREAKS.search(text) else None

    def __call__(self, mark) -> tuple[int, int]:
        if self.newlines is None:  # the usual case: the parser's lines are the file's lines
            return mark.line + 1 + self.line_offset, mark.column + 1
        before = bisect.bisect_left(self.newlines, mark.index)
        line_start = self.newlines[before - 1] + 1 if before else 0
        return before + 1 + self.line_offset, mark.index - line_start + 1


class _Nested:
    """Counts how deep construction is, and stops it at MAX_DEPTH with the line of the deep value."""

    def __init__(self, loader, node):
        self.loader, self.node = loader, node

    def __enter__(self):
        self.loader.depth = getattr(self.loader, "depth", 0) + 1
        if self.loader.depth > MAX_DEPTH:
            raise YAMLDocumentError(
                "yaml-too-deep",
                f"the YAML is nested more than {MAX_DEPTH} levels deep",
                "Front matter needs only a few levels of nesting; flatten the structure.",
                *self.loader.position(self.node),
            )

    def __exit__(self, *exc):
        self.loader.depth -= 1
        return False


def _construct_mapping(loader, node):
    with _Nested(loader, node):
        return _construct_marked_mapping(loader, node)


def _construct_marked_mapping(loader, node):
    loader.flatten_mapping(node)  # resolves `<<` merge keys like SafeLoader does
    data = MarkedDict()
    data.line, data.column = loader.position(node)
    data.marks = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        # A set (`? !!set {a}`) is unhashable too: as a key it used to escape as a TypeError.
        if isinstance(key, (list, dict, set)):
            line, column = loader.position(key_node)
            raise YAMLDocumentError(
                "yaml-syntax",
                "a mapping key must be a plain value, not a list or mapping",
                "Write keys as plain words, for example `title:`.",
                line,
                column,
            )
        position = loader.position(key_node)
        if key in data:
            loader.duplicates.append(DuplicateKey(str(key), *position, data.marks[key][0]))
        data[key] = loader.construct_object(value_node, deep=True)
        data.marks[key] = position
    return data


def _construct_sequence(loader, node):
    with _Nested(loader, node):
        return _construct_marked_sequence(loader, node)


def _construct_marked_sequence(loader, node):
    data = MarkedList()
    data.line, data.column = loader.position(node)
    data.marks = []
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.marks.append(loader.position(item))
    return data


def _unknown_tag(loader, node):
    line, column = loader.position(node)
    raise YAMLDocumentError(
        "yaml-tag",
        f"the YAML tag {node.tag!r} is not allowed",
        "Tags such as !!python/object can run code and are never accepted; write a plain value.",
        line,
        column,
    )


def _children(node):
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return node.value
    return ()


def _check_expanded_size(root, positions: _Positions) -> None:
    """Reject documents whose aliases would expand beyond MAX_NODES, or that refer to themselves.

    Sizes are computed bottom-up with memoisation, so this is linear in the
    number of distinct nodes even for a billion-laughs document.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            total = 1 + sum(size[id(child)] for child in _children(node))
            size[key] = total
            on_path.discard(key)
            if total > MAX_NODES:
                raise YAMLDocumentError(
                    "yaml-too-large",
                    f"the YAML expands to more than {MAX_NODES:,} values (anchors and aliases repeat data)",
                    "This looks like an alias bomb. Write the values out instead of nesting aliases.",
                    *positions(node.start_mark),
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise YAMLDocumentError(
                "yaml-recursive",
                "an alias refers to the value that contains it",
                "Remove the recursive alias; front matter must be a finite tree.",
                *positions(node.start_mark),
            )
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)


def _make_loader(base):
    class Loader(base):
        line_offset = 0

        def __init__(self, stream: str):
            super().__init__(stream)
            self.stream_text = stream
            self.duplicates: list[DuplicateKey] = []
            self.may_alias = "&" in stream and "*" in stream

        @property
        def file_position(self) -> _Positions:
            # Built on first use: parse() sets line_offset after the loader is created.
            if getattr(self, "_positions", None) is None or self._positions.line_offset != self.line_offset:
                self._positions = _Positions(self.stream_text, self.line_offset)
            return self._positions

        def position(self, node) -> tuple[int, int]:
            return self.file_position(node.start_mark)

        def get_single_data(self):
            node = self.get_single_node()
            if node is None:
                return None
            # An alias needs an anchor: without both characters nothing can expand, so skip the walk.
            if self.may_alias:
                _check_expanded_size(node, self.file_position)
            return self.construct_document(node)

    # Keep timestamps as strings; the schema parses them and can then report a missing offset.
    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != TIMESTAMP_TAG]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    Loader.yaml_constructors = dict(base.yaml_constructors)
    Loader.yaml_multi_constructors = {}
    Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
    Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
    Loader.add_constructor(TIMESTAMP_TAG, yaml.SafeLoader.construct_yaml_str)
    Loader.add_constructor(None, _unknown_tag)
    return Loader


PureLoader = _make_loader(yaml.SafeLoader)
FastLoader = _make_loader(yaml.CSafeLoader) if HAVE_LIBYAML else PureLoader

_TAB_HINT = "YAML indentation must use spaces, not tabs. Replace the tab characters with spaces."
_HINTS = [
    ("'\\t'", _TAB_HINT),
    # libyaml's own wording for a tab in the indentation (PyYAML's is matched by the line above).
    ("tab character", _TAB_HINT),
    ("mapping values are not allowed",
     "A value contains ': ', or this line is indented deeper than the line above it. Put the whole value in quotes, "
     "e.g. title: \"DB: failover\", or fix the indentation."),
    ("could not find expected ':'", "A line is missing the ':' between key and value, or a quote is not closed."),
    ("found unexpected end of stream", "A quote or bracket is never closed."),
    # An unclosed [list] or {mapping}: libyaml says "did not find expected ',' or ']'", PyYAML "expected ',' or ']'".
    ("',' or ']'", "A list written as [a, b] is not closed with ']', or an item in it contains ':' and needs quotes."),
    ("',' or '}'", "A mapping written as {a: 1} is not closed with '}', or a value in it needs quotes."),
    ("found undefined alias", "An alias (*name) refers to an anchor (&name) that is not defined."),
    ("while scanning an alias", "A value starts with '*', which YAML reads as an alias. Put the value in quotes."),
    ("while scanning an anchor", "A value starts with '&', which YAML reads as an anchor. Put the value in quotes."),
    ("found character '@'", "A value starts with '@' or '`', which YAML reserves. Put the value in quotes."),
    ("found character '`'", "A value starts with '@' or '`', which YAML reserves. Put the value in quotes."),
    ("exceeded maximum nesting depth", "The YAML is nested absurdly deep. Front matter needs only a few levels."),
    ("expected <block end>", "The indentation of this line does not match the lines around it."),
    ("did not find expected key", "The indentation of this line does not match the lines around it."),
    ("did not find expected '-'", "A list item is indented differently from the items before it."),
]
_DEFAULT_HINT = "Check the YAML near this line: indentation (spaces only), quotes, colons and list dashes."


def _hint_for(problem: str) -> str:
    for needle, hint in _HINTS:
        if needle in problem:
            return hint
    return _DEFAULT_HINT


# Contexts in which the parser's problem mark is lines after the mistake (see parse()).
_FIX_AT_CONTEXT = (
    "while scanning a quoted scalar",
    "while scanning a simple key",
    "while parsing a flow sequence",
    "while parsing a flow mapping",
)


def _name_the_character(problem: str, text: str, mark) -> str:
    """libyaml says 'found character that cannot start any token' without naming it; PyYAML names it.

    Name it the same way, so that the hints for tabs, '@' and '`' apply with either parser.
    """
    needle = "found character that cannot start any token"
    if needle in problem and mark is not None and 0 <= mark.index < len(text):
        problem = problem.replace(needle, f"found character {text[mark.index]!r} that cannot start any token")
    return problem


def _reader_problem(error, text: str, line_offset: int) -> YAMLDocumentError:
    """A character YAML does not accept at all (ESC from terminal colours, other control characters).

    This used to escape as a raw ReaderError from the pure-Python loader. Its position is a character
    index there but a UTF-8 byte offset with libyaml, so look for the character itself: the reader
    stops at the first one, hence its first occurrence is the one reported.
    """
    index = max(text.find(chr(error.character)), 0) if isinstance(error.character, int) else 0
    line = text.count("\n", 0, index) + 1 + line_offset
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    name = f"U+{error.character:04X}" if isinstance(error.character, int) else repr(error.character)
    return YAMLDocumentError(
        "yaml-syntax",
        f"invalid YAML: the character {name} is not allowed (a control character or non-character)",
        "Delete the invisible character; it usually comes from text copied out of a terminal (colour codes) "
        "or a PDF. An editor that shows control characters helps find it.",
        line,
        column,
    )


@dataclass
class ParsedYAML:
    data: object
    duplicates: list[DuplicateKey]


def parse(text: str, line_offset: int = 0, pure: bool = False) -> ParsedYAML:
    """Parse one YAML document. `line_offset` is the file line before the YAML's first line.

    Raises YAMLDocumentError with a file position for anything that cannot be used.
    """
    try:
        # The pure-Python reader rejects control characters already here, libyaml while parsing.
        loader = (PureLoader if pure else FastLoader)(text)
    except yaml.reader.ReaderError as error:
        raise _reader_problem(error, text, line_offset) from None
    loader.line_offset = line_offset
    try:
        data = loader.get_single_data()
        return ParsedYAML(data, loader.duplicates)
    except YAMLDocumentError:
        raise
    except yaml.reader.ReaderError as error:
        raise _reader_problem(error, text, line_offset) from None
    except yaml.MarkedYAMLError as error:
        problem = " ".join(str(part) for part in (error.context, error.problem) if part)
        problem = _name_the_character(problem, text, error.problem_mark)
        mark = error.problem_mark or error.context_mark
        line, column = loader.file_position(mark) if mark else (line_offset + 1, 0)
        # An unclosed quote or bracket, or a key without ':', is only noticed lines later (often at the
        # end of the front matter); the fix belongs where the quote, bracket or key starts.
        if error.context in _FIX_AT_CONTEXT and error.context_mark and error.problem_mark:
            context_line, context_column = loader.file_position(error.context_mark)
            if context_line < line:
                problem += f" (noticed on line {line})"
                line, column = context_line, context_column
        # libyaml reports its nesting limit as a syntax error; the pure-Python parser and our own
        # depth check call it yaml-too-deep, and the code must not depend on which parser ran.
        code = "yaml-too-deep" if "maximum nesting depth" in problem else "yaml-syntax"
        raise YAMLDocumentError(code, f"invalid YAML: {problem}", _hint_for(problem), line, column) from None
    except yaml.YAMLError as error:
        # e.g. "expected a single document in the stream": no mark on some paths.
        raise YAMLDocumentError("yaml-syntax", f"invalid YAML: {error}", _DEFAULT_HINT, line_offset + 1, 0) from None
    except RecursionError:
        # The pure-Python composer recurses per level before MAX_DEPTH is checked. Its reader
        # knows how far it got, which is inside the deep part; libyaml's loader has no get_mark.
        mark = loader.get_mark() if hasattr(loader, "get_mark") else None
        raise YAMLDocumentError(
            "yaml-too-deep",
            "the YAML is nested too deeply to read",
            "Front matter needs only a few levels of nesting; flatten the structure.",
            *(loader.file_position(mark) if mark else (line_offset + 1, 0)),
        ) from None
    finally:
        loader.dispose()


def position_of(data, path: tuple) -> tuple[int, int]:
    """The (line, column) of the value at `path` (keys and indexes), or of its nearest parent."""
    best = (getattr(data, "line", 0), getattr(data, "column", 0))
    node = data
    for step in path:
        marks = getattr(node, "marks", None)
        if marks is None:
            break
        try:
            best = marks[step]
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
    return best
