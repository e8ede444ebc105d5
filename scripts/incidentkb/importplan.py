"""An import as a plan: every record converted, matched, numbered and checked before anything is written.

The importers (importers.py for documents, tabular.py for exports) turn each source item into a
Draft: our front matter, a body, notes on what could not be mapped, and the source's own words
for severity and services. This module does the rest the same way for both:

1. severities through the policy file (ids and names, and the mapping's `severity:` table);
   a value that matches nothing is reported, never guessed;
2. services against the catalog (ids and names, and the mapping's `services:` table), with a
   did-you-mean; unknown ones are listed, and added to catalog.yml with `add_services`;
3. the source reference (tool and id): a record imported before is found again, and left alone
   or, with `update`, refreshed without touching its body;
4. ids: a wanted id (a PM number) when it is free, else the next free number of the year;
   never one that exists or that another record of the same run took;
5. the secrets scanner and every check of `kb check`, run on the records in memory: a record
   with an error is not written, and the report says what to fix;
6. only then, unless it is a dry run, catalog additions and records are written, each record
   with write_new_file (never overwriting) or, for an update, replaced whole and atomically.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import yaml

from .check import check_knowledge_base, slugify
from .fieldmap import Mapping
from .findings import ERROR, Finding
from .frontmatter import record_from_text
from .load import Layout, load, load_catalog, load_policy, record_from_source
from .model import INCIDENT_ID, CatalogEntry, KnowledgeBase
from .safe_write import replace_file, write_new_file
from .schema import did_you_mean
from .secrets import Scanner, options_from_policy

IMPORTED = "imported"  # the placeholder service when a source names none
# The facts an export owns: `--update` refreshes these, and only while nobody has edited them.
UPDATABLE = ("title", "status", "severity", "services", "started_at", "detected_at", "acknowledged_at",
             "mitigated_at", "resolved_at")
DOCUMENT_TOOLS = ("markdown", "html", "confluence", "google-docs", "docx")

Progress = Callable[[str, int, int], None]  # (what is being done, done, total)


@dataclass
class Draft:
    """One record to be, before it has an id."""

    shown: str  # the source item as the report names it: a file, or "export.csv row 12"
    meta: dict  # our front matter, without id (and without severity and services until resolved)
    body: str
    year: int
    notes: list[str] = field(default_factory=list)
    mapped: dict[str, str] = field(default_factory=dict)  # our field -> where its value came from
    severity_raw: str | None = None  # the source's words; None when it states none
    services_raw: list[str] = field(default_factory=list)
    source: dict | None = None  # {"tool", "id", "url"}
    wanted_id: str | None = None
    path: Path | None = None  # the source file, for relinking documents to each other
    # Filled in by the plan.
    record_id: str = ""
    rel: str = ""
    text: str = ""
    problems: list[str] = field(default_factory=list)  # why it is not written
    status: str = "new"  # new, exists, update, unchanged, failed


@dataclass
class Outcome:
    """What happened to one source item: for the report."""

    source: str
    status: str  # imported, updated, exists, unchanged, skipped (failed), ignored; "would ..." in a dry run
    target: str = ""
    notes: list[str] = field(default_factory=list)
    mapped: dict[str, str] = field(default_factory=dict)
    text: str = ""  # the record as written (or as it would be, in a dry run)

    @property
    def failed(self) -> bool:
        return self.status == "skipped"


@dataclass
class Result:
    outcomes: list[Outcome]
    added_services: list[dict] = field(default_factory=list)
    catalog_text: str = ""  # the entries added to catalog.yml, as YAML
    warnings: int = 0  # warnings `kb check` will give on the written records


@dataclass
class Options:
    severity: str | None = None  # for records that state none (None: the policy's least severe)
    add_services: bool = False
    update: bool = False
    dry_run: bool = False
    today: date | None = None
    progress: Progress | None = None


# ------------------------------------------------------------------ the knowledge base imported into


@dataclass
class Target:
    root: Path
    layout: Layout
    policy: object
    teams: list
    services: list
    vendors: list
    has_catalog: bool
    used_numbers: dict[int, int]  # year -> highest number in use (file names)
    existing_ids: dict[str, str]  # incident id -> path
    sources: dict[tuple[str, str], str]  # (tool family, source id) -> path
    unsourced_ids: set[str]  # incidents without a source reference (imported before references existed)
    problems: list[Finding]

    @classmethod
    def read(cls, root: Path, layout: Layout = Layout()) -> Target:
        root = Path(root)
        policy, problems = load_policy(root, layout)
        teams, services, vendors, catalog_problems = load_catalog(root, layout, policy)
        problems = [f for f in problems + catalog_problems if f.is_error]
        existing, sources, unsourced = {}, {}, set()
        if (root / layout.incidents).is_dir():
            kb, _ = load(root, layout)
            for incident in kb.incidents:
                existing.setdefault(incident.id, incident.path)
                ref = incident.data.get("source")
                if ref:
                    sources.setdefault((_family(ref["tool"]), str(ref["id"])), incident.path)
                else:
                    unsourced.add(incident.id)
        used: dict[int, int] = {}
        for path in (root / layout.incidents).rglob("INC-*") if (root / layout.incidents).is_dir() else ():
            match = re.match(r"INC-(\d{4})-(\d{3,})", path.name)
            if match:
                year, number = int(match.group(1)), int(match.group(2))
                used[year] = max(used.get(year, 0), number)
                existing.setdefault(f"INC-{match.group(1)}-{match.group(2)}", path.relative_to(root).as_posix())
        return cls(root, layout, policy, teams, services, vendors, (root / layout.catalog).is_file(), used, existing,
                   sources, unsourced, problems)


def _family(tool: str) -> str:
    return "document" if tool in DOCUMENT_TOOLS else tool


# ------------------------------------------------------------------ severities and services


def match_severity(value: str, policy, mapping: Mapping) -> str | None:
    """Their severity or priority as one of the policy's severity ids, or None when nothing matches."""
    key = value.strip().lower()
    ids = list(policy.severity_ids)
    if key in mapping.severity:
        return mapping.severity[key] if mapping.severity[key] in ids else None

    def squash(text: str) -> str:
        return re.sub(r"[\s_-]+", "", text.lower())

    # "SEV 1", "sev-1", "Sev1"; ServiceNow's "1 - Critical" and incident.io's "Critical" by name.
    bare = re.sub(r"^\d+\s*-\s*", "", key)
    for level in policy.severities:
        if squash(level["id"]) in (squash(key), squash(bare)) or str(level.get("name", "")).lower() in (key, bare):
            return level["id"]
    return None


