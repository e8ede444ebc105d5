"""Building the generated pages in parallel processes.

MkDocs builds every page one at a time, on one core: it converts the Markdown to HTML,
renders the theme's template around it and writes the file. At 10,000 incidents those
steps were two thirds of the build. The plugin forks worker processes once the
navigation is known (they share the parent's configuration, files, navigation and
plugin state). Each worker takes a share of the generated pages and does for them what
MkDocs would: read the source, page_markdown event, convert, page_content event
(`_populate`), then the theme template with the same context (`get_context`), our
post_page step (`finish`: collapse_whitespace) and the write of the file.

While it goes, a worker sends each converted page's search record (`describe`) through
its pipe; a thread in the parent hands them to `receive` (the search index) in the order
of the pages, whichever worker is ahead, so the index is the same in every build, and
Pagefind indexes while the workers convert and writes while they render templates. At
the end a worker sends what MkDocs still needs of each page — title, meta, anchors —
and the log messages of its share, which the parent logs again, so `--strict` counts
each warning once.

The parent then gives each page its result instead of building it again: converting
becomes a no-op, the page's template becomes PREBUILT_TEMPLATE, and MkDocs' own write
of the page goes to os.devnull (the worker wrote the real file). MkDocs still validates
the anchors and runs the post_page event. A test checks that the site is byte-identical
to a build without workers (KB_WORKERS=1).

The template needs every page's title for the navigation, so a worker also converts
the navigation's pages (a few dozen) that are not in its share; their messages are
dropped there (the parent reports them).

A worker that stops (an error, killed for memory) costs time, not correctness: the
parent builds the pages it gave no result for the usual way (writing them again; their
search records go through the same ordered path), and MkDocs reports any error naming
the page.

What this module mirrors of the engine is private: MkDocs' build loop (`_populate_page`,
`_build_page`, `get_context`) and Page.render's processors (`_RawHTMLPreprocessor`,
`_RelativePathTreeprocessor`, `_ExtractAnchorsTreeprocessor`, `_ExtractTitleTreeprocessor`,
`get_toc`, `_title_from_render`, `config._current_page`). It was read line by line in MkDocs 1.6
and ProperDocs 1.6 (docs/guide/engines.md), and is used only under an engine and minor version in
MIRRORED (`engine_is_mirrored`). Any other engine or version takes the plain path: no workers, and
MkDocs' own Page.render for every page, so a change in the engine costs speed, never correctness.
KB_PLAIN_BUILD=1 forces the plain path; a test builds the sample both ways and compares the sites
byte for byte.

This only runs for a build (not `mkdocs serve`, nor `--dirty`), where fork exists,
and when incidentkb is the only plugin (hooks count as plugins): another plugin's
page events would otherwise run in the worker and see a different page than in the
parent. Known differences from a serial build, none of which the Material theme or
our pages use: a theme template that lists the `pages` variable sees only the titles
of the worker's own share and the navigation; and an extra template that reads
`page.markdown` or `page.content` of a generated page finds it empty.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import markdown
import mkdocs
from mkdocs import utils
from mkdocs.commands.build import get_context
from mkdocs.exceptions import PluginError
from mkdocs.structure import pages as mkdocs_pages
from mkdocs.structure.files import InclusionLevel
from mkdocs.structure.pages import Page

from incidentkb.core.background import FAILED, fork_child, reap, received, stop_child, usable_cores
from incidentkb.site.renderer import BYTECODE_CACHE

log = logging.getLogger("mkdocs.plugins.incidentkb")

# The engines and minor versions whose private build code this module mirrors (read, compared, tested).
MIRRORED = frozenset({("mkdocs", "1.6"), ("properdocs", "1.6")})
PLAIN_VARIABLE = "KB_PLAIN_BUILD"  # 1: build as under an engine not in MIRRORED (the fallback's test sets it)


def running_engine() -> tuple[str, str]:
    """(name, version) of the engine this process runs under. ProperDocs' command line maps every `mkdocs`
    import to its own modules (sys.modules["mkdocs"] is the properdocs package), so the name tells them apart."""
    return mkdocs.__name__, str(getattr(mkdocs, "__version__", ""))


@lru_cache(maxsize=None)
def _known(name: str, version: str) -> bool:
    return (name, ".".join(version.split(".")[:2])) in MIRRORED


def engine_is_mirrored() -> bool:
    """Whether the private MkDocs API used here is the one it was written against (see the module's docstring)."""
    return os.environ.get(PLAIN_VARIABLE, "").strip() != "1" and _known(*running_engine())


PREBUILT_TEMPLATE = "incidentkb/prebuilt.html"  # the template of a page a worker built: see ParallelConverter.adopt
PREBUILT_SOURCE = "<!-- written by an incidentkb build worker -->"  # what MkDocs "writes" to os.devnull for it

_PAGE, _DONE = "page", "done"  # the kinds of message a worker sends
IN_WORKER = False  # True in a build worker process: the plugin's page events then leave search to the worker
_END = object()  # put in a worker's page queue when it has sent all it will send


@dataclass
class BuiltPage:
    """What the parent still needs of a page a worker built and wrote."""

    title: str | None  # in the navigation of other pages
    meta: dict
    present_anchor_ids: set  # MkDocs validates links to anchors after all pages are built
    links_to_anchors: dict[str, dict[str, str]]  # by the src_uri of the linked file


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append((record.name, record.levelno, record.getMessage()))


Describe = Callable[[str, Page], object]  # in a worker: a converted page's search record (picklable)


def _convert_share(config, files, nav, share: list[str], finish: Callable[[str], str],
                   describe: Describe | None, send: Callable[[object], None]) -> None:
    """In a worker: build and write the pages of `share` as MkDocs' own build loop would.

    Sends (_PAGE, record) for each page as it is converted, then (_DONE, results, log messages).
    An exception ends the worker early: the parent then builds the pages it has no result for,
    and MkDocs reports the error there, naming the page, as in any build.
    """
    global IN_WORKER
    IN_WORKER = True  # this process is a forked worker: the parent's value is untouched
    logger = logging.getLogger("mkdocs")
    collect = _Collect()
    # Messages go back to the parent instead of to the terminal (the parent prints and counts them).
    saved = logger.handlers, logger.propagate
    logger.handlers, logger.propagate = [collect], False
    try:
        results = _build(config, files, nav, share, finish, describe, send, collect)
        send((_DONE, results, collect.messages))
    finally:
        logger.handlers, logger.propagate = saved


def _populate(page: Page, config, files, renderer: "_MarkdownToHtml") -> None:
    """mkdocs.commands.build._populate_page, without on_pre_page (where the plugin adopts pages)."""
    config._current_page = page  # read by `!relative` in markdown_extensions, among others
    try:
        page.read_source(config)
        page.markdown = config.plugins.on_page_markdown(page.markdown, page=page, config=config, files=files)
        renderer.render(page, config, files)
        page.content = config.plugins.on_page_content(page.content, page=page, config=config, files=files)
    finally:
        config._current_page = None


class _MarkdownToHtml:
    """Page.render (MkDocs 1.6), with one Python-Markdown instance for all the pages of a worker.

    MkDocs makes a new instance, with every extension, for each page: a quarter of the time it
    takes to convert one of our incident pages (0.46 ms of 2 ms, measured). Python-Markdown's way
    to convert several documents is reset() between them; MkDocs' own per-page processors are
    registered again for each page (the same names replace the previous page's). Where an
    extension's settings use `!relative` (resolved for the page being built), or MkDocs' Page.render
    is not the one this mirrors, each page gets its own instance as MkDocs would.
    """

    def __init__(self, config):
        self._md = None
        self._reuse = (engine_is_mirrored() and _plain_settings(config["mdx_configs"])
                       and Page.render is _MKDOCS_RENDER)
        # ProperDocs' Page.render keeps the links to anchors at every log level; MkDocs' only above DEBUG.
        self._always_links = running_engine()[0] == "properdocs"

    def render(self, page: Page, config, files) -> None:
        if not self._reuse:
            page.render(config, files)
            return
        if page.markdown is None:
            raise RuntimeError("`markdown` field hasn't been set (via `read_source`)")
        if self._md is None:
            self._md = markdown.Markdown(extensions=config["markdown_extensions"],
                                         extension_configs=config["mdx_configs"] or {})
        md = self._md
        md.reset()
        raw_html_ext = mkdocs_pages._RawHTMLPreprocessor()
        raw_html_ext._register(md)
        extract_anchors_ext = mkdocs_pages._ExtractAnchorsTreeprocessor(page.file, files, config)
        extract_anchors_ext._register(md)
        relative_path_ext = mkdocs_pages._RelativePathTreeprocessor(page.file, files, config)
        relative_path_ext._register(md)
        extract_title_ext = mkdocs_pages._ExtractTitleTreeprocessor()
        extract_title_ext._register(md)
        page.content = md.convert(page.markdown)
        page.toc = mkdocs_pages.get_toc(getattr(md, "toc_tokens", []))
        page._title_from_render = extract_title_ext.title
        page.present_anchor_ids = extract_anchors_ext.present_anchor_ids | raw_html_ext.present_anchor_ids
        if self._always_links or mkdocs_pages.log.getEffectiveLevel() > logging.DEBUG:
            page.links_to_anchors = relative_path_ext.links_to_anchors


_MKDOCS_RENDER = Page.render  # what _MarkdownToHtml mirrors; another (patched) one is called as it is


def _plain_settings(value) -> bool:
    """Whether extension settings are plain data (no `!relative` placeholder resolved page by page)."""
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain_settings(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain_settings(item) for item in value)
    return value is None or isinstance(value, (str, int, float, bool))


def _build(config, files, nav, share: list[str], finish: Callable[[str], str], describe: Describe | None,
           send: Callable[[object], None], collect: _Collect) -> dict[str, BuiltPage]:
    pages = []
    renderer = _MarkdownToHtml(config)
    for src_uri in share:
        file = files.get_file_from_path(src_uri)
        page = file.page or Page(None, file, config)
        _populate(page, config, files, renderer)
        if describe is not None:  # now, not after the templates: search can index while they run
            send((_PAGE, describe(page.content, page)))
        pages.append(page)
    ours = set(share)
    said = len(collect.messages)
    for page in nav.pages:  # their titles are in every page's navigation
        if page.file.src_uri not in ours:
            _populate(page, config, files, renderer)
    del collect.messages[said:]  # these pages are the parent's (or another worker's) to report
    # The theme's environment as MkDocs makes it; the plugin's on_env adds PREBUILT_TEMPLATE, which a
    # worker does not use, and the cache of compiled templates, which it does.
    env = config.theme.get_env()
    env.bytecode_cache = BYTECODE_CACHE
    doc_files = files.documentation_pages(inclusion=InclusionLevel.is_included)
    out = {}
    for page in pages:
        _write(_render_template(page, config, doc_files, nav, env, finish), page)
        out[page.file.src_uri] = BuiltPage(
            page._title_from_render, page.meta, set(page.present_anchor_ids or ()),
            {target.src_uri: dict(links) for target, links in (page.links_to_anchors or {}).items()})
        # Done with (at 10,000 pages hundreds of MB); "" and not None keeps `page.title` as it was.
        page.content = page.markdown = ""
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


def _write(html: str, page: Page) -> None:
    """The end of mkdocs.commands.build._build_page."""
    if html.strip():
        utils.write_file(html.encode("utf-8", errors="xmlcharrefreplace"), page.file.abs_dest_path)
    else:
        log.info(f"Page skipped: '{page.file.src_uri}'. Generated empty output.")


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
    return min(usable_cores(), MAX_WORKERS)


def eligible(config, serving: bool, dirty: bool = False) -> bool:
    """Whether this build may use workers: only under an engine whose build loop this module mirrors."""
    return (not serving and not dirty and hasattr(os, "fork") and engine_is_mirrored() and worker_count() > 1
            and set(config.plugins) <= {"incidentkb"})


class ParallelConverter:
    """Started at on_nav with the generated pages; asked at on_pre_page for each page's result.

    `finish(html)` is what the plugin's post_page does to a page before it is written.
    `describe(content, page)`, run in the workers, makes each converted page's search record;
    `receive(src_uri, record)` gets them in the parent, in the order of `src_uris`, from a thread.
    `on_written(src_uris)` is told, once every worker has ended, the pages they wrote (those of a
    worker that stopped early are left out: MkDocs builds them again).
    """

    def __init__(self, config, files, nav, src_uris: list[str], workers: int, finish: Callable[[str], str],
                 describe: Describe | None = None, receive: Callable[[str, object], None] | None = None,
                 on_written: Callable[[list[str]], None] | None = None):
        self.uris = set(src_uris)
        self._on_written = on_written
        self._written: list[str] = []  # the pages of the workers that finished
        self.error: BaseException | None = None  # raised by `receive`; the plugin reports it
        shares = [share for share in (src_uris[index::workers] for index in range(workers)) if share]
        self._shares = shares
        self._owner = {uri: number for number, share in enumerate(shares) for uri in share}
        describe = describe if receive is not None else None
        # Every worker is forked before any thread starts here: a fork copies only the calling thread.
        self._children = [fork_child(lambda send, share=share: _convert_share(config, files, nav, share, finish,
                                                                              describe, send))
                          for share in shares]
        self._page_queues = [queue.SimpleQueue() for _ in shares]
        self._outcomes: list[object] = [FAILED] * len(shares)
        self._finished = [threading.Event() for _ in shares]
        self._collected = [False] * len(shares)
        self._results: dict[str, BuiltPage] = {}
        self._forwarded = set(src_uris) if describe is not None else set()  # their records go through _forward
        # Records of pages this process built because their worker stopped: _forward sends them in their turn.
        self._rebuilt: dict[str, object] = {}
        self._rebuilt_ready = threading.Condition()
        self._closing = False
        self._reap_lock = threading.Lock()  # a worker is killed only before it is reaped (its pid may be reused)
        self._reaped = [False] * len(shares)
        self._threads = [threading.Thread(target=self._read, args=(number,), name=f"kb-worker-{number}", daemon=True)
                         for number in range(len(shares))]
        if describe is not None:
            self._threads.append(threading.Thread(target=self._forward, args=(src_uris, workers, receive),
                                                  name="kb-forward", daemon=True))
        for thread in self._threads:
            thread.start()

    def _read(self, number: int) -> None:
        """A thread per worker: its page records go to a queue as they come, its results when it ends."""
        child = self._children[number]
        for message in received(*child) if child else ():
            if message[0] == _PAGE:
                self._page_queues[number].put(message[1])
            else:
                self._outcomes[number] = message[1:]
        if child:
            with self._reap_lock:
                reap(child[0])
                self._reaped[number] = True
        self._page_queues[number].put(_END)
        self._finished[number].set()

    def _forward(self, src_uris: list[str], workers: int, receive: Callable[[str, object], None]) -> None:
        """Hand the page records to `receive` in the order of the pages (page i is worker i % workers'),
        also those of pages this process rebuilt after their worker stopped: the index is the same."""
        ended = set()
        try:
            for index, src_uri in enumerate(src_uris):
                number = index % workers
                record = _END if number in ended else self._page_queues[number].get()
                if record is _END:  # the worker stopped early: this process builds the rest of its share
                    ended.add(number)
                    record = self._rebuilt_record(src_uri)
                    if record is _END:  # the build is being stopped
                        return
                receive(src_uri, record)
        except BaseException as error:  # noqa: BLE001 - reported by the plugin in the main thread
            self.error = error

    def forwards(self, src_uri: str) -> bool:
        """Whether this page's search record must go through `rebuilt` (its worker was to send it)."""
        return src_uri in self._forwarded

    def rebuilt(self, src_uri: str, record: object) -> None:
        """The search record of a page this process built after its worker stopped."""
        with self._rebuilt_ready:
            self._rebuilt[src_uri] = record
            self._rebuilt_ready.notify_all()

    def _rebuilt_record(self, src_uri: str) -> object:
        with self._rebuilt_ready:
            self._rebuilt_ready.wait_for(lambda: src_uri in self._rebuilt or self._closing)
            return self._rebuilt.pop(src_uri, _END)

    def _collect(self, number: int) -> None:
        self._finished[number].wait()
        self._collected[number] = True
        outcome, self._outcomes[number] = self._outcomes[number], None
        if outcome is FAILED:
            # Killed (out of memory?) or an error: MkDocs builds these pages in this process instead, and
            # reports any error there, naming the page. The output is the same, only slower.
            self.uris.difference_update(self._shares[number])
            log.info(f"incidentkb: a build worker stopped without a result; its {len(self._shares[number])} pages "
                     "are built in this process")
            return
        converted, messages = outcome
        self._results.update(converted)
        self._written += self._shares[number]
        for name, level, message in messages:
            logging.getLogger(name).log(level, message)
        if all(self._collected) and self._on_written is not None:
            self._on_written(list(self._written))

    def adopt(self, page: Page, files) -> bool:
        """Make MkDocs' conversion, template and write of this page no-ops: its worker did them.

        False when this page's worker gave no result: MkDocs then builds it as usual.
        """
        src_uri = page.file.src_uri
        number = self._owner[src_uri]
        if not self._collected[number]:
            self._collect(number)
        if src_uri not in self.uris:
            return False
        converted = self._results.pop(src_uri)
        page.kb_adopted = True

        def read_source(config) -> None:
            page.markdown, page.meta = "", dict(converted.meta, template=PREBUILT_TEMPLATE)

        def render(config, files_) -> None:
            page.content = ""
            page._title_from_render = converted.title
            page.present_anchor_ids = set(converted.present_anchor_ids)
            page.links_to_anchors = {files.get_file_from_path(uri): links
                                     for uri, links in converted.links_to_anchors.items()
                                     if files.get_file_from_path(uri) is not None}

        page.read_source = read_source
        page.render = render
        page.file.abs_dest_path = os.devnull  # the worker wrote the page; MkDocs' write of it goes nowhere
        return True

    def close(self) -> None:
        """Stop the workers still running (a build that failed half-way) and wait for the threads.

        After a complete build every page has its record, so the forwarder has finished its work."""
        with self._reap_lock:
            for number, child in enumerate(self._children):
                if child is not None and not self._reaped[number]:
                    stop_child(child[0])
        with self._rebuilt_ready:
            self._closing = True
            self._rebuilt_ready.notify_all()
        for thread in self._threads:
            thread.join()
        self._results.clear()
