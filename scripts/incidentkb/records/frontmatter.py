"""Reading a Markdown record: bytes → text → YAML front matter + body.

Each step that can fail returns findings instead of raising, so that one broken
file is reported and skipped while the rest of the knowledge base still loads.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

from incidentkb.core.findings import ERROR, WARNING, Finding
from incidentkb.core.yamlsafe import MarkedDict, YAMLDocumentError, parse

DEFAULT_MAX_FILE_BYTES = 1_000_000

_CLOSING_LINE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)

FRONT_MATTER_EXAMPLE = "---\nid: INC-2025-014\ntitle: Checkout latency\n---\n"


@dataclass
class SourceFile:
    """A record file that was read and split, with its front matter parsed."""

    path: str  # relative to the knowledge-base root, posix
    meta: MarkedDict
    body: str
    body_line: int  # file line on which the Markdown body starts
    findings: list[Finding] = field(default_factory=list)


def read_text(path: Path, rel: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[str | None, list[Finding]]:
    """Read a file as UTF-8 text with LF line endings, or explain why it cannot be used."""
    findings: list[Finding] = []
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, [
                Finding(rel, 0, 0, ERROR, "file-too-large",
                        f"the file is {size:,} bytes; the limit is {max_bytes:,}",
                        "Move logs and large attachments out of the record and link to them, "
                        "or raise limits.max_file_bytes in the policy file.")
            ]
        data = path.read_bytes()
    except OSError as error:
        return None, [Finding(rel, 0, 0, ERROR, "unreadable", f"cannot read the file: {error.strerror or error}",
                              "Check that the file exists and is readable.")]
    if data.startswith(codecs.BOM_UTF8):
        findings.append(Finding(rel, 1, 1, WARNING, "byte-order-mark",
                                "the file starts with a UTF-8 byte-order mark",
                                "Save the file as UTF-8 without BOM; the mark is ignored here but confuses other tools."))
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        return None, findings + [
            Finding(rel, line, column, ERROR, "not-utf8",
                    f"byte 0x{data[error.start]:02x} is not valid UTF-8",
                    "Save the file as UTF-8 (most editors have an 'encoding' option when saving).")
        ]
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        return None, findings + [Finding(rel, line, 0, ERROR, "binary-file", "the file contains NUL bytes: it is not text",
                                         "Records must be Markdown text files.")]
    if "\r" in text:
        findings.append(Finding(rel, 1, 0, WARNING, "crlf-line-endings",
                                "the file has Windows (CRLF) line endings",
                                "Use LF line endings; the repository's .gitattributes does this on commit "
                                "(or run: git add --renormalize .)."))
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, findings


def split(text: str, rel: str) -> tuple[str, str, int] | Finding:
    """Split text into (yaml_text, body, body_line), or return the finding that explains why not."""
    if not text.strip():
        return Finding(rel, 1, 1, ERROR, "empty-file", "the file is empty",
                       "A record starts with YAML front matter between two '---' lines, e.g.\n" + FRONT_MATTER_EXAMPLE)
    first_line_end = text.find("\n")
    first_line = text if first_line_end < 0 else text[:first_line_end]
    if first_line.rstrip(" \t") != "---":
        return Finding(rel, 1, 1, ERROR, "no-front-matter",
                       "the file does not start with YAML front matter ('---' on the first line)",
                       "Add front matter at the very top of the file, e.g.\n" + FRONT_MATTER_EXAMPLE)
    start = first_line_end + 1
    closing = _CLOSING_LINE.search(text, start) if first_line_end >= 0 else None
    if closing is None:
        return Finding(rel, 1, 1, ERROR, "unclosed-front-matter",
                       "the front matter opened on line 1 is never closed",
                       "Add a line with only '---' after the last front-matter field.")
    yaml_text = text[start:closing.start()]
    body_start = closing.end() + 1
    body_line = text.count("\n", 0, body_start) + 1
    return yaml_text, text[body_start:], body_line


def read_record(path: Path, rel: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES, pure_yaml: bool = False) -> SourceFile | list[Finding]:
    """Read one Markdown record. Returns the SourceFile, or the findings that stopped it from loading."""
    text, findings = read_text(path, rel, max_bytes)
    if text is None:
        return findings
    return record_from_text(text, rel, findings, pure_yaml)


def record_from_text(text: str, rel: str, findings: list[Finding] | None = None,
                     pure_yaml: bool = False) -> SourceFile | list[Finding]:
    """Split and parse a record's text (already read): the SourceFile, or the findings that stop it.
    `kb import` uses it to check records before they are written."""
    findings = list(findings or [])
    parts = split(text, rel)
    if isinstance(parts, Finding):
        return findings + [parts]
    yaml_text, body, body_line = parts
    try:
        parsed = parse(yaml_text, line_offset=1, pure=pure_yaml)
    except YAMLDocumentError as problem:
        return findings + [Finding(rel, problem.line, problem.column, ERROR, problem.code, problem.message, problem.hint)]
    for dup in parsed.duplicates:
        findings.append(Finding(rel, dup.line, dup.column, ERROR, "duplicate-key",
                                f"the key {dup.key!r} appears twice (first on line {dup.first_line})",
                                "YAML keeps only the last value; merge the two into one."))
    if parsed.data is None:
        return findings + [Finding(rel, 1, 1, ERROR, "empty-front-matter", "the front matter is empty",
                                   "Fill in the fields between the '---' lines (`kb new` writes a complete template).")]
    if not isinstance(parsed.data, MarkedDict):
        # Say what YAML read in the contributor's words (this used to print the Python class,
        # "a MarkedList" or "a str"), at the line where it starts (a comment may come first).
        what = "a list" if isinstance(parsed.data, list) else f"a single value ({str(parsed.data)[:60]!r})"
        return findings + [Finding(rel, getattr(parsed.data, "line", 2), 1, ERROR, "front-matter-not-mapping",
                                   f"the front matter is {what}, expected a mapping of fields",
                                   "Write one 'field: value' per line between the '---' lines, "
                                   "without a '- ' in front of each field.")]
    return SourceFile(rel, parsed.data, body, body_line, findings)
