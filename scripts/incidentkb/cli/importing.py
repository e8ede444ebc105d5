"""`kb import`: post-mortem documents, incident tools' exports and alert runbooks into records. Never overwrites."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from incidentkb.authoring.fieldmap import MappingError, load_mapping
from incidentkb.authoring.import_model import Options, Target
from incidentkb.authoring.importers import import_postmortems, import_runbooks
from incidentkb.authoring.importreport import mapped_summary, outcome_lines, totals_line
from incidentkb.authoring.tabular import PRESETS, import_incidents
from incidentkb.checks.consistency import slugify
from incidentkb.cli.common import parse_day
from incidentkb.core.errors import EXIT_PROBLEMS, UsageError
from incidentkb.core.progress import terminal_progress


@click.group("import")
def import_():
    """Import an existing archive: post-mortem documents, incident tools' exports, alert runbooks (never overwrites)."""


def _import_report(reports, into: Path) -> None:
    """The runbook importer's report."""
    for line in outcome_lines(reports):
        click.echo(line)
    click.echo(totals_line(reports, into, False, 0), err=True)
    if any(r.failed for r in reports):
        sys.exit(EXIT_PROBLEMS)


def _import_result(result, into: Path, dry_run: bool) -> None:
    for line in outcome_lines(result.outcomes, dry_run):
        click.echo(line)
    if result.added_services:
        click.echo(("would add" if dry_run else "added") + f" {len(result.added_services)} service(s) to catalog.yml "
                   "(owner, tier and escalation are placeholders to correct):")
        click.echo(result.catalog_text.rstrip("\n"))
    for line in mapped_summary(result.outcomes):
        click.echo(line, err=True)
    click.echo(totals_line(result.outcomes, into, dry_run, result.warnings), err=True)
    if any(o.failed for o in result.outcomes):
        sys.exit(EXIT_PROBLEMS)


def _import_paths(src: Path, into: Path) -> tuple[Path, Path]:
    if not src.exists():
        raise UsageError(f"{src}: no such file or folder")
    if into.exists() and not into.is_dir():
        raise UsageError(f"--into {into}: not a folder")
    return src, into


def _import_options(into: Path, severity, add_services, update, dry_run) -> Options:
    """The shared options of the importers, checked against the knowledge base's policy."""
    target = Target.read(into)
    if target.problems:
        first = target.problems[0]
        raise UsageError(f"{first.path}:{first.line}: {first.message}; fix it first (kb check --root {into})")
    if severity is not None and severity not in target.policy.severity_ids:
        raise UsageError(f"--severity {severity!r}: expected one of {', '.join(target.policy.severity_ids)} "
                         "(the policy's severities)")
    return Options(severity=severity, add_services=add_services, update=update, dry_run=dry_run,
                   progress=terminal_progress())


def _load_map(map_file: Path | None):
    if map_file is None:
        return None
    try:
        return load_mapping(map_file)
    except MappingError as error:
        raise UsageError(f"--map {error}") from None


def import_safety_options(func):
    for option in reversed((
        click.option("--into", type=click.Path(path_type=Path), required=True,
                     help="Knowledge-base folder to import into (its policy.yml and catalog.yml are used)."),
        click.option("--map", "map_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Mapping file: which of their fields fill ours, and their severity and service names."),
        click.option("--severity", help="Severity for records that state none (default: the policy's least severe)."),
        click.option("--add-services", is_flag=True, help="Add services the catalog does not know to catalog.yml."),
        click.option("--dry-run", is_flag=True, help="Print what would be written, and write nothing."),
    )):
        func = option(func)
    return func


@import_.command("postmortems")
@click.argument("src", type=click.Path(path_type=Path))
@import_safety_options
@click.option("--service", help="Service for post-mortems that name none (default: the placeholder 'imported').")
@click.option("--undated", metavar="YYYY-MM-DD",
              help="Day to record for documents that state no date at all (they are tagged date-unknown).")
def import_postmortems_command(src, into, map_file, severity, add_services, dry_run, service, undated):
    """Turn post-mortems (Markdown, HTML from Confluence or Google Docs, Word .docx) into incident records.

    Maps front matter (title, start and end, summary, categories and keywords, product or
    company), the title, Summary, Timeline (a table, or times stated in the text), Root cause,
    Contributing factors, Impact and "Time to detection/recovery"; keeps the text as the body,
    and lists per file what it could not map. Every record is checked like `kb check` before
    anything is written; a file that would fail is reported, not written. Never overwrites.
    """
    src, into = _import_paths(src, into)
    if service is not None and slugify(service) != service:
        raise UsageError(f"--service {service!r}: expected lower-case words joined by hyphens, e.g. "
                         f"{slugify(service) or 'checkout'}")
    options = _import_options(into, severity, add_services, False, dry_run)
    result = import_postmortems(src, into, mapping=_load_map(map_file), options=options, service=service,
                                undated=parse_day(undated, "--undated"))
    _import_result(result, into, dry_run)


@import_.command("incidents")
@click.argument("export", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--preset", type=click.Choice(["pagerduty", "opsgenie", "incidentio", "jira", "servicenow"]),
              help="The tool the export comes from: its documented columns and API fields are mapped.")
@import_safety_options
@click.option("--update", is_flag=True, help="Refresh records imported before from this tool with the export's facts "
              "(never the body, never facts people have edited since).")
def import_incidents_command(export, preset, into, map_file, severity, add_services, dry_run, update):
    """Turn an incident tool's export (CSV or JSON) into incident records, one per incident.

    Give --preset for PagerDuty, Opsgenie, incident.io, Jira or ServiceNow, or --map for any
    other tool (a --map with a preset overrides its entries). Severities map through the
    policy file, services through the catalog; each record keeps its source (tool and id), so
    importing the same export again duplicates nothing.
    """
    export, into = _import_paths(export, into)
    mapping = _load_map(map_file)
    if preset is None and mapping is None:
        raise UsageError("give --preset (pagerduty, opsgenie, incidentio, jira, servicenow) or --map FILE")
    if preset is not None:
        mapping = PRESETS[preset].merged(mapping) if mapping else PRESETS[preset]
    options = _import_options(into, severity, add_services, update, dry_run)
    result = import_incidents(export, into, tool=preset or mapping.tool, mapping=mapping, options=options)
    _import_result(result, into, dry_run)


@import_.command("runbooks")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--into", type=click.Path(path_type=Path), required=True, help="Knowledge-base folder to write runbooks/ into.")
@click.option("--owner", default="imported", show_default=True, help="Owner team of the imported runbooks.")
@click.option("--reviewed", metavar="YYYY-MM-DD", help="last_reviewed of the imported runbooks (default: today).")
def import_runbooks_command(src, into, owner, reviewed):
    """Turn alert runbooks (one Markdown file per alert, a folder per component) into runbook records.

    The alert name comes from the file name, the component (the folder) becomes
    the service, Meaning becomes Symptoms; Impact, Diagnosis and Mitigation are
    kept. Never overwrites an existing record.
    """
    src, into = _import_paths(src, into)
    _import_report(import_runbooks(src, into, owner=owner, reviewed=parse_day(reviewed, "--reviewed") or date.today()),
                   into)


COMMANDS = (import_,)
