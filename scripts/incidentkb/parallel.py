"""Building the generated pages in parallel processes.

MkDocs builds every page one at a time, on one core: it converts the Markdown to HTML,
then renders the theme's template around it. At 10,000 incidents those two steps
were two thirds of the build. The plugin forks worker processes once the navigation
is known (they share the parent's configuration, files, navigation and plugin
state). Each worker takes a share of the generated pages and does for them what
MkDocs would: read the source, page_markdown event, convert, page_content event
(`_populate`), then the theme template with the same context (`get_context`) and our
post_page step (collapse_whitespace). It sends back the finished HTML and what MkDocs
still needs of each page — table of contents, title, anchors — and the log messages
of its share, which the parent logs again, so `--strict` counts each warning once.

The parent then gives each page its result instead of building it again: converting
becomes a no-op, and the page's template becomes PREBUILT_TEMPLATE, which outputs
the worker's HTML. MkDocs itself still writes the file, validates the anchors and
runs the post_page event (where the page goes to the search index). A test checks
that the pages are byte-identical to a build without workers (KB_WORKERS=1).

The template needs every page's title for the navigation, so a worker also converts
the navigation's pages (a few dozen) that are not in its share; their messages are
dropped there (the parent reports them).

A worker that gives no result (an error, killed for memory) costs time, not
correctness: the parent builds its pages the usual way, and MkDocs reports any error
naming the page.

This only runs for a build (not `mkdocs serve`, nor `--dirty`), where fork exists,
and when incidentkb is the only plugin (hooks count as plugins): another plugin's
page events would otherwise run in the worker and see a different page than in the
parent. Known differences from a serial build, none of which the Material theme or
our pages use: a theme template that lists the `pages` variable sees only the titles
of the worker's own share and the navigation; and an extra template that reads
`page.markdown` of a generated page finds it empty.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from mkdocs.commands.build import get_context
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import InclusionLevel
from mkdocs.structure.pages import Page

from .background import FAILED, Deferred

log = logging.getLogger("mkdocs.plugins.incidentkb")

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
    """In a worker: build the pages of `share` as MkDocs' own build loop would.

    An exception ends the worker with no result: the parent then builds these pages itself,
    and MkDocs reports the error there, naming the page, as in any build.
    """
    logger = logging.getLogger("mkdocs")
    collect = _Collect()
    # Messages go back to the parent instead of to the terminal (the parent prints and counts them).
    saved = logger.handlers, logger.propagate
    logger.handlers, logger.propagate = [collect], False
    try:
        return _build(config, files, nav, share, finish, collect), collect.messages
    finally:
        logger.handlers, logger.propagate = saved


def _populate(page: Page, config, files) -> None:
    """mkdocs.commands.build._populate_page, without on_pre_page (where the plugin adopts pages)."""
    config._current_page = page  # read by `!relative` in markdown_extensions, among others
    try:
        page.read_source(config)
        page.markdown = config.plugins.on_page_markdown(page.markdown, page=page, config=config, files=files)
        page.render(config, files)
        page.content = config.plugins.on_page_content(page.content, page=page, config=config, files=files)
    finally:
        config._current_page = None


def _build(config, files, nav, share: list[str], finish: Callable[[str], str], collect: _Collect) -> dict[str, Converted]:
    pages = []
    for src_uri in share:
        file = files.get_file_from_path(src_uri)
        pages.append(file.page or Page(None, file, config))
        _populate(pages[-1], config, files)
    ours = set(share)
    said = len(collect.messages)
    for page in nav.pages:  # their titles are in every page's navigation
        if page.file.src_uri not in ours:
            _populate(page, config, files)
    del collect.messages[said:]  # these pages are the parent's (or another worker's) to report
    # The theme's environment as MkDocs makes it; the plugin's on_env only adds PREBUILT_TEMPLATE,
    # which a worker does not use.
    env = config.theme.get_env()
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


MAX_WORKERS = 8  # each worker holds its own copy of what it touches: memory grows with their number


def worker_count() -> int:
    """KB_WORKERS=N sets it (1: build every page in the MkDocs process, as MkDocs alone would).

    By default, the cores this process may run on (a container's limit, not the host's count).
    """
    setting = os.environ.get("KB_WORKERS", "").strip()
    if setting:
        if not (setting.isdigit() and int(setting) > 0):
            raise PluginError(f"incidentkb: KB_WORKERS: expected a whole number of at least 1 (1 builds every page "
                              f"in the MkDocs process), got {setting!r}; unset it to use every core")
        return int(setting)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cores, MAX_WORKERS)


def eligible(config, serving: bool, dirty: bool = False) -> bool:
    return (not serving and not dirty and hasattr(os, "fork") and worker_count() > 1
            and set(config.plugins) <= {"incidentkb"})


class ParallelConverter:
    """Started at on_nav with the generated pages; asked at on_pre_page for each page's result."""

    def __init__(self, config, files, nav, src_uris: list[str], workers: int, finish: Callable[[str], str]):
        """`finish(html)` is what the plugin's post_page does to a page before it is indexed and written."""
        self.uris = set(src_uris)
        shares = [share for share in (src_uris[index::workers] for index in range(workers)) if share]
        self._shares = shares
        self._owner = {uri: number for number, share in enumerate(shares) for uri in share}
        self._jobs: list[Deferred | None] = [
            Deferred(lambda share=share: _convert_share(config, files, nav, share, finish)) for share in shares]
        self._results: dict[str, Converted] = {}

    def _collect(self, number: int) -> None:
        job, self._jobs[number] = self._jobs[number], None
        got = job.take()
        if got is FAILED:
            # Killed (out of memory?) or an error: MkDocs builds these pages in this process instead, and
            # reports any error there, naming the page. The output is the same, only slower.
            self.uris.difference_update(self._shares[number])
            log.info(f"incidentkb: a build worker stopped without a result; its {len(self._shares[number])} pages "
                     "are built in this process")
            return
        converted, messages = got
        self._results.update(converted)
        for name, level, message in messages:
            logging.getLogger(name).log(level, message)

    def adopt(self, page: Page, files) -> bool:
        """Make MkDocs' conversion and template of this page no-ops that take the worker's result.

        False when this page's worker gave no result: MkDocs then builds it as usual.
        """
        src_uri = page.file.src_uri
        number = self._owner[src_uri]
        if self._jobs[number] is not None:
            self._collect(number)
        if src_uri not in self.uris:
            return False
        converted = self._results.pop(src_uri)
        html = [converted.html]  # handed to the page once: after the page is written nothing holds it
        converted.html = None
        page.kb_adopted = True

        def read_source(config) -> None:
            page.markdown, page.meta = "", dict(converted.meta, template=PREBUILT_TEMPLATE)
            page.kb_prebuilt_html = html.pop() if html else ""

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
        return True

    def close(self) -> None:
        """Stop the workers whose results were not asked for (a build that failed half-way)."""
        for number, job in enumerate(self._jobs):
            if job is not None:
                job.cancel()
                self._jobs[number] = None
        self._results.clear()
