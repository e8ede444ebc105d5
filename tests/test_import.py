"""`kb import postmortems` and `kb import runbooks`: real archives, hand-made and malformed inputs, never overwriting."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import corpus_dir, run_kb, write_files

from incidentkb.authoring.importers import (
    convert_postmortem, convert_runbook, import_postmortems, import_runbooks, parse_duration,
)
from incidentkb.records.load import load


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


write = write_files


POSTMORTEM = """
# Checkout outage after config push

## Summary

A configuration push removed the payment provider's endpoint. Checkout failed for 20 minutes.

## Timeline

All times in CET.

| Time             | Event                              |
| :--------------- | ---------------------------------- |
| 2023-05-02 10:00 | Config pushed                      |
| 2023-05-02 10:04 | Alert fires: checkout errors       |
| 2023-05-02 10:20 | Config reverted, checkout recovers |

## Root cause

- The config schema allowed an empty endpoint.

## Contributing Factors

- No canary for config pushes.
- The alert threshold was too high.

## Impact

About 300 orders failed.

## Action Items

- Validate config in CI.

## Stats

- Category: Payments
- Severity: SEV2
- Time to detection: 4 minutes
- Time to recovery: 20 minutes
"""


# ------------------------------------------------------------------ mapping


def test_postmortem_mapping():
    converted = convert_postmortem(textwrap.dedent(POSTMORTEM), "PM2023-004 - Checkout outage.md")
    assert converted.rel == "incidents/2023/INC-2023-004-checkout-outage-after-config-push.md"
    front = converted.text.split("---\n")[1]
    for line in ("id: INC-2023-004", "title: Checkout outage after config push", "severity: SEV2",
                 "started_at: '2023-05-02T10:00:00+01:00'", "detected_at: '2023-05-02T10:04:00+01:00'",
                 "resolved_at: '2023-05-02T10:20:00+01:00'", "tags: [payments]", "services: [imported]",
                 "- category: unknown\n  description: The config schema allowed an empty endpoint.",
                 "description: About 300 orders failed."):
        assert line in front, line
    assert "## Summary" in converted.text and "# Checkout outage" not in converted.text.split("---\n", 2)[2]
    assert any("services" in n for n in converted.notes)
    assert any("action items" in n for n in converted.notes)


@pytest.mark.parametrize("text, minutes", [("8 minutes", 8), ("7 hours", 420), ("1h 30m", 90), ("2 days", 2880),
                                           ("?", None), ("ZZZ", None), ("", None)])
def test_durations(text, minutes):
    assert parse_duration(text) == (None if minutes is None else timedelta(minutes=minutes))


def test_runbook_mapping():
    text = "---\ntitle: Kube Pod Crash Looping\nweight: 20\n---\n\n# KubePodCrashLooping\n\n## Meaning\n\nPods restart.\n\n" \
           "## Impact\n\nDegraded.\n\n## Diagnosis\n\nkubectl describe.\n\n## Mitigation\n\nFix it.\n"
    converted = convert_runbook(text, "KubePodCrashLooping.md", "kubernetes", owner="team-platform")
    assert converted.rel == "runbooks/kubernetes/kube-pod-crash-looping.md"
    assert "alerts: [KubePodCrashLooping]" in converted.text and "title: Kube Pod Crash Looping" in converted.text
    assert "## Symptoms\n\nPods restart." in converted.text and "## Meaning" not in converted.text
    assert any("no Escalation section" in n for n in converted.notes)


# ------------------------------------------------------------------ hand-made and malformed inputs


def test_malformed_postmortems_are_reported_not_fatal(tmp_path):
    src = write(tmp_path / "src", {
        "PM2023-004 - good.md": POSTMORTEM,
        "PM2023-005 - no title.md": POSTMORTEM.replace("# Checkout outage after config push\n", ""),
        "PM2023-006 - no timeline.md": POSTMORTEM.split("## Timeline")[0],
        "PM2023-007 - binary.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR",
        "PM2023-008 - latin1.md": POSTMORTEM.replace("Checkout", "K\u00f8b").encode("latin-1"),
        "notes.md": "# Shopping list\n\nmilk\n",
        "README.md": "# Post-mortems\n",
        "image.png": b"\x89PNG",
    })
    into = tmp_path / "kb"
    result = run_kb("import", "postmortems", src, "--into", into)
    assert result.code == 1  # some files could not be imported
    assert "Traceback" not in result.out + result.err
    out = result.out
    assert "imported PM2023-004 - good.md -> incidents/2023/INC-2023-004-checkout-outage-after-config-push.md" in out
    assert "imported PM2023-005 - no title.md -> incidents/2023/INC-2023-005-no-title.md" in out
    assert "not mapped: no title: used the file name ('no title')" in out
    assert "FAILED   PM2023-006 - no timeline.md: PM2023-006 - no timeline.md states no date" in out
    assert "FAILED   PM2023-007 - binary.md: PM2023-007 - binary.md is a binary file, not Markdown" in out
    assert "is not UTF-8 text" in out
    assert "not a post-mortem" in out and "ignored  README.md" in out
    assert "image.png" not in out
    assert "2 imported" in result.err
    assert run_kb("check", "--root", into).code == 0


def test_postmortem_without_number_gets_the_next_free_one(tmp_path):
    src = write(tmp_path / "src", {"checkout outage.md": POSTMORTEM})
    into = write(tmp_path / "kb", {"incidents/2023/INC-2023-041-old.md": "x"})
    reports = import_postmortems(src, into).outcomes
    assert [r.target for r in reports] == ["incidents/2023/INC-2023-042-checkout-outage-after-config-push.md"]
    assert any("numbered INC-2023-042" in n for n in reports[0].notes)


def test_runbooks_without_component_folder_and_not_alerts(tmp_path):
    src = write(tmp_path / "src", {
        "DiskFull.md": "# DiskFull\n\n## Meaning\n\nDisk is full.\n",
        "how we work.md": "# How we work\n\nWe are nice.\n",
        "blob.md": b"\x00\x01\x02",
    })
    into = tmp_path / "kb"
    result = run_kb("import", "runbooks", src, "--into", into, "--owner", "team-platform", "--reviewed", "2026-01-15")
    assert result.code == 1
    assert "imported DiskFull.md -> runbooks/imported/disk-full.md" in result.out
    assert "is not named after an alert" in result.out and "is a binary file" in result.out
    text = (into / "runbooks/imported/disk-full.md").read_text(encoding="utf-8")
    assert "last_reviewed: '2026-01-15'" in text and "owner: team-platform" in text
    assert run_kb("check", "--root", into).code == 0


@pytest.mark.parametrize("args, message", [
    (["postmortems", "/no/such/folder", "--into", "x"], "no such file or folder"),
    (["postmortems", ".", "--into", "x", "--severity", "P1"], "--severity 'P1': expected one of SEV1, SEV2"),
    (["postmortems", ".", "--into", "x", "--service", "Check Out"], "--service 'Check Out'"),
    (["runbooks", ".", "--into", "x", "--reviewed", "yesterday"], "expected a date"),
    (["runbooks", "."], "Missing option '--into'"),
])
def test_import_usage_errors(args, message):
    result = run_kb("import", *args)
    assert result.code == 2
    assert message in result.err


# ------------------------------------------------------------------ the real archives


@pytest.mark.corpus
def test_dfds_postmortems_import_check_and_never_overwrite(tmp_path):
    src = corpus_dir("dfds-postmortems")
    into = tmp_path / "kb"
    first = run_kb("import", "postmortems", src, "--into", into)
    assert "Traceback" not in first.out + first.err
    imported = [line for line in first.out.splitlines() if line.startswith("imported ")]
    assert len(imported) >= 37
    # The file without .md is a post-mortem too.
    assert any("PM2022-009 - Bad AWS EKS AMI causing Kubernetes issues ->" in line for line in imported)
    kb, findings = load(into)
    assert len(kb.incidents) == len(imported)
    assert {"INC-2021-005", "INC-2021-006", "INC-2021-007"} <= set(kb.incident_by_id)
    assert "kubernetes" in kb.incident_by_id["INC-2021-005"].tags
    check = run_kb("check", "--root", into)
    assert check.code == 0, check.out
    assert " 0 errors" in check.err
    before = snapshot(into)
    second = run_kb("import", "postmortems", src, "--into", into)
    assert snapshot(into) == before
    assert second.out.count("; nothing was overwritten") == len(imported)
    assert "0 imported" in second.err


@pytest.mark.corpus
def test_prometheus_runbooks_import_check_and_never_overwrite(tmp_path):
    src = corpus_dir("prometheus-operator-runbooks") / "content" / "runbooks"
    into = tmp_path / "kb"
    first = run_kb("import", "runbooks", src, "--into", into)
    assert first.code == 0, first.out
    kb, _ = load(into)
    assert len(kb.runbooks) >= 100
    crash = kb.runbook_by_id["kube-pod-crash-looping"]
    assert crash.services == ["kubernetes"] and crash.alerts == ["KubePodCrashLooping"] and crash.owner == "imported"
    assert "## Symptoms" in crash.body and "## Diagnosis" in crash.body
    # The same alert with and without .md: the .md file is the record, the other is reported.
    assert "prometheus-operator/PrometheusOperatorSyncFailed: the runbook prometheus-operator-sync-failed was " \
           "already imported" in first.out
    check = run_kb("check", "--root", into)
    assert check.code == 0, check.out
    before = snapshot(into)
    second = run_kb("import", "runbooks", src, "--into", into)
    assert snapshot(into) == before and second.code == 0
    assert "0 imported" in second.err


@pytest.mark.corpus
@pytest.mark.slow
def test_imported_archive_builds(tmp_path):
    """The imported archive builds into a site. Not strictly: `kb check` rightly warns about what the archive
    lacks (no Escalation sections, TODO notes, timelines out of order), and a strict build fails on warnings."""
    from incidentkb.publish.engine import build

    into = tmp_path / "kb"
    import_postmortems(corpus_dir("dfds-postmortems"), into)
    import_runbooks(corpus_dir("prometheus-operator-runbooks") / "content" / "runbooks", into)
    site = build(into, tmp_path / "site", strict=False)
    assert (Path(site) / "index.html").is_file()
    pages = {p.relative_to(site).as_posix() for p in Path(site).rglob("index.html")}
    assert any("INC-2021-005" in p for p in pages) and any("kube-pod-crash-looping" in p for p in pages)
