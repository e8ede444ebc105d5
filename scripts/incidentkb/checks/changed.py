"""`kb check --changed`: check what a pull request changed, plus the records that refer to it.

On a 10,000-incident repository a full check reads and validates every file.
A pull request touches a few. Here only those files are loaded, together with
the records whose text mentions their ids (found with `git grep`, which reads
git's index rather than the files); every other record is known by its file
name, which is enough to tell whether a reference or an id is taken.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from incidentkb.checks.consistency import check_knowledge_base
from incidentkb.core.errors import UsageError
from incidentkb.core.findings import Finding
from incidentkb.records.load import Layout, load_catalog, load_policy, load_record
from incidentkb.records.model import KnowledgeBase


class ChangedError(UsageError):
    """--changed cannot work here (no git, unknown base); the message says why."""


def _git(root: Path, *args: str) -> str:
    try:
        result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ChangedError("--changed needs git, which is not installed") from None
    if result.returncode != 0:
        raise ChangedError(f"git {' '.join(args)} failed: {result.stderr.strip() or result.returncode}")
    return result.stdout


def _prefix(root: Path) -> str:
    """Where root is inside its repository ('' at the top), or ChangedError when it is in none."""
    try:
        return _git(root, "rev-parse", "--show-prefix").strip()
    except ChangedError:
        raise ChangedError(f"--changed needs a git repository; {root} is not inside one") from None


def changed_paths(root: Path, base: str | None = None) -> list[str]:
    """Paths (relative to root) changed since `base` (default: the last commit), staged or not, and new files.

    One `git status` pass finds modified and untracked files (it stats the working tree once); the
    commits since `base` come from a tree-to-tree diff, which reads no working files at all.
    """
    prefix = _prefix(root)
    names: set[str] = set()
    fields = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", ".").split("\0")
    index = 0
    while index < len(fields):
        entry = fields[index]
        index += 1
        if len(entry) < 4:
            continue
        names.add(entry[3:])
        if entry[0] in "RC":  # a rename or copy: the next field is where it came from
            names.add(fields[index])
            index += 1
    if base:
        merge_base = _git(root, "merge-base", base, "HEAD").strip()
        names |= set(_git(root, "diff", "--name-only", "--no-renames", merge_base, "HEAD", "--", ".").split("\n"))
    return sorted(name[len(prefix):] for name in names if name.startswith(prefix) and len(name) > len(prefix))


def _record_names(root: Path, folders: dict[str, str]) -> dict[str, str]:
    """{relative path: kind} of every record file git knows or sees, without walking the folders."""
    listed = _git(root, "ls-files", "--cached", "--others", "--exclude-standard", "--", *folders.values())
    kind_of = {}
    for rel in listed.split("\n"):
        if rel.endswith(".md"):
            for kind, folder in folders.items():
                if rel.startswith(folder + "/"):
                    kind_of[rel] = kind
    return kind_of


def _id_from_name(kind: str, name: str) -> str:
    stem = name.rsplit("/", 1)[-1].removesuffix(".md")
    if kind == "runbook":
        return stem
    parts = stem.split("-")
    return "-".join(parts[:3] if kind == "incident" else parts[:2])


@dataclass
class ChangedCheck:
    findings: list[Finding]
    files_checked: int
    changed: list[str]


def check_changed(root: Path, paths: list[str], layout: Layout = Layout(), today=None) -> ChangedCheck:
    root = Path(root)
    folders = layout.record_dirs()
    # Every record by its file name: enough for "does this id exist" and "is this id taken".
    # git's index still lists a file deleted in the working tree: only files that exist are records.
    kind_of = {rel: kind for rel, kind in _record_names(root, folders).items() if os.path.exists(root / rel)}
    names: dict[str, dict[str, list[str]]] = {kind: {} for kind in folders}
    for rel, kind in kind_of.items():
        names[kind].setdefault(_id_from_name(kind, rel), []).append(rel)
    changed_records = [p for p in paths if p in kind_of]
    config_changed = [p for p in paths if p in (layout.catalog, layout.policy)]
    # Deleted or renamed-away records: whoever referred to them must be checked.
    gone = {p: kind for p in paths if p not in kind_of and p.endswith(".md")
            for kind, folder in folders.items() if p.startswith(folder + "/")}

    policy, findings = load_policy(root, layout)
    teams, services, vendors, catalog_findings = load_catalog(root, layout, policy)
    findings = [f for f in findings + catalog_findings if f.path in config_changed]

    records = {kind: [] for kind in folders}
    severities_seen: dict[str, list[str]] = {}

    def load_into(rel: str) -> None:
        nonlocal findings
        record, record_findings = load_record(root / rel, rel, kind_of[rel], policy, severities_seen=severities_seen)
        findings += record_findings
        if record is not None:
            records[kind_of[rel]].append(record)

    for rel in changed_records:
        load_into(rel)
    # The records that mention a changed record's id are checked too: their references may now dangle.
    ids = {_id_from_name(kind_of[p], p) for p in changed_records} | {_id_from_name(k, p) for p, k in gone.items()}
    ids |= {record.id for group in records.values() for record in group}
    ids = sorted(ids)
    referrers: set[str] = set()
    if ids:
        patterns = [arg for record_id in ids for arg in ("-e", record_id)]
        out = subprocess.run(["git", "-C", str(root), "grep", "-l", "-F", "--untracked", *patterns, "--",
                              *folders.values()], capture_output=True, text=True, check=False).stdout
        referrers = {line for line in out.split("\n") if line in kind_of}
    for rel in sorted(referrers - set(changed_records)):
        load_into(rel)
    selected = sorted(set(changed_records) | referrers)
    kb = KnowledgeBase(str(root), incidents=records["incident"], runbooks=records["runbook"],
                       problems=records["problem"], teams=teams, services=services, vendors=vendors, policy=policy,
                       severities_in_use=severities_seen)
    known = {kind: set(ids_) for kind, ids_ in names.items()}
    selected_set = set(selected) | set(config_changed)
    all_findings = check_knowledge_base(kb, layout.incidents, layout.runbooks, layout.catalog, today=today,
                                        known_ids=known)
    # Duplicate ids are blamed on the changed file (below), whichever of the two sorts first.
    findings += [f for f in all_findings if f.path in selected_set and f.code != "duplicate-id"]
    # An id taken by a file that was not loaded.
    for kind, folder_records in records.items():
        for record in folder_records:
            others = [p for p in names[kind].get(record.id, []) if p != record.path]
            if others and record.path in changed_records:
                findings.append(Finding(record.path, record.line_of("id"), 1, "error", "duplicate-id",
                                        f"id: the {kind} id {record.id!r} is already used by {others[0]}",
                                        "Every record needs its own id; `kb new` picks the next free one."))
    return ChangedCheck(findings, len(selected) + len(config_changed), paths)
