"""The MkDocs plugin: event wiring only. The work is done by load, check and render.

- on_config: find the knowledge base, add our stylesheet.
- on_files:  load, start the checks in a child, render every generated page as an in-memory
             file; nothing is written into docs/, incidents/ or runbooks/ (mkdocs serve would rebuild forever).
- on_nav:    start the workers that build, write and describe for search the generated pages
  (parallel.py); on_pre_page hands each page its worker's result, on_env adds the template for it.
- on_page_markdown: fill <!-- kb:... --> markers in hand-written pages.
- on_page_content: send the page to the search index (search.py).
- on_post_page: collapse whitespace.
- on_post_build: report what loading and the checks found (so --strict fails on it), stop the
  workers, finish the search index and the offline archive.
- on_serve:  also watch the records, the catalog and the policy file.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import jinja2
from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.files import File, Files, InclusionLevel

from incidentkb.core.background import freeze_for_the_build, thaw
from incidentkb.core.errors import KBError
from incidentkb.core.progress import terminal_progress
from incidentkb.mkdocs_plugin import parallel
from incidentkb.mkdocs_plugin.parallel import (
    PREBUILT_SOURCE, PREBUILT_TEMPLATE, ParallelConverter, eligible, worker_count,
)
from incidentkb.mkdocs_plugin.search import configure
from incidentkb.records.audience import AUDIENCES, DEFAULT_AUDIENCE
from incidentkb.records.policy import RULES
from incidentkb.site import a11y
from incidentkb.site.build import SiteBuild, build_site
from incidentkb.site.glossary import abbreviations_enabled
from incidentkb.site.renderer import BYTECODE_CACHE, RAW_BLOCK
from incidentkb.site.sanitize import NO_MARKS, keep_title_escaped, sanitize_around, stash_marks

_PROTECTED = re.compile(r"(<(pre|script|style|textarea)\b.*?</\2>)", re.DOTALL | re.IGNORECASE)
_INDENT = re.compile(r"\n\s+")  # starts only at a newline: 7 times faster than also eating trailing blanks


def collapse_whitespace(html: str) -> str:
    """Turn each newline and the indentation around it into one newline, outside pre/script/style/textarea.

    HTML treats any run of whitespace there as one space, so pages look the same and
    are about a fifth smaller: Material's templates are deeply indented, and at
    10,000 pages that indentation was megabytes (measured).
    """
    parts = _PROTECTED.split(html)
    # split() with two groups yields [text, block, tag name, text, block, tag name, ...]
    out = []
    for index, part in enumerate(parts):
        kind = index % 3
        if kind == 0:
            out.append(_INDENT.sub("\n", part))
        elif kind == 1:
            out.append(part)
    return "".join(out)

log = get_plugin_logger(__name__)


@contextmanager
def as_plugin_error():
    """The library's errors for the user (Pagefind missing or failing) as MkDocs shows them: one line, no traceback."""
    try:
        yield
    except KBError as error:
        raise PluginError(f"incidentkb: {error}") from None

STYLESHEET = "assets/incidentkb/incidentkb.css"
SCRIPT = "assets/incidentkb/incidentkb.js"  # makes wide tables reachable by keyboard


class IncidentKBConfig(Config):
    root = c.Optional(c.Dir(exists=True))
    """Knowledge-base folder holding incidents/, runbooks/, catalog.yml and policy.yml (default: next to mkdocs.yml)."""
    today = c.Optional(c.Type(str))
    """Date (YYYY-MM-DD) that overdue flags are judged against; default: the day of the build."""
    default_nav = c.Type(bool, default=True)
    """When mkdocs.yml has no `nav`, build a small one (individual records are never in it)."""
    drafts = c.Optional(c.Type(bool))
    """Publish incidents whose post-mortem is a draft. Default: yes under `mkdocs serve`, no in a build."""
    offline_archive = c.Optional(c.Type(str))
    """Where the build writes the site as a zip for offline use, relative to the site (default: site.zip;
    an empty string writes none)."""
    audience = c.Optional(c.Choice(AUDIENCES))
    """Who the site is for: public, internal (default) or restricted. Records above it are left out entirely."""


