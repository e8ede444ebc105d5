"""Communication templates of the policy file, filled in with an incident's fields.

Templates are Jinja, run in a sandbox (a policy file is reviewed, but it is
still text from a repository) with the incident's fields as placeholders.
Timestamps appear as the responders read them (with their UTC offset).
"""

from __future__ import annotations

from datetime import date, datetime

from jinja2 import StrictUndefined
from jinja2.exceptions import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from incidentkb.core.formats import fmt_duration, fmt_timestamp
from incidentkb.records.model import Incident, KnowledgeBase

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def _plain(value):
    if isinstance(value, datetime):
        return fmt_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def template_context(incident: Incident, kb: KnowledgeBase, today: date, site_url: str = "") -> dict:
    severity = kb.policy.severity_by_id.get(incident.severity, {})
    names = [(kb.service_by_id.get(s) or kb.vendor_by_id.get(s)) for s in incident.services]
    context = {name: _plain(value) for name, value in incident.data.items()}
    end = incident.resolved_at
    context.update(
        severity_name=severity.get("name", incident.severity),
        duration=fmt_duration(end - incident.started_at) if end else "ongoing",
        now=today.isoformat(),
        services_text=", ".join(entry.name if entry else sid for entry, sid in zip(names, incident.services)),
        url=(site_url.rstrip("/") + "/" if site_url else "") + incident.path.removesuffix(".md") + "/",
    )
    return context


def fill_template(body: str, incident: Incident, kb: KnowledgeBase, today: date, site_url: str = "") -> str:
    try:
        return _ENV.from_string(body).render(template_context(incident, kb, today, site_url)).strip()
    except TemplateError as error:
        # The policy check reports template problems with their line; the page shows why it is empty.
        return f"(this template cannot be filled in for {incident.id}: {error})"
