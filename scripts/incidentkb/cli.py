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
from .audience import AUDIENCES, DEFAULT_AUDIENCE
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


def audience_option(func):
    return click.option(
        "--audience", type=click.Choice(AUDIENCES),
        help="Who the site is for: records above it (visibility) are left out entirely. Default: internal, "
             "or the plugin's `audience` in mkdocs.yml.",
    )(func)


def _require_root(root: Path) -> Path:
    if not root.is_dir():
        raise UsageProblem(f"--root {root}: no such folder")
    return root


def parse_today(value: str | None) -> date:
    return _parse_day(value, "--today") or date.today()


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
@click.option("--changed", is_flag=True,
              help="Check only files changed since --base (or uncommitted changes), and the records referring to them.")
@click.option("--base", metavar="REF",
              help="The branch or commit changes are compared with: for --changed, and for the duplicate warning "
                   "about new or changed incidents (default: not yet committed changes).")
def check(root: Path, output_format: str, strict: bool, today: str | None, changed: bool, base: str | None):
    """Check every record, the catalog and the policy file.

    Prints one line per problem (path:line:column: level code: message) and a
    hint on how to fix it. Exit code 0 when clean, 1 when problems were found
    (errors, or warnings with --strict), 2 on a usage error.
    """
    root = _require_root(root)
    day = parse_today(today)
    if changed:
        from .changed import ChangedError, changed_paths, check_changed

        try:
            result = check_changed(root, changed_paths(root, base), today=day)
        except ChangedError as error:
            raise UsageProblem(str(error)) from None
        findings, files_checked = sort_findings(result.findings), result.files_checked
    else:
        kb, findings = load(root)
        findings += check_knowledge_base(kb, today=day)
        findings = sort_findings(findings + _duplicate_warnings(root, kb, base))
        files_checked = kb.files_read
    if findings or output_format == "json":
        click.echo(FORMATTERS[output_format](findings))
    if output_format == "text":
        click.echo(summary_line(findings, files_checked), err=True)
    failed = any(f.is_error for f in findings) or (strict and findings)
    sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)


def _duplicate_warnings(root: Path, kb, base: str | None) -> list:
    """Possible duplicates among the incidents that are new or changed (per git: since --base, or not yet
    committed). Comparing needs the similar-incident index of the whole archive, so it is built only then."""
    from .changed import ChangedError, changed_paths
    from .check import check_duplicates

    try:
        paths = set(changed_paths(root, base))
    except ChangedError:
        if base:
            raise UsageProblem(f"--base {base}: this is not a git repository, or git does not know {base}") from None
        return []  # not a git repository: nothing is "new", so nothing to compare
    ids = [incident.id for incident in kb.incidents if incident.path in paths]
    if not ids:
        return []
    from .similar import SimilarityIndex

    return check_duplicates(kb, SimilarityIndex.build(kb), ids)


@cli.group()
def new():
    """Create a new incident or runbook from a complete template (never overwrites)."""


def _echo_json(value) -> None:
    """Machine-readable output of the --json options: indented, non-ASCII kept as it is."""
    import json

    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


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
        _echo_json(schemas)
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
@audience_option
@click.option("--drafts", is_flag=True, help="Also publish incidents whose post-mortem is still a draft.")
def build(root, site_dir, today, audience, drafts):
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
        target = build_site_dir(root, site_dir, strict=True, today=day if today else None, audience=audience,
                                drafts=drafts)
    except PublishError as error:
        click.echo(f"kb build: {error}", err=True)
        sys.exit(EXIT_PROBLEMS)
    click.echo(f"Site built in {target}", err=True)


