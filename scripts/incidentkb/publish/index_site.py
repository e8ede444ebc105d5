"""`kb index SITE_DIR`: search, Find-similar data and the offline archive over a site another engine built.

Engines that cannot run our plugin (Zensical, or MkDocs without it) build the Markdown tree of
`kb generate` into HTML. This step then does, over the finished HTML, what the plugin does
during a build:

- the search index: each page's article (the HTML of its Markdown, as the plugin sends
  page.content) goes to Pagefind with the same filters and exclusions (indexing/search_index.py,
  the plugin's own code); then the exact-match shards, the search UI's files, and the
  canonicalised Pagefind bundle;
- the Find-similar data files (assets/similar/) and our stylesheet and script, which
  `kb generate` also wrote into the tree: written again so they match the records;
- the offline archive (site.zip inside the site, as the plugin writes it).

Pages are matched to records by URL (urls.page_url of every generated and hand-written
page), so record pages get their type, severity and service filters, and listings stay out
of the index, as in a plugin build. Pages are sent in a fixed order (generated pages by path,
then hand-written pages by path): two runs over the same site give the same index.

What the engine's own pages must contain for the search box to appear: the search script
and stylesheet (assets/incidentkb/search/kb-search.{js,css}) in extra_javascript and
extra_css; see docs/guide/engines.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

from incidentkb.core.errors import ProblemsFound
from incidentkb.indexing.search_index import SearchIndexer
from incidentkb.publish.engine import docs_dir_of, mkdocs_settings
from incidentkb.records import urls
from incidentkb.records.audience import DEFAULT_AUDIENCE
from incidentkb.site.build import build_site

SKIPPED_PAGES = ("404.html",)  # the engine's error page is not a page of the knowledge base
SKIPPED_DIRS = ("assets", "pagefind", "kb-search", "search")  # files, not pages


class IndexSiteError(ProblemsFound):
    """The site cannot be indexed; the message says why and what to do."""


@dataclass
class IndexResult:
    pages: int = 0  # HTML pages read
    indexed: int = 0  # sent to Pagefind
    left_out: int = 0  # listings and the like (as in a plugin build)
    records_found: int = 0
    records_missing: list[str] = field(default_factory=list)  # record pages with no HTML page in the site
    files_written: int = 0  # Find-similar data, our assets
    archive: Path | None = None


class _Article(HTMLParser):
    """Finds the offsets of the first <article>'s content, and the text of its first <h1>, in a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.start: tuple[int, int] | None = None
        self.end: tuple[int, int] | None = None
        self.h1: list[str] | None = None
        self.h1_done = False
        self.title: list[str] | None = None
        self.title_done = False

    def handle_starttag(self, tag, attrs):
        if tag == "article" and self.end is None:
            if self.depth == 0 and self.start is None:
                self.start = self._after_tag()
            self.depth += 1
        elif tag == "h1" and self.start is not None and self.end is None and not self.h1_done:
            self.h1 = []
        elif tag == "title" and not self.title_done:
            self.title = []

    def handle_endtag(self, tag):
        if tag == "article" and self.depth:
            self.depth -= 1
            if self.depth == 0:
                self.end = self.getpos()
        elif tag == "h1" and self.h1 is not None:
            self.h1_done = True
        elif tag == "title" and self.title is not None:
            self.title_done = True

    def handle_data(self, data):
        if self.h1 is not None and not self.h1_done:
            self.h1.append(data)
        if self.title is not None and not self.title_done:
            self.title.append(data)

    def _after_tag(self) -> tuple[int, int]:
        line, column = self.getpos()
        return line, column + len(self.get_starttag_text() or "")


def _offset(text: str, line_starts: list[int], position: tuple[int, int]) -> int:
    line, column = position
    return line_starts[line - 1] + column


def page_content(html: str) -> tuple[str, str]:
    """(the inner HTML of the page's article, its title): what the plugin sends Pagefind for a page.

    Without an <article> (a theme other than Material's), the whole <body> is used."""
    parser = _Article()
    parser.feed(html)
    parser.close()
    line_starts = [0]
    for index, char in enumerate(html):
        if char == "\n":
            line_starts.append(index + 1)
    if parser.start is not None and parser.end is not None:
        content = html[_offset(html, line_starts, parser.start):_offset(html, line_starts, parser.end)]
    else:
        lower = html.lower()
        start, end = lower.find("<body"), lower.rfind("</body>")
        content = html[lower.find(">", start) + 1:end] if start >= 0 and end > start else html
    title = "".join(parser.h1 or []).replace("¶", "").strip()
    if not title and parser.title:
        title = "".join(parser.title).split(" - ")[0].strip()
    return content, title


