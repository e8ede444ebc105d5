"""Importing an existing archive: heading-structured Markdown post-mortems and alert runbooks.

Why this module is long: the two importers share the reading of a foreign Markdown file and the
never-overwrite writing; issue 24 splits it by source.

Both importers read a folder of Markdown files, map what they can find to the
fields of our records, keep the original text as the body, and write one new
record per file with `write_new_file` (never overwriting: a record that already
exists is reported and left alone). Each file gets a report that lists what
could not be mapped, so the user knows what to fill in by hand.

Post-mortems (e.g. the DFDS archive): an H1 title; sections such as Summary,
Timeline (a table or list of "YYYY-MM-DD HH:MM | event"), Root cause,
Contributing Factors, Impact, Action Items, Lessons Learned; and "Key: value"
lines such as "Category: Kubernetes", "Time to detection: 8 minutes".

Runbooks (e.g. prometheus-operator/runbooks): one file per alert, named after
the alert, in a folder per component; sections Meaning, Impact, Diagnosis,
Mitigation. Meaning becomes our Symptoms section.

Assumptions, stated once (docs/guide/similar-incidents.md repeats them):
- Times without a stated zone are UTC; "All times in CET" is +01:00 and CEST +02:00.
- started_at is the earliest timeline time; detected_at and resolved_at come from
  "Time to detection/recovery" when given, else resolved_at is the last timeline time.
- A file with no date at all is not imported: we never invent when an incident happened.
- Severity, services and owners are not in these archives: a placeholder (SEV3,
  `imported`) is used and reported, to be corrected by hand.
- Imported runbooks get last_reviewed = the import date (nobody reviewed them in
  this knowledge base before; the review clock starts now) and are reported as such.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote

import yaml

from incidentkb.checks.consistency import slugify
from incidentkb.core.safe_write import write_new_file
from incidentkb.core.terms import camel_words, kebab
from incidentkb.records.model import DEFAULT_SEVERITIES, INCIDENT_ID

MAX_SOURCE_BYTES = 1_000_000

IMPORTED = "imported"
DEFAULT_SEVERITY = "SEV3"

# Files that describe a folder rather than being a record.
_NOT_RECORDS = {"readme", "license", "licence", "_index", "index", "changelog", "contributing"}


@dataclass
class FileReport:
    """What happened to one source file."""

    source: str  # as given on the command line, posix
    status: str  # "imported", "exists", "skipped" (could not be converted) or "ignored" (not a record)
    target: str = ""  # written (or existing) record, relative to --into
    notes: list[str] = field(default_factory=list)  # what could not be mapped, or why it was skipped

    @property
    def failed(self) -> bool:
        return self.status == "skipped"


class ImportProblem(Exception):
    """A source file that cannot become a record; the message says why."""


# ------------------------------------------------------------------ Markdown structure


_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


@dataclass
class Document:
    title: str | None  # first H1
    title_line: int | None  # index of the H1 line, to leave it out of the body
    sections: list[tuple[str, str]]  # (heading text, content) for each heading of level 1-2 after the title
    lines: list[str]


def parse_markdown(text: str) -> Document:
    """Split Markdown into its H1 title and its top-level sections (deeper headings stay in their section)."""
    lines = text.split("\n")
    title = title_line = None
    sections: list[tuple[str, list[str]]] = []
    in_fence = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match and len(match.group(1)) <= 2:
            heading = match.group(2).strip()
            if len(match.group(1)) == 1 and title is None and not sections:
                title, title_line = _plain(heading), index
                continue
            sections.append((heading, []))
        elif sections:
            sections[-1][1].append(line)
    return Document(title, title_line, [(h, "\n".join(body).strip()) for h, body in sections], lines)


def _plain(markdown: str) -> str:
    """Inline Markdown to plain text: links keep their text, emphasis and code marks go."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", text)
    text = re.sub(r"(\*\*|__|`)", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _section(doc: Document, *names: str) -> tuple[str, str] | None:
    """The first section whose heading starts with one of the names (case-insensitive)."""
    for heading, content in doc.sections:
        lowered = heading.lower()
        if any(lowered.startswith(name) for name in names):
            return heading, content
    return None


def _paragraphs(content: str) -> list[str]:
    """Plain-text paragraphs of a section, without tables, headings and code blocks."""
    out, current, in_fence = [], [], False
    for line in content.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or line.lstrip().startswith(("|", "#")) or not line.strip():
            if current:
                out.append(_plain(" ".join(current)))
                current = []
            continue
        current.append(line.strip())
    if current:
        out.append(_plain(" ".join(current)))
    return [p for p in out if p]


_BULLET = re.compile(r"^[ \t]{0,3}(?:[-*+]|\d+[.)])[ \t]+(.*)$")


def _bullets(content: str) -> list[str]:
    """Top-level list items of a section (continuation lines joined), or its paragraphs when it has no list."""
    items: list[list[str]] = []
    for line in content.split("\n"):
        match = _BULLET.match(line)
        if match:
            items.append([match.group(1)])
        elif items and line.strip() and (line.startswith((" ", "\t")) or not line.lstrip().startswith(("#", "|"))):
            items[-1].append(line.strip())
        elif items and not line.strip():
            items.append([])
    texts = [_plain(" ".join(item)) for item in items if item]
    texts = [t for t in texts if t]
    return texts or _paragraphs(content)


# ------------------------------------------------------------------ times and durations

_ZONES = {"utc": 0, "gmt": 0, "z": 0, "cet": 60, "cest": 120, "bst": 60, "ist": 330, "est": -300, "edt": -240,
          "cst": -360, "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420}
_ZONE_WORD = re.compile(r"\b(UTC|GMT|CET|CEST|BST|EST|EDT|CST|CDT|MST|MDT|PST|PDT)\b(?:\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?)?")
_DATETIME = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?:[ \tT]+(\d{1,2})[:.](\d{2}))?(?!\d)")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b", re.I)
_UNIT_MINUTES = {"d": 1440, "h": 60, "m": 1, "s": 1 / 60}