@cli.command()
@root_option
@click.option("--dev-addr", metavar="HOST:PORT", help="Address to serve on (default: 127.0.0.1:8000).")
@click.option("--offline", "archive", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Serve a built site archive (site.zip) instead, e.g. on a laptop without network.")
@audience_option
def serve(root, dev_addr, archive, audience):
    """Preview the site with live reload (records, catalog and policy are watched too)."""
    from .publish import serve as serve_site

    if archive is not None:
        from .offline import serve_archive

        host, _, port = (dev_addr or "127.0.0.1:8000").rpartition(":")
        if not port.isdigit():
            raise UsageProblem(f"--dev-addr {dev_addr!r}: expected HOST:PORT such as 127.0.0.1:8000")
        try:
            serve_archive(archive, host or "127.0.0.1", int(port),
                          on_ready=lambda url: click.echo(f"Serving {archive} at {url} (Ctrl-C stops)", err=True))
        except ValueError as error:
            raise UsageProblem(f"--offline {archive}: {error}") from None
        except OSError as error:
            raise UsageProblem(f"cannot serve on {host or '127.0.0.1'}:{port}: {error.strerror or error}") from None
        return
    sys.exit(serve_site(_require_root(root), dev_addr, audience))


@cli.command()
@root_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the Markdown tree into (empty, or made by an earlier generate).")
@click.option("--today", metavar="YYYY-MM-DD", help="Date to judge deadlines and overdue items against.")
@click.option("--no-directory-urls", is_flag=True, help="Links for builders run with use_directory_urls: false.")
@audience_option
@click.option("--drafts", is_flag=True, help="Also write incidents whose post-mortem is still a draft.")
def generate(root, out, today, no_directory_urls, audience, drafts):
    """Write every page (hand-written and generated) as plain Markdown, for builders without our plugin."""
    from .publish import PublishError
    from .publish import generate as generate_tree

    root = _require_root(root)
    try:
        count = generate_tree(root, out, parse_today(today), directory_urls=not no_directory_urls,
                              audience=audience or DEFAULT_AUDIENCE, drafts=drafts)
    except PublishError as error:
        if getattr(error, "findings", None):  # records to fix, not a usage problem
            click.echo(f"kb generate: {error}", err=True)
            sys.exit(EXIT_PROBLEMS)
        raise UsageProblem(str(error)) from None
    click.echo(f"{count} files written to {out}", err=True)


@cli.command()
@root_option
@click.option("--check", "check_only", is_flag=True, help="Only report stale files (exit 1), for CI.")
def sync(root, check_only):
    """Regenerate the files derived from the policy and catalog: the pull-request template with the
    post-mortem review checklist, and CODEOWNERS routing records to the teams that own their services."""
    from .contrib import ContribError
    from .contrib import sync as sync_files

    root = _require_root(root)
    kb, _ = load(root)
    try:
        stale = sync_files(root, kb, check_only)
    except ContribError as error:
        raise UsageProblem(str(error)) from None
    for rel in stale:
        click.echo(("stale: " if check_only else "wrote ") + rel)
    if check_only and stale:
        click.echo("Run `kb sync` and commit the result.", err=True)
        sys.exit(EXIT_PROBLEMS)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default="Our", show_default=True, help="Organisation name for the site title.")
def init(directory, name):
    """Create a new knowledge base in DIRECTORY: configuration, a starter policy and catalog, one example of each
    record type, CI and pre-commit files. It checks and builds at once (`kb check --root DIRECTORY`)."""
    from .contrib import ContribError, init_knowledge_base

    try:
        written = init_knowledge_base(directory, name)
    except ContribError as error:
        raise UsageProblem(str(error)) from None
    for rel in written:
        click.echo(f"{directory}/{rel}")
    click.echo(f"Next: cd {directory} && kb check && kb serve", err=True)


def _parse_day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a date YYYY-MM-DD, got {value!r}", param_hint=flag) from None


def _report_for(root: Path, since: str | None, until: str | None, today: str | None, audience: str | None):
    """Load, keep what the audience may see, and compute the report; load errors are announced on stderr."""
    from .audience import for_audience
    from .report import build_report

    root = _require_root(root)
    first, last, day = _parse_day(since, "--since"), _parse_day(until, "--until"), parse_today(today)
    if first and last and first > last:
        raise UsageProblem(f"--since {first} is after --until {last}")
    kb, findings = load(root)
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


@cli.command()
@report_options
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON document instead of tables.")
def report(root, since, until, today, audience, as_json):
    """Print the management report: response times, volume, recurring causes, follow-up work, runbooks.

    The same figures as the reports pages of the site. Days are compared with each
    incident's started_at as written (its own UTC offset). Exit code 0, or 2 on a
    usage error.
    """

    from .export import report_text

    kb, figures = _report_for(root, since, until, today, audience)
    if as_json:
        _echo_json(figures.as_dict())
    else:
        click.echo(report_text(kb, figures), nl=False)


@cli.command()
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
    from .export import ExportExists, export_files, write_export

    kb, figures = _report_for(root, since, until, today, audience)
    files = export_files(kb, figures, output_format)
    if out == "-":
        if output_format != "json":
            raise UsageProblem("--out -: standard output takes one document; use it with --format json")
        click.echo(next(iter(files.values())), nl=False)
        return
    folder = Path(out or f"kb-export-{figures.today.isoformat()}")
    try:
        written = write_export(folder, files)
    except ExportExists as error:
        raise UsageProblem(f"{error}; choose another --out") from None
    for path in written:
        click.echo(str(path))


