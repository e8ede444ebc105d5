"""`kb build`, `kb serve` and `kb generate`: the site, built, previewed, or written out as Markdown."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from incidentkb.cli.common import audience_option, parse_today, require_root, root_option, run_checks
from incidentkb.core.errors import EXIT_PROBLEMS, UsageError
from incidentkb.core.progress import terminal_progress
from incidentkb.indexing.offline import serve_archive
from incidentkb.indexing.pagefind import INSTALL_HINT, find_executable
from incidentkb.publish.engine import ENGINE_VARIABLE, ENGINES
from incidentkb.publish.engine import build as build_site_dir
from incidentkb.publish.engine import choose_engine, docs_dir_of
from incidentkb.publish.engine import serve as serve_site
from incidentkb.publish.index_site import index_site
from incidentkb.publish.tree import generate as generate_tree
from incidentkb.records.audience import DEFAULT_AUDIENCE
from incidentkb.records.outputs import check_output


def engine_option(func):
    return click.option(
        "--engine", type=click.Choice(ENGINES),
        help=f"The site builder: properdocs or mkdocs (default: ${ENGINE_VARIABLE}, else the installed one, "
             "ProperDocs first). Both run the plugin; see docs/guide/engines.md.",
    )(func)


@click.command()
@root_option
@click.option("--site-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to put the site (default: site/ in the knowledge base).")
@click.option("--today", metavar="YYYY-MM-DD", help="Date to judge deadlines and overdue items against.")
@audience_option
@click.option("--drafts", is_flag=True, help="Also publish incidents whose post-mortem is still a draft.")
@engine_option
def build(root, site_dir, today, audience, drafts, engine):
    """Check everything, then build the site strictly (warnings fail it).

    The site is built in a temporary folder and replaces the previous one only
    when the build succeeded: a failed build leaves the last good site in place.
    Works without mkdocs.yml, with a default configuration.
    """
    root = require_root(root)
    day = parse_today(today)
    engine = choose_engine(engine, "kb build")  # before the checks: a missing engine is said at once
    if site_dir is not None:
        check_output(site_dir, root, "--site-dir", docs_dir=docs_dir_of(root))
    if not run_checks(root, day, progress=terminal_progress()):
        click.echo("Not built: fix the errors above first.", err=True)
        sys.exit(EXIT_PROBLEMS)
    target = build_site_dir(root, site_dir, strict=True, today=day if today else None, audience=audience,
                            drafts=drafts, engine=engine)
    click.echo(f"Site built in {target}", err=True)


@click.command()
@root_option
@click.option("--dev-addr", metavar="HOST:PORT", help="Address to serve on (default: 127.0.0.1:8000).")
@click.option("--offline", "archive", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Serve a built site archive (site.zip) instead, e.g. on a laptop without network.")
@audience_option
@engine_option
def serve(root, dev_addr, archive, audience, engine):
    """Preview the site with live reload (records, catalog and policy are watched too)."""
    if archive is None:
        sys.exit(serve_site(require_root(root), dev_addr, audience, engine))
    host, _, port = (dev_addr or "127.0.0.1:8000").rpartition(":")
    if not port.isdigit():
        raise UsageError(f"--dev-addr {dev_addr!r}: expected HOST:PORT such as 127.0.0.1:8000")
    try:
        serve_archive(archive, host or "127.0.0.1", int(port),
                      on_ready=lambda url: click.echo(f"Serving {archive} at {url} (Ctrl-C stops)", err=True))
    except ValueError as error:
        raise UsageError(f"--offline {archive}: {error}") from None
    except OSError as error:
        raise UsageError(f"cannot serve on {host or '127.0.0.1'}:{port}: {error.strerror or error}") from None


@click.command()
@root_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the Markdown tree into (empty, or made by an earlier generate).")
@click.option("--today", metavar="YYYY-MM-DD", help="Date to judge deadlines and overdue items against.")
@click.option("--no-directory-urls", is_flag=True, help="Links for builders run with use_directory_urls: false.")
@audience_option
@click.option("--drafts", is_flag=True, help="Also write incidents whose post-mortem is still a draft.")
def generate(root, out, today, no_directory_urls, audience, drafts):
    """Write every page (hand-written and generated) as plain Markdown, for builders without our plugin."""
    root = require_root(root)
    count = generate_tree(root, out, parse_today(today), directory_urls=not no_directory_urls,
                          audience=audience or DEFAULT_AUDIENCE, drafts=drafts)
    click.echo(f"{count} files written to {out}", err=True)


@click.command("index")
@click.argument("site_dir", type=click.Path(file_okay=False, path_type=Path))
@root_option
@click.option("--no-directory-urls", is_flag=True, help="The site was built with use_directory_urls: false "
              "(and generated with the same option).")
@audience_option
@click.option("--drafts", is_flag=True, help="The tree was generated with --drafts.")
@click.option("--no-archive", is_flag=True, help="Do not write the offline archive (site.zip).")
def index(site_dir, root, no_directory_urls, audience, drafts, no_archive):
    """Add search, Find-similar data and the offline archive to a site another engine built.

    For engines that cannot run the plugin (Zensical; MkDocs or ProperDocs without it):
    `kb generate --out DIR`, build DIR with the engine, then `kb index SITE_DIR`. Use the
    same --audience, --drafts and --no-directory-urls as for `kb generate`.
    """
    root = require_root(root)
    if not site_dir.is_dir():
        raise UsageError(f"{site_dir}: no such folder (build the site first)")
    check_output(site_dir, root, "SITE_DIR", docs_dir=docs_dir_of(root))  # it writes into the site
    if find_executable() is None:
        raise UsageError(f"kb index needs the Pagefind binary, which the core install leaves out: {INSTALL_HINT}")
    handler = logging.StreamHandler(sys.stderr)  # the search step's summary and warnings (indexing/search_index.py)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger = logging.getLogger("mkdocs.plugins.incidentkb")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        result = index_site(site_dir, root, directory_urls=not no_directory_urls,
                            audience=audience or DEFAULT_AUDIENCE, drafts=drafts, archive=not no_archive)
    finally:
        logger.removeHandler(handler)
    click.echo(f"{site_dir}: {result.pages} pages read, {result.indexed} indexed for search ({result.left_out} lists "
               f"left out), {result.files_written} Find-similar and asset files written"
               + (f", offline archive {result.archive}" if result.archive else ""), err=True)
    if result.records_missing:
        shown = ", ".join(result.records_missing[:5]) + (" ..." if len(result.records_missing) > 5 else "")
        click.echo(f"kb index: {len(result.records_missing)} record page(s) are not in the site and cannot be found "
                   f"by search: {shown}", err=True)
        sys.exit(EXIT_PROBLEMS)


COMMANDS = (build, serve, generate, index)
