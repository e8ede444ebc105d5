"""What several commands share: the common options, dates, JSON output and questions on a terminal."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from incidentkb.checks.consistency import check_knowledge_base
from incidentkb.core.errors import UsageError
from incidentkb.core.findings import FORMATTERS, sort_findings, summary_line
from incidentkb.core.progress import Progress
from incidentkb.records.audience import AUDIENCES
from incidentkb.records.load import load


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


def format_option(func):
    return click.option("--format", "output_format", type=click.Choice(sorted(FORMATTERS)), default="text",
                        show_default=True, help="text for people, json for tools, github for workflow annotations.")(func)


def require_root(root: Path) -> Path:
    if not root.is_dir():
        raise UsageError(f"--root {root}: no such folder")
    return root


def parse_day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a date YYYY-MM-DD, got {value!r}", param_hint=flag) from None


def parse_today(value: str | None) -> date:
    return parse_day(value, "--today") or date.today()


def echo_json(value) -> None:
    """Machine-readable output of the --json options: indented, non-ASCII kept as it is."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def ask_missing(values: dict, prompts: dict) -> dict:
    """Prompt for missing values on a terminal; elsewhere, name the missing flags and stop."""
    missing = [name for name in prompts if not values.get(name)]
    if missing and not interactive():
        flags = ", ".join("--" + name.replace("_", "-") for name in missing)
        raise UsageError(f"missing {flags} (no terminal to ask on)")
    for name in missing:
        text, default, kind = prompts[name]
        values[name] = click.prompt(text, default=default, type=kind)
    return values


def run_checks(root: Path, today: date, progress: Progress | None = None) -> bool:
    """`kb check` before a build: print the findings; True when there are no errors."""
    kb, findings = load(root, progress=progress)
    findings = sort_findings(findings + check_knowledge_base(kb, today=today))
    if findings:
        click.echo(FORMATTERS["text"](findings), err=True)
    click.echo(summary_line(findings, kb.files_read), err=True)
    return not any(f.is_error for f in findings)
