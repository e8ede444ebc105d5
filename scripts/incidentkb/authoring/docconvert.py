"""Documents to Markdown: HTML (Confluence and Google Docs exports, any page) and Word .docx.

Real converters do the work: mammoth reads .docx into clean HTML (by paragraph and character
styles), markdownify writes HTML as Markdown (headings, lists, pipe tables, links, code). Both are
small pure-Python packages; pandoc gave the same structure on the same documents for 168 MB of
Debian package (measured on the dfds post-mortems written to .docx and HTML by pandoc: headings,
list items and table rows all survived with both; pandoc's HTML reader lost 29 of 417 table rows
and left raw <div>s around code). pandoc stays a test-time tool that writes the documents the
tests read back.

What this module adds is the export's own noise, removed before conversion:
- Confluence ("Export to HTML"): breadcrumbs, page metadata (author and dates: personal data),
  attachments and footer go; the title comes from the page title without the space name; code
  macros keep their language; info, note and warning panels become block quotes.
- Google Docs ("Download > Web page"): bold, italic and monospace are CSS classes, not tags; list
  nesting is a class (lst-kix_...-1), not nested lists; links go through google.com/url?q=.
- Everywhere: scripts, styles and navigation go; pictures become their alt text (they are not
  copied into the knowledge base, and a link to a missing file would be broken).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

from bs4 import BeautifulSoup, Comment, Tag
from markdownify import MarkdownConverter

from incidentkb.core.errors import ProblemsFound

__all__ = ["ConvertedDocument", "UnreadableDocument", "docx_to_markdown", "html_to_markdown"]


class UnreadableDocument(ProblemsFound):
    """A document that cannot be converted; the message says why, for a person."""


@dataclass
class ConvertedDocument:
    markdown: str  # starts with "# <title>" when a title was found
    flavour: str  # confluence, google-docs, html or docx
    title: str | None = None
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ HTML


class _Converter(MarkdownConverter):
    def convert_img(self, el, text, *args, **kwargs):
        # Pictures are not copied: keep what the picture said, if the author said anything.
        alt = (el.attrs.get("alt") or "").strip()
        return f"[picture: {alt}]" if alt else ""


def _language(el) -> str:
    """The language of a code block: Confluence's brush, or a language-x / lang-x class."""
    params = el.attrs.get("data-syntaxhighlighter-params") or ""
    brush = re.search(r"brush:\s*([\w+#-]+)", params)
    if brush:
        return brush.group(1)
    for node in (el, el.find("code")):
        for name in (node.attrs.get("class") or []) if isinstance(node, Tag) else []:
            match = re.fullmatch(r"(?:language|lang)-([\w+#-]+)", name)
            if match:
                return match.group(1)
    return ""


def _markdownify(soup) -> str:
    converter = _Converter(heading_style="ATX", bullets="-", table_infer_header=True, code_language_callback=_language,
                           escape_misc=False)
    text = converter.convert_soup(soup)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _flavour(soup: BeautifulSoup, raw: str) -> str:
    if soup.find(id="main-content") is not None and ("Confluence" in raw or soup.find(id="title-text") is not None):
        return "confluence"
    if "lst-kix_" in raw or "google.com/url?q=" in raw or "doc-content" in " ".join(soup.body.get("class", [])
                                                                                   if soup.body else []):
        return "google-docs"
    return "html"


def html_to_markdown(data: bytes | str) -> ConvertedDocument:
    raw = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if not re.search(r"<\s*(html|body|p|h[1-6]|div|table|ul|ol)\b", raw, re.I):
        raise UnreadableDocument("has no HTML elements; not an HTML document")
    soup = BeautifulSoup(data, "html.parser")
    flavour = _flavour(soup, raw)
    notes: list[str] = []
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if flavour == "google-docs":
        _google_docs(soup, notes)
    title = _confluence(soup, page_title) if flavour == "confluence" else None
    for element in soup.find_all(["script", "style", "noscript", "template", "nav", "head", "iframe", "object",
                                  "embed", "form", "button"]):
        element.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    pictures = len(soup.find_all("img"))
    if pictures:
        notes.append(f"{pictures} picture(s) not imported (kept as their alt text, when they have one)")
    root = soup.find(id="main-content") if flavour == "confluence" else None
    markdown = _markdownify(root if root is not None else (soup.body or soup))
    if title is None:
        title = _title_of(soup, page_title, markdown)
    if title and not re.match(r"#\s", markdown):
        markdown = f"# {title}\n\n{markdown}"
    return ConvertedDocument(markdown, flavour, title, notes)


def _title_of(soup, page_title: str, markdown: str) -> str | None:
    first = re.match(r"#\s+(.+)", markdown)
    if first:
        return None  # the document's own first heading is its title
    return page_title or None


def _confluence(soup: BeautifulSoup, page_title: str) -> str | None:
    """Strip the export's page furniture; the page title without its space name."""
    heading = soup.find(id="title-text")
    title = heading.get_text(" ", strip=True) if heading else page_title
    # "Space name : Page title" in both the <title> and the heading.
    title = re.sub(r"^.*?\s:\s", "", title).strip() or None
    for selector in ("#breadcrumb-section", "#footer", ".page-metadata", ".pageSection", "#title-heading",
                     ".aui-icon", ".confluence-information-macro-icon", ".expand-control", "#attachments"):
        for element in soup.select(selector):
            element.decompose()
    for panel in soup.select(".confluence-information-macro"):
        panel.name = "blockquote"
    for code in soup.select("pre.syntaxhighlighter-pre"):
        code.string = code.get_text()
    return title


