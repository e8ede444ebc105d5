"""What a record body renders to, checked: `kb check` reports markup that would run code, at its source line.

The site sanitises every page either way (site/sanitize.py); these findings are errors, so
`kb check`, `kb build` and `mkdocs build --strict` stop on them, and a plain `mkdocs build`
publishes the sanitised page and exits non-zero. Each body that could hold markup is rendered
with Python-Markdown (CHECK_EXTENSIONS) and what is active in the result is reported, at the
first source line where it can be found; bodies of prose and plain links are not rendered.
"""


from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

import markdown

from incidentkb.core.findings import ERROR, Finding

# ------------------------------------------------------------------------------------------- finding

ACTIVE_ELEMENTS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "meta", "base",
                   "link", "portal", "noembed"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "background", "poster", "cite",
                  "lowsrc", "dynsrc", "codebase", "ping", "srcset", "to", "from", "values", "by"}
_SAFE_DATA = re.compile(r"data:image/(?:png|gif|jpe?g|webp|avif|bmp)[;,]")
# Browsers drop ASCII tabs and newlines anywhere in a URL and leading C0 controls and spaces.
_URL_NOISE = re.compile(r"[\t\n\r]")


def url_runs_code(value: str) -> bool:
    """Whether a URL attribute's value (entities already decoded) runs code or opens HTML when followed."""
    url = _URL_NOISE.sub("", value).lstrip("".join(map(chr, range(0x21)))).lower()
    if url.startswith(("javascript:", "vbscript:", "livescript:")):
        return True
    return url.startswith("data:") and not _SAFE_DATA.match(url)


@dataclass(frozen=True)
class Active:
    """One active part of a page: an element, or an attribute of an element."""

    tag: str
    attribute: str = ""  # empty for an active element
    value: str = ""

    def describe(self) -> str:
        if not self.attribute:
            return f"<{self.tag}> can run code or change the page in readers' browsers"
        if self.attribute.startswith("on"):
            return f"the {self.attribute}= attribute on <{self.tag}> runs code"
        if self.attribute == "srcdoc":
            return f"the srcdoc= attribute on <{self.tag}> holds a page of its own"
        return f"<{self.tag}> {self.attribute}={self.value[:40]!r} runs code when followed"


