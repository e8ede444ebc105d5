"""`kb check --changed`: only what changed, plus what refers to it; and duplicate warnings for new incidents."""

from __future__ import annotations

import subprocess

import pytest
from conftest import TODAY, minimal_incident, run_kb
from test_check import RUNBOOK


def git(root, *args):
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(kb_root):
    root = kb_root({
        "incidents/2025/INC-2025-001-a.md": minimal_incident(runbooks="[checkout-high-latency]"),
        "incidents/2025/INC-2025-002-b.md": minimal_incident("INC-2025-002", related="[INC-2025-001]"),
        "incidents/2025/INC-2025-003-c.md": minimal_incident("INC-2025-003", severity="SEV9"),  # broken, unchanged
        "runbooks/checkout/checkout-high-latency.md": RUNBOOK.replace("2025-01-10", "2025-11-01"),
    })
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root


def check_changed(root, *extra):
    return run_kb("check", "--root", root, "--changed", "--today", TODAY, "--format", "json", *extra)


def test_nothing_changed_checks_nothing(repo):
    result = check_changed(repo)
    assert result.code == 0 and result.json == []  # the broken INC-2025-003 is not looked at


def test_only_the_changed_file_and_its_referrers(repo):
    path = repo / "incidents/2025/INC-2025-001-a.md"
    path.write_text(path.read_text().replace("severity: SEV3", "severity: SEV2\nsumary: typo"))
    result = check_changed(repo)
    assert {(p["path"], p["code"]) for p in result.json} == {("incidents/2025/INC-2025-001-a.md", "unknown-field")}
    assert "2 files checked" in run_kb("check", "--root", repo, "--changed", "--today", TODAY).err  # + 002, which refers to it


def test_deleting_a_runbook_reports_the_incidents_that_used_it(repo):
    git(repo, "rm", "-q", "runbooks/checkout/checkout-high-latency.md")
    result = check_changed(repo)
    assert result.code == 1
    assert [(p["path"], p["code"]) for p in result.json] == [("incidents/2025/INC-2025-001-a.md", "unknown-runbook")]


def test_new_untracked_incident_with_a_taken_id(repo):
    (repo / "incidents/2025/INC-2025-002-again.md").write_text(minimal_incident("INC-2025-002"))
    result = check_changed(repo)
    duplicate = [p for p in result.json if p["code"] == "duplicate-id"]
    assert duplicate and duplicate[0]["path"] == "incidents/2025/INC-2025-002-again.md"
    assert "INC-2025-002-b.md" in duplicate[0]["message"]


def test_base_branch_includes_committed_changes(repo):
    git(repo, "checkout", "-q", "-b", "feature")
    path = repo / "incidents/2025/INC-2025-002-b.md"
    path.write_text(path.read_text().replace("related: [INC-2025-001]", "related: [INC-2025-009]"))
    git(repo, "commit", "-q", "-am", "change")
    assert check_changed(repo).json == []  # committed: not an uncommitted change
    result = check_changed(repo, "--base", "main")
    assert [p["code"] for p in result.json] == ["unknown-incident"]


def test_not_a_git_repository(kb_root):
    root = kb_root({"incidents/2025/INC-2025-001-a.md": minimal_incident()})
    result = run_kb("check", "--root", root, "--changed")
    assert result.code == 2 and "needs a git repository" in result.err
    unknown_base = run_kb("check", "--root", root, "--base", "main")
    assert unknown_base.code == 2 and "--base main" in unknown_base.err


def test_full_check_warns_about_a_new_duplicate(repo):
    copy = minimal_incident("INC-2025-004").replace("Checkout errors", "Checkout errors again")
    (repo / "incidents/2025/INC-2025-004-d.md").write_text(copy)
    result = run_kb("check", "--root", repo, "--today", TODAY, "--format", "json")
    duplicates = [p for p in result.json if p["code"] == "possible-duplicate"]
    assert [p["path"] for p in duplicates] == ["incidents/2025/INC-2025-004-d.md"]  # only the new one
    assert "distinct_from: [INC-2025-00" in duplicates[0]["hint"]
