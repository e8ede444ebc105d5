"""Policy pages, from the policy file, and the compliance page, from the same rules applied to the records."""

from __future__ import annotations

from datetime import date

from incidentkb.checks.compliance import evaluate
from incidentkb.records.model import Incident
from incidentkb.site.communicate import fill_template
from incidentkb.site.renderer import GeneratedPage, Renderer

PAGES = ("index", "severity", "roles", "escalation", "postmortems", "communication", "checklists")


def _names(kb) -> list[str]:
    return list(PAGES) + (["regulatory"] if kb.policy.section("regulatory_clocks") else [])


def clock_conditions(clock: dict) -> str:
    conditions = clock["applies_when"] or {}
    parts = []
    if conditions.get("personal_data") is not None:
        parts.append("personal data involved" if conditions["personal_data"] else "no personal data")
    if conditions.get("data_exposed") is not None:
        parts.append("data exposed" if conditions["data_exposed"] else "no data exposed")
    if conditions.get("tags_any"):
        parts.append("tagged " + " or ".join(conditions["tags_any"]))
    if conditions.get("severities"):
        parts.append("severity " + " or ".join(conditions["severities"]))
    return "; ".join(parts) or "never (no conditions)"


def _helpers(renderer: Renderer) -> dict:
    """What the policy templates compute from the policy and the records."""
    kb, options = renderer.kb, renderer.options

    def policy_review_due() -> date | None:
        data = kb.policy.data
        if data.get("last_reviewed") and data.get("review_every"):
            return kb.policy.calendar.date_deadline(data["last_reviewed"], data["review_every"])
        return None

    def template_example() -> Incident | None:
        wanted = kb.policy.section("template_example")
        if wanted in kb.incident_by_id:
            return kb.incident_by_id[wanted]
        return max(kb.incidents, key=lambda i: (i.started_at, i.id), default=None)

    return {
        "policy_review_due": policy_review_due,
        "services_of_tier": lambda tier: [s.id for s in kb.services if s.tier == tier],
        "checklist": kb.policy.checklist,
        "template_example": template_example,
        # A communication template filled in with an incident's fields (plain text, escaped by the page).
        "fill_template": lambda body, incident: fill_template(body, incident, kb, options.today, options.site_url),
        "clock_conditions": clock_conditions,
    }


def pages(renderer: Renderer) -> list[GeneratedPage]:
    kb = renderer.kb
    judged = renderer.options.compliance_kb or kb
    helpers = _helpers(renderer)
    out = [GeneratedPage("policy/compliance.md", renderer.render(
        "policy/compliance.md.j2", "policy/compliance.md", results=evaluate(judged, renderer.options.today),
        **helpers))]
    if not kb.policy.path:
        return out
    for name in _names(kb):
        path = f"policy/{name}.md"
        out.append(GeneratedPage(path, renderer.render(f"policy/{name}.md.j2", path, **helpers)))
    return out


def nav(kb) -> list:
    if not kb.policy.path:
        return [{"Compliance": "policy/compliance.md"}]
    return [{"Policy": [f"policy/{name}.md" for name in _names(kb)] + ["policy/compliance.md"]}]
