"""Raw HTML in record bodies: allowed, limited to safe markup, or rejected, as the policy file says.

Bodies are Markdown written by many people, and Python-Markdown passes raw HTML
through untouched. By default (`bodies.raw_html: safe`) harmless markup such as
<details> or <br> is fine, but anything that runs code is an error: <script> and
similar elements, event-handler attributes (onclick=...), and javascript:,
vbscript: or data:text/html links, in HTML and in Markdown links alike. Code
blocks and inline code are skipped: showing a script is not running it.

This reads the source, so it can point at the column; it is kept for its messages. What it
cannot see (a tag split over lines, a reference link, an attribute list) is found on the
rendered body by sanitize.rendered_findings, and what keeps code off the published pages is
sanitize.sanitize, whatever either check says.
"""

from __future__ import annotations

import re

from incidentkb.core.findings import ERROR, Finding
from incidentkb.core.markdown import code_lines
from incidentkb.records.model import Record

DANGEROUS_ELEMENTS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "input", "button",
                      "textarea", "select", "meta", "link", "base", "style", "svg", "math", "template"}

_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_TAG = re.compile(r"<\s*(/?)([a-zA-Z][a-zA-Z0-9-]*)(?=[\s/>])([^<>]*)>")
_HANDLER = re.compile(r"(?:^|[\s/\"'])(on[a-z]+)\s*=", re.IGNORECASE)
_BAD_SCHEME = re.compile(r"^\s*(?:javascript|vbscript|data\s*:\s*text/html|data\s*:\s*image/svg)", re.IGNORECASE)
_URL_ATTR = re.compile(r"\b(?:href|src|action|formaction|xlink:href)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))",
                       re.IGNORECASE)
_MD_LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]*)")
_ENTITY = re.compile(r"&#x?[0-9a-fA-F]+;?")


def _decoded(url: str) -> str:
    # Browsers decode entities and ignore tabs and newlines in URLs: "jav&#x61;script:" is still javascript.
    def entity(match: re.Match) -> str:
        text = match.group(0).rstrip(";")
        try:
            return chr(int(text[3:], 16) if text[2] in "xX" else int(text[2:]))
        except (ValueError, OverflowError):
            return ""

    return re.sub(r"[\t\n\r]", "", _ENTITY.sub(entity, url))


_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _blank(match: re.Match) -> str:
    # Keep line breaks so line numbers stay right; blank the rest.
    return re.sub(r"[^\n]", " ", match.group(0))


def _text_lines(body: str):
    """(line index, text) for every body line outside code blocks, with inline code and comments blanked out."""
    code = code_lines(body)
    body = _COMMENT.sub(_blank, body) if "<!--" in body else body
    for index, line in enumerate(body.split("\n")):
        if index not in code:
            yield index, _INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line)


def check_body_html(record: Record, mode: str) -> list[Finding]:
    if mode == "allow" or "<" not in record.body and "](" not in record.body:
        return []
    out = []

    def report(index: int, column: int, code: str, message: str, hint: str) -> None:
        out.append(Finding(record.path, record.body_line + index, column + 1, ERROR, code, message, hint))

    for index, line in _text_lines(record.body):
        for match in _MD_LINK_TARGET.finditer(line):
            if _BAD_SCHEME.match(_decoded(match.group(1))):
                report(index, match.start(1), "unsafe-link", f"link to {match.group(1)[:40]!r} runs code in the reader's "
                       "browser", "Link to a web page (https://...) or put the text in `code` if you are quoting it.")
        for match in _TAG.finditer(line):
            closing, name, attributes = match.group(1), match.group(2).lower(), match.group(3)
            if closing:
                continue
            if mode == "reject":
                report(index, match.start(), "raw-html", f"raw HTML <{name}> in the body",
                       "The policy (bodies.raw_html: reject) allows Markdown only; use Markdown, or put markup in `code`.")
                continue
            if name in DANGEROUS_ELEMENTS:
                report(index, match.start(), "unsafe-html", f"<{name}> can run code or change the page in readers' browsers",
                       f"Remove the <{name}> element, or put it in `code` or a fenced code block to show it as text.")
            handler = _HANDLER.search(attributes)
            if handler:
                report(index, match.start(), "unsafe-html", f"the {handler.group(1)}= attribute on <{name}> runs code",
                       "Remove the event-handler attribute; show markup as `code` if you are quoting it.")
            for url in _URL_ATTR.finditer(attributes):
                value = next(v for v in url.groups() if v is not None)
                if _BAD_SCHEME.match(_decoded(value)):
                    report(index, match.start(), "unsafe-link", f"<{name}> links to {value[:40]!r}, which runs code",
                           "Link to a web page (https://...) instead.")
    return out
