"""Loading a knowledge base from a folder: policy, catalog, then every record file.

Loading never stops at the first broken file: a file that cannot be read or
validated is reported and skipped, and the rest still load. The result is a
KnowledgeBase of plain objects (no MkDocs imports) and the findings of loading.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from incidentkb.core.findings import ERROR, Finding
from incidentkb.core.progress import Progress
from incidentkb.core.yamlsafe import MarkedDict, YAMLDocumentError, parse
from incidentkb.records.frontmatter import SourceFile, read_record, read_text
from incidentkb.records.model import (
    CATALOG_SCHEMA, RECORD_CLASSES, RECORD_SCHEMAS, SERVICE_SCHEMA, TEAM_SCHEMA, VENDOR_SCHEMA, CatalogEntry,
    KnowledgeBase, Record, Schema,
)
from incidentkb.records.policy import POLICY_SCHEMA, Policy, policy_from_data
from incidentkb.records.schema import Context, ListOf


@dataclass(frozen=True)
class Layout:
    """Where things live, relative to the knowledge-base root."""

    incidents: str = "incidents"
    runbooks: str = "runbooks"
    problems: str = "problems"
    catalog: str = "catalog.yml"
    policy: str = "policy.yml"

    def record_dirs(self) -> dict[str, str]:
        return {"incident": self.incidents, "runbook": self.runbooks, "problem": self.problems}


# Endings of text files that look like records saved under the wrong name.
TEXT_SUFFIXES = {"", ".markdown", ".mdown", ".mkd", ".mkdn", ".txt", ".text", ".yml", ".yaml"}

# Files in record folders that are not records.
IGNORED_NAMES = {"README.md", "index.md", ".gitkeep", ".DS_Store"}


def record_files(root: Path, folder: str) -> list[Path]:
    """Every file under a record folder, sorted, hidden files skipped."""
    base = root / folder
    if not base.is_dir():
        return []
    out = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(Path(dirpath) / name for name in filenames if not name.startswith(".") and name not in IGNORED_NAMES)
    return sorted(out)


def relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _required_present(schema: Schema, data: dict) -> bool:
    for spec in schema.fields:
        if spec.required:
            value = data.get(spec.name)
            if value is None or (isinstance(spec.type, ListOf) and spec.type.min_items and not value):
                return False
    return True


def load_yaml_file(root: Path, rel: str, max_bytes: int, pure_yaml: bool = False) -> tuple[object, list[Finding]]:
    """Read and parse a whole-file YAML document (catalog, policy). Returns (data or None, findings)."""
    text, findings = read_text(root / rel, rel, max_bytes)
    if text is None:
        return None, findings
    try:
        parsed = parse(text, line_offset=0, pure=pure_yaml)
    except YAMLDocumentError as p:
        return None, findings + [Finding(rel, p.line, p.column, ERROR, p.code, p.message, p.hint)]
    findings += [
        Finding(rel, d.line, d.column, ERROR, "duplicate-key", f"the key {d.key!r} appears twice (first on line {d.first_line})",
                "YAML keeps only the last value; merge the two into one.")
        for d in parsed.duplicates
    ]
    if parsed.data is None:
        return MarkedDict(), findings
    if not isinstance(parsed.data, MarkedDict):
        return None, findings + [Finding(rel, 1, 1, ERROR, "not-a-mapping", "expected a mapping of sections at the top level",
                                         "Start the file with section names such as `services:`.")]
    return parsed.data, findings


def load_policy(root: Path, layout: Layout, pure_yaml: bool = False) -> tuple[Policy, list[Finding]]:
    rel = layout.policy
    if not (root / rel).is_file():
        return Policy(), []
    data, findings = load_yaml_file(root, rel, Policy().max_file_bytes, pure_yaml)
    if data is None:
        return Policy(path=rel), findings
    ctx = Context(rel, data, unknown_level=ERROR)
    validated = POLICY_SCHEMA.validate(data, ctx)
    policy = policy_from_data(validated, rel)
    policy.raw = data
    return policy, findings + ctx.findings


def load_catalog(root: Path, layout: Layout, policy: Policy, pure_yaml: bool = False):
    """Returns (teams, services, vendors, findings); all empty when there is no catalog file."""
    rel = layout.catalog
    if not (root / rel).is_file():
        return [], [], [], []
    data, findings = load_yaml_file(root, rel, policy.max_file_bytes, pure_yaml)
    if data is None:
        return [], [], [], findings
    ctx = Context(rel, data, policy.choices())
    validated = CATALOG_SCHEMA.validate(data, ctx)
    findings += ctx.findings
    groups = []
    for section, item_schema in (("teams", TEAM_SCHEMA), ("services", SERVICE_SCHEMA), ("vendors", VENDOR_SCHEMA)):
        raw_items = data.get(section) if isinstance(data.get(section), list) else []
        entries = []
        for index, item in enumerate(validated.get(section) or []):
            if not _required_present(item_schema, item):
                continue
            raw = raw_items[index] if index < len(raw_items) and isinstance(raw_items[index], MarkedDict) else None
            if item.get("visibility") is None:
                item["visibility"] = policy.default_visibility
            entries.append(CatalogEntry(item_schema.kind, rel, item, raw, entry_line=raw.line if raw is not None else 0))
        groups.append(entries)
    return groups[0], groups[1], groups[2], findings


def load_record(path: Path, rel: str, kind: str, policy: Policy, pure_yaml: bool = False,
                severities_seen: dict[str, list[str]] | None = None) -> tuple[Record | None, list[Finding]]:
    """Read, parse and validate one record file. `severities_seen` collects incident severities as written."""
    source = read_record(path, rel, policy.max_file_bytes, pure_yaml)
    if isinstance(source, list):
        return None, source
    return record_from_source(source, kind, policy, severities_seen)


def record_from_source(source: SourceFile, kind: str, policy: Policy,
                       severities_seen: dict[str, list[str]] | None = None) -> tuple[Record | None, list[Finding]]:
    """Validate a read record (frontmatter.SourceFile) against its schema and the policy."""
    rel = source.path
    if severities_seen is not None and kind == "incident" and isinstance(source.meta.get("severity"), str):
        # Noted before validation: an incident whose severity the policy no longer defines fails to load,
        # and the policy check must still name it.
        severities_seen.setdefault(source.meta["severity"], []).append(str(source.meta.get("id") or rel))
    schema = RECORD_SCHEMAS[kind]
    ctx = Context(rel, source.meta, policy.choices())
    data = schema.validate(source.meta, ctx)
    findings = source.findings + ctx.findings
    if not _required_present(schema, data):
        return None, findings
    if "visibility" in data and data["visibility"] is None:
        data["visibility"] = policy.default_visibility
    record = RECORD_CLASSES[kind](kind, rel, data, source.meta, source.body, source.body_line)
    return record, findings


@contextmanager
def paused_gc():
    """Pause the cyclic garbage collector while loading.

    Loading allocates millions of small, acyclic objects that all stay alive.
    The collector would rescan that growing heap again and again, which made
    loading 10,000 incidents 25% slower and superlinear (measured).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load(root: str | Path, layout: Layout = Layout(), pure_yaml: bool = False,
         kinds: Iterable[str] = ("incident", "runbook", "problem"),
         progress: Progress | None = None) -> tuple[KnowledgeBase, list[Finding]]:
    """Load the policy, the catalog and the records of `kinds` under root (`kb alerts` needs no incidents,
    which are most of the work). Never raises for bad content: problems come back as findings.
    `progress("reading records", done, total)` is told of each record file read."""
    with paused_gc():
        return _load(Path(root), layout, pure_yaml, frozenset(kinds), progress)