def default_severity(policy) -> str:
    """The least severe level: an import never claims more than it knows."""
    return policy.severity_ids[-1]


@dataclass
class ServiceIndex:
    ids: set[str]
    by_name: dict[str, str]  # lower-case name -> id
    checked: bool  # False when the knowledge base has no catalog: any id is accepted

    @classmethod
    def of(cls, target: Target) -> ServiceIndex:
        entries = target.services + target.vendors
        return cls({e.id for e in entries}, {str(e.name).lower(): e.id for e in entries if e.data.get("name")},
                   target.has_catalog)

    def match(self, name: str, mapping: Mapping) -> str | None:
        key = name.strip().lower()
        if key in mapping.services:
            return mapping.services[key]
        if not self.checked:
            return slugify(name) or None
        if name in self.ids:
            return name
        if key in self.by_name:
            return self.by_name[key]
        slug = slugify(name)
        return slug if slug in self.ids else None

    def suggestion(self, name: str) -> str | None:
        """The nearest catalog id, by id or by display name ("Web site" is near Website, whose id is web)."""
        by_id = did_you_mean(slugify(name) or name, sorted(self.ids)) if self.ids else None
        by_name = did_you_mean(name.lower(), sorted(self.by_name)) if self.by_name else None
        return by_id or (self.by_name[by_name] if by_name else None)


# ------------------------------------------------------------------ the plan