def _zone_of(text: str) -> tuple[timezone, str] | None:
    match = _ZONE_WORD.search(text)
    if not match:
        return None
    minutes = _ZONES[match.group(1).lower()]
    if match.group(2):
        extra = int(match.group(3)) * 60 + int(match.group(4) or 0)
        minutes += extra if match.group(2) == "+" else -extra
    return timezone(timedelta(minutes=minutes)), match.group(0)


def parse_duration(text: str) -> timedelta | None:
    """'8 minutes', '7 hours', '1h 30m', '2 days' → timedelta; None for '?', 'ZZZ' or empty."""
    total = 0.0
    found = False
    for number, unit in _DURATION_PART.findall(text):
        found = True
        unit = unit.lower()
        key = "m" if unit.startswith("min") or unit == "m" else unit[0]
        total += float(number) * _UNIT_MINUTES[key]
    return timedelta(minutes=total) if found else None


@dataclass
class TimelineEntry:
    at: datetime
    event: str
    date_only: bool


def _timeline(content: str, tz: timezone) -> tuple[list[TimelineEntry], list[str]]:
    """Entries of a timeline table or list, and the rows whose time could not be read."""
    entries, unreadable = [], []
    for line in content.split("\n"):
        stripped = line.strip()
        if stripped.startswith("|"):
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if len(cells) < 2 or set("".join(cells)) <= set("-: "):
                continue
            when, event = cells[0], " ".join(c for c in cells[1:] if c)
        else:
            match = _BULLET.match(line)
            if not match:
                continue
            when, event = match.group(1), match.group(1)
        found = _DATETIME.search(when)
        if not found:
            if re.search(r"\d", when):
                unreadable.append(when)
            continue
        year, month, day, hour, minute = found.groups()
        try:
            moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=tz)
        except ValueError:
            unreadable.append(when)
            continue
        if event == when:  # a list item: the event is what follows the time
            event = when[found.end():].strip(" \t-–—:|")
        event = _plain(event)
        if event:
            entries.append(TimelineEntry(moment, event, hour is None))
    return entries, unreadable