def _load(root: Path, layout: Layout, pure_yaml: bool, kinds: frozenset[str],
          progress: Progress | None = None) -> tuple[KnowledgeBase, list[Finding]]:
    policy, findings = load_policy(root, layout, pure_yaml)
    teams, services, vendors, catalog_findings = load_catalog(root, layout, policy, pure_yaml)
    findings += catalog_findings
    records: dict[str, list[Record]] = {kind: [] for kind in RECORD_CLASSES}
    severities_seen: dict[str, list[str]] = {}
    files_read = 0
    paths = [(kind, folder, path) for kind, folder in layout.record_dirs().items() if kind in kinds
             for path in record_files(root, folder)]
    for kind, folder, path in paths:
        rel = relative(root, path)
        files_read += 1
        if progress:
            progress("reading records", files_read, len(paths))
        if path.suffix != ".md":
            # A record saved as .markdown or .txt would silently vanish from the site: that is an error.
            # Other files (images, attachments) are left alone.
            if path.suffix.lower() in TEXT_SUFFIXES:
                findings.append(Finding(rel, 0, 0, ERROR, "not-markdown", f"{kind} records must end in .md",
                                        f"Rename it to {path.stem}.md (git mv), or move it out of {folder}/."))
            continue
        record, record_findings = load_record(path, rel, kind, policy, pure_yaml, severities_seen)
        findings += record_findings
        if record is not None:
            records[kind].append(record)
    kb = KnowledgeBase(
        root=str(root),
        incidents=records["incident"],
        runbooks=records["runbook"],
        problems=records["problem"],
        teams=teams,
        services=services,
        vendors=vendors,
        policy=policy,
        files_read=files_read + sum(1 for rel in (layout.catalog, layout.policy) if (root / rel).is_file()),
        severities_in_use=severities_seen,
    )
    return kb, findings