def _alerts_knowledge_base(root: Path):
    """Policy, catalog and runbooks only: coverage needs no incidents, and loading them is most of `load`."""
    from .load import load_record, record_files, relative
    from .model import KnowledgeBase

    layout = Layout()
    policy, findings = load_policy(root, layout)
    _, services, vendors, _ = load_catalog(root, layout, policy)
    runbooks, broken = [], 0
    for path in record_files(root, layout.runbooks):
        if path.suffix == ".md":
            record, record_findings = load_record(path, relative(root, path), "runbook", policy)
            broken += record is None
            runbooks += [record] if record is not None else []
    return KnowledgeBase(root=str(root), runbooks=runbooks, services=services, vendors=vendors, policy=policy), \
        [f for f in findings if f.is_error], broken


@cli.command()
@click.argument("rules", nargs=-1, type=click.Path(path_type=Path))
@root_option
@click.option("--format", "output_format", type=click.Choice(sorted(FORMATTERS)), default="text", show_default=True,
              help="text for people, json for tools, github for workflow annotations.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--url-pattern", metavar="URL",
              help="What runbook_url should be: a URL with {alert} or {alert_lower}, and optionally {service}. "
                   "Default: alerts.runbook_url in the policy, else the site_url of mkdocs.yml followed by "
                   "runbooks/alerts/{alert_lower}/.")
@click.option("--base-url", metavar="URL", help="The site's address; runbook_url should be <it>/runbooks/alerts/<alert lower>/.")
@click.option("--min-coverage", type=click.FloatRange(0, 1), metavar="0..1",
              help="Fail below this share of alerts with a runbook (default: alerts.min_coverage in the policy).")
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too: unresolved runbook_url values and the like.")
def alerts(rules, root, output_format, as_json, url_pattern, base_url, min_coverage, strict):
    """Check that every alert in RULES has a runbook, and that its runbook_url leads to it.

    RULES are Prometheus rule files, PrometheusRule manifests or folders of them (default:
    alerts.rules in the policy file, else monitoring/). Prints alerts with no runbook,
    runbook_url values that lead to no runbook, runbooks naming alerts no rule defines,
    and the coverage. Malformed files are reported and skipped. Exit code 1 when coverage
    is below alerts.min_coverage, when a rule file is malformed, or (--strict) on any
    warning; 2 on a usage error.
    """
    import re

    from .alerts import URL_PATTERN_SYNTAX, coverage, read_rules, rule_paths, site_pattern, site_url_of

    root = _require_root(root)
    output_format = "json" if as_json else output_format
    kb, policy_errors, broken = _alerts_knowledge_base(root)
    if policy_errors:
        click.echo(FORMATTERS["text"](sort_findings(policy_errors)), err=True)
        raise UsageProblem(f"{kb.policy.path} has errors (above); fix them first (kb check lists them all)")
    section = kb.policy.section("alerts") or {}
    if rules:
        for path in rules:
            if not path.exists():
                raise UsageProblem(f"{path}: no such rule file or folder")
        rule_set = read_rules(rules)
    else:
        paths, explicit = rule_paths(kb.policy)
        present = [p for p in paths if (root / p).exists()]
        if not present or (explicit and len(present) < len(paths)):
            missing = ", ".join(p for p in paths if p not in present) or "none"
            raise UsageProblem(f"no rule files to read (alerts.rules in the policy: {missing} not found under {root}); "
                               "pass RULES, e.g. kb alerts monitoring/")
        rule_set = read_rules(present, base=root)
    if url_pattern is None and base_url:
        url_pattern = site_pattern(base_url)
    if url_pattern is None:
        url_pattern = section.get("runbook_url")
    if url_pattern is None and (root / "mkdocs.yml").is_file():
        site_url = site_url_of((root / "mkdocs.yml").read_text(encoding="utf-8", errors="replace"))
        url_pattern = site_pattern(site_url) if site_url else None
    if url_pattern and not re.fullmatch(URL_PATTERN_SYNTAX, url_pattern):
        raise UsageProblem(f"--url-pattern {url_pattern!r}: expected an http(s):// URL (or a path starting with /) "
                           "with {alert} or {alert_lower}, and no other {...} than {service}")
    threshold = min_coverage if min_coverage is not None else section.get("min_coverage")
    # Runbook paths in findings are shown from the working folder, like the rule files.
    prefix = os.path.relpath(root)
    result = coverage(kb, rule_set, url_pattern or "", Path(prefix if not prefix.startswith("..") else
                                                           root.resolve()).as_posix())
    below = threshold is not None and result.ratio < threshold
    failed = below or any(f.is_error for f in result.findings) or (strict and bool(result.findings))

    percent = f"{result.ratio:.1%}" if result.total else "—"
    where = "--min-coverage" if min_coverage is not None else kb.policy.path or "policy"
    verdict = (f"; below the minimum {threshold:.0%} ({where})" if below else
               f"; minimum {threshold:.0%} ({where})" if threshold is not None else "")
    headline = (f"{result.covered} of {result.total} alerts have a runbook ({percent}){verdict}" if result.total
                else "no alerting rules found")
    if output_format == "json":
        _echo_json(result.as_dict(threshold) | {"below_minimum": below})
    elif output_format == "github":
        if result.findings:
            click.echo(FORMATTERS["github"](result.findings))
        click.echo(f"::{'error' if below else 'notice'} title=alert coverage::{headline}")
    else:
        if result.findings:
            click.echo(FORMATTERS["text"](result.findings) + "\n")
        click.echo(f"Alert coverage: {headline}")
        click.echo(f"  read {len(rule_set.files)} rule file(s): {len(rule_set.alerts)} alerting rules, "
                   f"{rule_set.recording} recording rules" + (f"; {len(rule_set.skipped)} file(s) skipped"
                                                              if rule_set.skipped else ""))
        click.echo(f"  {len(result.uncovered)} alert(s) with no runbook")
        click.echo(f"  {len(result.unresolved)} runbook_url value(s) leading to no runbook" +
                   (f" (expected {url_pattern})" if url_pattern else " (URLs not checked: pass --url-pattern or "
                    "--base-url, or set alerts.runbook_url in the policy)"))
        click.echo(f"  {len(result.undefined)} alert(s) named by runbooks but defined by no rule")
    if broken:
        click.echo(f"note: {broken} runbook(s) could not be loaded and were not counted (run kb check)", err=True)
    sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)


