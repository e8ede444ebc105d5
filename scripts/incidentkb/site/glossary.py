"""Glossary terms explained on the pages: abbreviation definitions for Markdown, <abbr> for generated HTML.

The terms come from analysis/training.py (the built-in ITIL/SRE list plus the policy file's
`glossary:`). Two ways to explain them:

- `add_abbreviations(markdown, policy)` appends abbreviation definitions
  (`*[MTTR]: Mean time to restore ...`) for the terms a page's Markdown text uses;
  Python-Markdown's `abbr` extension (or the extension below, which also leaves link text and
  headings alone) turns them into `<abbr title>` tooltips. It covers Markdown text only: code is
  skipped by the extension, and the generated raw-HTML blocks (tables, panels) never reach it.
  SiteBuild.prepare_markdown calls it on every page.
- The training and drill pages are generated HTML, so they wrap terms in `<abbr>` themselves
  (`wrap_html`), which works with any builder.

In mkdocs.yml the extension is `incidentkb.training` (its public name, see ../training.py).
"""

from __future__ import annotations

import re

from markdown.extensions.abbr import AbbrBlockprocessor, AbbrExtension, AbbrTreeprocessor
from markdown.util import AtomicString
from markupsafe import Markup, escape

from incidentkb.analysis.glossary import Glossary, glossary_of
from incidentkb.core.markdown import code_lines, headings, open_fence_at_end
from incidentkb.site.renderer import RAW_BLOCK

PUBLIC_NAME = "incidentkb.training"

_HTML_SKIP = re.compile(r"(<(a|abbr|code|pre|kbd|script|style|h[1-6]|summary|dt)\b[^>]*>.*?</\2\s*>|<[^>]*>)",
                        re.DOTALL | re.IGNORECASE)

# What add_abbreviations must not count as Markdown text.
_INLINE_CODE = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
_ABBR_ELEMENT = re.compile(r"<abbr\b[^>]*>.*?</abbr\s*>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_LINK_TARGET = re.compile(r"\]\([^)]*\)|^\s{0,3}\[[^\]]+\]:.*$", re.MULTILINE)
_ABBR_DEFINITION = re.compile(r"^\*\[([^\]]+)\]:", re.MULTILINE)


def wrap_html(glossary: Glossary, value) -> Markup:
    """HTML-escape `value` (unless it is already Markup) and wrap glossary terms in <abbr title>.
    Text inside tags, links, code and existing <abbr> elements is left alone."""
    html = str(escape(value))
    if glossary.pattern is None:
        return Markup(html)

    def abbr(match: re.Match) -> str:
        return f'<abbr title="{escape(glossary.tooltips[match.group(0)])}">{match.group(0)}</abbr>'

    parts = _HTML_SKIP.split(html)
    out = []
    for index, part in enumerate(parts):
        kind = index % 3  # split() with two groups yields [text, skipped, tag name, text, ...]
        if kind == 0:
            out.append(glossary.pattern.sub(abbr, part))
        elif kind == 1:
            out.append(part)
    return Markup("".join(out))


def wrapper(policy):
    """`gloss` for the templates of generated HTML: wrap_html with the policy's glossary."""
    glossary = glossary_of(policy)
    return lambda value: wrap_html(glossary, value)


def markdown_text(markdown: str) -> str | None:
    """The parts of a page's Markdown that Python-Markdown treats as text, roughly: without code,
    generated raw HTML blocks, inline code, tags, headings and link targets. None when a code fence
    is left open at the end (anything appended would land inside it)."""
    markdown = RAW_BLOCK.sub("", markdown)
    if open_fence_at_end(markdown):
        return None
    skipped = code_lines(markdown)
    for heading in headings(markdown):
        skipped.update(range(heading.start, heading.end))
    text = "\n".join(line for number, line in enumerate(markdown.split("\n")) if number not in skipped)
    for pattern in (_INLINE_CODE, _ABBR_ELEMENT, _TAG, _LINK_TARGET):
        text = pattern.sub(" ", text)
    return text


def add_abbreviations(markdown: str, policy) -> str:
    """Append abbreviation definitions for the glossary terms this page's Markdown text uses.

    Only terms that occur are defined (a page pays for what it uses), a term the page defines itself
    is left to the page, and calling it twice changes nothing.
    """
    glossary = glossary_of(policy)
    if glossary.pattern is None:
        return markdown
    text = markdown_text(markdown)
    if not text:
        return markdown
    found = glossary.forms_in(text) - set(_ABBR_DEFINITION.findall(markdown))
    if not found:
        return markdown
    definitions = "\n".join(f"*[{form}]: {glossary.tooltips[form]}" for form in sorted(found))
    return markdown.rstrip("\n") + "\n\n" + definitions + "\n"


def abbreviations_enabled(markdown_extensions) -> bool:
    """Whether a builder's Markdown extensions turn abbreviation definitions into tooltips."""
    names = {str(e).split(":")[0] for e in markdown_extensions or ()}
    return bool(names & {"abbr", "markdown.extensions.abbr", PUBLIC_NAME})


class GlossaryBlockprocessor(AbbrBlockprocessor):
    """The stock one runs a regular expression on every block of every page; only blocks holding a
    definition need it (a third of the Markdown time of an incident page without this, measured)."""

    def test(self, parent, block):
        return "*[" in block


class GlossaryTreeprocessor(AbbrTreeprocessor):
    """Python-Markdown's abbreviations, except inside links, headings and code."""

    SKIP = frozenset(("a", "code", "pre", "abbr", "kbd", "h1", "h2", "h3", "h4", "h5", "h6"))

    def iter_element(self, el, parent=None):
        if el.tag not in self.SKIP:
            super().iter_element(el, parent)
            return
        # Leave the element's own text alone; the text after it belongs to the parent.
        if parent is not None and el.tail and not isinstance(el.tail, AtomicString):
            tail = el.tail
            index = list(parent).index(el) + 1
            for match in reversed(list(self.RE.finditer(tail))):
                if self.abbrs[match.group(0)]:
                    parent.insert(index, self.create_element(self.abbrs[match.group(0)], match.group(0),
                                                             tail[match.end():]))
                    tail = tail[: match.start()]
            el.tail = tail


class GlossaryExtension(AbbrExtension):
    """`abbr`, with link text and headings left alone. In mkdocs.yml: `- incidentkb.training` (instead of `abbr`)."""

    def extendMarkdown(self, md):
        super().extendMarkdown(md)
        md.treeprocessors.register(GlossaryTreeprocessor(md, self.abbrs), "abbr", 7)
        md.parser.blockprocessors.register(GlossaryBlockprocessor(md.parser, self.abbrs), "abbr", 16)


def makeExtension(**kwargs):
    """Python-Markdown entry point: `markdown_extensions: [incidentkb.training]`."""
    return GlossaryExtension(**kwargs)