# ------------------------------------------------------------------ reading source files


def read_source(path: Path) -> str:
    """A source file as text, or ImportProblem with a reason a person understands."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportProblem(f"cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise ImportProblem(f"is larger than {MAX_SOURCE_BYTES:,} bytes; not a post-mortem or runbook")
    if b"\0" in data:
        raise ImportProblem("is a binary file, not Markdown")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportProblem(f"is not UTF-8 text (byte {error.start + 1}); save it as UTF-8 and import again") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def source_files(src: Path) -> list[Path]:
    """Markdown files under src, sorted; files without an extension too (some archives drop '.md').

    `.md` files come first, so that when a file exists with and without the extension,
    the `.md` one is the record and the other is reported as a duplicate.
    """
    if src.is_file():
        return [src]
    found = [p for p in src.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(src).parts)]
    markdown = sorted(p for p in found if p.suffix.lower() in (".md", ".markdown"))
    bare = sorted(p for p in found if p.suffix == "" or not re.fullmatch(r"\.[A-Za-z0-9]{1,8}", p.suffix))
    return markdown + [p for p in bare if p not in markdown]


def _is_not_a_record(path: Path) -> bool:
    return path.stem.lower() in _NOT_RECORDS or path.name.lower() in _NOT_RECORDS


def _split_front_matter(text: str) -> tuple[dict, str]:
    """Hugo/Jekyll front matter (--- YAML ---) and the rest; the front matter is only read, never trusted."""
    match = re.match(r"---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|$)", text, re.S)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        meta = None
    return (meta if isinstance(meta, dict) else {}), text[match.end():]


class _Dumper(yaml.SafeDumper):
    """Block style, except lists of plain values, which read best on one line: services: [kubernetes]."""


def _represent_list(dumper, items):
    flow = all(isinstance(item, (str, int, float)) and len(str(item)) < 60 for item in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def _dump(meta: dict, body: str) -> str:
    front = yaml.dump(meta, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    return f"---\n{front}---\n\n{body.strip()}\n"


def _body_without_title(doc: Document) -> str:
    lines = list(doc.lines)
    if doc.title_line is not None:
        del lines[doc.title_line]
    return "\n".join(lines).strip()


_KEY_VALUE = r"^[ \t]*(?:[-*+][ \t]+)?(?:\*\*|__)?{key}(?:\*\*|__)?[ \t]*:(?:\*\*|__)?[ \t]*(.+?)[ \t]*$"


def _field(text: str, *keys: str) -> str | None:
    for key in keys:
        match = re.search(_KEY_VALUE.format(key=key), text, re.I | re.M)
        if match and match.group(1).strip(" *_"):
            return match.group(1).strip(" *_")
    return None


# ------------------------------------------------------------------ post-mortems


_PM_NUMBER = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_ ]?(\d{3,})(?!\d)")
_PLACEHOLDER_VALUE = re.compile(r"^(x+|y+|z+|\?+|n/?a|tbd|todo|-+)$", re.I)


@dataclass
class Converted:
    kind: str
    rel: str  # record path relative to --into
    text: str
    notes: list[str]
    record_id: str


def convert_postmortem(text: str, name: str, *, severity: str = DEFAULT_SEVERITY, service: str = IMPORTED,
                       next_number: Callable[[int], int] | None = None) -> Converted:
    """One post-mortem as an incident record.

    When the file name holds no PM number, `next_number(year)` gives the number for the incident's year."""
    doc = parse_markdown(text)
    has_structure = any(_section(doc, n) for n in ("summary", "timeline", "root cause", "contributing", "impact"))
    if not has_structure:
        raise ImportProblem("has none of the sections Summary, Timeline, Root cause, Contributing factors or Impact; "
                            "not a post-mortem")
    notes: list[str] = []
    stem = Path(name).stem if Path(name).suffix.lower() in (".md", ".markdown") else Path(name).name

    title = doc.title
    if not title:
        title = re.sub(r"^\s*PM[\w-]*\d\s*[-–—:]\s*", "", stem).strip() or stem
        notes.append(f"no '# ' title: used the file name ({title!r})")

    timeline_section = _section(doc, "timeline")
    timeline_text = timeline_section[1] if timeline_section else ""
    zone = _zone_of((timeline_section[0] + "\n" + timeline_text) if timeline_section else "") or _zone_of(text)
    if zone:
        tz, zone_text = zone
    else:
        tz, zone_text = timezone.utc, None
    entries, unreadable = _timeline(timeline_text, tz)
    if not timeline_section:
        notes.append("no Timeline section")
    for when in unreadable:
        notes.append(f"timeline: could not read the time {when!r} (row kept in the body only)")
    if not entries:
        raise ImportProblem("has no date in its timeline (expected rows such as '| 2021-06-22 08:21 | what happened |'); "
                            "add one and import again: the importer never invents when an incident happened")
    if zone_text is None:
        notes.append("timeline: no time zone stated; times read as UTC")
    if any(e.date_only for e in entries):
        notes.append("timeline: some rows have a date but no time; read as 00:00")
    started = min(e.at for e in entries)
    last = max(e.at for e in entries)

    match = _PM_NUMBER.search(stem)
    if match:
        incident_id = f"INC-{match.group(1)}-{int(match.group(2)):03d}"
    elif next_number is not None:
        incident_id = f"INC-{started.year}-{next_number(started.year):03d}"
        notes.append(f"no PM number in the file name: numbered {incident_id}")
    else:
        raise ImportProblem("has no post-mortem number in its name (such as PM2021-005)")
    if not re.fullmatch(INCIDENT_ID, incident_id):
        raise ImportProblem(f"gives the id {incident_id}, which is not a valid incident id")

    summary_section = _section(doc, "summary", "overview", "description", "what happened", "executive summary")
    summary_parts = _paragraphs(summary_section[1]) if summary_section else []
    if summary_parts:
        summary = " ".join(summary_parts)
    else:
        summary = f"Imported post-mortem: {title}."
        notes.append("no Summary section: summary says only 'Imported post-mortem'")

    meta: dict = {"id": incident_id, "title": title, "status": "closed"}
    stated_severity = _field(text, "severity", "sev")
    severity_match = re.search(r"\bSEV\s*-?\s*(\d)\b", stated_severity or "", re.I)
    if severity_match and f"SEV{severity_match.group(1)}" in DEFAULT_SEVERITIES:
        meta["severity"] = f"SEV{severity_match.group(1)}"
    else:
        meta["severity"] = severity
        notes.append(f"severity: not stated; set to {severity}")
    meta["services"] = [service]
    if service == IMPORTED:
        notes.append(f"services: not stated; set to the placeholder '{IMPORTED}'")

    stats = text
    detection = parse_duration(_field(stats, "time to detection", "time to detect", "ttd") or "")
    recovery = parse_duration(_field(stats, "time to recovery", "time to recover", "time to resolution",
                                     "time to resolve", "ttr", "duration") or "")
    resolved = started + recovery if recovery is not None else last
    if recovery is None:
        notes.append("time to recovery: not stated; resolved_at is the last timeline time")
    meta["started_at"] = _iso(started)
    if detection is not None and started + detection <= resolved:
        meta["detected_at"] = _iso(started + detection)
    else:
        notes.append("time to detection: " + ("not stated" if detection is None else "after the recovery time; left out"))
    meta["resolved_at"] = _iso(resolved)
    meta["summary"] = summary

    tags = []
    category = _field(text, "category", "categories")
    if category and not _PLACEHOLDER_VALUE.match(category) and slugify(category):
        tags.append(slugify(category))
    else:
        notes.append("category: not stated (no tag)")
    if tags:
        meta["tags"] = tags

    root = _section(doc, "root cause", "root-cause", "cause")
    if root and _bullets(root[1]):
        meta["root_causes"] = [{"category": "unknown", "description": d} for d in _bullets(root[1])]
    factors = _section(doc, "contributing factor", "contributing")
    if factors and _bullets(factors[1]):
        meta["contributing_factors"] = [{"category": "unknown", "description": d} for d in _bullets(factors[1])]
    if root or factors:
        notes.append("cause categories: not stated; set to 'unknown'")
    else:
        notes.append("no Root cause or Contributing factors section")

    impact = _section(doc, "impact")
    if impact and _paragraphs(impact[1]) + _bullets(impact[1]):
        meta["impact"] = {"description": " ".join(_paragraphs(impact[1]) or _bullets(impact[1]))}

    timeline = [{"at": _iso(e.at), "event": e.event} for e in entries]
    meta["timeline"] = timeline
    if _section(doc, "action item", "follow-up", "follow up", "next steps"):
        notes.append("action items: kept in the body (owners, due dates and status are not stated)")

    rel = f"incidents/{incident_id.split('-')[1]}/{incident_id}-{slugify(title) or 'imported'}.md"
    return Converted("incident", rel, _dump(meta, _body_without_title(doc)), notes, incident_id)


