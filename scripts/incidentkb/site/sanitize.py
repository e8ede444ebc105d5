"""What a reader's browser receives from untrusted text: made inert on the page.

Record bodies are Markdown written by anyone who can open a pull request, and the site may be
public. Which markup a body turns into is decided by Python-Markdown and its extensions (raw
HTML, reference links, attribute lists, md_in_html), not by what the source looks like, so the
guarantee works on the HTML that Markdown produced: an allow-list sanitiser (nh3, the bindings
of the Rust crate Ammonia, which parses like a browser) keeps the markup that Markdown writes
and drops everything else: scripts, event handlers, javascript:/vbscript:/data: URLs, frames,
objects, forms, meta and base elements, srcdoc. The plugin runs it on the parts of every
generated page that came out of Markdown, in the build workers and in MkDocs' own page loop
alike (plugin.on_page_content runs in both). Our own HTML blocks (templates, Jinja-escaped
values) are swapped out before Markdown runs and come back after the sanitiser: they are
trusted, and they are never wrapped by a body's markup, because each stretch between two of
them is sanitised on its own. checks/rendered_html.py finds the same things for `kb check`.

Text from hand-written pages under docs/ and from our templates is trusted: it is reviewed
like code, and the same people can add scripts to mkdocs.yml anyway.
"""


from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import nh3

# ------------------------------------------------------------------------------------------- sanitising

# What Python-Markdown and the extensions we use (tables, admonition, attr_list, md_in_html, toc, abbr,
# footnotes, def_list, pymdownx.tasklist, highlighting) write, plus harmless markup people put in
# post-mortems (<details>, <kbd>, <br>, <sup>). No form controls except the task-list checkbox.
TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del", "details",
    "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "input", "ins", "kbd", "label", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
}
# Dropped with everything inside them (other elements that are not allowed lose only their tags).
DROPPED_WITH_CONTENT = {"script", "style", "template", "noscript", "noembed", "noframes", "xmp", "iframe", "title",
                        "textarea", "select", "object", "applet"}
GENERIC_ATTRIBUTES = {"id", "class", "title", "lang", "dir"}
ATTRIBUTES = {
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "loading"},
    "td": {"colspan", "rowspan", "align", "style"},
    "th": {"colspan", "rowspan", "align", "style", "scope"},
    "ol": {"start", "type", "reversed"},
    "li": {"value"},
    "details": {"open"},
    "input": {"type", "checked", "disabled"},  # task lists: <input type="checkbox" disabled>
    "time": {"datetime"},
    "col": {"span"},
    "colgroup": {"span"},
    "del": {"datetime"},
    "ins": {"datetime"},
}
# Absolute URLs only with these schemes; relative ones (pages, anchors, images of the site) stay.
URL_SCHEMES = {"http", "https", "mailto", "tel"}
STYLE_PROPERTIES = {"text-align"}  # the only style Markdown writes: table column alignment


def sanitize(fragment: str) -> str:
    """`fragment` with everything that is not on the allow-list removed (see the module docstring)."""
    if not fragment or fragment.isspace():
        return fragment
    return _cleaner().clean(fragment)


@lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    # Made once: nh3.clean() converts the allow-lists for every call, ten times the cost of a small fragment.
    return nh3.Cleaner(tags=TAGS, clean_content_tags=DROPPED_WITH_CONTENT,
                       attributes={"*": GENERIC_ATTRIBUTES, **ATTRIBUTES}, url_schemes=URL_SCHEMES, link_rel=None,
                       strip_comments=True, filter_style_properties=STYLE_PROPERTIES,
                       # Only checkboxes: an <input type=image src=...> or a submit button has no business here.
                       set_tag_attribute_values={"input": {"type": "checkbox"}})


def sanitize_around(html: str, trusted: re.Pattern) -> str:
    """Sanitise each stretch of `html` between two matches of `trusted` (placeholders of our own blocks).

    Each stretch on its own: a body's unclosed <details> or stray </div> is closed or dropped where the
    stretch ends, so untrusted markup can neither wrap nor close what we generated."""
    parts = []
    last = 0
    for match in trusted.finditer(html):
        parts.append(sanitize(html[last:match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(sanitize(html[last:]))
    return "".join(parts)


NO_MARKS = re.compile(r"(?!)")  # matches nothing: a page without placeholders


def stash_marks(markdown: str) -> tuple[str, re.Pattern]:
    """(the start of a page's placeholders for our own blocks, the pattern that finds them).

    Keyed by a hash of the page's Markdown: the same in every build (builds stay byte-identical, even
    where a placeholder shows, as in a marker quoted in inline code), and out of a body's reach: a body
    that writes a placeholder changes the Markdown whose hash it would have to contain."""
    key = hashlib.sha256(markdown.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"<!--kb-stash-{key}-", re.compile(f"<!--kb-stash-{key}-(\\d+)-->")


def keep_title_escaped(page) -> None:
    """Give a generated page its title as escaped HTML in `page.meta["title"]`, which themes write as it is.

    MkDocs takes a page's title from its first heading as HTML (entities kept). Material writes it into
    <title> through Jinja's striptags, which also undoes the escaping, so a record titled
    `</title><script>...` ended the element and ran the script. Its own `page.meta.title` branch writes
    the value as it is; the navigation, which already wrote the escaped HTML, reads the same string."""
    title = getattr(page, "_title_from_render", None)
    if title and "title" not in page.meta:
        page.meta["title"] = title


# Our own fences (render.RAW_START / RAW_END): a body that wrote them would have its HTML treated as ours.
_FENCE = re.compile(r"<!--(/?)kb-raw-->")


def fence_proof(body: str) -> str:
    """A record body with our own block fences made into ordinary comments (see render.RAW_BLOCK)."""
    return _FENCE.sub(r"<!-- \1kb-raw -->", body) if "kb-raw" in body else body


