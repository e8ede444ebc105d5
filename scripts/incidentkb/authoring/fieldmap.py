"""Someone else's fields onto ours: the front matter of imported documents and the columns of exports.

A mapping says, for each of our fields, which of their fields to read (a list is tried in order,
the first present value wins; for tags every listed field adds its values), and how their
severity and service values translate to ours. The built-in mapping knows the common front
matter names (Jekyll, Hugo, the icco archive); the presets of the incident tools are mappings too
(tabular.py). A `--map FILE` replaces the entries it names:

    fields:                    # our field: their field, or a list of fields tried in order
      title: Summary
      started_at: [start_time, Created]
      services: company
    severity:                  # their value: a severity id of policy.yml
      P1: SEV1
    services:                  # their name: a service id of catalog.yml
      Checkout API: checkout
    time_zone: "+01:00"        # for times written without an offset (default: UTC)
    tool: statuspage           # the source's name in source references (default: the file's name)

Values are converted here too (timestamps in the formats exports use, lists written as text), so
that the importers only deal with our types. Nothing here reads or writes files other than the
mapping file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from incidentkb.core.errors import UsageError
from incidentkb.core.yamlsafe import MarkedDict, YAMLDocumentError, parse, position_of
from incidentkb.records.schema import did_you_mean

# Our fields a mapping may fill, and what each means (shown by errors and in the docs).
TARGETS = {
    "title": "the headline",
    "summary": "the one-paragraph summary",
    "status": "open, mitigated, resolved or closed (their words are matched to ours)",
    "severity": "their severity or priority, translated through `severity:` and policy.yml",
    "services": "their service, product or component names, matched against catalog.yml",
    "tags": "categories, keywords, labels",
    "started_at": "when impact began",
    "detected_at": "when it was detected",
    "acknowledged_at": "when a responder took it",
    "mitigated_at": "when impact stopped",
    "resolved_at": "when it was resolved",
    "published_at": "when the post-mortem was published: an upper bound for a story that states no date",
    "commander": "the incident commander (roles.commander)",
    "impact": "the impact in words (impact.description)",
    "body": "text for the body of a new record (a description, notes)",
    "source_id": "its id in the source: a second import finds the record by it",
    "source_url": "its address in the source",
}
TIMESTAMP_TARGETS = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at", "published_at")
LIST_TARGETS = ("services", "tags")

# The front matter names post-mortems in Markdown use (Jekyll, Hugo, the icco archive).
FRONT_MATTER = {
    "title": ("title", "name", "subject"),
    "summary": ("summary", "description", "abstract", "excerpt"),
    "status": ("status", "state"),
    "severity": ("severity", "sev", "priority"),
    "services": ("services", "service", "product", "products", "component", "components", "system", "company"),
    "tags": ("categories", "category", "keywords", "tags", "labels"),
    "started_at": ("started_at", "start_time", "start", "started", "start_date", "begin", "incident_start"),
    "detected_at": ("detected_at", "detected", "detection_time"),
    "mitigated_at": ("mitigated_at", "mitigated"),
    "resolved_at": ("resolved_at", "end_time", "end", "ended", "end_date", "resolved", "incident_end"),
    "published_at": ("source_published_at", "published_at", "published", "date"),
    "commander": ("commander", "incident_commander"),
    "source_id": ("uuid", "guid"),
    "source_url": ("url", "source_url", "link", "permalink", "canonical_url"),
}


class MappingError(UsageError):
    """A mapping file that cannot be used; the message names the file, line and fix."""


@dataclass(frozen=True)
class Mapping:
    fields: dict[str, tuple[str, ...]]  # our field -> their fields, in order of preference
    severity: dict[str, str] = field(default_factory=dict)  # their value (lower-case) -> our severity id
    services: dict[str, str] = field(default_factory=dict)  # their name (lower-case) -> our service id
    time_zone: timezone | None = None  # for times written without an offset
    name: str = "built-in"  # where it came from, for messages
    tool: str | None = None  # the source tool's name, for source references (default: the file's name)

    def merged(self, other: Mapping) -> Mapping:
        """This mapping with the entries of `other` (a --map file) taking precedence."""
        return replace(self, fields={**self.fields, **other.fields}, severity={**self.severity, **other.severity},
                       services={**self.services, **other.services}, time_zone=other.time_zone or self.time_zone,
                       name=other.name, tool=self.tool or other.tool)


FRONT_MATTER_MAPPING = Mapping(dict(FRONT_MATTER))


def _names(value) -> tuple[str, ...] | None:
    if isinstance(value, str) and value.strip():
        return (value.strip(),)
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(v.strip() for v in value)
    return None


def load_mapping(path: Path) -> Mapping:
    """Read and check a --map file. Raises MappingError naming the line and the fix."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise MappingError(f"{shown}: cannot be read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise MappingError(f"{shown}: not UTF-8 text; save it as UTF-8") from None
    try:
        data = parse(text).data
    except YAMLDocumentError as problem:
        raise MappingError(f"{shown}:{problem.line}: {problem.message}. {problem.hint}") from None
    if not isinstance(data, MarkedDict):
        raise MappingError(f"{shown}:1: expected a mapping with `fields:` (and optionally `severity:`, `services:`, "
                           "`time_zone:`), e.g.\nfields:\n  title: Summary\n  started_at: Created")

    def where(*steps) -> str:
        return f"{shown}:{position_of(data, steps)[0]}"

    sections = ("fields", "severity", "services", "time_zone", "tool")
    for key in data:
        if key not in sections:
            suggestion = did_you_mean(str(key), sections)
            raise MappingError(f"{where(key)}: unknown section {key!r}; expected "
                               + (f"{suggestion!r}" if suggestion else ", ".join(sections)))
    fields: dict[str, tuple[str, ...]] = {}
    raw_fields = data.get("fields") or {}
    if not isinstance(raw_fields, dict):
        raise MappingError(f"{where('fields')}: `fields` must be a mapping of our field to their field, "
                           "e.g.\nfields:\n  title: Summary")
    for target, value in raw_fields.items():
        if target not in TARGETS:
            suggestion = did_you_mean(str(target), list(TARGETS))
            raise MappingError(f"{where('fields', target)}: {target!r} is not a field the importer fills"
                               + (f"; did you mean {suggestion!r}?" if suggestion else "")
                               + " Fields: " + ", ".join(TARGETS))
        names = _names(value)
        if names is None:
            raise MappingError(f"{where('fields', target)}: fields.{target}: expected the name of their field, or a "
                               f"list of names tried in order, e.g. {target}: [Created, Opened]")
        fields[target] = names
    tables = {}
    for section in ("severity", "services"):
        raw = data.get(section) or {}
        if not isinstance(raw, dict) or not all(isinstance(v, str) and v.strip() for v in raw.values()):
            example = "P1: SEV1" if section == "severity" else "Checkout API: checkout"
            raise MappingError(f"{where(section)}: `{section}` must map their value to ours, one per line, "
                               f"e.g.\n{section}:\n  {example}")
        tables[section] = {str(k).strip().lower(): v.strip() for k, v in raw.items()}
    zone = None
    if data.get("time_zone") is not None:
        zone = parse_offset(str(data["time_zone"]))
        if zone is None:
            raise MappingError(f"{where('time_zone')}: time_zone {data['time_zone']!r}: expected a UTC offset such "
                               "as \"+01:00\" or \"-05:00\", or UTC (in quotes)")
    tool = data.get("tool")
    if tool is not None and not (isinstance(tool, str) and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", tool)):
        raise MappingError(f"{where('tool')}: tool {tool!r}: expected the tool's name in lower-case words joined by "
                           "hyphens, e.g. tool: statuspage")
    default_tool = re.sub(r"[^a-z0-9]+", "-", Path(path).stem.lower()).strip("-") or "export"
    return Mapping(fields, tables["severity"], tables["services"], zone, shown, tool or default_tool)


def parse_offset(text: str) -> timezone | None:
    text = text.strip()
    if text.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    match = re.fullmatch(r"(?:UTC|GMT)?\s*([+-])(\d{1,2}):?(\d{2})?", text, re.I)
    if not match:
        return None
    minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
    if minutes > 14 * 60:
        return None
    return timezone(timedelta(minutes=minutes if match.group(1) == "+" else -minutes))


# ------------------------------------------------------------------ reading values


def lookup(record: dict, names: tuple[str, ...]) -> tuple[str, object] | None:
    """The first of `names` with a non-empty value in record (names compared without case), as (name, value)."""
    lowered = {str(k).strip().lower(): k for k in record}
    for name in names:
        key = lowered.get(name.lower())
        if key is not None and not _empty(record[key]):
            return str(key), record[key]
    return None


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


def as_text(value) -> str:
    if isinstance(value, list):
        return ", ".join(as_text(v) for v in value if not _empty(v))
    if isinstance(value, dict):
        for key in ("summary", "name", "title", "value", "display_name"):
            if isinstance(value.get(key), str):
                return value[key].strip()
        return ""
    return re.sub(r"[ \t]+", " ", str(value)).strip()


def as_list(value) -> list[str]:
    """A list from YAML or JSON, or from text separated by commas, semicolons or new lines."""
    if isinstance(value, list):
        out = []
        for item in value:
            out += as_list(item) if isinstance(item, list) else ([as_text(item)] if not _empty(item) else [])
        return [v for v in out if v]
    if isinstance(value, dict):
        text = as_text(value)
        return [text] if text else []
    return [part.strip() for part in re.split(r"[,;\n]", str(value)) if part.strip()]


@dataclass(frozen=True)
class When:
    at: datetime
    assumed_zone: bool  # the text gave no offset: the mapping's time zone (or UTC) was used
    date_only: bool


# Formats exports write, after ISO 8601: ServiceNow and Opsgenie "2024-03-01 10:00:00", Jira
# "01/Mar/24 10:00 AM", US exports "03/01/2024 10:00", and prose "March 1, 2024 10:00 AM".
_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%b/%y %I:%M %p", "%d/%b/%Y %I:%M %p", "%d/%b/%y %H:%M",
            "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%B %d, %Y %I:%M %p",
            "%b %d, %Y %I:%M %p", "%d %B %Y %H:%M", "%Y/%m/%d %H:%M:%S", "%d.%m.%Y %H:%M")