def html_pages(site_dir: Path) -> list[str]:
    """Every HTML page of the site (relative, forward slashes, sorted), leaving out assets and the 404 page."""
    found = []
    for dirpath, dirnames, filenames in os.walk(site_dir):
        relative_dir = Path(dirpath).relative_to(site_dir).as_posix()
        if relative_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in SKIPPED_DIRS]
            relative_dir = ""
        dirnames.sort()
        for name in filenames:
            if name.endswith(".html"):
                relative = f"{relative_dir}/{name}" if relative_dir else name
                if relative not in SKIPPED_PAGES:
                    found.append(relative)
    return sorted(found)


def page_url_of(html_path: str, directory_urls: bool) -> str:
    """The URL (relative to the site root) of a built page, as urls.page_url gives it for its source."""
    if directory_urls:
        if html_path == "index.html":
            return ""
        if html_path.endswith("/index.html"):
            return html_path[: -len("index.html")]
    return html_path


def source_of(url: str, known: dict[str, str], directory_urls: bool) -> str:
    """The source path of a page: from the known pages, else the most likely one for its URL."""
    if url in known:
        return known[url]
    if directory_urls:
        return f"{url.rstrip('/')}.md" if url else "index.md"
    return url[: -len(".html")] + ".md"


def index_site(site_dir: Path, root: Path, *, directory_urls: bool = True, audience: str = DEFAULT_AUDIENCE,
               drafts: bool = False, archive: bool = True, executable: Path | None = None) -> IndexResult:
    """Write the search index, the Find-similar data and the offline archive into a built site."""
    site_dir, root = Path(site_dir).resolve(), Path(root).resolve()
    if not (site_dir / "index.html").is_file():
        raise IndexSiteError(f"{site_dir}: no index.html; expected a built site (the folder the engine wrote)")
    docs_dir = docs_dir_of(root)
    build = build_site(root, directory_urls=directory_urls, audience=audience, include_drafts=drafts,
                       site_url=str(mkdocs_settings(root).get("site_url") or ""),
                       docs_prefix=os.path.relpath(docs_dir, root).replace(os.sep, "/"))
    if build.fatal:
        raise IndexSiteError(build.fatal)
    result = IndexResult()
    for relative, content in build.assets.items():  # the Find-similar data and our stylesheet and script
        target = site_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        result.files_written += 1

    generated = {page.path for page in build.pages}
    hand_written = sorted(p.relative_to(docs_dir).as_posix() for p in docs_dir.rglob("*.md")) if docs_dir.is_dir() else []
    known = {urls.page_url(path, directory_urls): path for path in [*sorted(generated), *hand_written]}
    record_urls = {urls.page_url(urls.record_page(r), directory_urls): urls.record_page(r)
                   for r in [*build.kb.incidents, *build.kb.runbooks, *build.kb.problems]}

    pages = []
    for html_path in html_pages(site_dir):
        url = page_url_of(html_path, directory_urls)
        src = source_of(url, known, directory_urls)
        pages.append((src not in generated, src, url, html_path))
    pages.sort()  # generated pages first, then hand-written ones (as the plugin sends them), by path
    seen_urls = {url for _, _, url, _ in pages}
    result.records_found = sum(1 for url in record_urls if url in seen_urls)
    result.records_missing = sorted(src for url, src in record_urls.items() if url not in seen_urls)
    if record_urls and not result.records_found:
        other = "--no-directory-urls" if directory_urls else "directory URLs (leave out --no-directory-urls)"
        raise IndexSiteError(f"{site_dir}: none of the {len(record_urls)} record pages is there (e.g. "
                             f"{next(iter(record_urls)) or 'index.html'}); index the site built from the tree "
                             f"`kb generate` wrote, or try {other}")
    indexer = SearchIndexer(lambda: build, directory_urls=directory_urls,
                            archive=site_dir / "site.zip" if archive else None, executable=executable)
    indexer.load_facts()
    try:
        for held, src, url, html_path in pages:
            content, title = page_content((site_dir / html_path).read_text(encoding="utf-8", errors="replace"))
            page = SimpleNamespace(file=SimpleNamespace(src_uri=src, generated_by=None if held else "incidentkb"),
                                   url=url, title=title, meta={})
            described = indexer.describe(content, page)
            indexer.submit(src, described, hold=held)
            result.pages += 1
            result.indexed += described is not None
            result.left_out += described is None
        indexer.expect([src for _, src, _, _ in pages], site_dir)
        indexer.finish(site_dir)
    except BaseException:
        indexer.abort()
        raise
    result.archive = site_dir / "site.zip" if archive else None
    return result
