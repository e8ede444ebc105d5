"""The `kb` command: argument handling and exit codes over the library.

Exit codes: 0 clean, 1 problems found, 2 usage or configuration error.
No traceback reaches a user: unexpected errors print one line and a way to get
the details (KB_DEBUG=1).
"""

from __future__ import annotations

import os
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import click

from . import __version__
from .check import check_knowledge_base
from .findings import FORMATTERS, sort_findings, summary_line
from .load import Layout, load, load_catalog, load_policy

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class UsageProblem(click.UsageError):
    """A bad command line or configuration: exit code 2 with a message and no traceback."""


def root_option(func):
    return click.option(
        "--root", type=click.Path(file_okay=False, path_type=Path), default=".", show_default=True,
        help="Knowledge-base folder (holding incidents/, runbooks/, catalog.yml, policy.yml).",
    )(func)


def _require_root(root: Path) -> Path:
    if not root.is_dir():
        raise UsageProblem(f"--root {root}: no such folder")
    return root


def parse_today(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a date YYYY-MM-DD, got {value!r}", param_hint="--today") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="kb")
def cli():
    """incidentkb: incident records and runbooks in git, checked like code, published as a site."""


@cli.command()
@root_option
@click.option("--format", "output_format", type=click.Choice(sorted(FORMATTERS)), default="text", show_default=True,
              help="text for people, json for tools, github for workflow annotations.")
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option("--today", metavar="YYYY-MM-DD", help="Date to judge deadlines against (default: today).")
def check(root: Path, output_format: str, strict: bool, today: str | None):
    """Check every record, the catalog and the policy file.

    Prints one line per problem (path:line:column: level code: message) and a
    hint on how to fix it. Exit code 0 when clean, 1 when problems were found
    (errors, or warnings with --strict), 2 on a usage error.
    """
    root = _require_root(root)
    day = parse_today(today)
    kb, findings = load(root)
    findings = sort_findings(findings + check_knowledge_base(kb, today=day))
    if findings or output_format == "json":
        click.echo(FORMATTERS[output_format](findings))
    if output_format == "text":
        click.echo(summary_line(findings, kb.files_read), err=True)
    failed = any(f.is_error for f in findings) or (strict and findings)
    sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)


@cli.group()
def new():
    """Create a new incident or runbook from a complete template (never overwrites)."""


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _ask_missing(values: dict, prompts: dict) -> dict:
    """Prompt for missing values on a terminal; elsewhere, name the missing flags and stop."""
    missing = [name for name in prompts if not values.get(name)]
    if missing and not _interactive():
        flags = ", ".join("--" + name.replace("_", "-") for name in missing)
        raise UsageProblem(f"missing {flags} (no terminal to ask on)")
    for name in missing:
        text, default, kind = prompts[name]
        values[name] = click.prompt(text, default=default, type=kind)
    return values


def _split_list(values) -> list[str]:
    out = []
    for value in values or ():
        out += [part.strip() for part in value.split(",") if part.strip()]
    return out


def _write(root: Path, rel: str, text: str) -> None:
    from .safe_write import write_new_file

    try:
        write_new_file(root / rel, text)
    except FileExistsError:
        raise UsageProblem(f"{rel} already exists; nothing was written") from None
    click.echo(rel)


