"""Services an import adds to catalog.yml (`--add-services`): placeholder entries, appended without rewriting the file."""

from __future__ import annotations

import re
from datetime import date

import yaml

# ------------------------------------------------------------------ severities and services
from incidentkb.authoring.import_model import IMPORTED, Draft, Options, Target
from incidentkb.authoring.import_records import RecordDumper


def catalog_entries(added: dict[str, str], target: Target, drafts: list[Draft], options: Options) -> list[dict]:
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
    text = yaml.dump(entries, Dumper=RecordDumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
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
