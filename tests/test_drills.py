"""Tabletop drills from past incidents: scenario without spoilers, steps with questions, thin records, the site, `kb drill`."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import minimal_incident, run_kb

from incidentkb.analysis.drill_reading import _FIX, GENERIC_TOPICS, MAX_STEPS, classify, group_entries
from incidentkb.analysis.drills import MAX_SITE_DRILLS, MIN_STEPS, build_drill, site_candidates
from incidentkb.records.load import load
from incidentkb.site.renderer import Renderer, RenderOptions
from incidentkb.site.sections.drills import drill_markdown
from incidentkb.site.sections.drills import pages as drill_pages

REPO = Path(__file__).resolve().parent.parent

POLICY = """\
severities:
  - {id: SEV1, name: Critical, summary: Down., update_every: 30 minutes, escalate_after: 15 minutes,
     escalation: [Team lead, CTO], page: [On-call engineer], notify: [CTO], postmortem_required: true,
     postmortem_due: 5 business days}
  - {id: SEV2, name: Major, summary: Broken., update_every: 1 hour, page: [On-call engineer], notify: [Head of Engineering],
     escalate_after: 30 minutes, escalation: [Team lead], postmortem_required: true, postmortem_due: 10 business days}
  - {id: SEV3, name: Minor, summary: Degraded.}
checklists:
  - id: commander
    name: Commander
    items: [Acknowledge the page, Declare the severity, Ask what changed, Decide the first mitigation; prefer rolling back,
            Declare mitigated, then resolved; name the post-mortem owner]
  - id: communications
    name: Communications
    items: [Post the first internal update within 15 minutes, Update the status page]
escalation:
  vendors: Open a case at the vendor's highest priority. Then call their escalation contact.
"""

CATALOG = """\
teams:
  - {id: team-a, name: Team A}
services:
  - {id: checkout, name: Checkout, owner: team-a, tier: 1, escalation: on-call}
  - {id: payments, name: Payments, owner: team-a, tier: 1, escalation: on-call}
vendors:
  - {id: kestrelpay, name: Kestrel Pay, support: P1 phone line, escalation: Duty manager}
"""

RUNBOOK = """\
---
id: checkout-errors
title: Checkout returns errors
services: [checkout]
alerts: [CheckoutErrorsHigh]
owner: team-a
last_reviewed: 2025-01-01
---

## Symptoms
Errors.
## Impact
Orders fail.
## Diagnosis
Look at the logs.
## Mitigation
Roll back.
## Escalation
Team A.
"""

RICH = """\
---
id: INC-2025-010
title: Memcached config push evicts checkout sessions
status: resolved
severity: SEV2
services: [checkout, payments, kestrelpay]
started_at: 2025-03-14T09:55:00+01:00
detected_at: 2025-03-14T10:00:00+01:00
acknowledged_at: 2025-03-14T10:02:00+01:00
mitigated_at: 2025-03-14T10:35:00+01:00
resolved_at: 2025-03-14T11:00:00+01:00
summary: >-
  Checkout failed for a fifth of customers for 40 minutes. The memcached config push evicted sessions; rolling it
  back fixed it. Customers saw an error page at the payment step.
trigger: Config push to the memcached cluster
detection: {method: alert, alert: CheckoutErrorsHigh, source: "PagerDuty, checkout on-call"}
roles: {commander: Ada Lovelace, responders: [Grace Hopper]}
runbooks: [checkout-errors]
root_causes:
  - {category: configuration, description: The memcached maxmemory setting was halved by a config push.}
action_items:
  - {id: AI-1, title: Validate memcached settings before a push, owner: team-a, due: 2099-01-01, status: open}
  - {id: AI-2, title: Alert on evictions, owner: team-a, due: 2025-04-01, status: done}