def _check_services(services: list[str], known: set[str]) -> None:
    from .schema import did_you_mean

    for service in services:
        if known and service not in known:
            suggestion = did_you_mean(service, sorted(known))
            raise UsageProblem(f"unknown service {service!r}" + (f"; did you mean {suggestion!r}?" if suggestion else "")
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
    from .new import incident_path, next_incident_id, render_incident

    root = _require_root(root)
    layout = Layout()
    policy, _ = load_policy(root, layout)
    _, catalog_services, vendors, _ = load_catalog(root, layout, policy)
    known = {s.id for s in catalog_services + vendors}
    values = _ask_missing(
        {"title": title, "severity": severity, "service": ",".join(services)},
        {
            "title": ("Title", None, str),
            "severity": ("Severity", policy.severity_ids[min(2, len(policy.severity_ids) - 1)],
                         click.Choice(policy.severity_ids)),
            "service": ("Services (comma-separated)", None, str),
        },
    )
    if values["severity"] not in policy.severity_ids:
        raise UsageProblem(f"--severity {values['severity']!r}: expected one of {', '.join(policy.severity_ids)}")
    service_list = _split_list([values["service"]])
    _check_services(service_list, known)
    start = datetime.now(timezone.utc).astimezone().replace(second=0, microsecond=0)
    if started_at:
        try:
            start = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
        except ValueError:
            raise UsageProblem(f"--started-at {started_at!r}: expected ISO 8601 such as 2025-03-14T09:12+01:00") from None
        if start.tzinfo is None:
            raise UsageProblem(f"--started-at {started_at!r}: add the UTC offset, e.g. {started_at}+01:00")
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
    from .check import slugify
    from .new import render_runbook, runbook_path

    root = _require_root(root)
    layout = Layout()
    policy, _ = load_policy(root, layout)
    _, catalog_services, vendors, _ = load_catalog(root, layout, policy)
    values = _ask_missing(
        {"title": title, "service": ",".join(services), "owner": owner},
        {"title": ("Title", None, str), "service": ("Services (comma-separated)", None, str), "owner": ("Owner team", None, str)},
    )
    service_list = _split_list([values["service"]])
    _check_services(service_list, {s.id for s in catalog_services + vendors})
    runbook_id = runbook_id or slugify(values["title"])
    if not runbook_id:
        raise UsageProblem("--id: the title has no letters to make an id from; pass --id")
    text = render_runbook(runbook_id=runbook_id, title=values["title"], services=service_list,
                          alerts=_split_list(alerts), owner=values["owner"], today=date.today(), policy=policy)
    _write(root, runbook_path(layout, runbook_id, service_list[0]), text)


@cli.command()
@root_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write <kind>.schema.json files here.")
@click.option("--docs", is_flag=True, help="Print the field reference as Markdown instead.")
def schema(root, out, docs):
    """Print or write the JSON Schema of each record type (for yaml-language-server), or the field reference."""
    import json

    from .fieldref import json_schemas, render_field_reference

    root = _require_root(root)
    policy, findings = load_policy(root, Layout())
    if docs:
        click.echo(render_field_reference(policy), nl=False)
        return
    schemas = json_schemas(policy)
    if out is None:
        click.echo(json.dumps(schemas, indent=2, ensure_ascii=False))
        return
    out.mkdir(parents=True, exist_ok=True)
    for kind, body in schemas.items():
        (out / f"{kind}.schema.json").write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        click.echo(f"{out}/{kind}.schema.json")


def _run_checks(root: Path, today: date) -> bool:
    """`kb check` before a build: print the findings; True when there are no errors."""
    kb, findings = load(root)
    findings = sort_findings(findings + check_knowledge_base(kb, today=today))
    if findings:
        click.echo(FORMATTERS["text"](findings), err=True)
    click.echo(summary_line(findings, kb.files_read), err=True)
    return not any(f.is_error for f in findings)


@cli.command()
@root_option
@click.option("--site-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to put the site (default: site/ in the knowledge base).")
@click.option("--today", metavar="YYYY-MM-DD", help="Date to judge deadlines and overdue items against.")
def build(root, site_dir, today):
    """Check everything, then build the site strictly (warnings fail it).

    The site is built in a temporary folder and replaces the previous one only
    when the build succeeded: a failed build leaves the last good site in place.
    Works without mkdocs.yml, with a default configuration.
    """
    from .publish import PublishError
    from .publish import build as build_site_dir

    root = _require_root(root)
    day = parse_today(today)
    if not _run_checks(root, day):
        click.echo("Not built: fix the errors above first.", err=True)
        sys.exit(EXIT_PROBLEMS)
    try:
        target = build_site_dir(root, site_dir, strict=True, today=day if today else None)
    except PublishError as error:
        click.echo(f"kb build: {error}", err=True)
        sys.exit(EXIT_PROBLEMS)
    click.echo(f"Site built in {target}", err=True)


@cli.command()
@root_option
@click.option("--dev-addr", metavar="HOST:PORT", help="Address to serve on (default: 127.0.0.1:8000).")
@click.option("--offline", "archive", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Serve a built site archive (site.zip) instead, e.g. on a laptop without network.")
def serve(root, dev_addr, archive):
    """Preview the site with live reload (records, catalog and policy are watched too)."""
    from .publish import serve as serve_site

    if archive is not None:
        from .offline import serve_archive

        host, _, port = (dev_addr or "127.0.0.1:8000").rpartition(":")
        if not port.isdigit():
            raise UsageProblem(f"--dev-addr {dev_addr!r}: expected HOST:PORT such as 127.0.0.1:8000")
        serve_archive(archive, host or "127.0.0.1", int(port))
        return
    sys.exit(serve_site(_require_root(root), dev_addr))


@cli.command()
@root_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the Markdown tree into (empty, or made by an earlier generate).")
@click.option("--today", metavar="YYYY-MM-DD", help="Date to judge deadlines and overdue items against.")
@click.option("--no-directory-urls", is_flag=True, help="Links for builders run with use_directory_urls: false.")
def generate(root, out, today, no_directory_urls):
    """Write every page (hand-written and generated) as plain Markdown, for builders without our plugin."""
    from .publish import PublishError
    from .publish import generate as generate_tree

    root = _require_root(root)
    try:
        count = generate_tree(root, out, parse_today(today), directory_urls=not no_directory_urls)
    except PublishError as error:
        raise UsageProblem(str(error)) from None
    click.echo(f"{count} files written to {out}", err=True)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="kb", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_USAGE)
    except click.UsageError as error:
        error.show()
        sys.exit(EXIT_USAGE)
    except click.ClickException as error:
        error.show()
        sys.exit(EXIT_USAGE)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as error:  # the last line of defence: never a traceback for a user
        if os.environ.get("KB_DEBUG"):
            raise
        click.echo(f"kb: internal error: {type(error).__name__}: {error}", err=True)
        click.echo("Run again with KB_DEBUG=1 for the details, and please report it.", err=True)
        sys.exit(3)
    sys.exit(EXIT_OK)