class _ActiveParts(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[Active] = []

    def handle_starttag(self, tag, attrs):
        if tag in ACTIVE_ELEMENTS:
            self.found.append(Active(tag))
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or name == "srcdoc":
                self.found.append(Active(tag, name, value))
            elif name in URL_ATTRIBUTES and url_runs_code(value):
                self.found.append(Active(tag, name, value))
            elif name == "http-equiv" or (name == "style" and re.search(r"expression\s*\(|script:", value, re.I)):
                self.found.append(Active(tag, name, value))

    handle_startendtag = handle_starttag


def active_parts(html: str) -> list[Active]:
    """Every element and attribute of `html` that can run code (what the sanitiser must have removed).

    A parser of the standard library, not a browser: it is the checks' and the tests' view; what keeps
    code off the pages is `sanitize`, which parses as browsers do."""
    parser = _ActiveParts()
    parser.feed(html)
    parser.close()
    return parser.found


# ------------------------------------------------------------------------------------------- kb check

SAFETY_CODES = frozenset({"unsafe-html", "unsafe-link", "raw-html", "unrenderable-body"})  # and htmlsafety.py's

# What can make a body's page active: raw HTML, autolinks and comments (`<` and a letter, `/`, `!` or `?`),
# an attribute list that assigns something (`{: onclick=...}`), and a link or image target that is not a
# plain web, mail or relative address. Bodies with none of these (most: prose, code, https:// links) are
# not rendered by the check; the pages are sanitised whatever the check skips.
_RAW_OR_ATTRIBUTES = re.compile(r"<[A-Za-z/!?]|\{[^}\n]*=")
_TARGET = re.compile(r"\]\(\s*<?([^\s)>]*)|^[ ]{0,3}\[[^\]\n]*\]:\s*<?(\S*)", re.MULTILINE)
_PLAIN_TARGET = re.compile(r"(?:https?://|mailto:|tel:|[#/.]|[^:&%\\/?#]*(?:[/?#]|$))[^&%\\]*$", re.IGNORECASE)


def may_run_code(body: str) -> bool:
    """Whether a body holds anything that could render to active content (the check then renders it)."""
    if _RAW_OR_ATTRIBUTES.search(body):
        return True
    return any(not _PLAIN_TARGET.match(inline or reference) for inline, reference in _TARGET.findall(body))

# A superset of the extensions sites use that decide what becomes markup: a body is judged as the most
# permissive of them would render it (attr_list and md_in_html turn text into attributes and HTML).
CHECK_EXTENSIONS = ["extra", "admonition"]


@lru_cache(maxsize=1)
def _markdown() -> markdown.Markdown:
    return markdown.Markdown(extensions=CHECK_EXTENSIONS)


def render_body(body: str) -> tuple[str, list[str]]:
    """(the HTML of a body, the raw HTML pieces Python-Markdown passed through) with CHECK_EXTENSIONS."""
    md = _markdown()
    md.reset()
    html = md.convert(body)
    raw = [piece for piece in md.htmlStash.rawHtmlBlocks if isinstance(piece, str)]
    return html, raw


_TAG_START = re.compile(r"<\s*/?\s*[a-zA-Z]")


def rendered_findings(record, mode: str, reported_lines: set[int] = frozenset()) -> list[Finding]:
    """What a body renders to that runs code (mode `safe`), or any raw HTML in it (mode `reject`).

    Located at the first source line that holds the offending text; lines in `reported_lines` were
    already reported by the source check (htmlsafety.py), whose messages point at the column."""
    body = record.body
    if mode == "allow" or not may_run_code(body):
        return []
    try:
        html, raw = render_body(body)
    except Exception as error:  # noqa: BLE001 - an extension that chokes on a body must not stop the checks
        return [Finding(record.path, record.body_line, 1, ERROR, "unrenderable-body",
                        f"the body could not be rendered as Markdown ({type(error).__name__}: {error})",
                        "Simplify the markup around this point; the site build sanitises the page either way.")]
    out: list[Finding] = []
    seen = set(reported_lines)

    def report(line: int, code: str, message: str, hint: str) -> None:
        if line in seen:
            return
        seen.add(line)
        out.append(Finding(record.path, line, 1, ERROR, code, message, hint))

    if mode == "reject":
        for piece in raw:
            if _TAG_START.search(piece):
                tag = _TAG_START.search(piece).group(0)
                report(_line_of(record, [piece.strip().split("\n")[0], piece.strip()[:20], tag]), "raw-html",
                       f"raw HTML {piece.strip()[:40]!r} in the body",
                       "The policy (bodies.raw_html: reject) allows Markdown only; use Markdown, or put markup in "
                       "`code`.")
    for part in active_parts(html):
        needles = [part.value, part.value.split(":", 1)[-1], part.attribute, f"<{part.tag}"] if part.attribute \
            else [f"<{part.tag}"]
        code = "unsafe-html" if not part.attribute or part.attribute.startswith("on") or part.attribute in (
            "srcdoc", "http-equiv", "style") else "unsafe-link"
        report(_line_of(record, needles), code, part.describe() + " (as the page renders it)",
               "Remove it, or put it in `code` or a fenced code block to show it as text. Published pages are "
               "sanitised either way; this error keeps it out of review.")
    return out


def _line_of(record, needles: list[str]) -> int:
    """The first body line (file line number) where one of the needles occurs, in that order of preference;
    the body's first line when none does (entities or line breaks inside the text hide it)."""
    lines = record.body.split("\n")
    folded = [line.casefold() for line in lines]
    for needle in needles:
        needle = (needle or "").strip().casefold()
        if len(needle) < 2:
            continue
        for index, line in enumerate(folded):
            if needle in line or html_lib.unescape(needle) in html_lib.unescape(line):
                return record.body_line + index
    return record.body_line
