"""`kb report`, `kb export` and `kb drill`: figures for management, data for spreadsheets, exercises for teams."""

from __future__ import annotations

from pathlib import Path

import click

from incidentkb.analysis.export import export_files, report_text, write_export
from incidentkb.analysis.report import build_report
from incidentkb.cli.common import audience_option, echo_json, parse_day, parse_today, require_root, root_option
from incidentkb.core.errors import UsageError
from incidentkb.core.progress import terminal_progress
from incidentkb.core.safe_write import write_new_file
from incidentkb.publish.engine import docs_dir_of, mkdocs_settings
from incidentkb.records.audience import DEFAULT_AUDIENCE, for_audience
from incidentkb.records.load import load
from incidentkb.records.outputs import check_output
from incidentkb.site.sections.drills import drill_markdown


def _report_for(root: Path, since: str | None, until: str | None, today: str | None, audience: str | None):
    """Load, keep what the audience may see, and compute the report; load errors are announced on stderr."""
    root = require_root(root)
    first, last, day = parse_day(since, "--since"), parse_day(until, "--until"), parse_today(today)
    if first and last and first > last:
        raise UsageError(f"--since {first} is after --until {last}")
    kb, findings = load(root, progress=terminal_progress())
    errors = sum(1 for f in findings if f.is_error)
    if errors:
        click.echo(f"kb: warning: {errors} error(s) while loading; records that could not be read are left out "
                   "of these figures (run `kb check`).", err=True)
    kb, _ = for_audience(kb, audience or DEFAULT_AUDIENCE)
    return kb, build_report(kb, day, first, last)


def report_options(func):
    for option in reversed((
        root_option,
        click.option("--since", metavar="YYYY-MM-DD", help="Only incidents started on or after this day."),
        click.option("--until", metavar="YYYY-MM-DD", help="Only incidents started on or before this day; "
                     "the quarter holding it is the one reviewed."),
        click.option("--today", metavar="YYYY-MM-DD", help="Date to judge overdue items and ages against "
                     "(default: today)."),
        audience_option,
    )):
        func = option(func)
    return func


@click.command()
@report_options
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON document instead of tables.")
def report(root, since, until, today, audience, as_json):
    """Print the management report: response times, volume, recurring causes, follow-up work, runbooks.

    The same figures as the reports pages of the site. Days are compared with each
    incident's started_at as written (its own UTC offset). Exit code 0, or 2 on a
    usage error.
    """
    kb, figures = _report_for(root, since, until, today, audience)
    if as_json:
        echo_json(figures.as_dict())
    else:
        click.echo(report_text(kb, figures), nl=False)


@click.command()
@report_options
@click.option("--format", "output_format", type=click.Choice(["csv", "json"]), default="csv", show_default=True,
              help="csv: incidents.csv, action_items.csv, metrics.csv; json: one export.json.")
@click.option("--out", metavar="DIR", help="Folder to write into (default: kb-export-<today>); with --format json, "
              "`-` prints to standard output.")
def export(root, since, until, today, audience, output_format, out):
    """Export all incidents, action items and report figures for spreadsheets and BI tools.

    Never overwrites: when a file of the export already exists, nothing is written
    and the exit code is 2. CSV text cells that a spreadsheet would read as a
    formula (= + - @) start with an apostrophe.
    """
    kb, figures = _report_for(root, since, until, today, audience)
    files = export_files(kb, figures, output_format)
    if out == "-":
        if output_format != "json":
            raise UsageError("--out -: standard output takes one document; use it with --format json")
        click.echo(next(iter(files.values())), nl=False)
        return
    folder = Path(out or f"kb-export-{figures.today.isoformat()}")
    check_output(folder, root, "--out", docs_dir=docs_dir_of(root))
    for path in write_export(folder, files):
        click.echo(str(path))


@click.command()
@root_option
@click.argument("incident_id", metavar="ID")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the drill to this file instead of printing it (never overwrites).")
@click.option("--site-url", metavar="URL", help="Link records on this published site (default: site_url in mkdocs.yml; "
              "without one, links name the records' files).")
@click.option("--allow-restricted", is_flag=True, help="Also make a drill from a restricted incident, for a closed "
              "session (restricted drills are never published on the site).")
def drill(root, incident_id, out, site_url, allow_restricted):
    """Turn a past incident into a tabletop exercise a facilitator can run (Markdown).

    The scenario shows what the responders first saw, with no spoilers; the
    timeline is then revealed step by step, each step with a question; the
    debrief questions come from the post-mortem. Works for thin records too.
    Exit code 2 for an unknown or restricted incident, or when --out exists.
    """
    root = require_root(root)
    kb, _ = load(root)
    if site_url is None:
        site_url = str(mkdocs_settings(root).get("site_url") or "")
    text = drill_markdown(kb, incident_id, allow_restricted=allow_restricted, site_url=site_url or "")
    if out is None:
        click.echo(text, nl=False)
        return
    check_output(out, root, "--out", docs_dir=docs_dir_of(root), is_file=True)
    try:
        write_new_file(out, text)
    except FileExistsError:
        raise UsageError(f"{out} already exists; nothing was written") from None
    click.echo(str(out), err=True)


COMMANDS = (report, export, drill)
