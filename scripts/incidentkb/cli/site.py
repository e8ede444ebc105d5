"""`kb build`, `kb serve` and `kb generate`: the site, built, previewed, or written out as Markdown."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from incidentkb.cli.common import audience_option, parse_today, require_root, root_option, run_checks
from incidentkb.core.errors import EXIT_PROBLEMS, UsageError
from incidentkb.indexing.offline import serve_archive
from incidentkb.publish.engine import build as build_site_dir
from incidentkb.publish.engine import serve as serve_site
from incidentkb.publish.tree import generate as generate_tree
from incidentkb.records.audience import DEFAULT_AUDIENCE


@click.command()
@root_option
@click.option("--site-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to put the site (default: site/ in the knowledge base).")
@click.option("--today", metavar="YYYY-MM-DD", help="Date to judge deadlines and overdue items against.")
@audience_option
@click.option("--drafts", is_flag=True, help="Also publish incidents whose post-mortem is still a draft.")
def build(root, site_dir, today, audience, drafts):
    """Check everything, then build the site strictly (warnings fail it).

    The site is built in a temporary folder and replaces the previous one only
    when the build succeeded: a failed build leaves the last good site in place.
    Works without mkdocs.yml, with a default configuration.
    """
    root = require_root(root)
    day = parse_today(today)
    if not run_checks(root, day):
        click.echo("Not built: fix the errors above first.", err=True)
        sys.exit(EXIT_PROBLEMS)
    target = build_site_dir(root, site_dir, strict=True, today=day if today else None, audience=audience,
                            drafts=drafts)
    click.echo(f"Site built in {target}", err=True)


@click.command()
@root_option
@click.option("--dev-addr", metavar="HOST:PORT", help="Address to serve on (default: 127.0.0.1:8000).")
@click.option("--offline", "archive", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Serve a built site archive (site.zip) instead, e.g. on a laptop without network.")
@audience_option
def serve(root, dev_addr, archive, audience):
    """Preview the site with live reload (records, catalog and policy are watched too)."""
    if archive is None:
        sys.exit(serve_site(require_root(root), dev_addr, audience))
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


COMMANDS = (build, serve, generate)
