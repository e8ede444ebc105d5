"""The cross-field and cross-record checks, on small hand-built knowledge bases."""

from __future__ import annotations

from datetime import date

from conftest import minimal_incident

from incidentkb.checks.consistency import check_knowledge_base
from incidentkb.records.load import load

CATALOG = """\
teams:
  - id: team-payments
    name: Payments
services:
  - id: checkout
    name: Checkout
    owner: team-payments
    tier: 1
    escalation: payments on-call
    depends_on: [paystream]
  - id: payments-api
    name: Payments API
    owner: team-payments
    tier: 1
    escalation: payments on-call
vendors:
  - id: paystream
    name: Paystream
    support: support portal
"""

RUNBOOK = """\
---
id: checkout-high-latency
title: Checkout latency is high
services: [checkout]
alerts: [CheckoutLatencyHigh]
owner: team-payments
last_reviewed: 2025-01-10
---

## Symptoms
Slow.
## Impact
Lost orders.
## Diagnosis
Look.
## Mitigation
Roll back.
## Escalation
Page payments.
"""


def findings_for(kb_root, files):
    root = kb_root(files)
    kb, findings = load(root)
    return kb, findings + check_knowledge_base(kb, today=date(2025, 4, 1))


def codes(findings):
    return sorted({(f.path, f.line, f.code) for f in findings})


def test_clean_knowledge_base_has_no_findings(kb_root):
    kb, findings = findings_for(kb_root, {
        "catalog.yml": CATALOG,
        "incidents/2025/INC-2025-001-checkout-errors.md": minimal_incident(runbooks="[checkout-high-latency]"),
        "runbooks/checkout/checkout-high-latency.md": RUNBOOK,
    })
    assert findings == []
    assert [i.id for i in kb.incidents] == ["INC-2025-001"]
    assert kb.incidents[0].time_to_detect.total_seconds() == 600


def test_timestamps_must_not_run_backwards(kb_root):
    _, findings = findings_for(kb_root, {
        "incidents/2025/INC-2025-001-x.md": minimal_incident(resolved_at="2025-03-14T07:00:00+01:00"),
    })
    order = [f for f in findings if f.code == "timestamp-order"]
    assert order and order[0].line == 9 and "before started_at" in order[0].message


def test_offsets_are_compared_as_instants(kb_root):
    # 09:30+01:00 is 08:30Z, after the 08:02Z start: not an ordering error despite the smaller wall-clock time.
    _, findings = findings_for(kb_root, {
        "incidents/2025/INC-2025-001-x.md": minimal_incident(detected_at="2025-03-14T08:30:00Z"),
    })
    assert [f for f in findings if f.code == "timestamp-order"] == []


def test_resolved_needs_resolved_at(kb_root):
    _, findings = findings_for(kb_root, {"incidents/2025/INC-2025-001-x.md": minimal_incident(resolved_at=None)})
    assert ("incidents/2025/INC-2025-001-x.md", 4, "missing-resolved-at") in codes(findings)


def test_dangling_references_suggest_the_nearest_id(kb_root):
    _, findings = findings_for(kb_root, {
        "catalog.yml": CATALOG,
        "incidents/2025/INC-2025-001-x.md": minimal_incident(services="[chekout]", runbooks="[checkout-hihg-latency]",
                                                             related="[INC-2025-002]"),
        "runbooks/checkout/checkout-high-latency.md": RUNBOOK,
    })
    by_code = {f.code: f for f in findings}
    assert "Did you mean 'checkout'?" in by_code["unknown-service"].hint
    assert "Did you mean 'checkout-high-latency'?" in by_code["unknown-runbook"].hint
    assert by_code["unknown-incident"].message.startswith("related[0]: 'INC-2025-002'")


def test_without_catalog_service_ids_are_not_checked(kb_root):
    _, findings = findings_for(kb_root, {"incidents/2025/INC-2025-001-x.md": minimal_incident(services="[anything]")})
    assert findings == []


def test_duplicate_ids_name_both_files(kb_root):
    _, findings = findings_for(kb_root, {
        "incidents/2025/INC-2025-001-a.md": minimal_incident(),
        "incidents/2025/INC-2025-001-b.md": minimal_incident(),
    })
    dup = [f for f in findings if f.code == "duplicate-id"]
    assert len(dup) == 1
    assert dup[0].path == "incidents/2025/INC-2025-001-b.md"
    assert "incidents/2025/INC-2025-001-a.md:2" in dup[0].message


def test_file_naming_convention(kb_root):
    _, findings = findings_for(kb_root, {"incidents/2024/INC-2025-001-x.md": minimal_incident()})
    naming = [f for f in findings if f.code == "file-name"]
    assert naming and "incidents/2025/INC-2025-001-x.md" in naming[0].message


def test_runbook_sections_and_name(kb_root):
    body_without_escalation = RUNBOOK.split("## Escalation")[0]
    _, findings = findings_for(kb_root, {"runbooks/checkout/other-name.md": body_without_escalation})
    assert {f.code for f in findings} == {"runbook-section", "file-name"}
    section = next(f for f in findings if f.code == "runbook-section")
    assert "Escalation" in section.message and section.line == 9


def test_action_items_need_owner_and_due_date(kb_root):
    text = minimal_incident().replace("---\n\n", "action_items:\n  - id: AI-1\n    title: Add an alert\n"
                                                  "  - id: AI-1\n    title: Again\n    status: done\n---\n\n", 1)
    _, findings = findings_for(kb_root, {"incidents/2025/INC-2025-001-x.md": text})
    assert sorted((f.code, f.line) for f in findings) == [
        ("action-item-due", 12), ("action-item-owner", 12), ("duplicate-action-item", 14)]


def test_unknown_field_suggests_the_known_one(kb_root):
    _, findings = findings_for(kb_root, {"incidents/2025/INC-2025-001-x.md": minimal_incident(sumary="x")})
    unknown = next(f for f in findings if f.code == "unknown-field")
    assert unknown.level == "warning" and unknown.hint == "Did you mean 'summary'?"


def test_broken_record_is_skipped_and_the_rest_load(kb_root):
    kb, findings = findings_for(kb_root, {
        "incidents/2025/INC-2025-001-x.md": minimal_incident(severity="[oops"),
        "incidents/2025/INC-2025-002-y.md": minimal_incident("INC-2025-002"),
    })
    assert [i.id for i in kb.incidents] == ["INC-2025-002"]
    assert any(f.code == "yaml-syntax" and f.path.endswith("001-x.md") for f in findings)


def test_catalog_references_are_checked(kb_root):
    catalog = CATALOG.replace("depends_on: [paystream]", "depends_on: [paystreem]")
    _, findings = findings_for(kb_root, {"catalog.yml": catalog})
    dangling = next(f for f in findings if f.code == "unknown-service-or-vendor")
    assert dangling.path == "catalog.yml" and dangling.line == 10 and "paystream" in dangling.hint
