"""What an import works with: a Draft per source item, its Outcome, the Result of a run, the Options,
and the Target knowledge base (its policy, catalog and records, read once). See importplan.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from incidentkb.core.findings import Finding
from incidentkb.records.load import Layout, load, load_catalog, load_policy

# ------------------------------------------------------------------ severities and services

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
                    sources.setdefault((tool_family(ref["tool"]), str(ref["id"])), incident.path)
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


def tool_family(tool: str) -> str:
    return "document" if tool in DOCUMENT_TOOLS else tool
