"""Incident tools' exports (CSV or JSON) as incident records: a preset per tool, or a --map file.

A preset is a Mapping (fieldmap.py) from the tool's documented export columns and API fields to
ours, a name per field tried in order so that one preset reads both the tool's CSV export and
its REST API's JSON. Which documents and versions each preset follows is in docs/guide/
(import-<tool>.md) and below. JSON objects are flattened to dotted names ("priority.summary",
"fields.created"), so a mapping can name nested API fields.

- pagerduty: the Incidents report CSV (Analytics > Reports > Incidents, "Download CSV": id,
  incident_number, description, service_name, created_on, resolved_on, urgency, ...) and REST API
  v2 `GET /incidents` (incident_number, title, status, priority.summary, service.summary,
  created_at, resolved_at, html_url). Urgency (high/low) is not a severity and is not mapped.
- opsgenie: Incident API v1 `GET /v1/incidents` (tinyId, message, description, status, priority
  P1-P5, tags, impactedServices, createdAt, impactStartDate, impactEndDate, links.web) and a CSV
  with the same names as headers.
- incidentio: API v2 `GET /v2/incidents` (reference, name, summary, incident_status, severity.name,
  created_at, permalink, incident_timestamp_values, incident_role_assignments) and the dashboard's
  CSV export (Reference, Name, Status, Severity, Summary, Reported at, Resolved at, ...).
- jira: "Export Excel CSV (all fields)" of a filter (Issue key, Summary, Status, Priority, Created,
  Resolved, Component/s and Labels as repeated columns, Description; dates as 01/Mar/24 10:00 AM)
  and REST API v2/v3 search JSON (key, fields.summary, fields.priority.name, fields.created, ...).
- servicenow: an incident list exported as CSV (column names: number, short_description, priority
  "1 - Critical", state, opened_at, resolved_at, closed_at, business_service, cmdb_ci, category,
  description, close_notes) and the Table API JSON (`/api/now/table/incident`, `result` list).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from incidentkb.authoring.fieldmap import Mapping, as_list, as_status, as_text, as_when, lookup
from incidentkb.authoring.import_model import Draft, Options, Outcome, Result, Target
from incidentkb.authoring.import_records import iso
from incidentkb.authoring.importplan import imported_now, run
from incidentkb.core.errors import UsageError

MAX_EXPORT_BYTES = 200_000_000

TOOL_NAMES = {"pagerduty": "PagerDuty", "opsgenie": "Opsgenie", "incidentio": "incident.io", "jira": "Jira",
              "servicenow": "ServiceNow"}


def _preset(name: str, **fields) -> Mapping:
    return Mapping({k: tuple(v) if isinstance(v, (list, tuple)) else (v,) for k, v in fields.items()}, name=name)


PRESETS: dict[str, Mapping] = {
    "pagerduty": _preset(
        "pagerduty",
        source_id=["incident_number", "Incident Number", "id", "Incident ID"],
        title=["title", "Title", "description", "Description"],
        summary=["summary_text"],
        status=["status", "Status"],
        severity=["priority.summary", "priority.name", "priority", "Priority"],
        services=["service.summary", "service_name", "Service Name", "Service"],
        started_at=["created_at", "created_on", "Created On", "Created At"],
        acknowledged_at=["acknowledged_at", "first_acknowledged_at"],
        resolved_at=["resolved_at", "resolved_on", "Resolved On", "Resolved At"],
        body=["body.details", "description", "Description"],
        source_url=["html_url", "url", "URL"],
    ),
    "opsgenie": _preset(
        "opsgenie",
        source_id=["tinyId", "TinyId", "tiny_id", "id"],
        title=["message", "Message"],
        status=["status", "Status"],
        severity=["priority", "Priority"],
        services=["impactedServices", "Impacted Services", "impacted_services"],
        tags=["tags", "Tags"],
        started_at=["impactStartDate", "Impact Start Date", "createdAt", "CreatedAt", "Created At"],
        resolved_at=["impactEndDate", "Impact End Date", "ResolvedAt", "resolvedAt"],
        body=["description", "Description"],
        source_url=["links.web", "Link"],
    ),
    "incidentio": _preset(
        "incidentio",
        source_id=["reference", "Reference", "id", "ID"],
        title=["name", "Name", "Title"],
        summary=["summary", "Summary"],
        status=["incident_status.category", "incident_status.name", "Status", "Status category"],
        severity=["severity.name", "Severity"],
        services=["custom_field:Affected services", "Affected services", "Affected Services", "Services"],
        started_at=["timestamp:Impact started", "Impact started at", "timestamp:Reported at", "Reported at",
                    "created_at", "Created at"],
        detected_at=["timestamp:Reported at", "Reported at"],
        acknowledged_at=["timestamp:Accepted at", "Accepted at"],
        mitigated_at=["timestamp:Stabilized at", "Stabilized at", "timestamp:Fixed at", "Fixed at"],
        resolved_at=["timestamp:Resolved at", "Resolved at", "timestamp:Closed at", "Closed at"],
        commander=["role:Incident Lead", "Incident Lead", "Incident lead"],
        source_url=["permalink", "URL", "Link"],
    ),
    "jira": _preset(
        "jira",
        source_id=["Issue key", "key"],
        title=["Summary", "fields.summary"],
        status=["Status", "fields.status.name", "Status Category"],
        severity=["Custom field (Severity)", "Severity", "fields.severity", "Priority", "fields.priority.name"],
        services=["Component/s", "Components", "fields.components"],
        tags=["Labels", "fields.labels"],
        started_at=["Custom field (Start time)", "Created", "fields.created"],
        resolved_at=["Resolved", "fields.resolutiondate"],
        body=["Description", "fields.description"],
        source_url=["self_browse_url"],
    ),
    "servicenow": _preset(
        "servicenow",
        source_id=["number", "Number"],
        title=["short_description", "Short description"],
        status=["state", "State", "incident_state"],
        severity=["priority", "Priority"],
        services=["business_service", "Service", "cmdb_ci", "Configuration item"],
        tags=["category", "Category", "subcategory", "Subcategory"],
        started_at=["opened_at", "Opened", "sys_created_on", "Created"],
        resolved_at=["resolved_at", "Resolved", "closed_at", "Closed"],
        body=["description", "Description", "close_notes", "Resolution notes"],
        source_url=["url"],
    ),
}


class UnreadableExport(UsageError):
    """An export file that cannot be read at all; the message says why and how to fix it."""


# ------------------------------------------------------------------ reading exports


@dataclass
class Row:
    shown: str  # "incidents.csv row 12"
    values: dict


def read_rows(path: Path) -> list[Row]:
    """The rows of a CSV export or the objects of a JSON export, as flat dictionaries."""
    try:
        if path.stat().st_size > MAX_EXPORT_BYTES:
            raise UnreadableExport(f"{path}: larger than {MAX_EXPORT_BYTES:,} bytes; split the export")
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableExport(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableExport(f"{path}: not UTF-8 text (byte {error.start + 1}); export it again as UTF-8 (in a "
                            "spreadsheet: 'CSV UTF-8')") from None
    if path.suffix.lower() == ".json" or text.lstrip()[:1] in ("[", "{"):
        return _json_rows(path, text)
    return _csv_rows(path, text)


def _csv_rows(path: Path, text: str) -> list[Row]:
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableExport(f"{path}: empty; expected a header row and one row per incident") from None
    except csv.Error as error:
        raise UnreadableExport(f"{path}:1: not CSV ({error})") from None
    header = [name.strip() for name in header]
    if len(header) < 2:
        raise UnreadableExport(f"{path}:1: one column only; expected the tool's CSV export with a header row "
                            "(is the delimiter a comma, semicolon or tab?)")
    rows = []
    line = 1
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            values: dict = {}
            for name, cell in zip(header, cells):
                # Jira writes one column per component and per label, all with the same name.
                if name in values:
                    existing = values[name] if isinstance(values[name], list) else [values[name]]
                    values[name] = existing + ([cell] if cell.strip() else [])
                else:
                    values[name] = cell
            rows.append(Row(f"{path.name} line {line}", values))
    except csv.Error as error:
        raise UnreadableExport(f"{path}:{reader.line_num}: not valid CSV ({error}); a quote may be unclosed") from None
    return rows


_LIST_KEYS = ("incidents", "data", "result", "issues", "items", "records", "values")


def _json_rows(path: Path, text: str) -> list[Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableExport(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
    if isinstance(data, dict):
        found = next((data[k] for k in _LIST_KEYS if isinstance(data.get(k), list)), None)
        if found is None:
            raise UnreadableExport(f"{path}: expected a list of incidents, or an object with one under "
                                + ", ".join(_LIST_KEYS))
        data = found
    if not isinstance(data, list):
        raise UnreadableExport(f"{path}: expected a list of incidents")
    rows = []
    for index, item in enumerate(data, 1):
        if isinstance(item, dict):
            rows.append(Row(f"{path.name} item {index}", flatten(item)))
    return rows


def flatten(item: dict, prefix: str = "") -> dict:
    """Nested API objects as dotted names; incident.io's timestamps, roles and custom fields by name."""
    out: dict = {}
    for key, value in item.items():
        name = f"{prefix}{key}"
        if key == "incident_timestamp_values" and isinstance(value, list):
            for entry in value:
                label = ((entry or {}).get("incident_timestamp") or {}).get("name")
                stamp = ((entry or {}).get("value") or {}).get("value")
                if label and stamp:
                    out[f"timestamp:{label}"] = stamp
        elif key == "incident_role_assignments" and isinstance(value, list):
            for entry in value:
                role = ((entry or {}).get("role") or {}).get("name")
                person = ((entry or {}).get("assignee") or {}).get("name")
                if role and person:
                    out[f"role:{role}"] = person
        elif key == "custom_field_entries" and isinstance(value, list):
            for entry in value:
                label = ((entry or {}).get("custom_field") or {}).get("name")
                values = [as_text(v.get("value_option", {}).get("value") or v.get("value_catalog_entry", {}).get("name")
                                  or v.get("value_text") or "") for v in (entry or {}).get("values") or []]
                if label:
                    out[f"custom_field:{label}"] = [v for v in values if v]
        elif isinstance(value, dict) and "display_value" not in value:
            out.update(flatten(value, name + "."))
            out.setdefault(name, value)
        else:
            out[name] = value
    return out