def as_when(value, zone: timezone | None = None) -> When | None:
    """A timestamp from a YAML, JSON or CSV value, or None when it cannot be read for certain."""
    default = zone or timezone.utc
    if isinstance(value, datetime):
        return When(value if value.tzinfo else value.replace(tzinfo=default), value.tzinfo is None, False)
    if isinstance(value, date):
        return When(datetime.combine(value, time(), tzinfo=default), True, True)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Epoch seconds or milliseconds (Opsgenie's API); anything smaller is not a timestamp.
        seconds = value / 1000 if value > 1e11 else value
        if seconds < 1e8:
            return None
        return When(datetime.fromtimestamp(seconds, timezone.utc), False, False)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"\d{10}(\d{3})?(\.\d+)?", text):
        return as_when(float(text), zone)
    iso = text[:-1] + "+00:00" if text[-1:] in "Zz" else text
    iso = re.sub(r"\s+(UTC|GMT)$", "+00:00", iso)
    iso = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", iso)  # +0100 -> +01:00, which 3.10 needs
    iso = re.sub(r"(\.\d{6})\d+", r"\1", iso)  # nanoseconds
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        parsed = None
    if parsed is not None:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return When(parsed.replace(tzinfo=default), True, True)
        return When(parsed if parsed.tzinfo else parsed.replace(tzinfo=default), parsed.tzinfo is None, False)
    for pattern in _FORMATS:
        try:
            parsed = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return When(parsed.replace(tzinfo=default), True, False)
    return None


_STATUS_WORDS = {
    "closed": ("closed", "done", "complete", "completed", "postmortem", "post-mortem", "learning", "documented",
               "cancelled", "canceled", "declined"),
    "resolved": ("resolved", "fixed", "restored"),
    "mitigated": ("mitigated", "monitoring", "stabilised", "stabilized", "paused", "fixing"),
    "open": ("open", "new", "triggered", "acknowledged", "active", "investigating", "identified", "in progress",
             "in-progress", "on hold", "triage", "triaging", "to do", "todo", "assigned", "work in progress"),
}


def as_status(value) -> str | None:
    """Their status word as ours (open, mitigated, resolved, closed), or None when it is not known."""
    text = as_text(value).lower()
    text = re.sub(r"^\d+\s*-\s*", "", text)  # ServiceNow "7 - Closed"
    for ours, words in _STATUS_WORDS.items():
        if text in words:
            return ours
    return None
