"""Converting the generated pages' Markdown in parallel processes.

MkDocs converts every page's Markdown to HTML one page at a time, on one core. At
10,000 incidents that was a third of the build. The plugin forks worker processes
once the navigation is known (they share the parent's configuration, files and
plugin state): each converts a share of the generated pages exactly as MkDocs
would (read the source, page_markdown event, render, page_content event) and sends
back what the page needs later — content, table of contents, title, anchors — and
its log messages, which the parent logs again so `--strict` still counts warnings.
The parent then gives each page its result instead of converting it again.

This only runs for a build (not `mkdocs serve`), where fork exists, and when
incidentkb is the only plugin: another plugin's page events would otherwise run
in the worker and see a different page than in the parent.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from mkdocs.structure.pages import Page

from .background import Deferred


@dataclass
class Converted:
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


def _convert_share(config, files, share: list[str]) -> tuple[dict[str, Converted], list]:
    """In a worker: convert the pages of `share` as MkDocs' own build loop would."""
    logger = logging.getLogger("mkdocs")
    collect = _Collect()
    # Messages go back to the parent instead of to the terminal (the parent prints and counts them).
    saved = logger.handlers, logger.propagate
    logger.handlers, logger.propagate = [collect], False
    try:
        return _convert(config, files, share), collect.messages
    finally:
        logger.handlers, logger.propagate = saved


def _convert(config, files, share: list[str]) -> dict[str, Converted]:
    out = {}
    for src_uri in share:
        file = files.get_file_from_path(src_uri)
        page = file.page or Page(None, file, config)
        page.read_source(config)
        page.markdown = config.plugins.on_page_markdown(page.markdown, page=page, config=config, files=files)
        page.render(config, files)
        page.content = config.plugins.on_page_content(page.content, page=page, config=config, files=files)
        out[src_uri] = Converted(
            page.content, page.toc, page._title_from_render, page.meta, set(page.present_anchor_ids or ()),
            {target.src_uri: dict(links) for target, links in (page.links_to_anchors or {}).items()})
    return out


def eligible(config, serving: bool) -> bool:
    return (not serving and hasattr(os, "fork") and (os.cpu_count() or 1) > 1
            and set(config.plugins) <= {"incidentkb"})


class ParallelConverter:
    """Started at on_nav with the generated pages; asked at on_pre_page for each page's result."""

    def __init__(self, config, files, src_uris: list[str], workers: int):
        self.uris = set(src_uris)
        shares = [src_uris[index::workers] for index in range(workers)]
        self._owner = {uri: number for number, share in enumerate(shares) for uri in share}
        self._jobs = [Deferred(lambda share=share: _convert_share(config, files, share)) for share in shares]
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
        """Make MkDocs' conversion of this page a no-op that takes the worker's result."""
        converted = self.result(page.file.src_uri)

        def read_source(config) -> None:
            page.markdown, page.meta = "", dict(converted.meta)

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
