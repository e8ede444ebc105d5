"""`kb check --changed`: check what a pull request changed, plus the records that refer to it.

On a 10,000-incident repository a full check reads and validates every file.
A pull request touches a few. Here only those files are loaded, together with
the records whose text mentions their ids (found with `git grep`, which reads
git's index rather than the files); every other record is known by its file
name, which is enough to tell whether a reference or an id is taken.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .check import check_knowledge_base
from .findings import Finding
from .load import Layout, load_catalog, load_policy, load_record, record_files, relative
from .model import KnowledgeBase


class ChangedError(Exception):
    """--changed cannot work here (no git, unknown base); the message says why."""


def _git(root: Path, *args: str) -> str:
    try:
        result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ChangedError("--changed needs git, which is not installed") from None
    if result.returncode != 0:
        raise ChangedError(f"git {' '.join(args)} failed: {result.stderr.strip() or result.returncode}")
    return result.stdout


def changed_paths(root: Path, base: str | None = None) -> list[str]:
    """Paths (relative to root) changed since `base` (default: the last commit), staged or not, and new files."""
    try:
        _git(root, "rev-parse", "--show-toplevel")
    except ChangedError:
        raise ChangedError(f"--changed needs a git repository; {root} is not inside one") from None
    names: set[str] = set()
    if base:
        merge_base = _git(root, "merge-base", base, "HEAD").strip()
        names |= set(_git(root, "diff", "--name-only", "--relative", merge_base, "HEAD").split("\n"))
    names |= set(_git(root, "diff", "--name-only", "--relative", "HEAD").split("\n"))
    names |= set(_git(root, "ls-files", "--others", "--exclude-standard").split("\n"))
    return sorted(name for name in names if name)


def _id_from_name(kind: str, name: str) -> str:
    stem = PurePosixPath(name).stem
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
    names: dict[str, dict[str, list[str]]] = {kind: {} for kind in folders}
    kind_of: dict[str, str] = {}
    for kind, folder in folders.items():
        for path in record_files(root, folder):
            if path.suffix == ".md":
                rel = relative(root, path)
                names[kind].setdefault(_id_from_name(kind, rel), []).append(rel)
                kind_of[rel] = kind
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
    findings += [f for f in all_findings if f.path in selected_set]
    # An id taken by a file that was not loaded.
    for kind, folder_records in records.items():
        for record in folder_records:
            others = [p for p in names[kind].get(record.id, []) if p != record.path and p not in selected]
            if others and record.path in changed_records:
                findings.append(Finding(record.path, record.line_of("id"), 1, "error", "duplicate-id",
                                        f"id: the {kind} id {record.id!r} is already used by {others[0]}",
                                        "Every record needs its own id; `kb new` picks the next free one."))
    return ChangedCheck(findings, len(selected) + len(config_changed), paths)