def plan(drafts: list[Draft], target: Target, mapping: Mapping, options: Options,
         relink: Callable[[list[Draft]], None] | None = None) -> Result:
    """Resolve, number, render and check every draft; write nothing. See the module docstring.
    `relink` may rewrite the drafts' bodies once every draft has its path (links between documents)."""
    policy = target.policy
    services = ServiceIndex.of(target)
    unknown: dict[str, list[Draft]] = {}
    for draft in drafts:
        _resolve_severity(draft, policy, mapping, options)
        resolved = []
        for name in draft.services_raw or [IMPORTED]:
            service = services.match(name, mapping)
            if service is None:
                unknown.setdefault(name, []).append(draft)
            elif service not in resolved:
                resolved.append(service)
        draft.meta["services"] = resolved
    added = _unknown_services(unknown, services, options)
    _match_sources(drafts, target, options)
    _number(drafts, target)
    if relink is not None:
        relink([d for d in drafts if d.status == "new"])
    for draft in drafts:
        if draft.status in ("new", "update"):
            draft.text = render(draft)
    added_entries = _catalog_entries(added, target, drafts, options) if added else []
    warnings = verify([d for d in drafts if d.status in ("new", "update") and not d.problems], target, added_entries,
                      options)
    return Result([], added_entries, catalog_yaml(added_entries), warnings)


def _resolve_severity(draft: Draft, policy, mapping: Mapping, options: Options) -> None:
    if draft.severity_raw:
        severity = match_severity(draft.severity_raw, policy, mapping)
        if severity is None:
            levels = ", ".join(f"{s['id']} ({s.get('name', '')})" for s in policy.severities)
            draft.problems.append(
                f"severity {draft.severity_raw!r} is not a severity of the policy ({levels}); nothing is guessed: "
                f"say what it means in a --map file, e.g.\nseverity:\n  {draft.severity_raw}: {policy.severity_ids[0]}")
            severity = default_severity(policy)

    else:
        severity = options.severity or default_severity(policy)
        draft.notes.append(f"severity: not stated; set to {severity}")
    draft.meta["severity"] = severity


def _unknown_services(unknown: dict[str, list[Draft]], services: ServiceIndex, options: Options) -> dict[str, str]:
    """Unknown service names: added (name -> new id) with add_services, else a problem on each draft."""
    added: dict[str, str] = {}
    for name, drafts in sorted(unknown.items()):
        new_id = slugify(name)
        if options.add_services and new_id:
            added[name] = new_id
            for draft in drafts:
                if new_id not in draft.meta["services"]:
                    draft.meta["services"].append(new_id)
                draft.notes.append(f"services: {name!r} added to the catalog as {new_id!r}")
            continue
        suggestion = services.suggestion(name)
        for draft in drafts:
            draft.problems.append(
                f"service {name!r} is not in the catalog" + (f"; did you mean {suggestion!r}?" if suggestion else "")
                + " Add it with --add-services, or map it to a catalog id in a --map file, e.g.\nservices:\n  "
                + f"{name}: {suggestion or 'checkout'}")
    return added


def _match_sources(drafts: list[Draft], target: Target, options: Options) -> None:
    seen: dict[tuple[str, str], Draft] = {}
    for draft in drafts:
        if draft.source is None:
            continue
        key = (_family(draft.source["tool"]), str(draft.source["id"]))
        if key in seen:
            draft.status = "failed"
            draft.problems.append(f"the same {draft.source['tool']} id {key[1]!r} as {seen[key].shown}; imported once")
            continue
        seen[key] = draft
        existing = target.sources.get(key)
        if existing is not None:
            draft.rel = existing
            draft.status = "update" if options.update else "exists"


def _number(drafts: list[Draft], target: Target) -> None:
    """Ids in time order within each year; a wanted id only when nobody else has it."""
    taken = set(target.existing_ids)
    used = dict(target.used_numbers)
    ordered = sorted((d for d in drafts if d.status == "new"), key=lambda d: (d.meta.get("started_at", ""), d.shown))
    for draft in ordered:
        wanted = draft.wanted_id
        legacy = f"{wanted}-{slugify(draft.meta['title']) or 'imported'}.md" if wanted else ""
        if wanted in target.unsourced_ids and draft.source and _family(draft.source["tool"]) == "document" \
                and target.existing_ids[wanted].endswith("/" + legacy):
            # Imported before source references existed: the same file again, judged by its number and title.
            draft.status = "exists"
            draft.rel = target.existing_ids[wanted]
            continue
        if wanted and wanted not in taken:
            draft.record_id = wanted
        else:
            number = used.get(draft.year, 0) + 1
            draft.record_id = f"INC-{draft.year}-{number:03d}"
            if wanted:
                draft.notes.append(f"{wanted} is taken: numbered {draft.record_id}")
            elif not draft.wanted_id:
                draft.notes.append(f"numbered {draft.record_id} (the next free number of {draft.year})")
        year, number = draft.record_id.split("-")[1:]
        used[int(year)] = max(used.get(int(year), 0), int(number))
        taken.add(draft.record_id)
        if not re.fullmatch(INCIDENT_ID, draft.record_id):
            draft.problems.append(f"gives the id {draft.record_id}, which is not a valid incident id")
        draft.rel = f"{target.layout.incidents}/{year}/{draft.record_id}-{slugify(draft.meta['title']) or 'imported'}.md"


