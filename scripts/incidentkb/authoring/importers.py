"""Importing an existing archive: post-mortem documents and alert runbooks.

Post-mortems come as Markdown (heading-structured, like the DFDS archive, or a story under
someone else's front matter, like the icco archive), HTML (Confluence and Google Docs exports)
and Word .docx; docconvert.py turns the last two into Markdown with real converters. Each file
becomes a Draft (importplan.py), which is matched, numbered, checked and only then written: a
record never overwrites another, and the report lists per file what could not be mapped.

Why this module is long: one concern, reading post-mortem documents into drafts; the plan, the
converters, the field maps and the tool presets are modules of their own.

What is read, in order of trust (the first found wins; each is reported as mapped):
- front matter, through the mapping (fieldmap.py: title, start/end times, summary, categories
  and keywords as tags, product or company as the service, severity, url and uuid as the source);
- sections (read with markdown-it, core/markdown.py): the H1 title; Summary; Timeline (a table or
  list of "YYYY-MM-DD HH:MM | event"); Root cause; Contributing factors; Impact; Action items;
  and "Key: value" lines such as "Category: Kubernetes", "Time to detection: 8 minutes";
- times stated in the prose ("On February 28, 2017, at 9:37 AM PST", prosetimes.py) when there
  is no timeline table.

Assumptions, stated once (docs/guide/import-documents.md repeats them):
- Times without a stated zone are in the mapping's time zone, else UTC; "All times in CET" is +01:00.
- started_at is the stated start, else the earliest timeline time, else the first date in the
  text, else the publication date (an upper bound, reported), else --undated if given (tagged
  date-unknown). A file with none of these is not imported: we never invent when it happened.
- resolved_at is the stated end, else start + "Time to recovery", else the last timeline time,
  else the start (reported: the duration is unknown).
- Severity and services not stated: the least severe level of the policy and `--service`
  (default: the placeholder `imported`), reported, to be corrected by hand.
- Imported runbooks get last_reviewed = the import date and are reported as such.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote

from incidentkb.authoring.docconvert import UnreadableDocument, docx_to_markdown, html_to_markdown
from incidentkb.authoring.fieldmap import FRONT_MATTER_MAPPING, Mapping, as_list, as_status, as_text, as_when, lookup
from incidentkb.authoring.import_model import IMPORTED, Draft, Options, Outcome, Result, Target
from incidentkb.authoring.import_records import dump, iso, render
from incidentkb.authoring.importplan import imported_now, run
from incidentkb.authoring.prosetimes import dates_in, moments, zone_of
from incidentkb.checks.consistency import slugify
from incidentkb.core import markdown
from incidentkb.core.errors import ProblemsFound
from incidentkb.core.markdown import Outline
from incidentkb.core.safe_write import write_new_file
from incidentkb.core.terms import camel_words, kebab
from incidentkb.core.yamlsafe import MarkedDict, YAMLDocumentError, parse
from incidentkb.records.model import INCIDENT_ID

MAX_SOURCE_BYTES = 1_000_000
MAX_DOCUMENT_BYTES = 20_000_000  # a .docx with pictures; the pictures are dropped
DOCUMENT_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".docx": "docx"}
EVENT_CHARS = 300  # a timeline event taken from a sentence of prose is cut here

# Files that describe a folder rather than being a record.
_NOT_RECORDS = {"readme", "license", "licence", "_index", "index", "changelog", "contributing"}

FileReport = Outcome  # the runbook importer's name for it


class UnusableSource(ProblemsFound):
    """A source file that cannot become a record; the message says why."""


# ------------------------------------------------------------------ Markdown structure


@dataclass
class Document:
    title: str | None  # the first heading, when it is an H1 before any other section
    title_lines: tuple[int, int] | None  # its lines, to leave it out of the body
    sections: list[markdown.Section]  # each heading of level 1-2 after the title
    outline: Outline

    @property
    def lines(self) -> list[str]:
        return self.outline.lines


def parse_markdown(text: str) -> Document:
    """The H1 title and the top-level sections (deeper headings stay in their section), fence-aware."""
    doc = markdown.outline(text)
    sections = doc.sections(2)
    title = None
    if sections and sections[0].heading.level == 1:
        title, sections = sections[0].heading, sections[1:]
    return Document(title.text if title else None, (title.start, title.end) if title else None, sections, doc)


def _section(doc: Document, *names: str) -> markdown.Section | None:
    """The first section whose heading starts with one of the names (case-insensitive)."""
    for section in doc.sections:
        lowered = section.heading.text.lower()
        if any(lowered.startswith(name) for name in names):
            return section
    return None


def _paragraphs(doc: Document, section: markdown.Section) -> list[str]:
    return markdown.paragraphs(doc.outline, section.start, section.end)


def _bullets(doc: Document, section: markdown.Section) -> list[str]:
    """Top-level list items of a section, or its paragraphs when it has no list."""
    return markdown.list_items(doc.outline, section.start, section.end) or _paragraphs(doc, section)


def _body_without_title(doc: Document) -> str:
    lines = list(doc.lines)
    if doc.title_lines is not None:
        del lines[doc.title_lines[0]:doc.title_lines[1]]
    return "\n".join(lines).strip()


# ------------------------------------------------------------------ times and durations

_DATETIME = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?:[ \tT]+(\d{1,2})[:.](\d{2}))?(?!\d)")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b", re.I)
_UNIT_MINUTES = {"d": 1440, "h": 60, "m": 1, "s": 1 / 60}


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


def _timeline(doc: Document, section: markdown.Section, tz: timezone) -> tuple[list[TimelineEntry], list[str]]:
    """Entries of a timeline table or list, and the rows whose time could not be read."""
    rows = [(cells[0], " ".join(c for c in cells[1:] if c)) for cells in
            markdown.table_rows(doc.outline, section.start, section.end) if len(cells) >= 2]
    rows += [(item, item) for item in markdown.list_items(doc.outline, section.start, section.end)]
    entries, unreadable = [], []
    for when, event in rows:
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
        if event.strip():
            entries.append(TimelineEntry(moment, event.strip(), hour is None))
    return entries, unreadable


# ------------------------------------------------------------------ reading source files


def read_source(path: Path) -> str:
    """A Markdown file as text, or UnusableSource with a reason a person understands."""
    data = _read_bytes(path, MAX_SOURCE_BYTES, "a post-mortem or runbook")
    if b"\0" in data:
        raise UnusableSource("is a binary file, not Markdown")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnusableSource(f"is not UTF-8 text (byte {error.start + 1}); save it as UTF-8 and import again") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_bytes(path: Path, limit: int, what: str) -> bytes:
    try:
        if path.stat().st_size > limit:
            raise UnusableSource(f"is larger than {limit:,} bytes; not {what}")
        return path.read_bytes()
    except OSError as error:
        raise UnusableSource(f"cannot be read ({error.strerror or error})") from None


def read_document(path: Path) -> tuple[str, str, list[str]]:
    """(Markdown, format, notes) of a post-mortem file: Markdown as it is, HTML and .docx converted."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".docx":
            converted = docx_to_markdown(_read_bytes(path, MAX_DOCUMENT_BYTES, "a post-mortem"))
        elif suffix in (".html", ".htm"):
            converted = html_to_markdown(_read_bytes(path, MAX_DOCUMENT_BYTES, "a post-mortem"))
        else:
            return read_source(path), "markdown", []
    except UnreadableDocument as problem:
        raise UnusableSource(str(problem)) from None
    return converted.markdown, converted.flavour, converted.notes