def _iso(moment: datetime) -> str:
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _existing_incident(into: Path, incident_id: str) -> Path | None:
    folder = into / "incidents" / incident_id.split("-")[1]
    if not folder.is_dir():
        return None
    for path in sorted(folder.iterdir()):
        if path.name == f"{incident_id}.md" or path.name.startswith(f"{incident_id}-"):
            return path
    return None


def _free_numbers(into: Path) -> dict[int, int]:
    """Per year, the next incident number not used under into/incidents."""
    top: dict[int, int] = {}
    for path in (into / "incidents").rglob("INC-*"):
        match = re.match(r"INC-(\d{4})-(\d{3,})", path.name)
        if match:
            year, number = int(match.group(1)), int(match.group(2))
            top[year] = max(top.get(year, 0), number)
    return top


def import_postmortems(src: Path, into: Path, *, severity: str = DEFAULT_SEVERITY,
                       service: str = IMPORTED) -> list[FileReport]:
    """Import every post-mortem under src into the knowledge base at into. Never overwrites."""
    src, into = Path(src), Path(into)
    reports: list[FileReport] = []
    converted_files: list[tuple[int, Path, Converted]] = []
    used = _free_numbers(into)
    for path in source_files(src):
        shown = path.relative_to(src).as_posix() if path != src else path.name
        if _is_not_a_record(path):
            reports.append(FileReport(shown, "ignored", notes=["a folder description, not a post-mortem"]))
            continue
        # No number in the name: the next free one of the incident's year, taken once the file converts.
        numbered: list[int] = []

        def next_number(year: int) -> int:
            numbered.append(year)
            return used.get(year, 0) + 1

        try:
            converted = convert_postmortem(read_source(path), path.name, severity=severity, service=service,
                                           next_number=next_number)
        except ImportProblem as problem:
            reports.append(FileReport(shown, "skipped", notes=[f"{path.name} {problem}"]))
            continue
        for year in numbered:
            used[year] = used.get(year, 0) + 1
        reports.append(FileReport(shown, "pending"))
        converted_files.append((len(reports) - 1, path, converted))
    _relink(converted_files, into)
    for number, path, converted in converted_files:
        reports[number] = _write(into, converted, _existing_incident(into, converted.record_id), reports[number].source)
    return reports


