"""`kb new`: the next free id and a complete template for a new incident or runbook."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from incidentkb.checks.consistency import slugify
from incidentkb.records.load import Layout
from incidentkb.records.model import INCIDENT_ID
from incidentkb.records.policy import Policy

_INCIDENT_FILE = re.compile(r"^INC-(\d{4})-(\d+)")


def yaml_scalar(value) -> str:
    """A YAML scalar for a value typed by a person: JSON strings are valid YAML and quote everything that needs it."""
    if value is None or value == "":
        return ""
    return json.dumps(value, ensure_ascii=False)


def template_env() -> Environment:
    env = Environment(loader=PackageLoader("incidentkb.authoring", "templates"), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
    env.filters["yaml"] = yaml_scalar
    return env


def next_incident_id(root: Path, layout: Layout, year: int) -> str:
    """One more than the highest number used in `year`, judged by file names (cheap at 10,000 files)."""
    highest = 0
    width = 3
    folder = root / layout.incidents
    if folder.is_dir():
        for path in folder.rglob("INC-*"):
            match = _INCIDENT_FILE.match(path.name)
            if match and int(match.group(1)) == year:
                highest = max(highest, int(match.group(2)))
                width = max(width, len(match.group(2)))
    return f"INC-{year}-{highest + 1:0{width}d}"


def incident_path(layout: Layout, incident_id: str, title: str) -> str:
    year = incident_id.split("-")[1]
    slug = slugify(title)
    return f"{layout.incidents}/{year}/{incident_id}{'-' + slug if slug else ''}.md"


def render_incident(*, incident_id: str, title: str, severity: str, services: list[str], started_at: datetime,
                    summary: str, commander: str, policy: Policy) -> str:
    assert re.fullmatch(INCIDENT_ID, incident_id)
    return template_env().get_template("incident.md.j2").render(
        id=incident_id, title=title, severity=severity, services=services,
        started_at=started_at.isoformat(timespec="minutes"), summary=summary, commander=commander,
        severities=policy.severity_ids, categories=policy.cause_categories, priorities=policy.action_item_priorities,
        visibility=policy.default_visibility,
    )


def runbook_path(layout: Layout, runbook_id: str, service: str) -> str:
    return f"{layout.runbooks}/{service}/{runbook_id}.md"


def render_runbook(*, runbook_id: str, title: str, services: list[str], alerts: list[str], owner: str,
                   today: date, policy: Policy) -> str:
    return template_env().get_template("runbook.md.j2").render(
        id=runbook_id, title=title, services=services, alerts=alerts, owner=owner, today=today.isoformat(),
        review_every=str(policy.runbook_review_every), visibility=policy.default_visibility,
    )
