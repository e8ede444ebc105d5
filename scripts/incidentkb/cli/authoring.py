"""Commands that write into a knowledge base: `kb new`, `kb init` and `kb sync` (`kb import`: importing.py). None overwrites."""

from __future__ import annotations

import sys
from datetime import date, datetime, timezone
from pathlib import Path

import click

from incidentkb.authoring.contrib import init_knowledge_base
from incidentkb.authoring.contrib import sync as sync_files
from incidentkb.authoring.new import incident_path, next_incident_id, render_incident, render_runbook, runbook_path
from incidentkb.checks.consistency import slugify
from incidentkb.cli.common import ask_missing, require_root, root_option
from incidentkb.core.errors import EXIT_PROBLEMS, UsageError
from incidentkb.core.safe_write import write_new_file
from incidentkb.records.load import Layout, load, load_catalog, load_policy
from incidentkb.records.schema import did_you_mean


@click.group()
def new():
    """Create a new incident or runbook from a complete template (never overwrites)."""


def _split_list(values) -> list[str]:
    out = []
    for value in values or ():
        out += [part.strip() for part in value.split(",") if part.strip()]
    return out


def _write(root: Path, rel: str, text: str) -> None:
    try:
        write_new_file(root / rel, text)
    except FileExistsError:
        raise UsageError(f"{rel} already exists; nothing was written") from None
    click.echo(rel)


def _check_services(services: list[str], known: set[str]) -> None:
    for service in services:
        if known and service not in known:
            suggestion = did_you_mean(service, sorted(known))
            raise UsageError(f"unknown service {service!r}" + (f"; did you mean {suggestion!r}?" if suggestion else "")
                             + " (services are listed in catalog.yml)")


@new.command("incident")
@root_option
@click.option("--title", help="Short headline.")
@click.option("--severity", help="Severity level from the policy, e.g. SEV2.")
@click.option("--service", "services", multiple=True, help="Affected service id (repeat, or comma-separate).")
@click.option("--started-at", help="When impact began, ISO 8601 with offset (default: now).")
@click.option("--summary", default="TODO: one paragraph: what happened, the impact, and what fixed it.",
              help="One-paragraph summary.")
@click.option("--commander", default="", help="Incident commander.")
@click.option("--id", "incident_id", help="Use this id instead of the next free one.")
def new_incident(root, title, severity, services, started_at, summary, commander, incident_id):
    """Write incidents/<year>/<id>-<slug>.md with the next free id and print its path."""
    root = require_root(root)
    layout = Layout()
    policy, _ = load_policy(root, layout)
    _, catalog_services, vendors, _ = load_catalog(root, layout, policy)
    known = {s.id for s in catalog_services + vendors}
    values = ask_missing(
        {"title": title, "severity": severity, "service": ",".join(services)},
        {
            "title": ("Title", None, str),
            "severity": ("Severity", policy.severity_ids[min(2, len(policy.severity_ids) - 1)],
                         click.Choice(policy.severity_ids)),
            "service": ("Services (comma-separated)", None, str),
        },
    )
    if values["severity"] not in policy.severity_ids:
        raise UsageError(f"--severity {values['severity']!r}: expected one of {', '.join(policy.severity_ids)}")
    service_list = _split_list([values["service"]])
    _check_services(service_list, known)
    start = datetime.now(timezone.utc).astimezone().replace(second=0, microsecond=0)
    if started_at:
        try:
            start = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--started-at {started_at!r}: expected ISO 8601 such as 2025-03-14T09:12+01:00") from None
        if start.tzinfo is None:
            raise UsageError(f"--started-at {started_at!r}: add the UTC offset, e.g. {started_at}+01:00")
    incident_id = incident_id or next_incident_id(root, layout, start.year)
    text = render_incident(incident_id=incident_id, title=values["title"], severity=values["severity"],
                           services=service_list, started_at=start, summary=summary, commander=commander, policy=policy)
    _write(root, incident_path(layout, incident_id, values["title"]), text)


@new.command("runbook")
@root_option
@click.option("--title", help="What it helps with.")
@click.option("--service", "services", multiple=True, help="Service id (repeat, or comma-separate).")
@click.option("--alert", "alerts", multiple=True, help="Alert name it answers (repeat, or comma-separate).")
@click.option("--owner", help="Owning team id.")
@click.option("--id", "runbook_id", help="Runbook id (default: from the title).")
def new_runbook(root, title, services, alerts, owner, runbook_id):
    """Write runbooks/<service>/<id>.md and print its path."""
    root = require_root(root)
    layout = Layout()
    policy, _ = load_policy(root, layout)
    _, catalog_services, vendors, _ = load_catalog(root, layout, policy)
    values = ask_missing(
        {"title": title, "service": ",".join(services), "owner": owner},
        {"title": ("Title", None, str), "service": ("Services (comma-separated)", None, str), "owner": ("Owner team", None, str)},
    )
    service_list = _split_list([values["service"]])
    _check_services(service_list, {s.id for s in catalog_services + vendors})
    runbook_id = runbook_id or slugify(values["title"])
    if not runbook_id:
        raise UsageError("--id: the title has no letters to make an id from; pass --id")
    text = render_runbook(runbook_id=runbook_id, title=values["title"], services=service_list,
                          alerts=_split_list(alerts), owner=values["owner"], today=date.today(), policy=policy)
    _write(root, runbook_path(layout, runbook_id, service_list[0]), text)


@click.command()
@root_option
@click.option("--check", "check_only", is_flag=True, help="Only report stale files (exit 1), for CI.")
def sync(root, check_only):
    """Regenerate the files derived from the policy and catalog: the pull-request template with the
    post-mortem review checklist, CODEOWNERS routing records to the teams that own their services, and the
    JSON Schemas in .schemas/ that editors validate catalog.yml and policy.yml with."""
    root = require_root(root)
    kb, _ = load(root)
    stale = sync_files(root, kb, check_only)
    for rel in stale:
        click.echo(("stale: " if check_only else "wrote ") + rel)
    if check_only and stale:
        click.echo("Run `kb sync` and commit the result.", err=True)
        sys.exit(EXIT_PROBLEMS)


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default="Our", show_default=True, help="Organisation name for the site title.")
def init(directory, name):
    """Create a new knowledge base in DIRECTORY: configuration, a starter policy and catalog, one example of each
    record type, CI and pre-commit files. It checks and builds at once (`kb check --root DIRECTORY`)."""
    for rel in init_knowledge_base(directory, name):
        click.echo(f"{directory}/{rel}")
    click.echo(f"Next: cd {directory} && kb check && kb serve", err=True)


COMMANDS = (new, init, sync)