_REFERENCE = re.compile(r"^([ \t]{0,3}\[[^\]]+\]:[ \t]*)(\S+)(.*)$", re.M)
_SHORTCODE = re.compile(r"\{\{<\s*(?:rel)?ref\s+\"([^\"]+)\"\s*>\}\}")
_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|#|/)")


def _relink(converted_files: list[tuple[int, Path, "Converted"]], into: Path) -> None:
    """Links between files of the archive, rewritten to point at the imported records.

    A relative link to a file that was not imported (or a picture that was not copied) would be a
    broken link in the site, so it becomes plain text, and the file's report says so.
    """
    targets = {path.resolve(): converted.rel for _, path, converted in converted_files}
    for _, path, converted in converted_files:
        front, _, body = converted.text.partition("\n---\n")
        here = posixpath.dirname(converted.rel)
        lost: list[str] = []

        def resolve(target: str) -> str | None:
            raw = target.strip("<>")
            shortcode = _SHORTCODE.fullmatch(raw)
            if shortcode:
                raw = shortcode.group(1)
            elif _EXTERNAL.match(raw):
                return raw
            file_part = unquote(raw.split("#", 1)[0])
            candidate = (path.parent / file_part).resolve() if file_part else None
            if candidate in targets:
                return posixpath.relpath(targets[candidate], here)
            lost.append(unquote(raw))
            return None

        out_lines = []
        for line in body.split("\n"):
            reference = _REFERENCE.match(line)
            if reference:
                new = resolve(reference.group(2))
                if new is None:
                    continue
                line = reference.group(1) + new + reference.group(3)
            else:
                line = _inline_links(line, resolve)
            out_lines.append(line)
        converted.text = front + "\n---\n" + "\n".join(out_lines)
        if lost:
            converted.notes.append("links to files that were not imported, kept as plain text: "
                                   + ", ".join(sorted(set(lost))))


