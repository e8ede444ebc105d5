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

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from incidentkb.authoring.fieldmap import Mapping
from incidentkb.authoring.import_catalog import add_to_catalog, catalog_entries, catalog_yaml

# ------------------------------------------------------------------ severities and services
from incidentkb.authoring.import_model import (
    DOCUMENT_TOOLS, IMPORTED, Draft, Options, Outcome, Result, Target, tool_family,
)
from incidentkb.authoring.import_records import dump, iso, render, update_text
from incidentkb.checks.consistency import check_knowledge_base, slugify
from incidentkb.checks.secrets import Scanner, options_from_policy
from incidentkb.core.findings import ERROR, Finding
from incidentkb.core.safe_write import replace_file, write_new_file
from incidentkb.records.frontmatter import record_from_text
from incidentkb.records.load import record_from_source
from incidentkb.records.model import INCIDENT_ID, CatalogEntry, KnowledgeBase
from incidentkb.records.schema import did_you_mean


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
    added_entries = catalog_entries(added, target, drafts, options) if added else []
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
        key = (tool_family(draft.source["tool"]), str(draft.source["id"]))
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
        if wanted in target.unsourced_ids and draft.source and tool_family(draft.source["tool"]) == "document" \
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
                                            + ("" if tool_family((draft.source or {}).get("tool", "")) == "document"
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
