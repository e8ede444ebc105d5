"""The policy file: business-day deadlines, every compliance rule, bad policy files, the policy pages."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest
from conftest import TODAY, minimal_incident, run_kb

from incidentkb.checks.compliance import evaluate
from incidentkb.core.durations import Duration, parse_duration
from incidentkb.records.load import load
from incidentkb.records.workdays import WorkCalendar

CET = timezone(timedelta(hours=1))
# Friday 2026-12-18 17:00; Thursday 24th and Friday 25th are holidays in this calendar.
CALENDAR = WorkCalendar(holidays=frozenset({date(2026, 12, 24), date(2026, 12, 25)}))


@pytest.mark.parametrize("start, span, expected", [
    (datetime(2026, 12, 18, 17, 0, tzinfo=CET), "1 business days", datetime(2026, 12, 21, 23, 59, 59, tzinfo=CET)),
    (datetime(2026, 12, 18, 17, 0, tzinfo=CET), "5 business days", datetime(2026, 12, 29, 23, 59, 59, tzinfo=CET)),
    (datetime(2026, 12, 19, 10, 0, tzinfo=CET), "1 business days", datetime(2026, 12, 21, 23, 59, 59, tzinfo=CET)),
    (datetime(2026, 12, 23, 9, 0, tzinfo=CET), "1 business days", datetime(2026, 12, 28, 23, 59, 59, tzinfo=CET)),
    (datetime(2026, 12, 18, 17, 0, tzinfo=CET), "72 hours", datetime(2026, 12, 21, 17, 0, tzinfo=CET)),
    (datetime(2026, 12, 18, 17, 0, tzinfo=CET), "2 weeks", datetime(2027, 1, 1, 17, 0, tzinfo=CET)),
    (datetime(2026, 1, 31, 12, 0, tzinfo=CET), "1 months", datetime(2026, 2, 28, 12, 0, tzinfo=CET)),
    (datetime(2024, 2, 29, 12, 0, tzinfo=CET), "1 years", datetime(2025, 2, 28, 12, 0, tzinfo=CET)),
    (datetime(2026, 12, 18, 17, 0, tzinfo=CET), "90 minutes", datetime(2026, 12, 18, 18, 30, tzinfo=CET)),
])
def test_deadlines(start, span, expected):
    assert CALENDAR.deadline(start, parse_duration(span)) == expected


def test_business_day_is_judged_in_the_offset_it_was_written_in():
    # 23:30 on Friday in UTC+01:00 is still Friday there, although it is Friday 22:30 UTC; +5h is Saturday.
    friday_late = datetime(2026, 12, 11, 23, 30, tzinfo=CET)
    assert CALENDAR.deadline(friday_late, Duration(1, "business_days")).date() == date(2026, 12, 14)
    saturday = friday_late.astimezone(timezone(timedelta(hours=5)))
    assert CALENDAR.deadline(saturday, Duration(1, "business_days")).date() == date(2026, 12, 14)


def test_a_weekend_of_every_day_is_refused():
    with pytest.raises(ValueError):
        WorkCalendar(weekend=frozenset(range(7))).add_business_days(date(2026, 1, 1), 1)


POLICY = """\
severities:
  - id: SEV1
    name: Critical
    summary: Most customers cannot buy.
    postmortem_required: true
    postmortem_due: 2 business days
    required_fields: [impact, roles.commander]
  - id: SEV3
    name: Minor
    summary: Some customers see errors.
action_items:
  due_within:
    - priority: high
      within: 10 days
calendar:
  weekend: [saturday, sunday]
  holidays:
    - {date: 2025-03-17, name: A holiday on Monday}
regulatory_clocks:
  - id: gdpr-art33
    name: Notify the authority
    deadline: 72 hours
    applies_when: {personal_data: true}
rules:
  action-item-overdue: error
  runbook-review-overdue: "off"