def source_files(src: Path, suffixes=(".md", ".markdown")) -> list[Path]:
    """Files under src with one of the suffixes, sorted; files without an extension too (some archives drop '.md').

    Files with a suffix come first, so that when a file exists with and without the extension,
    the one with it is the record and the other is reported as a duplicate.
    """
    if src.is_file():
        return [src]
    found = [p for p in src.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(src).parts)]
    named = sorted(p for p in found if p.suffix.lower() in suffixes)
    bare = sorted(p for p in found if p.suffix == "" or not re.fullmatch(r"\.[A-Za-z0-9]{1,8}", p.suffix))
    return named + [p for p in bare if p not in named]


def _is_not_a_record(path: Path) -> bool:
    return path.stem.lower() in _NOT_RECORDS or path.name.lower() in _NOT_RECORDS


_FRONT = re.compile(r"---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|$)", re.S)


def split_front_matter(text: str, strict: bool = False) -> tuple[dict, str]:
    """Someone else's front matter (--- YAML ---) and the rest. Parsed safely and bounded (yamlsafe).

    With `strict`, front matter that is not valid YAML is an UnusableSource naming the line; otherwise
    it is ignored (runbooks, where front matter only holds a title)."""
    match = _FRONT.match(text)
    if not match:
        return {}, text
    try:
        meta = parse(match.group(1), line_offset=1).data
    except YAMLDocumentError as problem:
        if strict:
            raise UnusableSource(f"has front matter that is not valid YAML (line {problem.line}: {problem.message}); "
                                "fix it and import again") from None
        meta = None
    return (meta if isinstance(meta, (dict, MarkedDict)) else {}), text[match.end():]


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
_RANDOM_NAME = re.compile(r"[0-9a-f]{8}(-?[0-9a-f]{4}){3}-?[0-9a-f]{12}|[0-9a-f]{16,}", re.I)
_SECTIONS = ("summary", "timeline", "root cause", "contributing", "impact")