_INLINE = re.compile(r"(!?)\[([^\]]*)\]\(\s*(<[^>]*>|\{\{<[^}]*>\}\}|[^)\s]+)(\s+\"[^\"]*\")?\s*\)")


def _inline_links(line: str, resolve) -> str:
    def replace(match: re.Match) -> str:
        bang, text, target, title = match.group(1), match.group(2), match.group(3), match.group(4) or ""
        new = resolve(target)
        if new is None:
            return text
        return f"{bang}[{text}]({new}{title})"

    return _INLINE.sub(replace, line)


def _write(into: Path, converted: Converted, existing: Path | None, shown: str) -> FileReport:
    if existing is not None:
        return FileReport(shown, "exists", existing.relative_to(into).as_posix(),
                          [f"{converted.record_id} already exists; nothing was overwritten"])
    try:
        write_new_file(into / converted.rel, converted.text)
    except FileExistsError:
        return FileReport(shown, "exists", converted.rel, [f"{converted.rel} already exists; nothing was overwritten"])
    except OSError as error:
        return FileReport(shown, "skipped", converted.rel, [f"cannot write {converted.rel}: {error.strerror or error}"])
    return FileReport(shown, "imported", converted.rel, converted.notes)


# ------------------------------------------------------------------ runbooks

_ALERT_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:.-]*")
_SECTION_RENAMES = {"meaning": "Symptoms", "symptom": "Symptoms", "symptoms": "Symptoms", "description": "Symptoms"}