timeline:
  - {at: 2025-03-14T09:55:00+01:00, event: Config push to memcached lowers maxmemory}
  - {at: 2025-03-14T10:00:00+01:00, event: CheckoutErrorsHigh fires at 12%}
  - {at: 2025-03-14T10:02:00+01:00, event: "Grace Hopper acknowledges; memcached evictions visible on the dashboard"}
  - {at: 2025-03-14T10:10:00+01:00, event: "SEV2 declared; status page updated"}
  - {at: 2025-03-14T10:15:00+01:00, event: Ada Lovelace takes command and opens a P1 case with Kestrel Pay}
  - {at: 2025-03-14T10:20:00+01:00, event: Logs show session lookups missing}
  - {at: 2025-03-14T10:30:00+01:00, event: Config push rolled back}
  - {at: 2025-03-14T10:35:00+01:00, event: Error rate back to normal}
  - {at: 2025-03-14T11:00:00+01:00, event: Incident resolved}
visibility: public
---

## What happened

A config push halved the memory of the session cache.

## What went wrong

- Nobody checked the memcached settings before the push.
- The dashboard for evictions was not linked from the runbook.

## Where we got lucky

It was a quiet Friday morning.

## Lessons learned

Configuration pushes need the same review as code.
"""


@pytest.fixture
def rich_kb(kb_root):
    root = kb_root({"policy.yml": POLICY, "catalog.yml": CATALOG, "runbooks/checkout/checkout-errors.md": RUNBOOK,
                    "incidents/2025/INC-2025-010-memcached.md": RICH})
    kb, findings = load(root)
    assert not [f for f in findings if f.is_error], findings
    return kb, root


def thin_incident(entries: int, detection: bool = False, body: bool = False, incident_id: str = "INC-2025-020") -> str:
    text = minimal_incident(incident_id, detected_at=None)
    if not body:
        text = text.split("---\n\n", 1)[0] + "---\n"
    extra = []
    if entries:
        extra.append("timeline:")
        start = datetime(2025, 3, 14, 9, 2, tzinfo=timezone(timedelta(hours=1)))
        for n in range(entries):
            extra.append(f"  - {{at: {(start + timedelta(minutes=10 * n)).isoformat()}, event: Step {n} happened}}")
    if detection:
        extra.append("detection: {method: customer-report, source: Customer Care}")
    return text.replace("\n---\n", "\n" + "\n".join(extra) + "\n---\n", 1) if extra else text


# ------------------------------------------------------------------------------ a rich record

def test_rich_incident_makes_a_full_exercise(rich_kb):
    kb, _ = rich_kb
    drill = build_drill(kb.incident_by_id["INC-2025-010"], kb)
    assert drill.headline == "CheckoutErrorsHigh on a Friday morning"
    assert [r.text for r in drill.seen] == ["CheckoutErrorsHigh fires at 12%", "Responder A acknowledges"]
    assert [getattr(s, "id", s) for s in drill.shown_services] == ["checkout"]  # never the vendor, never everything
    assert [rb.id for rb in drill.alert_runbooks] == ["checkout-errors"]
    assert MIN_STEPS <= len(drill.steps) <= MAX_STEPS
    topics = [s.topic for s in drill.steps]
    assert topics[0] == "diagnosis" and "declare" in topics and "rollback" in topics and topics[-1] == "resolution"
    declare = next(s for s in drill.steps if s.topic == "declare")
    assert declare.question.startswith("What severity do you declare")
    assert any("Policy for SEV2" in item and "updates every 1 hour" in item for item in declare.look_for)
    vendor = next(s for s in drill.steps if any("Kestrel Pay" in r.text for r in s.reveals))
    assert vendor.topic == "vendor" and any("P1 phone line" in item for item in vendor.look_for)
    assert [r.text for r in drill.before] == ["Config push to memcached lowers maxmemory"]
    debrief = [d.question for d in drill.debrief]
    assert any("Nobody checked the memcached settings" in q for q in debrief)
    assert any(q.startswith("We got lucky: “It was a quiet Friday morning.”") for q in debrief)
    assert any("Configuration pushes need the same review as code." in q for q in debrief)
    assert any(q.startswith("AI-1 “Validate memcached settings before a push” is still open") for q in debrief)
    assert not any("AI-2" in q for q in debrief)  # done items are not debrief questions
    assert not drill.notes


def test_the_scenario_has_no_spoilers(rich_kb):
    kb, _ = rich_kb
    drill = build_drill(kb.incident_by_id["INC-2025-010"], kb)
    scenario = drill.scenario_text()
    for spoiler in ("memcached", "maxmemory", "evict", "Config push", "rolled back", "rolling", "SEV2", "Kestrel",
                    "40 minutes", "fifth of customers"):
        assert spoiler.lower() not in scenario.lower(), spoiler
    assert "Customers saw an error page at the payment step." in drill.symptoms
    assert any("memcached evictions visible" in w for w in drill.withheld)  # moved to a step, with the reason
    assert "memcached evictions visible on the dashboard" in drill.steps[0].reveals[0].text


def test_names_become_roles(rich_kb):
    kb, _ = rich_kb
    drill = build_drill(kb.incident_by_id["INC-2025-010"], kb)
    texts = [r.text for r in drill.seen] + [r.text for s in drill.steps for r in s.reveals]
    assert not any("Ada" in t or "Grace" in t for t in texts)
    assert any(t.startswith("The incident commander takes command") for t in texts)


def test_rendered_drill_reveals_in_nested_details(rich_kb):
    kb, _ = rich_kb
    text = drill_markdown(kb, "INC-2025-010")
    assert text.startswith("# Drill: CheckoutErrorsHigh on a Friday morning\n")
    assert text.count('<details class="question kb-drill-step"') == len(build_drill(kb.incident_by_id["INC-2025-010"], kb).steps)
    assert text.count('<details class="success kb-drill-reveal">') == text.count("kb-drill-step\"")
    scenario = text.split("## Step by step")[0]
    assert "memcached" not in scenario.lower() and "Ada Lovelace" not in text
    assert '<a href="runbooks/checkout/checkout-errors.md">' in text  # no site_url: links name the source files
    assert "<!--kb-raw-->" not in text
    with_site = drill_markdown(kb, "INC-2025-010", site_url="https://kb.example/")
    assert 'href="https://kb.example/runbooks/checkout/checkout-errors/"' in with_site


# ------------------------------------------------------------------------------ thin records

@pytest.mark.parametrize("entries, detection, body", [(0, False, False), (1, False, False), (2, False, False),
                                                      (2, True, False), (0, False, True)])
def test_thin_records_still_make_a_usable_drill(kb_root, entries, detection, body):
    root = kb_root({"incidents/2025/INC-2025-020-thin.md": thin_incident(entries, detection, body)})
    kb, findings = load(root)
    assert "INC-2025-020" in kb.incident_by_id, findings
    drill = build_drill(kb.incident_by_id["INC-2025-020"], kb)
    assert MIN_STEPS <= len(drill.steps) <= MAX_STEPS
    assert [s.number for s in drill.steps] == list(range(1, len(drill.steps) + 1))
    generic = [s for s in drill.steps if s.generic]
    assert generic and all(s.topic in GENERIC_TOPICS and s.question for s in generic)
    assert any("generic" in note for note in drill.notes)
    assert any("post-mortem narrative" in note for note in drill.notes)
    assert (not detection) == any("does not say how the incident was detected" in note for note in drill.notes)
    assert len(drill.debrief) >= 3
    text = drill_markdown(kb, "INC-2025-020")
    assert "· generic</summary>" in text and "The record does not say what happened at this point" in text
    assert "Note:" in text
    assert drill.headline.endswith(("morning", "afternoon", "evening", "night"))


def test_thin_record_generic_steps_start_with_declaring(kb_root):
    root = kb_root({"incidents/2025/INC-2025-020-thin.md": thin_incident(0)})
    kb, _ = load(root)
    drill = build_drill(kb.incident_by_id["INC-2025-020"], kb)
    assert [s.topic for s in drill.steps] == ["declare", "diagnosis", "communication"]


# ------------------------------------------------------------------------------ the sample incidents

def sample_kb():
    kb, _ = load(REPO)
    return kb


def test_no_spoilers_in_any_sample_scenario():
    kb = sample_kb()
    for incident in kb.incidents:
        drill = build_drill(incident, kb)
        scenario = drill.scenario_text()
        assert not re.search(r"\bSEV\s?\d\b", scenario, re.IGNORECASE), (incident.id, scenario)
        assert not _FIX.search("\n".join([r.text for r in drill.seen] + drill.symptoms)), incident.id
        for cause in incident.root_causes:
            assert " ".join(cause["description"].split()) not in scenario, incident.id
        moment = drill.moment
        end = incident.acknowledged_at or moment
        for entry in incident.timeline:
            if entry["at"] < moment or entry["at"] > end:
                assert entry["event"] not in scenario, (incident.id, entry["event"])
        assert incident.title not in scenario


def test_sample_drills_read_like_exercises():
    kb = sample_kb()
    for incident_id in ("INC-2025-014", "INC-2024-005", "INC-2026-008"):
        drill = build_drill(kb.incident_by_id[incident_id], kb)
        assert drill.detection and drill.seen and not drill.notes, incident_id
        assert MIN_STEPS <= len(drill.steps) <= MAX_STEPS and not any(s.generic for s in drill.steps)
        assert drill.steps[-1].topic == "resolution"
        assert len({s.question for s in drill.steps}) >= len(drill.steps) - 1  # questions vary
        assert all(s.reveals for s in drill.steps)
        assert len(drill.debrief) >= 4 and drill.runbooks
    black_friday = build_drill(kb.incident_by_id["INC-2025-014"], kb)
    assert black_friday.headline == "CheckoutLatencyHigh on a Friday evening"
    assert [s.topic for s in black_friday.steps][:2] == ["declare", "mitigation"]


def test_site_selection_never_uses_restricted_incidents_and_prefers_open_actions():
    kb = sample_kb()
    chosen = site_candidates(kb)
    assert chosen and all(i.visibility != "restricted" for i in chosen)
    assert "INC-2025-009" in kb.incident_by_id and kb.incident_by_id["INC-2025-009"] not in chosen
    assert all(len(i.timeline) >= 3 for i in chosen)
    assert len(chosen[0].open_action_items) >= max(len(i.open_action_items) for i in chosen) - 1
    assert site_candidates(kb, limit=3) == chosen[:3]


def test_site_caps_the_number_of_drill_pages(kb_root):
    files = {}
    for n in range(MAX_SITE_DRILLS + 8):
        files[f"incidents/2025/INC-2025-{n + 100:03d}-x.md"] = thin_incident(3, incident_id=f"INC-2025-{n + 100:03d}")
    files["incidents/2025/INC-2025-999-secret.md"] = thin_incident(6, incident_id="INC-2025-999").replace(
        "severity: SEV3", "severity: SEV1").replace("summary:", "visibility: restricted\nsummary:")
    kb, _ = load(kb_root(files))
    assert kb.incident_by_id["INC-2025-999"].visibility == "restricted"
    pages = drill_pages(Renderer(kb, RenderOptions()))
    assert len(pages) == MAX_SITE_DRILLS + 1
    assert not any("INC-2025-999" in p.path or "INC-2025-999" in p.markdown for p in pages)
    index = pages[0].markdown
    assert pages[0].path == "drills/index.md"
    assert f"best-suited of {MAX_SITE_DRILLS + 8} incidents" in index and "at most 50" in index


def test_drills_index_groups_by_severity_and_service():
    kb = sample_kb()
    pages = {p.path: p.markdown for p in drill_pages(Renderer(kb, RenderOptions()))}
    index = pages["drills/index.md"]
    assert "## Suggested drills" in index and "## By severity" in index and "## By service" in index
    assert "### SEV1\\: Critical" in index or "### SEV1: Critical" in index
    assert "drills/INC-2025-009" not in "".join(pages)


# ------------------------------------------------------------------------------ pieces

@pytest.mark.parametrize("text, topic", [
    ("SEV1 declared; status page and Customer Care informed", "declare"),
    ("Checkout scaled from 14 to 24 pods; failure rate rises", "mitigation"),
    ("kubectl describe certificate shows renewals failing", "diagnosis"),
    ("Checkout scaled back to 14; flag turned on", "rollback"),
    ("Address book release rolled back", "rollback"),
    ("Storefront banner and checkout message point customers to PayPal", "communication"),
    ("LoginFailureRateHigh follows at 19:49", "detection"),
    ("Ines takes command at 09:12", "roles"),
    ("Escalated to the Head of Engineering", "escalation"),
    ("Something nobody can classify", "diagnosis"),
])
def test_classify(text, topic):
    assert classify(text) == topic


def test_vendor_named_first_makes_a_vendor_step():
    assert classify("Postwise confirms their shared pool is blocklisted", ("Postwise",)) == "vendor"
    assert classify("Incident resolved", last=True) == "resolution"


def test_grouping_keeps_order_and_merges_same_topic_neighbours_first():
    start = datetime(2025, 1, 1, 10, 0, tzinfo=timezone.utc)
    topics = ["declare", "mitigation", "mitigation", "diagnosis", "rollback", "mitigation", "mitigation", "resolution"]
    entries = [(start + timedelta(minutes=5 * n), f"e{n}", t) for n, t in enumerate(topics)]
    groups = group_entries(entries, limit=6)
    assert len(groups) == 6
    assert [e for g in groups for e in g] == entries
    assert [[e[1] for e in g] for g in groups] == [["e0"], ["e1", "e2"], ["e3"], ["e4"], ["e5", "e6"], ["e7"]]
    assert group_entries(entries[:3]) == [[e] for e in entries[:3]]
    many = [(start + timedelta(minutes=n), f"x{n}", "diagnosis") for n in range(20)]
    assert len(group_entries(many)) == MAX_STEPS


# ------------------------------------------------------------------------------ kb drill

def test_cli_prints_a_drill(rich_kb):
    _, root = rich_kb
    result = run_kb("drill", "INC-2025-010", "--root", root)
    assert result.code == 0, result.err
    assert result.out.startswith("# Drill: CheckoutErrorsHigh")


def test_cli_writes_a_new_file_and_never_overwrites(rich_kb, tmp_path):
    _, root = rich_kb
    out = tmp_path / "drill.md"
    assert run_kb("drill", "INC-2025-010", "--root", root, "--out", out).code == 0
    assert out.read_text().startswith("# Drill:")
    out.write_text("facilitator's own notes\n")
    again = run_kb("drill", "INC-2025-010", "--root", root, "--out", out)
    assert again.code == 2 and "already exists; nothing was written" in again.err
    assert out.read_text() == "facilitator's own notes\n"


def test_cli_unknown_id_suggests_the_closest(rich_kb):
    _, root = rich_kb
    result = run_kb("drill", "INC-2025-01", "--root", root)
    assert result.code == 2 and "did you mean 'INC-2025-010'?" in result.err and "Traceback" not in result.err


def test_cli_refuses_restricted_incidents(rich_kb):
    _, root = rich_kb
    path = root / "incidents/2025/INC-2025-010-memcached.md"
    path.write_text(path.read_text().replace("visibility: public", "visibility: restricted"))
    refused = run_kb("drill", "INC-2025-010", "--root", root)
    assert refused.code == 2 and "restricted" in refused.err and refused.out == ""
    allowed = run_kb("drill", "INC-2025-010", "--root", root, "--allow-restricted")
    assert allowed.code == 0 and "Restricted" in allowed.out and "never publish it" in allowed.out


def test_cli_thin_record(kb_root):
    root = kb_root({"incidents/2025/INC-2025-020-thin.md": thin_incident(0)})
    result = run_kb("drill", "INC-2025-020", "--root", root)
    assert result.code == 0 and "· generic</summary>" in result.out


def test_cli_help_documents_the_command():
    result = run_kb("drill", "--help")
    assert result.code == 0 and "tabletop exercise" in result.out and "--allow-restricted" in result.out
    assert "kb drill" in (REPO / "docs/guide/training.md").read_text()