def _sentence_title(text: str) -> str:
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0].rstrip(".")
    if len(first) <= 90:
        return first
    return first[:90].rsplit(" ", 1)[0] + "…"


def _stem(name: str) -> str:
    path = Path(name)
    return path.stem if path.suffix.lower() in DOCUMENT_SUFFIXES else path.name


def draft_postmortem(text: str, name: str, *, tool: str = "markdown", mapping: Mapping = FRONT_MATTER_MAPPING,
                     service: str | None = None, undated: date | None = None, shown: str | None = None,
                     source_id: str | None = None, imported_at: str | None = None) -> Draft:
    """One post-mortem (Markdown, possibly with someone else's front matter) as a Draft of an incident."""
    front, body_text = split_front_matter(text, strict=True)
    doc = parse_markdown(body_text)
    notes: list[str] = []
    mapped: dict[str, str] = {}
    zone = mapping.time_zone

    def take(target: str):
        found = lookup(front, mapping.fields.get(target, ())) if front else None
        if found is not None:
            mapped[target] = found[0]
            return found[1]
        return None

    def when(target: str):
        value = take(target)
        if value is None:
            return None
        moment = as_when(value, zone)
        if moment is None:
            notes.append(f"{target}: {mapped.pop(target)} {as_text(value)!r} is not a date and time; left out")
            return None
        if moment.assumed_zone and not moment.date_only:
            notes.append(f"{target}: {mapped[target]} has no UTC offset; read as {'UTC' if zone is None else zone}")
        return moment

    paragraphs = markdown.paragraphs(doc.outline, 0, len(doc.lines)) + \
        markdown.list_items(doc.outline, 0, len(doc.lines))
    has_structure = any(_section(doc, n) for n in _SECTIONS)
    stem = _stem(name)

    # When: the stated start, then the timeline, then the prose.
    timeline_section = _section(doc, "timeline")
    tz = zone or zone_of(doc.outline.text(timeline_section.heading.start, timeline_section.end)
                         if timeline_section else "") or zone_of(body_text) or timezone.utc
    entries: list[TimelineEntry] = []
    if timeline_section:
        entries, unreadable = _timeline(doc, timeline_section, tz)
        for row in unreadable:
            notes.append(f"timeline: could not read the time {row!r} (row kept in the body only)")
        if entries and any(e.date_only for e in entries):
            notes.append("timeline: some rows have a date but no time; read as 00:00")
    elif has_structure:
        notes.append("no Timeline section")
    if not entries:
        stated = moments(paragraphs, tz)
        entries = [TimelineEntry(m.at, _cut(m.text), False) for m in stated]
        if entries:
            mapped["timeline"] = "times stated in the text"
    elif entries:
        mapped["timeline"] = "the Timeline section"
    if entries and not (zone or zone_of(body_text)):
        notes.append("timeline: no time zone stated; times read as UTC")

    start = when("started_at")
    started = start.at if start else None
    if started is None and entries:
        started = min(e.at for e in entries)
        mapped["started_at"] = "the earliest time in the timeline"
    if started is None:
        first = next((d for p in paragraphs for _, d in dates_in(p)), None)
        if first is not None:
            started = datetime(first.year, first.month, first.day, tzinfo=tz)
            mapped["started_at"] = "the first date in the text"
            notes.append("started_at: only a date is stated; read as 00:00")
    if started is None:
        published = when("published_at")
        if published is not None:
            started = published.at
            mapped["started_at"] = mapped.pop("published_at")
            notes.append(f"started_at: not stated; the publication date ({mapped['started_at']}) is used: the "
                         "incident happened on or before it")
    undated_tag = False
    if started is None and undated is not None:
        started = datetime(undated.year, undated.month, undated.day, tzinfo=timezone.utc)
        undated_tag = True
        mapped["started_at"] = "--undated"
        notes.append(f"started_at: no date anywhere in the file; set to --undated {undated.isoformat()} and tagged "
                     "date-unknown")
    structured = has_structure or bool(front)
    if started is None:
        if not structured:
            raise UnusableSource("has none of the sections Summary, Timeline, Root cause, Contributing factors or "
                                "Impact, no front matter and no date; not a post-mortem")
        raise UnusableSource("states no date (no start time, timeline or date in the text; expected e.g. "
                            "'| 2021-06-22 08:21 | what happened |' or start_time: in the front matter); add one, or "
                            "pass --undated YYYY-MM-DD: the importer never invents when an incident happened")

    # Title and summary.
    title = as_text(take("title") or "") or doc.title
    if doc.title and "title" not in mapped:
        mapped["title"] = "the first heading"
    summary_section = _section(doc, "summary", "overview", "description", "what happened", "executive summary")
    summary = as_text(take("summary") or "")
    if not summary and summary_section and _paragraphs(doc, summary_section):
        summary = " ".join(_paragraphs(doc, summary_section))
        mapped["summary"] = "the Summary section"
    if not summary and paragraphs:
        summary = paragraphs[0]
        mapped["summary"] = "the first paragraph"
        notes.append("no summary: the first paragraph is used")
    if not title:
        name_title = re.sub(r"^\s*PM[\w-]*\d\s*[-–—:]\s*", "", stem).strip()
        if name_title and not _RANDOM_NAME.fullmatch(name_title):
            title = name_title
            notes.append(f"no title: used the file name ({title!r})")
        elif summary:
            title = _sentence_title(summary)
            notes.append(f"no title: used the first sentence ({title!r})")
        else:
            title = name_title or stem
            notes.append(f"no title: used the file name ({title!r})")
    if not summary:
        summary = f"Imported post-mortem: {title}."
        notes.append("no Summary section: summary says only 'Imported post-mortem'")

    # The end, and the durations stated in "Key: value" lines.
    end = when("resolved_at")
    detection = parse_duration(_field(body_text, "time to detection", "time to detect", "ttd") or "")
    recovery = parse_duration(_field(body_text, "time to recovery", "time to recover", "time to resolution",
                                     "time to resolve", "ttr", "duration") or "")
    resolved = end.at if end else None
    if resolved is not None and resolved < started:
        notes.append(f"resolved_at: {mapped.pop('resolved_at')} is before the start; left out")
        resolved = None
    if resolved is None and recovery is not None:
        resolved = started + recovery
        mapped["resolved_at"] = "Time to recovery"
    later = [e.at for e in entries if e.at > started]
    if resolved is None and later:
        resolved = max(later)
        mapped["resolved_at"] = "the last time in the timeline"
        notes.append("time to recovery: not stated; resolved_at is the last timeline time")
    if resolved is None:
        resolved = started
        notes.append("resolved_at: not stated; set to started_at (the duration is unknown)")

    meta: dict = {"title": title}
    status = take("status")
    meta["status"] = as_status(status) if status is not None and as_status(status) in ("resolved", "closed") \
        else "closed"
    if status is not None and meta["status"] != as_status(status):
        notes.append(f"status: {as_text(status)!r} is not a resolved state; a post-mortem is of a closed incident")
        mapped.pop("status", None)
    meta["started_at"] = iso(started)
    detected = when("detected_at")
    if detected is not None and started <= detected.at <= resolved:
        meta["detected_at"] = iso(detected.at)
    elif detection is not None and started + detection <= resolved:
        meta["detected_at"] = iso(started + detection)
        mapped["detected_at"] = "Time to detection"
    elif has_structure:
        notes.append("time to detection: " + ("not stated" if detection is None else "after the recovery time; left out"))
    meta["resolved_at"] = iso(resolved)
    meta["summary"] = summary

    tags: list[str] = []
    # Every field listed for tags adds its values (categories and keywords both).
    tag_sources = [found for found in (lookup(front, (name,)) for name in mapping.fields.get("tags", ())) if found]
    if tag_sources:
        mapped["tags"] = " + ".join(name for name, _ in tag_sources)
    for value in [v for _, raw in tag_sources for v in as_list(raw)]:
        tag = slugify(value)
        if tag and tag not in tags:
            tags.append(tag)
    category = _field(body_text, "category", "categories")
    if category and not _PLACEHOLDER_VALUE.match(category) and slugify(category):
        if slugify(category) not in tags:
            tags.append(slugify(category))
        mapped.setdefault("tags", "Category:")
    elif not tags:
        notes.append("category: not stated (no tag)")
    if undated_tag:
        tags.append("date-unknown")
    if tags:
        meta["tags"] = tags

    root = _section(doc, "root cause", "root-cause", "cause")
    if root and _bullets(doc, root):
        meta["root_causes"] = [{"category": "unknown", "description": d} for d in _bullets(doc, root)]
        mapped["root_causes"] = "the Root cause section"
    factors = _section(doc, "contributing factor", "contributing")
    if factors and _bullets(doc, factors):
        meta["contributing_factors"] = [{"category": "unknown", "description": d} for d in _bullets(doc, factors)]
        mapped["contributing_factors"] = "the Contributing factors section"
    if root or factors:
        notes.append("cause categories: not stated; set to 'unknown'")
    elif has_structure:
        notes.append("no Root cause or Contributing factors section")

    impact_section = _section(doc, "impact")
    impact = as_text(take("impact") or "")
    if not impact and impact_section:
        impact = " ".join(_paragraphs(doc, impact_section) or _bullets(doc, impact_section))
        if impact:
            mapped["impact"] = "the Impact section"
    if impact:
        meta["impact"] = {"description": impact}
    commander = as_text(take("commander") or "")
    if commander:
        meta["roles"] = {"commander": commander}
    if entries:
        meta["timeline"] = [{"at": iso(e.at), "event": e.event} for e in sorted(entries, key=lambda e: e.at)]
    if _section(doc, "action item", "follow-up", "follow up", "next steps"):
        notes.append("action items: kept in the body (owners, due dates and status are not stated)")

    severity = take("severity")
    severity_raw = as_text(severity) if severity is not None else _field(body_text, "severity", "sev")
    if severity is None and severity_raw:
        mapped["severity"] = "Severity:"
    services_raw = as_list(take("services") or [])
    if not services_raw:
        services_raw = [service or IMPORTED]
        if not service:
            notes.append(f"services: not stated; set to the placeholder '{IMPORTED}'")

    source = {"tool": tool, "id": str(as_text(take("source_id") or "") or source_id or shown or name)}
    url = as_text(take("source_url") or "")
    if re.match(r"https?://\S+$", url):
        source["url"] = url
    if imported_at:
        source["imported_at"] = imported_at
    wanted = None
    number = _PM_NUMBER.search(stem)
    if number:
        wanted = f"INC-{number.group(1)}-{int(number.group(2)):03d}"
    elif isinstance(front.get("id"), str) and re.fullmatch(INCIDENT_ID, front["id"]):
        wanted = front["id"]
    return Draft(shown or name, meta, _body_without_title(doc), started.year, notes, mapped, severity_raw or None,
                 services_raw, source, wanted)


