"""Building the generated pages in parallel processes.

MkDocs builds every page one at a time, on one core: it converts the Markdown to HTML,
then renders the theme's template around it. At 10,000 incidents those two steps
were two thirds of the build. The plugin forks worker processes once the navigation
is known (they share the parent's configuration, files, navigation and plugin
state). Each worker takes a share of the generated pages and does for them exactly
what MkDocs would: read the source, page_markdown event, convert, page_content event,
then the theme template with the same context (`get_context`), and our post_page
step (collapse_whitespace). It sends back the finished HTML and what MkDocs still
needs of each page — table of contents, title, anchors — and its log messages, which
the parent logs again so `--strict` still counts warnings.

The parent then gives each page its result instead of building it again: converting
becomes a no-op, and the page's template becomes PREBUILT_TEMPLATE, which outputs
the worker's HTML. MkDocs itself still writes the file, validates the anchors and
runs the post_page event (where the page goes to the search index).

The template needs every page's title for the navigation, so a worker also converts
the navigation's pages (a few dozen) that are not in its share.

This only runs for a build (not `mkdocs serve`), where fork exists, and when
incidentkb is the only plugin: another plugin's page events would otherwise run
in the worker and see a different page than in the parent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from mkdocs.commands.build import get_context
from mkdocs.structure.files import InclusionLevel
from mkdocs.structure.pages import Page

from .background import Deferred

PREBUILT_TEMPLATE = "incidentkb/prebuilt.html"  # outputs page.kb_prebuilt_html: see ParallelConverter.adopt
PREBUILT_SOURCE = "{{ page.kb_prebuilt_html }}"


@dataclass
class Converted:
    html: str  # the finished page, as the parent would have written it
    content: str
    toc: object
    title: str | None
    meta: dict
    present_anchor_ids: set
    links_to_anchors: dict[str, dict[str, str]]  # by the src_uri of the linked file


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append((record.name, record.levelno, record.getMessage()))


def _convert_share(config, files, nav, share: list[str], finish: Callable[[str], str]) -> tuple[dict[str, Converted], list]:
    """In a worker: build the pages of `share` as MkDocs' own build loop would."""
    logger = logging.getLogger("mkdocs")
    collect = _Collect()
    # Messages go back to the parent instead of to the terminal (the parent prints and counts them).
    saved = logger.handlers, logger.propagate
    logger.handlers, logger.propagate = [collect], False
    try:
        return _build(config, files, nav, share, finish), collect.messages
    finally:
        logger.handlers, logger.propagate = saved


def _populate(page: Page, config, files) -> None:
    page.read_source(config)
    page.markdown = config.plugins.on_page_markdown(page.markdown, page=page, config=config, files=files)
    page.render(config, files)
    page.content = config.plugins.on_page_content(page.content, page=page, config=config, files=files)


def _build(config, files, nav, share: list[str], finish: Callable[[str], str]) -> dict[str, Converted]:
    pages = []
    for src_uri in share:
        file = files.get_file_from_path(src_uri)
        pages.append(file.page or Page(None, file, config))
        _populate(pages[-1], config, files)
    ours = set(share)
    for page in nav.pages:  # their titles are in every page's navigation
        if page.file.src_uri not in ours:
            _populate(page, config, files)
    env = config.theme.get_env()  # as MkDocs makes it (incidentkb, the only plugin, has no on_env)
    doc_files = files.documentation_pages(inclusion=InclusionLevel.is_included)
    out = {}
    for page in pages:
        out[page.file.src_uri] = Converted(
            _render_template(page, config, doc_files, nav, env, finish), page.content, page.toc,
            page._title_from_render, page.meta, set(page.present_anchor_ids or ()),
            {target.src_uri: dict(links) for target, links in (page.links_to_anchors or {}).items()})
    return out


def _render_template(page: Page, config, doc_files, nav, env, finish: Callable[[str], str]) -> str:
    """mkdocs.commands.build._build_page up to the post_page event, which `finish` stands for."""
    config._current_page = page
    page.active = True
    try:
        context = get_context(nav, doc_files, config, page)
        template = env.get_template(page.meta.get("template", "main.html"))
        context = config.plugins.on_page_context(context, page=page, config=config, nav=nav)
        return finish(template.render(context))
    finally:
        page.active = False
        config._current_page = None


def worker_count() -> int:
    """KB_WORKERS=N sets it (1: build every page in the MkDocs process, as MkDocs alone would)."""
    setting = os.environ.get("KB_WORKERS", "").strip()
    return int(setting) if setting.isdigit() and int(setting) > 0 else (os.cpu_count() or 1)


def eligible(config, serving: bool) -> bool:
    return (not serving and hasattr(os, "fork") and worker_count() > 1
            and set(config.plugins) <= {"incidentkb"})


class ParallelConverter:
    """Started at on_nav with the generated pages; asked at on_pre_page for each page's result."""

    def __init__(self, config, files, nav, src_uris: list[str], workers: int, finish: Callable[[str], str]):
        """`finish(html)` is what the plugin's post_page does to a page before it is indexed and written."""
        self.uris = set(src_uris)
        shares = [src_uris[index::workers] for index in range(workers)]
        self._owner = {uri: number for number, share in enumerate(shares) for uri in share}
        self._jobs = [Deferred(lambda share=share: _convert_share(config, files, nav, share, finish))
                      for share in shares]
        self._results: dict[str, Converted] = {}
        self._collected: set[int] = set()

    def result(self, src_uri: str) -> Converted:
        number = self._owner[src_uri]
        if number not in self._collected:
            converted, messages = self._jobs[number].result()
            self._results.update(converted)
            self._collected.add(number)
            for name, level, message in messages:
                logging.getLogger(name).log(level, message)
        return self._results[src_uri]

    def adopt(self, page: Page, files) -> None:
        """Make MkDocs' conversion and template of this page no-ops that take the worker's result."""
        converted = self.result(page.file.src_uri)
        del self._results[page.file.src_uri]  # the page keeps what it needs; the rest can go

        def read_source(config) -> None:
            page.markdown, page.meta = "", dict(converted.meta, template=PREBUILT_TEMPLATE)
            page.kb_prebuilt_html = converted.html

        def render(config, files_) -> None:
            page.content = converted.content
            page.toc = converted.toc
            page._title_from_render = converted.title
            page.present_anchor_ids = set(converted.present_anchor_ids)
            page.links_to_anchors = {files.get_file_from_path(uri): links
                                     for uri, links in converted.links_to_anchors.items()
                                     if files.get_file_from_path(uri) is not None}

        page.read_source = read_source
        page.render = render