def convert_runbook(text: str, name: str, component: str | None, *, owner: str = IMPORTED,
                    reviewed: date | None = None) -> Converted:
    """One alert runbook as a runbook record: the alert from the file name, the component as its service."""
    meta_in, content = _split_front_matter(text)
    doc = parse_markdown(content)
    notes: list[str] = []
    stem = Path(name).stem if Path(name).suffix.lower() in (".md", ".markdown") else Path(name).name
    alert = stem if _ALERT_NAME.fullmatch(stem) and re.search(r"[A-Za-z]", stem) else None
    if alert is None and doc.title and _ALERT_NAME.fullmatch(doc.title):
        alert = doc.title
    if alert is None:
        raise ImportProblem("is not named after an alert (expected a file name such as KubePodCrashLooping.md)")
    runbook_id = kebab(alert)
    if not runbook_id:
        raise ImportProblem(f"gives no usable id from the alert name {alert!r}")
    title = meta_in.get("title") if isinstance(meta_in.get("title"), str) and meta_in.get("title").strip() else None
    title = _plain(title) if title else " ".join(camel_words(alert))
    service = slugify(component) if component else ""
    if not service:
        service = IMPORTED
        notes.append(f"services: no component folder; set to the placeholder '{IMPORTED}'")
    if not doc.sections and not _paragraphs(content):
        raise ImportProblem("is empty")

    body_lines: list[str] = []
    lines = doc.lines
    in_fence = False
    present = set()
    for index, line in enumerate(lines):
        if index == doc.title_line:
            continue
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match and len(match.group(1)) <= 2:
            heading = match.group(2).strip()
            renamed = _SECTION_RENAMES.get(heading.lower(), heading)
            present.add(renamed.lower())
            line = f"## {renamed}"
        body_lines.append(line)
    body = "\n".join(body_lines).strip()
    for section in ("Symptoms", "Impact", "Diagnosis", "Mitigation", "Escalation"):
        if not any(p.startswith(section.lower()) for p in present):
            notes.append(f"no {section} section" + (" (Meaning)" if section == "Symptoms" else ""))
    if "{{" in body:
        notes.append("template shortcodes ({{< ... >}}) kept as text")
    meta = {
        "id": runbook_id,
        "title": title,
        "services": [service],
        "alerts": [alert],
        "owner": owner,
        "last_reviewed": (reviewed or date.today()).isoformat(),
    }
    if owner == IMPORTED:
        notes.append(f"owner: not stated; set to the placeholder '{IMPORTED}'")
    notes.append(f"last_reviewed: set to the import date {meta['last_reviewed']}")
    rel = f"runbooks/{service}/{runbook_id}.md"
    return Converted("runbook", rel, _dump(meta, body), notes, runbook_id)


def import_runbooks(src: Path, into: Path, *, owner: str = IMPORTED, reviewed: date | None = None) -> list[FileReport]:
    """Import every alert runbook under src (component = the folder holding the file). Never overwrites."""
    src, into = Path(src), Path(into)
    reports: list[FileReport] = []
    converted_files: list[tuple[int, Path, Converted]] = []
    seen: dict[str, str] = {}
    for path in source_files(src):
        shown = path.relative_to(src).as_posix() if path != src else path.name
        if _is_not_a_record(path):
            reports.append(FileReport(shown, "ignored", notes=["a folder description, not a runbook"]))
            continue
        component = path.parent.name if path.parent != src and path != src else None
        try:
            converted = convert_runbook(read_source(path), path.name, component, owner=owner, reviewed=reviewed)
        except ImportProblem as problem:
            reports.append(FileReport(shown, "skipped", notes=[f"{path.name} {problem}"]))
            continue
        if converted.record_id in seen:
            first = seen[converted.record_id]
            reports.append(FileReport(shown, "exists", first,
                                      [f"the runbook {converted.record_id} was already imported from {first}"]))
            continue
        seen[converted.record_id] = shown
        reports.append(FileReport(shown, "pending"))
        converted_files.append((len(reports) - 1, path, converted))
    _relink(converted_files, into)
    existing = {p.stem: p for p in sorted((into / "runbooks").rglob("*.md"))} if (into / "runbooks").is_dir() else {}
    for number, path, converted in converted_files:
        reports[number] = _write(into, converted, existing.get(converted.record_id), reports[number].source)
    return reports