def _cut(sentence: str) -> str:
    plain = re.sub(r"[*_`]", "", re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", sentence)).strip()
    return plain if len(plain) <= EVENT_CHARS else plain[:EVENT_CHARS].rsplit(" ", 1)[0] + "…"


def import_postmortems(src: Path, into: Path, *, mapping: Mapping | None = None, options: Options | None = None,
                       service: str | None = None, undated: date | None = None) -> Result:
    """Import every post-mortem under src (Markdown, HTML, .docx) into the knowledge base at into."""
    src, into = Path(src), Path(into)
    options = options or Options()
    mapping = FRONT_MATTER_MAPPING.merged(mapping) if mapping else FRONT_MATTER_MAPPING
    target = Target.read(into)
    files = source_files(src, tuple(DOCUMENT_SUFFIXES))
    items: list[Draft | Outcome] = []
    stamp = imported_now()
    for number, path in enumerate(files, 1):
        if options.progress:
            options.progress("reading", number, len(files))
        shown = path.relative_to(src).as_posix() if path != src else path.name
        if _is_not_a_record(path):
            items.append(Outcome(shown, "ignored", notes=["a folder description, not a post-mortem"]))
            continue
        try:
            text, tool, converter_notes = read_document(path)
            draft = draft_postmortem(text, path.name, tool=tool, mapping=mapping, service=service, undated=undated,
                                     shown=shown, imported_at=stamp)
        except UnusableSource as problem:
            items.append(Outcome(shown, "skipped", notes=[f"{path.name} {problem}"]))
            continue
        draft.notes = converter_notes + draft.notes
        draft.path = path
        items.append(draft)
    return run(items, target, mapping, options, relink=_relink_drafts)


def convert_postmortem(text: str, name: str, **kwargs) -> Draft:
    """One Markdown post-mortem as a Draft numbered from its PM number (for tests and previews)."""
    draft = draft_postmortem(text, name, **kwargs)
    draft.meta["severity"] = draft.severity_raw or "SEV3"
    draft.meta["services"] = draft.services_raw
    draft.record_id = draft.wanted_id or ""
    draft.meta = {k: draft.meta[k] for k in ("title", "status", "severity", "services")} | draft.meta
    if draft.record_id:
        draft.rel = f"incidents/{draft.record_id.split('-')[1]}/{draft.record_id}-{slugify(draft.meta['title'])}.md"
    draft.text = render(draft)
    return draft


# ------------------------------------------------------------------ links between imported files

_REFERENCE = re.compile(r"^([ \t]{0,3}\[[^\]]+\]:[ \t]*)(\S+)(.*)$", re.M)
_SHORTCODE = re.compile(r"\{\{<\s*(?:rel)?ref\s+\"([^\"]+)\"\s*>\}\}")
_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|#|/)")
_INLINE = re.compile(r"(!?)\[([^\]]*)\]\(\s*(<[^>]*>|\{\{<[^}]*>\}\}|[^)\s]+)(\s+\"[^\"]*\")?\s*\)")


def relink(body: str, source: Path, rel: str, targets: dict[Path, str]) -> tuple[str, list[str]]:
    """Links between files of the archive, rewritten to point at the imported records; code left alone.

    A relative link to a file that was not imported (or a picture that was not copied) would be a
    broken link in the site, so it becomes plain text, and the file's report says so. Links inside
    code blocks and `code spans` are code, not links, and are not touched (core/markdown.py: code_ranges).
    """
    here = posixpath.dirname(rel)
    lost: list[str] = []

    def resolve(target: str) -> str | None:
        raw = target.strip("<>")
        shortcode = _SHORTCODE.fullmatch(raw)
        if shortcode:
            raw = shortcode.group(1)
        elif _EXTERNAL.match(raw):
            return raw
        file_part = unquote(raw.split("#", 1)[0])
        candidate = (source.parent / file_part).resolve() if file_part else None
        if candidate in targets:
            return posixpath.relpath(targets[candidate], here)
        lost.append(unquote(raw))
        return None

    code = markdown.code_ranges(body)

    def reference(match: re.Match) -> str:
        if markdown.inside(code, match.start()):
            return match.group(0)
        new = resolve(match.group(2))
        return "" if new is None else match.group(1) + new + match.group(3)

    def inline(match: re.Match) -> str:
        if markdown.inside(code, match.start()):
            return match.group(0)
        bang, text, target, title = match.group(1), match.group(2), match.group(3), match.group(4) or ""
        new = resolve(target)
        return text if new is None else f"{bang}[{text}]({new}{title})"

    # Reference definitions first (whole lines), then inline links; code ranges are found per pass.
    body = _REFERENCE.sub(reference, body)
    code = markdown.code_ranges(body)
    body = _INLINE.sub(inline, body)
    return body, sorted(set(lost))


def _relink_drafts(drafts: list[Draft]) -> None:
    targets = {d.path.resolve(): d.rel for d in drafts if d.path is not None}
    for draft in drafts:
        if draft.path is None:
            continue
        draft.body, lost = relink(draft.body, draft.path, draft.rel, targets)
        if lost:
            draft.notes.append("links to files that were not imported, kept as plain text: " + ", ".join(lost))


# ------------------------------------------------------------------ runbooks


@dataclass
class Converted:
    kind: str
    rel: str  # record path relative to --into
    text: str
    notes: list[str]
    record_id: str
    body: str = ""
    meta: dict = field(default_factory=dict)


_ALERT_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:.-]*")
_SECTION_RENAMES = {"meaning": "Symptoms", "symptom": "Symptoms", "symptoms": "Symptoms", "description": "Symptoms"}