# ------------------------------------------------------------------ similar incidents and importers


def _similar_text(match) -> str:
    lines = [f"{match.score:5.2f}  {match.kind:<8}  {match.id}  {match.title}"]
    if match.reasons:
        lines.append(" " * 17 + "; ".join(match.reasons))
    return "\n".join(lines)


@cli.command()
@root_option
@click.argument("text", nargs=-1)
@click.option("--to", "to_id", metavar="ID", help="Rank the records most like this incident (or runbook) instead of a text.")
@click.option("--kind", type=click.Choice(["incidents", "runbooks", "all"]),
              help="What to rank: incidents, runbooks or all (default: all for a text, incidents for --to).")
@click.option("--top", type=click.IntRange(min=1), help="How many to show (default: 10 for a text, 5 otherwise).")
@click.option("--all", "every", is_flag=True, help="For every incident, its most similar incidents.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def similar(root, text, to_id, kind, top, every, as_json):
    """Find past incidents and runbooks like an alert, an error message or an incident.

    Paste the text as arguments (quote it, or pass - to read it from standard
    input): `kb similar "OOMKilled on db-primary-01"`. Or give an incident:
    `kb similar --to INC-2024-003`. `kb similar --all --top 3 --json` prints
    every incident's neighbours. Each result has a score (0-1) and the reasons
    in words.
    """

    from .similar import SimilarityIndex, UnknownRecord

    root = _require_root(root)
    modes = [name for name, given in (("TEXT", bool(text)), ("--to", bool(to_id)), ("--all", every)) if given]
    if len(modes) != 1:
        raise UsageProblem("give a TEXT to search for, --to ID or --all" if not modes
                           else f"use one of {', '.join(modes)}, not several")
    if every and kind:
        raise UsageProblem("--all ranks incidents only; leave out --kind")
    words = " ".join(text)
    if words.strip() == "-":
        words = sys.stdin.read()
    if text and not words.strip():
        raise UsageProblem("the TEXT is empty")
    kb, _ = load(root)
    index = SimilarityIndex.build(kb)
    if every:
        neighbours = index.all_neighbours(top=top or 5)
        if as_json:
            payload = {i: [{"id": m.id, "score": m.score, "reasons": list(m.reasons)} for m in ms] for i, ms in neighbours.items()}
            _echo_json(payload)
        else:
            for incident_id, matches in neighbours.items():
                click.echo(incident_id)
                for match in matches:
                    click.echo("  " + _similar_text(match).replace("\n", "\n  "))
        return
    if to_id:
        of = "incident" if to_id in kb.incident_by_id or to_id not in kb.runbook_by_id else "runbook"
        try:
            matches = index.neighbours(to_id, top=top or 5, kind=kind or "incidents", of=of)
        except UnknownRecord as unknown:
            hint = f"; did you mean {unknown.suggestion}?" if unknown.suggestion else ""
            raise UsageProblem(f"--to {to_id}: no incident or runbook with that id{hint}") from None
    else:
        matches = index.query(words, top=top or 10, kind=kind or "all")
    if as_json:
        _echo_json([m.as_dict() for m in matches])
    elif matches:
        click.echo("\n".join(_similar_text(m) for m in matches))
    else:
        click.echo("nothing similar found", err=True)


@cli.group("import")
def import_():
    """Import an existing archive: Markdown post-mortems or alert runbooks (never overwrites)."""


def _import_report(reports, into: Path) -> None:
    counts: dict[str, int] = {}
    for report in reports:
        counts[report.status] = counts.get(report.status, 0) + 1
        if report.status == "imported":
            click.echo(f"imported {report.source} -> {report.target}")
            for note in report.notes:
                click.echo(f"    not mapped: {note}")
        elif report.status == "exists":
            click.echo(f"skipped  {report.source}: {report.notes[0]}")
        elif report.status == "ignored":
            click.echo(f"ignored  {report.source}: {report.notes[0]}")
        else:
            click.echo(f"FAILED   {report.source}: {report.notes[0]}")
    click.echo(f"{counts.get('imported', 0)} imported into {into}, {counts.get('exists', 0)} already there (not "
               f"overwritten), {counts.get('skipped', 0)} could not be imported, {counts.get('ignored', 0)} not records",
               err=True)
    if any(r.failed for r in reports):
        sys.exit(EXIT_PROBLEMS)


def _import_paths(src: Path, into: Path) -> tuple[Path, Path]:
    if not src.exists():
        raise UsageProblem(f"{src}: no such file or folder")
    if into.exists() and not into.is_dir():
        raise UsageProblem(f"--into {into}: not a folder")
    return src, into


@import_.command("postmortems")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--into", type=click.Path(path_type=Path), required=True, help="Knowledge-base folder to write incidents/ into.")
@click.option("--severity", default="SEV3", show_default=True, help="Severity for post-mortems that state none.")
@click.option("--service", default="imported", show_default=True, help="Service for post-mortems (none is stated in them).")
def import_postmortems_command(src, into, severity, service):
    """Turn heading-structured Markdown post-mortems into incident records.

    Maps the title (H1), the timeline table (dates; "All times in UTC/CET"),
    Summary, Root cause and Contributing factors, Impact, "Category:" (as a tag)
    and "Time to detection/recovery", keeps the original text as the body, and
    lists per file what it could not map. Never overwrites an existing record.
    """
    from .check import slugify
    from .importers import import_postmortems
    from .model import DEFAULT_SEVERITIES

    src, into = _import_paths(src, into)
    if severity not in DEFAULT_SEVERITIES:
        raise UsageProblem(f"--severity {severity!r}: expected {', '.join(DEFAULT_SEVERITIES[:-1])} "
                           f"or {DEFAULT_SEVERITIES[-1]}")
    if slugify(service) != service:
        raise UsageProblem(f"--service {service!r}: expected lower-case words joined by hyphens, e.g. {slugify(service) or 'checkout'}")
    _import_report(import_postmortems(src, into, severity=severity, service=service), into)


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
    from .importers import import_runbooks

    src, into = _import_paths(src, into)
    _import_report(import_runbooks(src, into, owner=owner, reviewed=parse_today(reviewed)), into)


@cli.command()
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
    from .drills import DrillError, drill_markdown
    from .publish import mkdocs_settings

    root = _require_root(root)
    kb, _ = load(root)
    if site_url is None:
        site_url = str(mkdocs_settings(root).get("site_url") or "")
    try:
        text = drill_markdown(kb, incident_id, allow_restricted=allow_restricted, site_url=site_url or "")
    except DrillError as error:
        raise UsageProblem(str(error)) from None
    if out is None:
        click.echo(text, nl=False)
        return
    from .safe_write import write_new_file

    try:
        write_new_file(out, text)
    except FileExistsError:
        raise UsageProblem(f"{out} already exists; nothing was written") from None
    click.echo(str(out), err=True)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="kb", standalone_mode=False)
    except click.exceptions.Abort as error:
        # Click turns Ctrl-C into Abort; keep the shell's convention for an interrupt (128 + SIGINT).
        interrupted = isinstance(error.__cause__, KeyboardInterrupt)
        click.echo("Interrupted." if interrupted else "Aborted.", err=True)
        sys.exit(130 if interrupted else EXIT_USAGE)
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