class IncidentKBPlugin(BasePlugin[IncidentKBConfig]):
    supports_multiple_instances = False

    def __init__(self):
        self.site: SiteBuild | None = None
        self._stash: dict[str, tuple[list[str], re.Pattern]] = {}
        self.serving = False
        self.dirty = False
        self.search = None  # a search.SearchIndexer during a build, fed page by page
        self.converter: ParallelConverter | None = None  # converts generated pages in worker processes
        self._findings_reported = False
        self._errors_reported = 0
        self.progress = None  # pages built, on a terminal (core/progress.py)
        self._pages_total = self._pages_done = 0

    def _root(self, config) -> Path:
        if self.config.root:
            return Path(self.config.root)
        return Path(config.config_file_path).parent if config.config_file_path else Path.cwd()

    def _today(self) -> date:
        # `kb build --today` passes KB_TODAY; the option in mkdocs.yml wins over it.
        value = self.config.today or os.environ.get("KB_TODAY")
        if not value:
            return date.today()
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PluginError(f"incidentkb: today: expected a date YYYY-MM-DD, got {value!r}") from None

    def on_startup(self, *, command, dirty) -> None:
        self.serving = command == "serve"
        self.dirty = dirty

    def _drafts(self) -> bool:
        if self.config.drafts is not None:
            return self.config.drafts
        if os.environ.get("KB_DRAFTS"):
            return os.environ["KB_DRAFTS"] == "1"
        return self.serving

    def on_config(self, config):
        if config.theme.name == "material" and config.theme.get("font") is not False:
            # Material's default font comes from Google at run time: responders read this site during outages.
            log.warning("theme.font loads fonts from fonts.googleapis.com when a page opens; set `font: false` "
                        "under `theme:` in mkdocs.yml so the site needs no outside network")
        if STYLESHEET not in config.extra_css:
            config.extra_css.append(STYLESHEET)
        if SCRIPT not in [str(s) for s in config.extra_javascript]:
            config.extra_javascript.append(SCRIPT)
        if a11y.wanted(config.markdown_extensions):  # names for the checkboxes of task lists
            config.markdown_extensions.append(a11y.EXTENSION)
        if not parallel.engine_is_mirrored():
            name, version = parallel.running_engine()
            log.info(f"{name} {version}: the plugin builds pages the engine's own way, one at a time (the parallel "
                     "build follows the build code of MkDocs and ProperDocs 1.6 only): the same site, slower")
        # search.py owns the search UI, the Pagefind index and the offline zip
        self.search = configure(config, lambda: self.site, archive=self.config.get("offline_archive"))
        return config

    def on_files(self, files: Files, *, config) -> Files:
        root = self._root(config)
        audience = self.config.audience or os.environ.get("KB_AUDIENCE") or DEFAULT_AUDIENCE
        if audience not in AUDIENCES:
            raise PluginError(f"incidentkb: audience: expected one of {', '.join(AUDIENCES)}, got {audience!r}")
        docs_prefix = os.path.relpath(config.docs_dir, root).replace(os.sep, "/")
        self._findings_reported = False
        self.site = build_site(root, today=self._today(), directory_urls=config.use_directory_urls,
                               site_url=config.site_url or "", audience=audience, docs_prefix=docs_prefix,
                               include_drafts=self._drafts(), freeze=True)
        if self.site.fatal:
            self._report_findings()
            raise PluginError("incidentkb: " + self.site.fatal)
        self.site.abbreviations = abbreviations_enabled(config.markdown_extensions)
        docs_dir = Path(config.docs_dir)
        for page in self.site.pages:
            if files.get_file_from_path(page.path) is not None:
                log.info(f"{page.path}: a hand-written page replaces the generated one")
                continue
            # NOT_IN_NAV: thousands of generated pages must not be listed as "missing from nav";
            # the index pages can still be named in a hand-written nav.
            file = File.generated(config, page.path, content=page.markdown, inclusion=InclusionLevel.NOT_IN_NAV)
            # The edit button of a record page opens its real source file, wherever docs_dir is.
            file.edit_uri = os.path.relpath(root / page.source, docs_dir).replace(os.sep, "/") if page.source else None
            files.append(file)
        for path, content in self.site.assets.items():
            files.append(File.generated(config, path, content=content))
        if config.nav is None and self.config.default_nav:
            config.nav = self.site.default_nav([f.src_uri for f in files.documentation_pages() if f.generated_by is None])
        freeze_for_the_build()  # the generated pages too: they live until the build ends
        return files

    def on_nav(self, nav, *, config, files):
        self.converter = None
        built = files.documentation_pages(inclusion=InclusionLevel.is_included)  # the pages MkDocs builds
        if self.site is not None and eligible(config, self.serving, self.dirty):
            ours = [f.src_uri for f in built if f.generated_by and f.src_uri.endswith(".md")]
            if ours:
                describe = receive = on_written = None
                if self.search is not None:  # the workers describe each page for the search index as they go
                    self.search.load_facts()  # before the fork: every worker needs them
                    describe, receive = self.search.describe, self.search.submit
                    # and once they have ended, the offline archive compresses their pages while MkDocs finishes
                    on_written = lambda uris: self.search.prepare_archive(  # noqa: E731
                        [files.get_file_from_path(uri).dest_uri for uri in uris])
                self.converter = ParallelConverter(config, files, nav, ours, workers=worker_count(),
                                                   finish=collapse_whitespace, describe=describe, receive=receive,
                                                   on_written=on_written)
        # At 10,000 records the pages take minutes: say how far the build is, to a person at a terminal only.
        self.progress = None if self.serving else terminal_progress()
        self._pages_total, self._pages_done = len(built), 0
        if self.search is not None and not self.serving:
            # Pagefind writes as soon as every page is described, while the last pages are still being built.
            self.search.expect([f.src_uri for f in built], config.site_dir)
        return nav

    def on_env(self, env, *, config, files):
        env.bytecode_cache = BYTECODE_CACHE  # the theme's compiled templates, kept between builds
        if self.converter is not None:  # the template of the pages the workers built (parallel.py)
            env.loader = jinja2.ChoiceLoader([env.loader, jinja2.DictLoader({PREBUILT_TEMPLATE: PREBUILT_SOURCE})])
        return env

    def on_pre_page(self, page, *, config, files):
        if self.converter is not None and page.file.src_uri in self.converter.uris:
            self.converter.adopt(page, files)  # built in a worker: see parallel.py
        return page

    def on_page_markdown(self, markdown: str, *, page, config, files) -> str:
        if self.site is None or self._adopted(page):
            return markdown
        markdown = self.site.prepare_markdown(markdown, page.file.src_uri, hand_written=page.file.generated_by is None)
        # Keep generated HTML away from Python-Markdown (see render.RAW_START); restored in on_page_content.
        stash: list[str] = []
        # Keyed by the page (sanitize.stash_marks): a body that writes a placeholder cannot pull a block in,
        # nor make the build fail on an index that does not exist.
        start, marks = stash_marks(markdown)

        def hide(match) -> str:
            stash.append(match.group(1))
            return f"{start}{len(stash) - 1}-->"

        markdown = RAW_BLOCK.sub(hide, markdown)
        self._stash[page.file.src_uri] = stash, marks
        return markdown

    @property
    def _raw_html(self) -> str:
        return self.site.kb.policy.section("bodies")["raw_html"]

    @staticmethod
    def _adopted(page) -> bool:
        return getattr(page, "kb_adopted", False)

    def on_page_content(self, html: str, *, page, config, files) -> str:
        if self._adopted(page):
            return html
        stash, marks = self._stash.pop(page.file.src_uri, ([], NO_MARKS))
        if page.file.generated_by is not None and self.site is not None:
            keep_title_escaped(page)  # a record's title is text, wherever the theme puts it (sanitize.py)
            if self._raw_html != "allow":
                # What Markdown made of record text is sanitised, our own blocks are not (sanitize.py).
                html = sanitize_around(html, marks)
        if stash:
            html = marks.sub(lambda m: stash[int(m.group(1))], html)
        if self.search is not None and not parallel.IN_WORKER:  # a build worker sends its pages itself
            if self.converter is not None and self.converter.forwards(page.file.src_uri):
                # Its worker stopped before sending it: the record goes in the worker's place in the order.
                self.converter.rebuilt(page.file.src_uri, self.search.describe(html, page))
            else:
                with as_plugin_error():
                    self.search.add_page(html, page)
        return html

    def on_post_page(self, output: str, *, page, config) -> str:
        if self.progress is not None:
            self._pages_done += 1
            self.progress("building pages", self._pages_done, self._pages_total)
        if self._adopted(page):
            return output  # its worker collapsed and wrote it (parallel.py)
        return collapse_whitespace(output)

    def _report_findings(self) -> None:
        """Log, once per build, what loading and the checks found (errors and warnings fail `--strict`).

        Called when the build ends (or stops): the checks run in a child process while the pages are built."""
        if self._findings_reported:
            return
        self._findings_reported = True
        self._errors_reported = 0
        compliance_warnings = 0
        for finding in self.site.findings:
            if finding.code in RULES and not finding.is_error:
                # A compliance warning (an overdue action item, a late review) says how the organisation is
                # doing, not that the site is wrong: it is on the compliance page and must not fail --strict.
                compliance_warnings += 1
                continue
            where = f"{finding.path}:{finding.line}" if finding.line else finding.path
            self._errors_reported += finding.is_error
            (log.error if finding.is_error else log.warning)(f"{where}: {finding.code}: {finding.message}")
        if compliance_warnings:
            log.info(f"{compliance_warnings} compliance warnings: see the compliance page, or run `kb check`")

    def on_post_build(self, *, config) -> None:
        self._thaw()
        if self.site is not None:
            self._report_findings()
        error = self._stop_workers()
        if isinstance(error, KBError):  # Pagefind could not start
            raise PluginError(f"incidentkb: {error}") from None
        if error is not None:
            raise PluginError(f"incidentkb: search: a page could not be sent to the search index: {error}") from error
        if self.search is not None:
            with as_plugin_error():
                self.search.finish(Path(config.site_dir))
        if self._errors_reported and not config.strict and not self.serving:
            # Built what could be built (the errors are listed above); the exit code must still say so.
            raise PluginError(f"incidentkb: the site was built, but the records have {self._errors_reported} "
                              "error(s), listed above; fix them (`kb check` shows how)")

    def on_build_error(self, *, error) -> None:
        self._thaw()
        self._stop_workers()  # a build that failed half-way must not leave workers running
        if self.search is not None:
            self.search.abort()  # nor Pagefind, which may already be writing its index
        if self.site is not None:
            self._report_findings()  # they may explain the error

    def _thaw(self) -> None:
        # `mkdocs build` ends with the build: its objects stay frozen, and the exit skips a last full
        # collection. `mkdocs serve` lives on: what a rebuild no longer uses must be collectable.
        if self.serving:
            thaw()

    def _stop_workers(self) -> BaseException | None:
        """Stop the workers and their threads; returns what went wrong handing their pages to search."""
        converter, self.converter = self.converter, None
        if converter is None:
            return None
        converter.close()
        return converter.error

    def on_serve(self, server, *, config, builder):
        root = self._root(config)
        for path in self.site.watched_paths(root) if self.site else ():
            server.watch(str(path))
        return server