def convert_runbook(text: str, name: str, component: str | None, *, owner: str = IMPORTED,
                    reviewed: date | None = None) -> Converted:
    """One alert runbook as a runbook record: the alert from the file name, the component as its service."""
    meta_in, content = split_front_matter(text)
    doc = parse_markdown(content)
    notes: list[str] = []
    stem = _stem(name)
    alert = stem if _ALERT_NAME.fullmatch(stem) and re.search(r"[A-Za-z]", stem) else None
    if alert is None and doc.title and _ALERT_NAME.fullmatch(doc.title):
        alert = doc.title
    if alert is None:
        raise UnusableSource("is not named after an alert (expected a file name such as KubePodCrashLooping.md)")
    runbook_id = kebab(alert)
    if not runbook_id:
        raise UnusableSource(f"gives no usable id from the alert name {alert!r}")
    given = meta_in.get("title")
    title = as_text(given) if isinstance(given, str) and given.strip() else " ".join(camel_words(alert))
    service = slugify(component) if component else ""
    if not service:
        service = IMPORTED
        notes.append(f"services: no component folder; set to the placeholder '{IMPORTED}'")
    if not doc.sections and not markdown.paragraphs(doc.outline, 0, len(doc.lines)):
        raise UnusableSource("is empty")

    # Headings of level 1-2 become '## <our name>'; setext headings too, and never a line inside a fence.
    lines = list(doc.lines)
    present = set()
    for section in reversed(doc.sections):
        heading = section.heading
        renamed = _SECTION_RENAMES.get(heading.text.lower(), heading.text)
        present.add(renamed.lower())
        lines[heading.start:heading.end] = [f"## {renamed}"]
    if doc.title_lines is not None:
        del lines[doc.title_lines[0]:doc.title_lines[1]]
    body = "\n".join(lines).strip()
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
    return Converted("runbook", rel, dump(meta, body), notes, runbook_id, body, meta)


