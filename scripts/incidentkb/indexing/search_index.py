"""The search index of a site: pages handed to Pagefind as they are built, then its output, our exact-match
shards and the search UI's files written into the site, and the offline archive made.

Fed by the MkDocs plugin page by page during a build (mkdocs_plugin/search.py), and by `kb index`
over a site another engine built (publish/index_site.py). Nothing here knows the site builder:
errors are PagefindError (a KBError), and messages go to the logger MkDocs shows for our plugin
(`kb index` prints it), so `mkdocs build --strict` counts the warnings.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

from incidentkb.indexing.offline import BUNDLE_DIR, ArchiveWriter  # BUNDLE_DIR: Pagefind's output, in the site
from incidentkb.indexing.pagefind import PagefindError, PagefindService, pagefind_executable
from incidentkb.indexing.pagefind_bundle import canonicalise_bundle
from incidentkb.indexing.search_pages import (
    EXCLUDE_SELECTORS, PageFacts, classify, exact_entries, exact_shards, listing_pages, page_facts, pagefind_html,
    search_config,
)
from incidentkb.records.model import KnowledgeBase

# The name of the plugin's own logger (mkdocs.plugins.get_plugin_logger(...) under the "incidentkb" prefix).
log = logging.LoggerAdapter(logging.getLogger("mkdocs.plugins.incidentkb"), {})
log.process = lambda message, kwargs: (f"incidentkb: {message}", kwargs)

DATA_DIR = "kb-search"  # our config and exact-match shards

ASSET_DIR = "assets/incidentkb/search"  # our UI script and stylesheet

ASSETS = ("kb-search.js", "kb-search.css")

# The offline copy goes inside the site (leaving itself out): `kb build` swaps it in with the

# site, `mkdocs serve` cleans it up with its temporary folder, and readers can download it.

ARCHIVE_NAME = "site.zip"

# Elements whose text would only add noise: permalink anchors, the edit button, the labels of

# the facts panel ("Services", "Started": on every record, and glued to their values in snippets)

# and the column headings of tables ("Time", "Since start", "Event" on every incident; Pagefind

# does not separate header cells, so they became one made-up word, "TimeSince startEvent").

# Pagefind writes UIs we do not use (ours lives in assets/search); dropping them keeps the

# site and the offline archive smaller. Everything else in its output is needed.

UNUSED_BUNDLE_FILES = ("pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css",
                       "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js")

# Generated pages in these sections that are not records list, count or retell records (indexes,

# years, severities, tags, reports, drills): left out of the index, or every query would find them

# next to the records themselves. Any page can also opt out with Material's `search: {exclude: true}`.

# Sections of record pages that list other records (by heading id): their titles would make

# every incident of a service match what its neighbours are about. Left out of the index only.

# Words on pages that are not records count for less: a responder looks for incidents and

# runbooks first, and a hand-written page that quotes a few incident titles must not outrank them.


# ------------------------------------------------------------------------------ indexer


def is_serve_dir(site_dir: str | os.PathLike) -> bool:
    """`mkdocs serve` builds into tempfile.mkdtemp(prefix="mkdocs_"), `properdocs serve` into prefix="properdocs_";
    no archive is made there."""
    path = Path(site_dir)
    return path.name.startswith(("mkdocs_", "properdocs_")) and path.parent == Path(tempfile.gettempdir())


@dataclass
class IndexStats:
    pages: int = 0
    skipped: int = 0
    sent_bytes: int = 0
    started: float = field(default_factory=time.perf_counter)


class SearchIndexer:
    """Fed every page of a build: by the plugin (add_page), or described by the build workers and
    handed over in page order (describe, then submit). Pagefind writes the bundle as soon as every
    expected page is in (expect), or at the latest in finish, which adds our files and the archive.

    `site` returns the plugin's SiteBuild (or None before on_files has run); it is read when the
    facts are loaded (load_facts: before the workers fork, or at the first page). One indexer
    serves one build: `mkdocs serve` makes a new plugin, and so a new indexer, for every rebuild.
    """

    def __init__(self, site: Callable[[], object], *, directory_urls: bool = True,
                 archive: Path | None = None, executable: Path | None = None):
        self._site = site
        self._directory_urls = directory_urls
        self.archive = archive
        self._executable = executable or pagefind_executable()  # PagefindError when there is none
        self._service: PagefindService | None = None
        self._index_id: int | None = None
        self._pending: list[tuple[str, Future]] = []
        self._facts: dict[str, PageFacts] | None = None
        self._listings: frozenset[str] = frozenset()
        self.stats = IndexStats()
        self.types_indexed: set[str] = set()
        self._held: list[tuple[str, tuple | None]] = []  # hand-written pages, sent last
        self._submitted: set[str] = set()
        self._lock = threading.RLock()
        self._expected: set[str] | None = None  # pages not described yet, once the plugin has said which will be
        self._site_dir: Path | None = None
        self._written: Future | None = None  # Pagefind's WriteFiles, once asked for
        self._writing_since = 0.0
        self._late: list[str] = []  # pages described after the write began (a bug: they are not searchable)
        self._archive = None  # the offline archive, once begun (prepare_archive)

    # -- page by page
    #
    # Pagefind's output depends on the order pages are added, and builds must be byte-identical:
    # generated pages go in as they are converted (in the order MkDocs builds them, whether by
    # MkDocs itself or by the build workers, see parallel.py), hand-written pages at the end.
    # Pages are described from their content, not the finished page, so that the whole index is
    # known before the theme's templates have run: Pagefind writes while the pages are finished.

    def add_page(self, content: str, page) -> None:
        """A page converted in this process (the build workers' pages come through describe and submit)."""
        self.submit(page.file.src_uri, self.describe(content, page), hold=page.file.generated_by is None)

    def describe(self, content: str, page) -> tuple[str, str, str] | None:
        """What Pagefind is sent for a page: (url, content, record type); None for a page left out.

        `content` is the page's HTML as the theme will show it (page.content). Needs only the page
        and the facts loaded before the workers fork: they call it.
        """
        if self._facts is None:
            self.load_facts()
        meta = getattr(page, "meta", None) or {}
        search_meta = meta.get("search") if isinstance(meta, dict) else None
        if isinstance(search_meta, dict) and search_meta.get("exclude"):  # Material's `search: {exclude: true}`
            return None
        facts = classify(page.file.src_uri, self._facts, self._listings)
        if facts is None:
            return None
        return "/" + page.url, pagefind_html(content, page.title or "", facts), facts.type

    def submit(self, src_uri: str, described: tuple[str, str, str] | None, hold: bool = False) -> None:
        """Send a described page to Pagefind; with `hold` (hand-written pages), only when it starts writing."""
        with self._lock:  # the build workers' pages arrive on another thread (parallel.py)
            self._submitted.add(src_uri)
            if self._written is not None:
                self._late.append(src_uri)
                return
            if hold:
                self._held.append((src_uri, described))
            else:
                self._send(src_uri, described)
            self._note_described(src_uri)

    def expect(self, src_uris, site_dir: Path) -> None:
        """Every page this build will describe: once the last one is, Pagefind starts writing (into site_dir)."""
        with self._lock:
            self._site_dir = Path(site_dir)
            self._expected = set(src_uris) - self._submitted
            self._note_described(None)

    def _note_described(self, src_uri: str | None) -> None:
        # Called with the lock held.
        if self._expected is None or self._written is not None:
            return
        self._expected.discard(src_uri)
        if not self._expected:
            self._start_writing()

    def _start_writing(self) -> None:
        # Called with the lock held, so no page slips in between the held pages and the write.
        for src_uri, described in self._held:
            self._send(src_uri, described)
        self._held = []
        bundle = self._site_dir / BUNDLE_DIR
        shutil.rmtree(bundle, ignore_errors=True)
        self._writing_since = time.perf_counter()
        self._written = self._ensure_service().request({"type": "WriteFiles", "index_id": self._index_id,
                                                        "output_path": str(bundle.resolve())})

    def _send(self, src_uri: str, described: tuple[str, str, str] | None) -> None:
        if described is None:
            self.stats.skipped += 1
            return
        url, content, kind = described
        self.types_indexed.add(kind)
        self.stats.pages += 1
        self.stats.sent_bytes += len(content)
        future = self._ensure_service().request({"type": "AddFile", "index_id": self._index_id, "url": url,
                                                 "file_path": None, "file_contents": content})
        self._pending.append((src_uri, future))

    def load_facts(self) -> None:
        site = self._site()
        if site is None:
            self._facts = {}
            return
        self._facts = page_facts(site.kb)
        self._listings = listing_pages(site.pages, self._facts)

    def _ensure_service(self) -> PagefindService:
        if self._service is None:
            self._service = PagefindService(self._executable)
            config = {"exclude_selectors": EXCLUDE_SELECTORS, "force_language": "en"}
            created = self._service.request({"type": "NewIndex", "config": config})
            try:
                self._index_id = created.result(timeout=60)["index_id"]
            except Exception as error:  # noqa: BLE001 - any failure here means no search at all
                self._service.close()
                self._service = None
                raise PagefindError(f"could not start the Pagefind service: {error}") from error
        return self._service

    # -- at the end

    def finish(self, site_dir: Path) -> None:
        site_dir = Path(site_dir)
        started = time.perf_counter()
        service = self._ensure_service()
        with self._lock:
            archive, self._archive = self._archive, None  # begun by prepare_archive, or None
        try:
            with self._lock:
                if self._written is None:  # not every expected page came (a --dirty build), or none was expected
                    self._site_dir = site_dir
                    self._start_writing()
                written, late = self._written, self._late
            if late:
                log.warning(f"search: {len(late)} page(s) were built after the search index was written and cannot "
                            f"be found by search: {', '.join(late[:5])}")
            self._collect_page_errors()
            # Pagefind writes on its core; meanwhile this thread writes our files and archives the rest.
            self._write_data(site_dir)
            if self.archive is not None:
                archive = archive or self._new_archive()
                archive.add_site(site_dir, skip_bundle=True)
            zipped = time.perf_counter()
            try:
                written.result()
            except PagefindError as error:
                raise PagefindError(f"Pagefind could not write the search index: {error}") from error
            index_written = time.perf_counter()
            pagefind_cpu = service.cpu_seconds()
            bundle = site_dir / BUNDLE_DIR
            for name in UNUSED_BUNDLE_FILES:
                (bundle / name).unlink(missing_ok=True)
            for warning in canonicalise_bundle(bundle):
                log.warning(warning)
            if archive is not None:
                archive.add_site(site_dir, only_bundle=True)
                archive.close()
                archive = None
        finally:
            if archive is not None:
                archive.abort()
            service.close()
            self._service = None
        done = time.perf_counter()
        cpu = f"; {pagefind_cpu:.1f} s of CPU in all" if pagefind_cpu is not None else ""
        log.info(f"search: {self.stats.pages} pages indexed ({self.stats.skipped} lists left out, "
                 f"{self.stats.sent_bytes / 1e6:.1f} MB sent); Pagefind wrote the index in "
                 f"{index_written - self._writing_since:.1f} s, starting {max(0.0, started - self._writing_since):.1f} s "
                 f"before the pages were finished{cpu}; after the pages: {zipped - started:.1f} s for our files and "
                 f"the archive, {index_written - zipped:.1f} s waiting for Pagefind, {done - index_written:.1f} s to "
                 "finish" + (f"; offline copy: {self.archive}" if self.archive else ""))

    def abort(self) -> None:
        """A build that failed: stop Pagefind, whatever it was doing, and drop the archive begun."""
        with self._lock:
            service, self._service = self._service, None
            archive, self._archive = self._archive, None
            self._held = []
        if service is not None:
            service.close()
        if archive is not None:
            archive.abort()

    def prepare_archive(self, relatives: list[str]) -> None:
        """Files of the site that are final before the end of the build (the pages the build workers wrote):
        the archive compresses them now, in a child, on the core the MkDocs process leaves idle while it
        finishes."""
        with self._lock:
            if self.archive is None or self._archive is not None or self._site_dir is None:
                return
            self._archive = self._new_archive()
            self._archive.prepare(self._site_dir, relatives)

    def _new_archive(self) -> ArchiveWriter:
        return ArchiveWriter(self.archive)

    def _collect_page_errors(self) -> None:
        failures = []
        for src_uri, future in self._pending:
            try:
                future.result()
            except PagefindError as error:
                failures.append(f"{src_uri}: {error}")
        self._pending = []
        if failures:
            shown = "; ".join(failures[:5]) + (f" (and {len(failures) - 5} more)" if len(failures) > 5 else "")
            log.warning(f"search: Pagefind could not index {len(failures)} page(s): {shown}")

    def _write_data(self, site_dir: Path) -> None:
        site = self._site()
        kb = site.kb if site is not None else KnowledgeBase(root="")
        shards = exact_shards(exact_entries(kb, self._directory_urls))
        data = site_dir / DATA_DIR
        shutil.rmtree(data, ignore_errors=True)
        (data / "exact").mkdir(parents=True)
        for number, shard in enumerate(shards):
            (data / "exact" / f"{number}.json").write_text(_json(shard), encoding="utf-8")
        (data / "config.json").write_text(_json(search_config(kb, len(shards), self.types_indexed)), encoding="utf-8")
        assets = site_dir / ASSET_DIR
        assets.mkdir(parents=True, exist_ok=True)
        package = resources.files("incidentkb.site") / "assets" / "search"
        for name in ASSETS:
            (assets / name).write_bytes((package / name).read_bytes())


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


