"""Site search: a Pagefind index fed page by page while MkDocs builds, plus exact id and alert lookups.

Why Pagefind: Material's built-in search ships one JSON index (18.6 MB at 5,000 pages,
3.6 s to a first result); Pagefind splits its index into chunks and a search fetches only
the chunks for the words typed (see docs/guide/search.md for the figures at 10,000 incidents).

How it stays cheap at build time: MkDocs renders pages on one core. Each finished page is
handed to a `pagefind --service` subprocess (the JSON-over-stdio protocol the official
Python API speaks) which parses and indexes it on the other core while MkDocs renders the
next page; what is left for the end is Pagefind's write (while this process zips the site
for offline use) and a short pass over its output (canonicalise_bundle). The official async
client is not used: its reader sleeps 100 ms per response, 10 pages a second (measured).

What goes in the index, how Pagefind is run and its output finished, is in indexing/ (the
SearchIndexer of indexing/search_index.py, which `kb index` also uses); this module sets MkDocs
up for it: our search box in the theme, our assets, the archive's place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from mkdocs.exceptions import PluginError
from mkdocs.plugins import get_plugin_logger

from incidentkb.core.errors import KBError
from incidentkb.indexing.pagefind import close_leftover_services
from incidentkb.indexing.search_index import ARCHIVE_NAME, ASSET_DIR, SearchIndexer, is_serve_dir

log = get_plugin_logger(__name__)

THEME_DIR = Path(__file__).resolve().parent / "theme"  # our partials: the header's search box, the 404 page


# --------------------------------------------------------------------- plugin wiring


def configure(config, site: Callable[[], object], *, archive: str | None = None) -> SearchIndexer | None:
    """Called from the plugin's on_config: swap Material's search for ours and return the indexer.

    - theme: our partials (header with the search box) go just before Material's own, so a
      project's custom_dir can still override them;
    - assets: our stylesheet and script on every page;
    - archive: None for the default (site.zip inside the site folder; none under `mkdocs serve`),
      "" for none, or a path relative to mkdocs.yml.

    Returns None when KB_SEARCH=0 is set (to measure a build without search).
    """
    close_leftover_services()
    if os.environ.get("KB_SEARCH", "1").strip() == "0":
        return None
    if any(name in config.plugins for name in ("search", "material/search")):
        log.warning("search: remove `search` from `plugins:` in mkdocs.yml; the knowledge base has its own search, "
                    "and Material's would build a second, much larger index nobody uses")
    dirs = config.theme.dirs
    if str(THEME_DIR) not in dirs:
        material = next((i for i, d in enumerate(dirs) if Path(d).parts[-2:] == ("material", "templates")), 0)
        dirs.insert(material, str(THEME_DIR))
    css, script = f"{ASSET_DIR}/kb-search.css", f"{ASSET_DIR}/kb-search.js"
    if css not in config.extra_css:
        config.extra_css.append(css)
    if script not in [str(s) for s in config.extra_javascript]:
        config.extra_javascript.append(script)
    try:
        return SearchIndexer(site, directory_urls=config.use_directory_urls, archive=archive_path(config, archive))
    except KBError as error:  # no Pagefind binary
        raise PluginError(f"incidentkb: {error}") from None


def archive_path(config, setting: str | None) -> Path | None:
    site_dir = Path(config.site_dir)
    if setting == "":
        return None
    if setting is None:
        return None if is_serve_dir(site_dir) else site_dir / ARCHIVE_NAME
    base = Path(config.config_file_path).parent if config.config_file_path else Path.cwd()
    return (base / setting).resolve()