def import_runbooks(src: Path, into: Path, *, owner: str = IMPORTED, reviewed: date | None = None) -> list[Outcome]:
    """Import every alert runbook under src (component = the folder holding the file). Never overwrites."""
    src, into = Path(src), Path(into)
    reports: list[Outcome] = []
    converted_files: list[tuple[int, Path, Converted]] = []
    seen: dict[str, str] = {}
    for path in source_files(src):
        shown = path.relative_to(src).as_posix() if path != src else path.name
        if _is_not_a_record(path):
            reports.append(Outcome(shown, "ignored", notes=["a folder description, not a runbook"]))
            continue
        component = path.parent.name if path.parent != src and path != src else None
        try:
            converted = convert_runbook(read_source(path), path.name, component, owner=owner, reviewed=reviewed)
        except UnusableSource as problem:
            reports.append(Outcome(shown, "skipped", notes=[f"{path.name} {problem}"]))
            continue
        if converted.record_id in seen:
            first = seen[converted.record_id]
            reports.append(Outcome(shown, "exists", first,
                                   [f"the runbook {converted.record_id} was already imported from {first}"]))
            continue
        seen[converted.record_id] = shown
        reports.append(Outcome(shown, "pending"))
        converted_files.append((len(reports) - 1, path, converted))
    targets = {path.resolve(): converted.rel for _, path, converted in converted_files}
    for _, path, converted in converted_files:
        body, lost = relink(converted.body, path, converted.rel, targets)
        converted.text = dump(converted.meta, body)
        if lost:
            converted.notes.append("links to files that were not imported, kept as plain text: " + ", ".join(lost))
    existing = {p.stem: p for p in sorted((into / "runbooks").rglob("*.md"))} if (into / "runbooks").is_dir() else {}
    for number, path, converted in converted_files:
        reports[number] = _write(into, converted, existing.get(converted.record_id), reports[number].source)
    return reports


def _write(into: Path, converted: Converted, existing: Path | None, shown: str) -> Outcome:
    if existing is not None:
        return Outcome(shown, "exists", existing.relative_to(into).as_posix(),
                       [f"{converted.record_id} already exists; nothing was overwritten"])
    try:
        write_new_file(into / converted.rel, converted.text)
    except FileExistsError:
        return Outcome(shown, "exists", converted.rel, [f"{converted.rel} already exists; nothing was overwritten"])
    except OSError as error:
        return Outcome(shown, "skipped", converted.rel, [f"cannot write {converted.rel}: {error.strerror or error}"])
    return Outcome(shown, "imported", converted.rel, converted.notes)