_GOOGLE_MONO = re.compile(r"font-family:\s*\"?(Courier New|Consolas|Roboto Mono|Source Code Pro|Inconsolata|"
                          r"Cousine|monospace|Ubuntu Mono|Fira Code|JetBrains Mono)", re.I)


def _google_docs(soup: BeautifulSoup, notes: list[str]) -> None:
    """Google Docs HTML as plain HTML: styles to tags, flat lists nested, redirect links unwrapped."""
    css = " ".join(style.get_text() for style in soup.find_all("style"))
    bold, italic, mono = set(), set(), set()
    for name, rules in re.findall(r"\.([\w-]+)\s*\{([^}]*)\}", css):
        if re.search(r"font-weight:\s*(700|bold)", rules):
            bold.add(name)
        if re.search(r"font-style:\s*italic", rules):
            italic.add(name)
        if _GOOGLE_MONO.search(rules):
            mono.add(name)
    for span in soup.find_all("span"):
        classes = set(span.get("class") or [])
        style = span.get("style") or ""
        if classes & mono or _GOOGLE_MONO.search(style):
            span.wrap(soup.new_tag("code"))
            continue
        if span.find_parent(re.compile(r"^h[1-6]$")):
            continue  # headings are bold by style already
        if classes & bold or re.search(r"font-weight:\s*(700|bold)", style):
            span.wrap(soup.new_tag("strong"))
        if classes & italic or re.search(r"font-style:\s*italic", style):
            span.wrap(soup.new_tag("em"))
    for paragraph in soup.select("p.title"):
        paragraph.name = "h1"
    for paragraph in soup.select("p.subtitle"):
        paragraph.name = "p"
    for link in soup.find_all("a", href=True):
        url = urlparse(link["href"])
        if url.netloc.endswith("google.com") and url.path == "/url":
            target = parse_qs(url.query).get("q")
            if target:
                link["href"] = target[0]
    _nest_google_lists(soup)


def _nest_google_lists(soup: BeautifulSoup) -> None:
    """Google writes a nested list as sibling lists with the level in a class: lst-kix_abc-0, lst-kix_abc-1."""
    def level(node) -> int | None:
        for name in node.get("class") or []:
            match = re.fullmatch(r"lst-kix_[\w]+-(\d+)", name)
            if match:
                return int(match.group(1))
        return None

    for first in soup.find_all(["ul", "ol"]):
        if first.parent is None or level(first) != 0:
            continue
        stack = [first]
        node = first.find_next_sibling()
        while node is not None and node.name in ("ul", "ol") and level(node) is not None:
            following = node.find_next_sibling()
            depth = level(node)
            while len(stack) > depth + 1:
                stack.pop()
            if depth == 0 or len(stack) < depth:
                # Back at the top, or a level skipped: continue the outermost list.
                target = stack[0] if depth == 0 else stack[-1]
                for item in list(node.find_all("li", recursive=False)):
                    target.append(item.extract())
                node.decompose()
                stack = stack[:1] if depth == 0 else stack
            else:
                parent_items = stack[depth - 1].find_all("li", recursive=False)
                if parent_items:
                    parent_items[-1].append(node.extract())
                    stack = stack[:depth] + [node]
            node = following


# ------------------------------------------------------------------ Word


# Paragraph and character styles that carry meaning mammoth does not map by default: pandoc's and
# Word's names for code and quotes, and the document title.
_STYLE_MAP = """
p[style-name='Title'] => h1:fresh
p[style-name='Subtitle'] => p:fresh
p[style-name='Source Code'] => pre:separator('\\n')
p[style-name='Code'] => pre:separator('\\n')
p[style-name='HTML Preformatted'] => pre:separator('\\n')
r[style-name='Verbatim Char'] => code
r[style-name='Code Char'] => code
r[style-name='HTML Code'] => code
p[style-name='Block Text'] => blockquote > p:fresh
p[style-name='Quote'] => blockquote > p:fresh
p[style-name='Intense Quote'] => blockquote > p:fresh
"""


def docx_to_markdown(data: bytes) -> ConvertedDocument:
    import mammoth  # start-up: 0.2 s to import, and only .docx files need it

    if not data.startswith(b"PK"):
        raise UnreadableDocument("is not a Word .docx file (a .docx is a zip archive; an old .doc must be saved as "
                              ".docx first)")
    pictures = []

    def picture(image):
        pictures.append(image)
        return {"alt": (image.alt_text or "").strip(), "src": ""}

    try:
        result = mammoth.convert_to_html(io.BytesIO(data), style_map=_STYLE_MAP,
                                         convert_image=mammoth.images.img_element(picture))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise UnreadableDocument(f"cannot be read as a Word document ({type(error).__name__}: {error}); open it in "
                              "Word or LibreOffice and save it as .docx again") from None
    converted = html_to_markdown(f"<html><body>{result.value}</body></html>")
    converted.flavour = "docx"
    converted.notes = [n for n in converted.notes if "picture" not in n]
    if pictures:
        converted.notes.append(f"{len(pictures)} picture(s) not imported (kept as their alt text, when they have one)")
    styles = sorted({m.message.split("'")[1] for m in result.messages if "Unrecognised" in m.message
                     and m.message.count("'") >= 2})
    if styles:
        converted.notes.append("Word styles with no Markdown equivalent, kept as plain text: " + ", ".join(styles[:8]))
    return converted