# ------------------------------------------------------------------ rendering


class _Dumper(yaml.SafeDumper):
    """Block style, except lists of plain values, which read best on one line: services: [kubernetes]."""


def _represent_list(dumper, items):
    flow = all(isinstance(item, (str, int, float)) and len(str(item)) < 60 for item in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def dump(meta: dict, body: str) -> str:
    front = yaml.dump(meta, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    return f"---\n{front}---\n\n{body.strip()}\n"


def iso(moment: datetime) -> str:
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def digest(meta: dict) -> str:
    facts = {name: meta.get(name) for name in UPDATABLE}
    return "sha256:" + hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]


# The order of the front matter of a new record: as `kb new` writes it, the facts first.
_KEY_ORDER = ("id", "title", "status", "severity", "services", "started_at", "detected_at", "acknowledged_at",
              "mitigated_at", "resolved_at", "summary")


def render(draft: Draft) -> str:
    meta = {"id": draft.record_id} if draft.record_id else {}
    meta.update(draft.meta)
    meta = {k: meta[k] for k in _KEY_ORDER if k in meta} | {k: v for k, v in meta.items() if k not in _KEY_ORDER}
    if draft.source is not None:
        meta["source"] = {**draft.source, "digest": digest(meta)}
    if draft.status == "update":
        return ""  # an update keeps the file's own text; see update_text
    return dump(meta, draft.body)


# ------------------------------------------------------------------ the catalog


def _catalog_entries(added: dict[str, str], target: Target, drafts: list[Draft], options: Options) -> list[dict]:
    owner = _first_team(target)
    tiers = [s.data.get("tier") for s in target.services if isinstance(s.data.get("tier"), int)]
    tier = max(tiers) if tiers else 3
    day = (options.today or date.today()).isoformat()
    entries = []
    for name, new_id in sorted(added.items(), key=lambda item: item[1]):
        if any(e["id"] == new_id for e in entries):
            continue
        users = sum(1 for d in drafts if new_id in d.meta.get("services", []))
        entry = {"id": new_id, "name": name if name != IMPORTED else "Imported (service not stated)",
                 "description": f"Added by kb import on {day} for {users} imported incident(s); say what it does."}
        if owner:
            entry["owner"] = owner
        entry["tier"] = tier
        entry["escalation"] = "Not known yet (added by kb import); say who to call."
        entries.append(entry)
    if not owner:
        for draft in drafts:
            if any(s in added.values() for s in draft.meta.get("services", [])):
                draft.problems.append("--add-services needs a team to own the new services: catalog.yml has no "
                                      "teams; add one under teams: first")
    return entries


def _first_team(target: Target) -> str | None:
    """The first team of catalog.yml in file order: the owner of services added by the import, to be changed."""
    teams = sorted(target.teams, key=lambda t: t.entry_line)
    return teams[0].id if teams else None


def catalog_yaml(entries: list[dict], indent: str = "  ") -> str:
    if not entries:
        return ""
    text = yaml.dump(entries, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    return "".join(indent + line if line else line for line in text.splitlines(keepends=True))


def add_to_catalog(text: str, entries: list[dict]) -> str:
    """catalog.yml with entries appended to its services list; comments and everything else kept as written."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if re.match(r"services:[ \t]*(#.*)?$", line)), None)
    if start is None:
        block = "services:\n" + catalog_yaml(entries)
        new = text.rstrip("\n") + ("\n\n" if text.strip() else "") + block
    else:
        end = start + 1
        indent = None
        while end < len(lines) and not re.match(r"[A-Za-z_][\w-]*[ \t]*:", lines[end]):
            item = re.match(r"([ \t]*)- ", lines[end])
            if indent is None and item:
                indent = item.group(1)
            end += 1
        while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
            end -= 1  # blank lines and comments before the next section belong to it
        block = catalog_yaml(entries, indent if indent is not None else "  ").rstrip("\n").split("\n")
        new = "\n".join(lines[:end] + block + lines[end:])
    before = yaml.safe_load(text) or {}
    after = yaml.safe_load(new) or {}
    expected = list(before.get("services") or []) + entries
    if after.get("services") != expected or {k: v for k, v in after.items() if k != "services"} != \
            {k: v for k, v in before.items() if k != "services"}:
        raise ValueError("the catalog's layout could not be followed; add these services by hand:\n"
                         + catalog_yaml(entries))
    return new if new.endswith("\n") else new + "\n"


# ------------------------------------------------------------------ checking before writing


def verify(drafts: list[Draft], target: Target, added: list[dict], options: Options) -> int:
    """Run the secrets scanner and every check of `kb check` on the drafts, in memory.

    Errors become the draft's problems (it is not written); returns how many warnings the written
    records will give. Records are checked among themselves and against the catalog and policy;
    their ids were chosen not to collide with existing ones."""
    policy = target.policy
    scanner = Scanner(options_from_policy(policy))
    records, by_path = [], {}
    total = len(drafts)
    for number, draft in enumerate(drafts, 1):
        if options.progress:
            options.progress("checking", number, total)
        text = draft.text if draft.status == "new" else update_text(target.root / draft.rel, draft)[0]
        source = record_from_text(text, draft.rel)
        if isinstance(source, list):
            draft.problems += [_say(f) for f in source if f.is_error]
            continue
        secrets = scanner.scan(text, draft.rel, source.body_line, source.meta)
        draft.problems += [_say(f) for f in secrets if f.is_error]
        draft.notes += [f"personal data, kept (kb check will warn): {f.message} (line {f.line})"
                        for f in secrets if not f.is_error]
        record, findings = record_from_source(source, "incident", policy)
        draft.problems += [_say(f) for f in findings if f.is_error]
        if record is not None:
            records.append(record)
            by_path[draft.rel] = draft
    services = list(target.services) + [CatalogEntry("service", target.layout.catalog, dict(entry))
                                        for entry in added]
    with tempfile.TemporaryDirectory() as empty:
        # The secret scan of check_knowledge_base reads files from kb.root: an empty folder, because the
        # records are scanned above, in memory, before any exists on disk.
        kb = KnowledgeBase(root=empty, incidents=records, teams=list(target.teams), services=services,
                           vendors=list(target.vendors), policy=policy)
        findings = check_knowledge_base(kb, target.layout.incidents, target.layout.runbooks, target.layout.catalog,
                                        today=options.today)
    warnings = 0
    for finding in findings:
        draft = by_path.get(finding.path)
        if draft is None:
            continue
        if finding.is_error:
            draft.problems.append(_say(finding))
        else:
            warnings += 1
    return warnings


def _say(finding: Finding) -> str:
    where = f"line {finding.line}: " if finding.line else ""
    return f"would not pass kb check: {where}{finding.message} [{finding.code}]" + \
        (f". {finding.hint}" if finding.hint else "")


# ------------------------------------------------------------------ updating


def update_text(path: Path, draft: Draft) -> tuple[str, list[str], str]:
    """The existing record with the export's facts refreshed, its body untouched; what changed; and why
    nothing changed when a person has edited the imported facts since the import (the stored digest no
    longer matches): then the differences are listed instead."""
    from .frontmatter import split

    text = path.read_text(encoding="utf-8")
    parts = split(text, draft.rel)
    if isinstance(parts, Finding):
        return text, [], f"{draft.rel} no longer has front matter; not updated"
    yaml_text, body, _ = parts
    current = yaml.safe_load(yaml_text) or {}
    current = {k: _plain_value(v) for k, v in current.items()}
    new_meta = dict(draft.meta)
    differing = [name for name in UPDATABLE if current.get(name) != new_meta.get(name)]
    if not differing:
        return text, [], ""
    stored = (current.get("source") or {}).get("digest")
    if stored != digest(current):
        return text, [], ("edited since the import, so not updated; the export now says: "
                          + "; ".join(f"{n}: {new_meta.get(n)!r}" for n in differing))
    meta = dict(current)
    for name in UPDATABLE:
        if new_meta.get(name) is None:
            meta.pop(name, None)
        else:
            meta[name] = new_meta[name]
    meta["source"] = {**(current.get("source") or {}), **(draft.source or {})}
    meta["source"]["digest"] = digest(meta)
    # The body is kept byte for byte: it is what people wrote after the import.
    front = yaml.dump(meta, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    return f"---\n{front}---\n{body}", differing, ""


def _plain_value(value):
    """YAML's own types back to the text the importer writes (timestamps as ISO text)."""
    if isinstance(value, datetime):
        return iso(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_value(v) for v in value]
    return value


# ------------------------------------------------------------------ writing


def execute(items: list[Draft | Outcome], target: Target, result: Result, options: Options) -> Result:
    """Write the catalog additions and the records (nothing in a dry run); an Outcome per item, in order."""
    drafts = [item for item in items if isinstance(item, Draft)]
    prefix = "would be " if options.dry_run else ""
    writable = [d for d in drafts if not d.problems and d.status in ("new", "update")]
    needed = {s for d in writable for s in d.meta.get("services", [])}
    result.added_services = [e for e in result.added_services if e["id"] in needed]
    result.catalog_text = catalog_yaml(result.added_services)
    if result.added_services and not options.dry_run:
        catalog = target.root / target.layout.catalog
        old = catalog.read_text(encoding="utf-8") if catalog.is_file() else ""
        try:
            replace_file(catalog, add_to_catalog(old, result.added_services))
        except (ValueError, OSError) as error:
            for draft in writable:
                draft.problems.append(f"cannot add services to {target.layout.catalog}: {error}")
            writable = []
    for draft in items:
        if isinstance(draft, Outcome):
            result.outcomes.append(draft)
            continue
        if draft.status == "exists":  # imported before: what it would map to now does not matter
            result.outcomes.append(Outcome(draft.shown, "exists", draft.rel,
                                           [f"imported before as {draft.rel}; nothing was overwritten"
                                            + ("" if _family((draft.source or {}).get("tool", "")) == "document"
                                               else " (--update refreshes it from a newer export)")]))
            continue
        if draft.problems:
            result.outcomes.append(Outcome(draft.shown, "skipped", draft.rel, draft.problems + draft.notes,
                                           draft.mapped))
            continue
        if draft.status == "update":
            text, changed, edited = update_text(target.root / draft.rel, draft)
            if not changed:
                result.outcomes.append(Outcome(draft.shown, "unchanged", draft.rel, [edited] if edited else []))
                continue
            if not options.dry_run:
                replace_file(target.root / draft.rel, text)
            result.outcomes.append(Outcome(draft.shown, prefix + "updated", draft.rel,
                                           ["refreshed: " + ", ".join(changed) + " (the body is untouched)"]
                                           + draft.notes, draft.mapped, text))
            continue
        if not options.dry_run:
            try:
                write_new_file(target.root / draft.rel, draft.text)
            except FileExistsError:
                result.outcomes.append(Outcome(draft.shown, "exists", draft.rel,
                                               [f"{draft.rel} already exists; nothing was overwritten"]))
                continue
            except OSError as error:
                result.outcomes.append(Outcome(draft.shown, "skipped", draft.rel,
                                               [f"cannot write {draft.rel}: {error.strerror or error}"]))
                continue
        result.outcomes.append(Outcome(draft.shown, prefix + "imported", draft.rel, draft.notes, draft.mapped,
                                       draft.text))
    return result


def run(items: list[Draft | Outcome], target: Target, mapping: Mapping, options: Options,
        relink: Callable[[list[Draft]], None] | None = None) -> Result:
    """Plan, check and (unless a dry run) write. Items that are Outcomes already (a file that could not
    be read, a row that could not be converted) are reported in their place."""
    result = plan([item for item in items if isinstance(item, Draft)], target, mapping, options, relink)
    return execute(items, target, result, options)


def imported_now() -> str:
    return iso(datetime.now(timezone.utc).replace(microsecond=0))


__all__ = ["DOCUMENT_TOOLS", "Draft", "ERROR", "IMPORTED", "Options", "Outcome", "Result", "Target", "add_to_catalog",
           "dump", "imported_now", "iso", "match_severity", "run"]