"""


def kb_with(kb_root, incidents: dict[str, str], policy: str = POLICY, extra: dict | None = None):
    files = {"policy.yml": policy, **incidents, **(extra or {})}
    return kb_root(files)


def results_for(root, today="2025-03-20"):
    kb, findings = load(root)
    assert [f for f in findings if f.is_error] == []
    return {r.rule: r for r in evaluate(kb, date.fromisoformat(today))}


def sev1(incident_id="INC-2025-001", **fields):
    base = {"severity": "SEV1", "impact": "{description: Checkout down}", "roles": "{commander: Ana Lima}"}
    base.update(fields)
    return minimal_incident(incident_id, **base)


# Resolved Friday 2025-03-14 10:40 +01:00; two business days skip the weekend and Monday's holiday: due Wed 19th.
def test_postmortem_deadline_counts_business_days_across_weekend_and_holiday(kb_root):
    root = kb_with(kb_root, {
        "incidents/2025/INC-2025-001-a.md": sev1(postmortem="{status: reviewed, reviewed_at: 2025-03-19}"),
        "incidents/2025/INC-2025-002-b.md": sev1("INC-2025-002", postmortem="{status: reviewed, reviewed_at: 2025-03-20}"),
        "incidents/2025/INC-2025-003-c.md": sev1("INC-2025-003", postmortem="{status: draft}"),
        "incidents/2025/INC-2025-004-d.md": sev1("INC-2025-004", status="open", resolved_at=None),
    })
    result = results_for(root)["postmortem-overdue"]
    assert result.checked == 3  # the open incident has no deadline yet
    assert [(f.record.id, f.message.split(";")[0]) for f in result.failures] == [
        ("INC-2025-002", "post-mortem reviewed on 2025-03-20, after its deadline 2025-03-19 "
                         "(SEV1 needs its post-mortem reviewed within 2 business days of resolution)"),
        ("INC-2025-003", "post-mortem not reviewed"),
    ]
    # On the deadline day itself a draft is not yet late.
    assert [f.record.id for f in results_for(root, "2025-03-19")["postmortem-overdue"].failures] == ["INC-2025-002"]


def test_action_item_rules(kb_root):
    items = ("\naction_items:\n"
             "  - {id: AI-1, title: Late one, owner: team-a, due: 2025-03-18, priority: high}\n"
             "  - {id: AI-2, title: No owner, due: 2025-03-30}\n"
             "  - {id: AI-3, title: No due date, owner: team-a}\n"
             "  - {id: AI-4, title: Too far out, owner: team-a, due: 2025-05-01, priority: high, status: done}\n")
    text = minimal_incident().replace("\n---\n\n##", items.rstrip("\n") + "\n---\n\n##", 1)
    root = kb_with(kb_root, {"incidents/2025/INC-2025-001-a.md": text})
    results = results_for(root)
    assert [f.item for f in results["action-item-overdue"].failures] == ["AI-1"]
    assert [f.item for f in results["action-item-owner"].failures] == ["AI-2"]
    assert [f.item for f in results["action-item-due"].failures] == ["AI-3"]
    assert [f.item for f in results["action-item-due-too-late"].failures] == ["AI-4"]
    assert results["action-item-overdue"].checked == 3  # the done item is not open
    check = run_kb("check", "--root", root, "--today", "2025-03-20", "--format", "json")
    by_code = {p["code"]: p for p in check.json}
    assert check.code == 1 and by_code["action-item-overdue"]["level"] == "error"  # raised to error by the policy
    assert by_code["action-item-overdue"]["line"] == 12
    assert by_code["action-item-owner"]["level"] == "warning"


def test_runbook_review_rule_can_be_switched_off(kb_root):
    runbook = ("---\nid: old\ntitle: Old\nservices: [checkout]\nowner: team-a\nlast_reviewed: 2020-01-01\n---\n\n"
               "## Symptoms\n## Impact\n## Diagnosis\n## Mitigation\n## Escalation\n")
    root = kb_with(kb_root, {}, extra={"runbooks/checkout/old.md": runbook})
    assert len(results_for(root)["runbook-review-overdue"].failures) == 1
    check = run_kb("check", "--root", root, "--today", "2025-03-20", "--format", "json")
    assert check.code == 0 and check.json == []  # level off: evaluated for the page, silent in kb check


def test_regulatory_clock(kb_root):
    security = "{personal_data: true, aware_at: '2025-03-14T09:30:00+01:00', notifications: [%s]}"
    root = kb_with(kb_root, {
        "incidents/2025/INC-2025-001-a.md": minimal_incident(security="{personal_data: true}"),
        "incidents/2025/INC-2025-002-b.md": minimal_incident("INC-2025-002", security=security % ""),
        "incidents/2025/INC-2025-003-c.md": minimal_incident("INC-2025-003", security=security % (
            "{clock: gdpr-art33, at: '2025-03-17T10:00:00+01:00'}")),
        "incidents/2025/INC-2025-004-d.md": minimal_incident("INC-2025-004", security=security % (
            "{clock: gdpr-art33, at: '2025-03-17T09:00:00+01:00'}")),
        "incidents/2025/INC-2025-005-e.md": minimal_incident("INC-2025-005"),
    })
    results = results_for(root)
    assert [f.record.id for f in results["regulatory-timestamps"].failures] == ["INC-2025-001"]
    assert results["regulatory-timestamps"].checked == 4  # INC-2025-005 has no personal data
    deadline = results["regulatory-deadline"]
    assert [f.record.id for f in deadline.failures] == ["INC-2025-002", "INC-2025-003"]
    assert "after the deadline 2025-03-17T09:30+01:00" in deadline.failures[1].message
    # Before the 72 hours are over, a missing notification is not yet a failure.
    early = results_for(root, "2025-03-16")["regulatory-deadline"]
    assert [f.record.id for f in early.failures] == ["INC-2025-003"]


def test_severity_required_fields(kb_root):
    root = kb_with(kb_root, {"incidents/2025/INC-2025-001-a.md": sev1(roles=None)})
    failure = results_for(root)["severity-required-fields"].failures[0]
    assert failure.message == "SEV1 incidents need roles.commander"


def test_unknown_clock_in_a_notification(kb_root):
    root = kb_with(kb_root, {"incidents/2025/INC-2025-001-a.md": minimal_incident(
        security="{notifications: [{clock: gdpr-art-33, at: '2025-03-14T12:00:00+01:00'}]}")})
    check = run_kb("check", "--root", root, "--today", "2025-03-20", "--format", "json")
    unknown = next(p for p in check.json if p["code"] == "unknown-clock")
    assert "Did you mean 'gdpr-art33'?" in unknown["hint"]


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("change, code, at, text", [
    (("rules:\n", "ruels:\n"), "unknown-field", "ruels:", "Did you mean 'rules'?"),
    (("  action-item-overdue: error", "  action-item-overdue: fatal"), "unknown-value", "fatal", "one of: error, warning, off"),
    (("postmortem_due: 2 business days", "postmortem_due: two days"), "bad-duration", "two days", "not a duration"),
    (("weekend: [saturday, sunday]", "weekend: [saturday, sundae]"), "unknown-value", "sundae", "'sunday'"),
    (("{date: 2025-03-17, name: A holiday on Monday}", "{date: 2025-02-30, name: Oops}"), "impossible-date", "Oops",
     "not a real date"),
    (("  - id: SEV3\n    name: Minor\n    summary: Some customers see errors.\n", ""), "severity-in-use", "severities:",
     "'SEV3' is used by 1 incident(s) (INC-2025-001)"),
])
def test_bad_policy_files_name_file_line_and_key(kb_root, change, code, at, text):
    old, new = change
    assert old in POLICY
    policy = POLICY.replace(old, new)
    root = kb_with(kb_root, {"incidents/2025/INC-2025-001-a.md": minimal_incident(severity="SEV3")}, policy)
    check = run_kb("check", "--root", root, "--today", TODAY, "--format", "json")
    assert check.code == 1
    found = [p for p in check.json if p["path"] == "policy.yml" and p["code"] == code]
    assert found, check.json
    assert found[0]["line"] == line_of(policy, at) and text in found[0]["message"] + found[0]["hint"]
    # The site build stops before anything is published.
    build = run_kb("build", "--root", root, "--today", TODAY)
    assert build.code == 1 and not (root / "site").exists()


def test_template_with_unknown_placeholder(kb_root):
    policy = POLICY + "templates:\n  - id: update\n    name: Update\n    audience: All\n    body: |\n      {{ title }} {{ sevrity }}\n"
    root = kb_with(kb_root, {"incidents/2025/INC-2025-001-a.md": minimal_incident()}, policy)
    check = run_kb("check", "--root", root, "--today", TODAY, "--format", "json")
    problem = next(p for p in check.json if p["code"] == "template-placeholder")
    assert problem["line"] == line_of(policy, "body: |") and "sevrity" in problem["message"]
    assert "sevrity' → severity" in problem["hint"]


def test_plain_mkdocs_build_stops_on_a_broken_policy(kb_root, tmp_path):
    root = kb_with(kb_root, {"incidents/2025/INC-2025-001-a.md": minimal_incident()}, POLICY.replace("rules:", "ruels:"))
    (root / "docs").mkdir()
    (root / "docs/index.md").write_text("# Home\n")
    (root / "mkdocs.yml").write_text("site_name: t\ntheme: {name: material, font: false}\nplugins: [incidentkb]\n")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-d", str(tmp_path / "out")], cwd=root,
                            capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin"})
    assert result.returncode != 0
    assert "policy.yml has 1 error(s)" in result.stderr
    assert not (tmp_path / "out" / "index.html").exists()


@pytest.mark.slow
def test_sample_policy_pages_and_deliberate_violation(sample_site):
    root, site = sample_site
    compliance = (site / "policy/compliance/index.html").read_text()
    assert "INC-2026-008" in compliance and "post-mortem not reviewed" in compliance
    check = run_kb("check", "--root", root, "--today", TODAY, "--format", "json")
    assert any(p["code"] == "postmortem-overdue" and "INC-2026-008" in p["path"] for p in check.json)
    for page in ("index", "severity", "roles", "escalation", "postmortems", "communication", "checklists", "regulatory"):
        html = (site / ("policy/index.html" if page == "index" else f"policy/{page}/index.html")).read_text()
        assert "Owner: Priya Raman" in html and "Last reviewed: 2026-09-15" in html, page
    postmortems = (site / "policy/postmortems/index.html").read_text()
    # Berlin's one-off public holiday of 2025, which the hand-kept list missed, and next year's days.
    assert "80th anniversary of the liberation from Nazism" in postmortems and "<summary>2027: " in postmortems
    assert "Christmas Eve (offices closed)" in postmortems
    checklists = (site / "policy/checklists/index.html").read_text()
    assert checklists.count('type="checkbox"') >= 20
    communication = (site / "policy/communication/index.html").read_text()
    assert "[SEV1 · Critical] Black Friday checkout latency" in communication
