"""Checks that need more than one field or more than one record.

Type and format problems are found while loading (schema.py). Here: the order
of timestamps, the file-naming convention, runbook sections, action items,
duplicate ids, and references between records. Each check is a function that
returns findings; `check_knowledge_base` runs them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import PurePosixPath

from incidentkb.checks.compliance import compliance_findings, evaluate
from incidentkb.checks.htmlsafety import check_body_html
from incidentkb.checks.rendered_html import rendered_findings
from incidentkb.checks.secrets import scan_knowledge_base
from incidentkb.core.findings import ERROR, WARNING, Finding
from incidentkb.core.markdown import headings
from incidentkb.core.yamlsafe import position_of
from incidentkb.records.model import RUNBOOK_SECTIONS, Incident, KnowledgeBase, Record, Runbook
from incidentkb.records.policy import check_policy
from incidentkb.records.schema import did_you_mean, path_text

_PLACEHOLDER = re.compile(r"^[ \t]*TODO\b", re.MULTILINE)

# (field, earlier field it must not precede). Checked only when both are present.
TIMESTAMP_ORDER = (
    ("detected_at", "started_at"),
    ("acknowledged_at", "detected_at"),
    ("acknowledged_at", "started_at"),
    ("mitigated_at", "started_at"),
    ("resolved_at", "started_at"),
    ("resolved_at", "mitigated_at"),
)


def finding(record: Record, path: tuple, level: str, code: str, message: str, hint: str = "") -> Finding:
    line, column = position_of(record.meta, path) if record.meta is not None else (0, 0)
    prefix = f"{path_text(path)}: " if path else ""
    return Finding(record.path, line, column, level, code, prefix + message, hint)


def check_incident(incident: Incident, incidents_dir: str = "incidents") -> list[Finding]:
    out = []
    data = incident.data
    for later, earlier in TIMESTAMP_ORDER:
        if data[later] and data[earlier] and data[later] < data[earlier]:
            out.append(finding(incident, (later,), ERROR, "timestamp-order",
                               f"{data[later].isoformat()} is before {earlier} ({data[earlier].isoformat()})",
                               f"{later} cannot come before {earlier}; check the date, the time and the UTC offset."))
    if incident.is_resolved and not data["resolved_at"]:
        out.append(finding(incident, ("status",), ERROR, "missing-resolved-at",
                           f"status is {incident.status} but resolved_at is missing",
                           "Add resolved_at with the time the incident was resolved, or set status to open or mitigated."))
    if not incident.is_resolved and data["resolved_at"]:
        out.append(finding(incident, ("resolved_at",), WARNING, "status-mismatch",
                           f"resolved_at is set but status is {incident.status}",
                           "Set status to resolved (or closed), or remove resolved_at."))
    previous = None
    for index, entry in enumerate(data["timeline"]):
        if previous is not None and entry["at"] < previous:
            out.append(finding(incident, ("timeline", index, "at"), WARNING, "timeline-order",
                               "this entry is earlier than the one before it",
                               "Keep the timeline in time order so readers can follow it."))
        previous = entry["at"]
    detection = data["detection"]
    if detection and detection["method"] == "alert" and not detection["alert"]:
        out.append(finding(incident, ("detection",), WARNING, "missing-alert-name",
                           "detection.method is alert but detection.alert does not name the alert",
                           "Add detection.alert with the alert's name so the alert page can list this incident."))
    if incident.id in data["related"]:
        out.append(finding(incident, ("related",), WARNING, "self-reference", "the incident lists itself as related",
                           "Remove its own id from related."))
    out += check_action_items(incident)
    out += check_incident_path(incident, incidents_dir)
    return out


def check_action_items(incident: Incident) -> list[Finding]:
    out = []
    seen: dict[str, int] = {}
    for index, item in enumerate(incident.action_items):
        where = ("action_items", index)
        if item["id"] in seen:
            out.append(finding(incident, where + ("id",), ERROR, "duplicate-action-item",
                               f"action item id {item['id']!r} is already used by action_items[{seen[item['id']]}]",
                               "Give each action item of an incident its own id (AI-1, AI-2, ...)."))
        seen.setdefault(item["id"], index)
    # Owners, due dates and overdue items are policy rules: see compliance.py.
    return out


def check_incident_path(incident: Incident, incidents_dir: str) -> list[Finding]:
    path = PurePosixPath(incident.path)
    expected_dir = f"{incidents_dir}/{incident.year}"
    name_ok = path.stem == incident.id or path.stem.startswith(incident.id + "-")
    if name_ok and str(path.parent) == expected_dir:
        return []
    slug = path.stem[len(incident.id) + 1:] if name_ok else slugify(incident.title or "")
    expected = f"{expected_dir}/{incident.id}{'-' + slug if slug else ''}.md"
    return [finding(incident, ("id",), ERROR, "file-name",
                    f"the file of {incident.id} should be {expected}",
                    f"Incident files live at {incidents_dir}/<year>/<id>-<short-title>.md; rename it with git mv.")]


def check_placeholders(record: Record) -> list[Finding]:
    """Template text (TODO ...) left in the front matter or the body: fine in a draft, not in a finished record."""
    out = []
    for key, value in record.data.items():
        if isinstance(value, str) and value.lstrip().startswith("TODO"):
            out.append(finding(record, (key,), WARNING, "placeholder", "still holds template text",
                               "Replace the TODO text with the real content."))
    for match in _PLACEHOLDER.finditer(record.body):
        line = record.body_line + record.body.count("\n", 0, match.start())
        out.append(Finding(record.path, line, 1, WARNING, "placeholder", "the body still holds template text (TODO)",
                           "Replace the TODO paragraph with the real content, or delete it."))
    return out


def check_runbook(runbook: Runbook, runbooks_dir: str = "runbooks") -> list[Finding]:
    out = []
    path = PurePosixPath(runbook.path)
    if path.stem != runbook.id:
        out.append(finding(runbook, ("id",), ERROR, "file-name", f"the file of runbook {runbook.id!r} should be named {runbook.id}.md",
                           "Rename the file (git mv) or change the id so that they match."))
    if runbook.services and path.parent.name not in runbook.services and str(path.parent) != runbooks_dir:
        out.append(finding(runbook, ("services",), WARNING, "file-name",
                           f"the runbook is in {path.parent}/ but that folder is not one of its services",
                           f"Runbooks are grouped by service: move it to {runbooks_dir}/{runbook.services[0]}/."))
    present = {heading.text.lower() for heading in headings(runbook.body)}
    missing = [s for s in RUNBOOK_SECTIONS if not any(h.startswith(s.lower()) for h in present)]
    if missing:
        out.append(Finding(runbook.path, runbook.body_line, 1, WARNING, "runbook-section",
                           "missing section" + ("s" if len(missing) > 1 else "") + ": " + ", ".join(missing),
                           "A runbook has the sections " + ", ".join(RUNBOOK_SECTIONS) + " as '## ' headings."))
    return out


def slugify(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))[:60].strip("-")


def check_duplicate_ids(groups: Iterable[tuple[str, list[Record]]]) -> list[Finding]:
    """Two records of the same namespace with one id: report the later file, naming the first."""
    out = []
    for label, records in groups:
        first: dict[str, Record] = {}
        for record in records:
            if record.id in first:
                other = first[record.id]
                line = other.line_of("id")
                where = f"{other.path}:{line}" if line else other.path
                out.append(finding(record, ("id",), ERROR, "duplicate-id",
                                   f"the {label} id {record.id!r} is already used by {where}",
                                   "Every record needs its own id; `kb new` picks the next free one."))
            else:
                first[record.id] = record
    return out


def _check_refs(record: Record, field: str, known: dict, what: str, hint_where: str) -> list[Finding]:
    out = []
    values = record.data.get(field)
    listed = values if isinstance(values, list) else [values]
    for index, value in enumerate(listed):
        if value is None or value in known:
            continue
        # Never suggest the record itself or an id the list already holds.
        candidates = [k for k in known if k != record.id and k not in listed]
        suggestion = did_you_mean(value, candidates)
        hint = f"Did you mean {suggestion!r}? " if suggestion else ""
        where = (field, index) if isinstance(values, list) else (field,)
        out.append(finding(record, where, ERROR, f"unknown-{what.replace(' ', '-')}",
                           f"{value!r} is not a known {what}", hint + hint_where))
    return out


def check_references(kb: KnowledgeBase, catalog_rel: str = "catalog.yml",
                     known_ids: dict[str, set[str]] | None = None) -> list[Finding]:
    """Dangling references. `known_ids` adds records that exist but were not loaded (kb check --changed)."""
    out = []
    known_ids = known_ids or {}
    incident_ids = dict.fromkeys(known_ids.get("incident", ())) | kb.incident_by_id
    runbook_ids = dict.fromkeys(known_ids.get("runbook", ())) | kb.runbook_by_id
    targets = {**kb.service_by_id, **kb.vendor_by_id}
    has_catalog = bool(targets)
    catalog_hint = f"Services and vendors are defined in {catalog_rel}."
    for incident in kb.incidents:
        if has_catalog:
            out += _check_refs(incident, "services", targets, "service", catalog_hint)
        out += _check_refs(incident, "runbooks", runbook_ids, "runbook", "Runbook ids are the file names under runbooks/.")
        out += _check_refs(incident, "related", incident_ids, "incident", "Use the id of an existing incident.")
        out += _check_refs(incident, "distinct_from", incident_ids, "incident", "Use the id of an existing incident.")
    for runbook in kb.runbooks:
        if has_catalog:
            out += _check_refs(runbook, "services", targets, "service", catalog_hint)
        if kb.team_by_id:
            out += [_as_warning(f) for f in _check_refs(runbook, "owner", kb.team_by_id, "team", f"Teams are defined in {catalog_rel}.")]
    for problem in kb.problems:
        if has_catalog:
            out += _check_refs(problem, "services", targets, "service", catalog_hint)
        out += _check_refs(problem, "incidents", incident_ids, "incident", "Use the id of an existing incident.")
    for entry in kb.services + kb.vendors:
        if kb.team_by_id and entry.owner:
            out += _check_refs(entry, "owner", kb.team_by_id, "team", f"Teams are defined in {catalog_rel}.")
    for service in kb.services:
        out += _check_refs(service, "depends_on", targets, "service or vendor", catalog_hint)
    return out


def _as_warning(f: Finding) -> Finding:
    return Finding(f.path, f.line, f.column, WARNING, f.code, f.message, f.hint)


def check_clock_references(kb: KnowledgeBase) -> list[Finding]:
    clocks = {c["id"] for c in kb.policy.section("regulatory_clocks", [])}
    out = []
    for incident in kb.incidents:
        for index, notification in enumerate((incident.security or {}).get("notifications") or []):
            if notification["clock"] not in clocks:
                suggestion = did_you_mean(notification["clock"], sorted(clocks))
                out.append(finding(incident, ("security", "notifications", index, "clock"), ERROR, "unknown-clock",
                                   f"{notification['clock']!r} is not a regulatory clock of the policy file",
                                   (f"Did you mean {suggestion!r}? " if suggestion else "")
                                   + "Clocks: " + (", ".join(sorted(clocks)) or "none defined") + "."))
    return out


def check_knowledge_base(kb: KnowledgeBase, incidents_dir: str = "incidents", runbooks_dir: str = "runbooks",
                         catalog_rel: str = "catalog.yml", today: date | None = None,
                         known_ids: dict[str, set[str]] | None = None) -> list[Finding]:
    """Every cross-field, cross-record and policy check over a loaded knowledge base."""
    out: list[Finding] = []
    for incident in kb.incidents:
        out += check_incident(incident, incidents_dir)
    for runbook in kb.runbooks:
        out += check_runbook(runbook, runbooks_dir)
    raw_html = kb.policy.section("bodies")["raw_html"]
    for record in kb.incidents + kb.runbooks + kb.problems:
        out += check_placeholders(record)
        source = check_body_html(record, raw_html)
        # What the page renders to, for what the source patterns miss (split tags, reference links, attribute lists).
        out += source + rendered_findings(record, raw_html, {f.line for f in source})
    out += check_duplicate_ids([
        ("incident", kb.incidents), ("runbook", kb.runbooks), ("problem", kb.problems), ("team", kb.teams),
        ("service or vendor", sorted(kb.services + kb.vendors, key=lambda r: r.entry_line)),
    ])
    out += check_references(kb, catalog_rel, known_ids)
    out += check_clock_references(kb)
    out += check_policy(kb.policy, kb.severities_in_use)
    out += compliance_findings(evaluate(kb, today or date.today()), kb.policy)
    out += scan_knowledge_base(kb, catalog_rel, complete=known_ids is None)
    return out