# ------------------------------------------------------------------ rows as drafts


_TIME_FIELDS = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at")
_EVENTS = {"started_at": "Incident opened in {tool}", "detected_at": "Reported", "acknowledged_at": "Acknowledged",
           "mitigated_at": "Mitigated", "resolved_at": "Resolved"}
_ORDER = {"detected_at": "started_at", "acknowledged_at": "detected_at", "mitigated_at": "started_at",
          "resolved_at": "mitigated_at"}


def draft_incident(row: Row, tool: str, mapping: Mapping, imported_at: str) -> Draft | Outcome:
    """One exported incident as a Draft, or an Outcome saying why it cannot be one."""
    values = row.values
    mapped: dict[str, str] = {}
    notes: list[str] = []
    label = TOOL_NAMES.get(tool, tool)

    def take(target: str):
        found = lookup(values, mapping.fields.get(target, ()))
        if found is None:
            return None
        mapped[target] = found[0]
        return found[1]

    source_id = as_text(take("source_id") or "")
    if not source_id:
        names = ", ".join(mapping.fields.get("source_id", ())) or "none"
        return Outcome(row.shown, "skipped", notes=[f"no id ({names}); without one a second import would duplicate "
                                                    "it: map source_id to the export's id column in --map"])
    title = as_text(take("title") or "")
    if not title:
        return Outcome(row.shown, "skipped", notes=[f"{source_id}: no title ("
                                                    + ", ".join(mapping.fields.get("title", ())) + ")"])
    times = {}
    for name in _TIME_FIELDS:
        raw = take(name)
        if raw is None:
            continue
        moment = as_when(raw, mapping.time_zone)
        if moment is None:
            notes.append(f"{name}: {mapped.pop(name)} {as_text(raw)!r} is not a date and time; left out")
            continue
        if moment.assumed_zone:
            notes.append(f"{name}: {mapped[name]} has no UTC offset; read as "
                         + ("UTC (set time_zone in --map)" if mapping.time_zone is None else str(mapping.time_zone)))
        times[name] = moment.at
    if "started_at" not in times:
        return Outcome(row.shown, "skipped", notes=[f"{source_id}: no start time ("
                                                    + ", ".join(mapping.fields.get("started_at", ())) + ")"])
    for name, earlier in _ORDER.items():
        reference = times.get(earlier) or times["started_at"]
        if name in times and times[name] < reference:
            notes.append(f"{name}: {iso(times[name])} is before {earlier if earlier in times else 'started_at'}; "
                         "left out")
            del times[name]
            mapped.pop(name, None)
    if "resolved_at" in times and times["resolved_at"] < times["started_at"]:
        del times["resolved_at"]

    status_raw = take("status")
    status = as_status(status_raw) if status_raw is not None else None
    if status_raw is not None and status is None:
        notes.append(f"status: {as_text(status_raw)!r} is not a known status; judged from the times")
        mapped.pop("status", None)
    if status is None:
        status = "resolved" if "resolved_at" in times else "open"
    if status in ("resolved", "closed") and "resolved_at" not in times:
        return Outcome(row.shown, "skipped", notes=[f"{source_id}: status {as_text(status_raw)!r} but no resolution "
                                                    "time in the export (" + ", ".join(mapping.fields.get(
                                                        "resolved_at", ())) + "); map resolved_at in --map"])
    if status in ("open", "mitigated") and "resolved_at" in times:
        status = "resolved"

    meta: dict = {"title": title, "status": status}
    for name in _TIME_FIELDS:
        if name in times:
            meta[name] = iso(times[name])
    body_text = as_text(take("body") or "")
    summary = as_text(take("summary") or "")
    if not summary:
        first = re.split(r"\n\s*\n", body_text.strip(), maxsplit=1)[0].strip() if body_text else ""
        summary = re.sub(r"\s+", " ", first)[:600] if first and first != title else f"{title}."
        if not first or first == title:
            notes.append("summary: not in the export; the title is used")
    meta["summary"] = summary
    tags = []
    for value in as_list(take("tags") or []):
        tag = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
        if tag and tag not in tags:
            tags.append(tag)
    if tags:
        meta["tags"] = tags
    commander = as_text(take("commander") or "")
    if commander:
        meta["roles"] = {"commander": commander}
    impact = as_text(take("impact") or "")
    if impact:
        meta["impact"] = {"description": impact}
    meta["timeline"] = [{"at": meta[name], "event": _EVENTS[name].format(tool=label)}
                        for name in sorted((n for n in _TIME_FIELDS if n in meta), key=lambda n: meta[n])]
    severity = take("severity")
    services = as_list(take("services") or [])
    if not services:
        notes.append("services: not in the export; set to the placeholder 'imported'")
    source = {"tool": tool, "id": source_id, "imported_at": imported_at}
    url = as_text(take("source_url") or "")
    if re.match(r"https?://\S+$", url):
        source["url"] = url
    body = f"Imported from {label} ({source_id}).\n"
    if body_text:
        body += f"\n## Description (from {label})\n\n{body_text.strip()}\n"
    body += "\n## What happened\n\nThe export holds the facts above; write the story of the incident here.\n"
    return Draft(row.shown, meta, body, times["started_at"].year, notes, mapped,
                 as_text(severity) if severity is not None and as_text(severity) else None, services, source)


def import_incidents(path: Path, into: Path, *, tool: str, mapping: Mapping, options: Options | None = None) -> Result:
    """Import every incident of one export file (CSV or JSON) into the knowledge base at into."""
    options = options or Options()
    target = Target.read(Path(into))
    rows = read_rows(Path(path))
    stamp = imported_now()
    items: list[Draft | Outcome] = []
    for number, row in enumerate(rows, 1):
        if options.progress:
            options.progress("reading", number, len(rows))
        items.append(draft_incident(row, tool, mapping, stamp))
    return run(items, target, mapping, options)
