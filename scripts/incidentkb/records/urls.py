"""Where each page lives in the site, and relative URLs between pages.

Record pages keep the path of their source file (incidents/2025/INC-2025-014-x.md
is published at incidents/2025/INC-2025-014-x/), so relative links a contributor
writes between records work unchanged. Generated HTML computes its links here,
relative to the page that holds them, so the site works under any base URL and
from a local copy.
"""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache

from incidentkb.records.model import CatalogEntry, Record


def record_page(record: Record) -> str:
    """The site source path (…/x.md) of a record's page."""
    if isinstance(record, CatalogEntry):
        return f"{'vendors' if record.kind == 'vendor' else 'services'}/{record.id}.md"
    return record.path


def tag_page(tag: str) -> str:
    return f"tags/{tag}.md"


def severity_page(severity: str) -> str:
    return f"incidents/severity/{severity.lower()}.md"


def year_page(year: int) -> str:
    return f"incidents/{year}/index.md"


def alert_page(alert: str) -> str:
    return f"runbooks/alerts/{alert.lower()}.md"


_ALERT_PAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def has_alert_page(alert: str) -> bool:
    """Whether an alert name gets a page: an ASCII letter, then letters, digits, _ . and - (one clean URL
    segment: a ':' first in a relative link reads as a scheme), and not `index` (the coverage page).
    `Pingdom / checkout` stays plain text."""
    return bool(_ALERT_PAGE_NAME.fullmatch(alert)) and alert.lower() != "index"


@lru_cache(maxsize=65536)
def page_url(src_path: str, directory_urls: bool = True) -> str:
    """The URL (relative to the site root) MkDocs gives a Markdown source path."""
    stem, _ = posixpath.splitext(src_path)
    base = posixpath.basename(stem)
    if directory_urls:
        if base in ("index", "README"):
            folder = posixpath.dirname(stem)
            return f"{folder}/" if folder else ""
        return f"{stem}/"
    if base == "README":
        stem = posixpath.join(posixpath.dirname(stem), "index")
    return f"{stem}.html"


def relative_url(from_src: str, to_src: str, directory_urls: bool = True) -> str:
    """A link from the page built from `from_src` to the page built from `to_src` (a .md source path), or to
    a file or folder of the site when `to_src` is anything else (assets/similar/find-similar.js).

    Hand-rolled rather than posixpath.relpath: index pages hold tens of thousands of
    links, and relpath was a tenth of the build (measured).
    """
    source_dir = page_url(from_src, directory_urls).split("/")[:-1]
    target = (page_url(to_src, directory_urls) if to_src.endswith(".md") else to_src).split("/")
    common = 0
    limit = min(len(source_dir), len(target) - 1)
    while common < limit and source_dir[common] == target[common]:
        common += 1
    return "../" * (len(source_dir) - common) + "/".join(target[common:]) or "./"
