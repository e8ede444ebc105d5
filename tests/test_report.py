"""Report metrics on small hand-built knowledge bases whose right answers were worked out by hand.

Each fixture lists its incidents with the spans in minutes next to them, so a
reader can check the expected figures with pencil and paper.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
import yaml
from conftest import REPO

from incidentkb.analysis import clusters as clusters_module
from incidentkb.analysis.clusters import CLUSTER_THRESHOLD, find_clusters
from incidentkb.analysis.report import Period, build_report, trailing_quarters
from incidentkb.analysis.report_stats import (
    METRIC_BY_KEY, local_day, measure, months_between, percentile, quarter_key, quarters_between,
)
from incidentkb.analysis.similar import Match
from incidentkb.records.load import load


def incident(incident_id: str, **fields) -> str:
    data = {"id": incident_id, "title": f"Incident {incident_id}", "status": "resolved", "severity": "SEV3",
            "services": ["checkout"], "started_at": "2025-01-01T00:00:00Z",
            "summary": "Something broke and was fixed."}
    data.update(fields)
    if data["status"] in ("resolved", "closed") and "resolved_at" not in data:
        data["resolved_at"] = data["started_at"]
    return "---\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True) + "---\n\n## What happened\n\nText.\n"


def runbook(runbook_id: str, services: list[str], title: str = "") -> str:
    data = {"id": runbook_id, "title": title or f"Runbook {runbook_id}", "services": services, "owner": "team-a",
            "last_reviewed": "2025-01-01"}
    sections = "".join(f"## {name}\n\nText.\n\n" for name in ("Symptoms", "Impact", "Diagnosis", "Mitigation", "Escalation"))
    return "---\n" + yaml.safe_dump(data, sort_keys=False) + "---\n\n" + sections


def knowledge_base(kb_root, incidents: dict[str, str], **other: str):
    files = {f"incidents/{iid[4:8]}/{iid}-x.md": text for iid, text in incidents.items()}
    files.update(other)
    kb, findings = load(kb_root(files))
    errors = [f for f in findings if f.is_error]
    assert not errors, errors
    return kb


MINUTES = 60.0

# ------------------------------------------------------------------ percentiles and formatting


def test_percentile_interpolates_between_closest_ranks():
    # Excel: PERCENTILE.INC({1,2,3,4}, 0.5) = 2.5, PERCENTILE.INC({1,2,3,4}, 0.9) = 3.7
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4], 90) == pytest.approx(3.7)
    assert percentile(list(range(1, 11)), 90) == pytest.approx(9.1)
    assert percentile([7], 90) == 7
    assert percentile([3, 9], 0) == 3 and percentile([3, 9], 100) == 9
    assert percentile([], 50) is None


# -------------------------------------------------------------------------- response times

RESPONSE = {
    # SEV2, Q1: detect 10, ack 5, mitigate 60, resolve 120
    "INC-2025-001": incident("INC-2025-001", severity="SEV2", started_at="2025-03-14T09:00:00+01:00",
                             detected_at="2025-03-14T09:10:00+01:00", acknowledged_at="2025-03-14T09:15:00+01:00",
                             mitigated_at="2025-03-14T10:00:00+01:00", resolved_at="2025-03-14T11:00:00+01:00"),
    # SEV3, Q2 as written (April 1 at +02:00 is still March 31 in UTC): detect 30, ack 2, mitigate 120, resolve 240
    "INC-2025-002": incident("INC-2025-002", started_at="2025-04-01T00:30:00+02:00",
                             detected_at="2025-04-01T01:00:00+02:00", acknowledged_at="2025-04-01T01:02:00+02:00",
                             mitigated_at="2025-04-01T02:30:00+02:00", resolved_at="2025-04-01T04:30:00+02:00"),
    # SEV3, no detected_at: detect and acknowledge missing; mitigate 60, resolve 120
    "INC-2025-003": incident("INC-2025-003", started_at="2025-05-01T08:00:00+02:00",
                             acknowledged_at="2025-05-01T08:45:00+02:00", mitigated_at="2025-05-01T09:00:00+02:00",
                             resolved_at="2025-05-01T10:00:00+02:00"),
    # SEV2, still open: detect 5, ack 1; mitigate and resolve still open
    "INC-2025-004": incident("INC-2025-004", severity="SEV2", status="open", started_at="2025-06-01T12:00:00Z",
                             detected_at="2025-06-01T12:05:00Z", acknowledged_at="2025-06-01T12:06:00Z"),
    # SEV3, mitigated: detect 20, ack 10, mitigate 60; resolve still open
    "INC-2025-005": incident("INC-2025-005", status="mitigated", started_at="2025-06-10T00:00:00Z",
                             detected_at="2025-06-10T00:20:00Z", acknowledged_at="2025-06-10T00:30:00Z",
                             mitigated_at="2025-06-10T01:00:00Z"),
}


@pytest.fixture
def response_kb(kb_root):
    return knowledge_base(kb_root, RESPONSE)


def minutes(stats) -> dict:
    out = stats.as_dict()
    return {k: out[k] for k in ("n", "open", "missing", "invalid", "median_minutes", "p90_minutes", "mean_minutes",
                                "min_minutes", "max_minutes")}


def test_overall_response_times(response_kb):
    report = build_report(response_kb, date(2025, 7, 1))
    r = report.response
    # detect: 10, 30, 5, 20 (INC-2025-003 missing) -> sorted 5 10 20 30
    assert minutes(r["detect"]["overall"]) == {"n": 4, "open": 0, "missing": 1, "invalid": 0, "median_minutes": 15.0,
                                               "p90_minutes": 27.0, "mean_minutes": 16.25, "min_minutes": 5.0,
                                               "max_minutes": 30.0}
    # acknowledge: 5, 2, 1, 10 (INC-2025-003 has no detected_at) -> sorted 1 2 5 10
    assert minutes(r["acknowledge"]["overall"]) == {"n": 4, "open": 0, "missing": 1, "invalid": 0, "median_minutes": 3.5,
                                                    "p90_minutes": 8.5, "mean_minutes": 4.5, "min_minutes": 1.0,
                                                    "max_minutes": 10.0}
    # mitigate: 60, 120, 60, 60; INC-2025-004 still open
    assert minutes(r["mitigate"]["overall"]) == {"n": 4, "open": 1, "missing": 0, "invalid": 0, "median_minutes": 60.0,
                                                 "p90_minutes": 102.0, "mean_minutes": 75.0, "min_minutes": 60.0,
                                                 "max_minutes": 120.0}
    # resolve: 120, 240, 120; INC-2025-004 and -005 still open (counted, not averaged)
    assert minutes(r["resolve"]["overall"]) == {"n": 3, "open": 2, "missing": 0, "invalid": 0, "median_minutes": 120.0,
                                                "p90_minutes": 216.0, "mean_minutes": 160.0, "min_minutes": 120.0,
                                                "max_minutes": 240.0}
    assert r["resolve"]["overall"].incidents == 5


def test_response_times_by_severity_quarter_and_service(response_kb):
    r = build_report(response_kb, date(2025, 7, 1)).response
    assert list(r["detect"]["by_severity"]) == ["SEV2", "SEV3"]  # policy order, only severities present
    assert r["detect"]["by_severity"]["SEV2"].median == 7.5 * MINUTES  # 10 and 5
    sev3 = r["detect"]["by_severity"]["SEV3"]
    assert (sev3.median, sev3.n, sev3.missing) == (25 * MINUTES, 2, 1)  # 30 and 20, INC-2025-003 missing
    assert (r["resolve"]["by_severity"]["SEV2"].n, r["resolve"]["by_severity"]["SEV2"].open) == (1, 1)
    # INC-2025-002 starts on April 1 as written: Q2, although it is March 31 in UTC.
    assert {q: s.incidents for q, s in r["detect"]["by_quarter"].items()} == {"2025-Q1": 1, "2025-Q2": 4}
    assert r["detect"]["by_quarter"]["2025-Q1"].median == 10 * MINUTES
    assert list(r["detect"]["by_service"]) == ["checkout"]
    assert list(r["detect"]["by_year"]) == ["2025"]


def test_flags_list_every_incident_left_out_with_the_reason(response_kb):
    flags = build_report(response_kb, date(2025, 7, 1)).flags
    assert flags == [
        {"incident": "INC-2025-003", "metric": "detect", "state": "missing", "reason": "no detected_at"},
        {"incident": "INC-2025-003", "metric": "acknowledge", "state": "missing", "reason": "no detected_at"},
        {"incident": "INC-2025-004", "metric": "mitigate", "state": "open", "reason": "status open"},
        {"incident": "INC-2025-004", "metric": "resolve", "state": "open", "reason": "status open"},
        {"incident": "INC-2025-005", "metric": "resolve", "state": "open", "reason": "status mitigated"},
    ]


def test_missing_is_not_open_once_the_stage_is_reached(kb_root):
    kb = knowledge_base(kb_root, {
        # resolved, but mitigated_at was never written: mitigate is missing (not open)
        "INC-2025-001": incident("INC-2025-001", started_at="2025-01-01T00:00:00Z", resolved_at="2025-01-01T02:00:00Z"),
        # closed without resolved_at (kb check reports it): resolve is missing
        "INC-2025-002": incident("INC-2025-002", status="closed", started_at="2025-01-02T00:00:00Z", resolved_at=None),
    })
    flags = {(f["incident"], f["metric"]): (f["state"], f["reason"]) for f in build_report(kb, date(2025, 2, 1)).flags}
    assert flags[("INC-2025-001", "mitigate")] == ("missing", "no mitigated_at")
    assert flags[("INC-2025-002", "resolve")] == ("missing", "no resolved_at")
    assert flags[("INC-2025-001", "detect")] == ("missing", "no detected_at")
    assert flags[("INC-2025-001", "acknowledge")] == ("missing", "no detected_at and no acknowledged_at")


def test_backwards_timestamps_are_invalid_not_negative(kb_root):
    kb = knowledge_base(kb_root, {
        "INC-2025-001": incident("INC-2025-001", started_at="2025-01-01T10:00:00Z", detected_at="2025-01-01T09:00:00Z",
                                 resolved_at="2025-01-01T12:00:00Z"),
    })
    i = kb.incidents[0]
    assert measure(i, METRIC_BY_KEY["detect"]) == ("invalid", None, "detected_at is before started_at")
    stats = build_report(kb, date(2025, 2, 1)).response["detect"]["overall"]
    assert (stats.n, stats.invalid, stats.median) == (0, 1, None)


def test_durations_across_offsets_and_a_quarter_boundary(kb_root):
    kb = knowledge_base(kb_root, {
        # starts 23:30 at -10:00 on March 31 (09:30 UTC on April 1), detected 09:40 UTC: 10 minutes; Q1 as written
        "INC-2025-001": incident("INC-2025-001", started_at="2025-03-31T23:30:00-10:00",
                                 detected_at="2025-04-01T09:40:00Z", resolved_at="2025-04-01T11:30:00+02:00"),
        # starts at 05:00 +14:00 on April 1 (15:00 UTC on March 31); resolved a day later in Q2: 1 d 0 h
        "INC-2025-002": incident("INC-2025-002", started_at="2025-04-01T05:00:00+14:00",
                                 detected_at="2025-03-31T15:30:00Z", resolved_at="2025-04-01T15:00:00Z"),
        # starts in Q3, resolved in Q4: belongs to Q3 with its full 4 hours
        "INC-2025-003": incident("INC-2025-003", started_at="2025-09-30T23:00:00+02:00",
                                 resolved_at="2025-10-01T03:00:00+02:00"),
    })
    report = build_report(kb, date(2025, 12, 31))
    detect = report.response["detect"]["by_quarter"]
    assert detect["2025-Q1"].median == 10 * MINUTES
    assert detect["2025-Q2"].median == 30 * MINUTES
    resolve = report.response["resolve"]["by_quarter"]
    # INC-2025-001: 09:30 UTC -> 09:30 UTC = 0 min
    assert resolve["2025-Q1"].median == 0
    assert resolve["2025-Q2"].median == 24 * 60 * MINUTES
    assert resolve["2025-Q3"].median == 4 * 60 * MINUTES and "2025-Q4" not in resolve
    months = report.volume["by_month_severity"]
    assert (months["2025-03"]["SEV3"], months["2025-04"]["SEV3"], months["2025-09"]["SEV3"]) == (1, 1, 1)
    assert months["2025-10"]["SEV3"] == 0


def test_calendar_rule_is_the_offset_as_written():
    late = datetime.fromisoformat("2024-12-31T23:59:00-10:00")  # 2025-01-01 09:59 UTC
    early = datetime.fromisoformat("2025-01-01T00:30:00+14:00")  # 2024-12-31 10:30 UTC
    assert (local_day(late), quarter_key(local_day(late))) == (date(2024, 12, 31), "2024-Q4")
    assert (local_day(early), quarter_key(local_day(early))) == (date(2025, 1, 1), "2025-Q1")
    assert months_between(date(2024, 11, 5), date(2025, 2, 1)) == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert quarters_between(date(2024, 11, 5), date(2025, 4, 1)) == ["2024-Q4", "2025-Q1", "2025-Q2"]
    assert trailing_quarters("2025-Q2") == ["2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]


def test_period_compares_the_start_date_as_written(kb_root):
    kb = knowledge_base(kb_root, {
        "INC-2025-001": incident("INC-2025-001", started_at="2025-03-31T23:30:00-10:00"),
        "INC-2025-002": incident("INC-2025-002", started_at="2025-04-01T05:00:00+14:00"),
        "INC-2025-003": incident("INC-2025-003", started_at="2025-04-30T23:00:00+00:00"),
    })
    assert build_report(kb, date(2025, 6, 1), since=date(2025, 4, 1)).incidents == ["INC-2025-002", "INC-2025-003"]
    assert build_report(kb, date(2025, 6, 1), until=date(2025, 3, 31)).incidents == ["INC-2025-001"]
    assert build_report(kb, date(2025, 6, 1), since=date(2025, 4, 1), until=date(2025, 4, 1)).incidents == \
        ["INC-2025-002"]
    assert Period().label == "all incidents"


def test_trailing_year_pools_four_quarters(kb_root):
    kb = knowledge_base(kb_root, {
        # detect spans: Q1 2024 60 min, Q2 2024 10 min, Q1 2025 2 min, Q2 2025 4 min
        "INC-2024-001": incident("INC-2024-001", started_at="2024-02-01T00:00:00Z", detected_at="2024-02-01T01:00:00Z"),
        "INC-2024-002": incident("INC-2024-002", started_at="2024-05-01T00:00:00Z", detected_at="2024-05-01T00:10:00Z"),
        "INC-2025-001": incident("INC-2025-001", started_at="2025-02-01T00:00:00Z", detected_at="2025-02-01T00:02:00Z"),
        "INC-2025-002": incident("INC-2025-002", started_at="2025-05-01T00:00:00Z", detected_at="2025-05-01T00:04:00Z"),
    })
    trend = build_report(kb, date(2025, 6, 30)).response["detect"]["trailing_year"]
    assert list(trend) == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]
    assert trend["2024-Q1"].median == 60 * MINUTES
    assert trend["2024-Q4"].median == 35 * MINUTES  # 60 and 10
    assert trend["2025-Q1"].median == 6 * MINUTES  # Q2 2024 to Q1 2025: 10 and 2
    assert trend["2025-Q2"].median == 3 * MINUTES  # Q3 2024 to Q2 2025: 2 and 4


# ------------------------------------------------------------------------------------- volume


def test_volume_by_month_service_and_detection(kb_root):
    kb = knowledge_base(kb_root, {
        "INC-2025-001": incident("INC-2025-001", severity="SEV1", services=["checkout", "payments"],
                                 started_at="2025-01-10T10:00:00Z", detection={"method": "alert", "alert": "X"}),
        "INC-2025-002": incident("INC-2025-002", started_at="2025-03-02T10:00:00Z",
                                 detection={"method": "customer-report"}),
        "INC-2025-003": incident("INC-2025-003", started_at="2025-03-20T10:00:00Z",
                                 detection={"method": "automated-check"}),
        "INC-2026-001": incident("INC-2026-001", severity="SEV2", services=["payments"], started_at="2026-01-05T10:00:00Z"),
    })
    volume = build_report(kb, date(2026, 1, 31)).volume
    assert volume["months"][0] == "2025-01" and volume["months"][-1] == "2026-01" and len(volume["months"]) == 13
    assert volume["by_month_severity"]["2025-01"] == {"SEV1": 1, "SEV2": 0, "SEV3": 0, "SEV4": 0}
    assert volume["by_month_severity"]["2025-02"] == {"SEV1": 0, "SEV2": 0, "SEV3": 0, "SEV4": 0}
    assert volume["by_month_severity"]["2025-03"]["SEV3"] == 2
    assert volume["by_quarter_severity"]["2025-Q1"] == {"SEV1": 1, "SEV2": 0, "SEV3": 2, "SEV4": 0}
    assert volume["by_service"] == [
        {"service": "checkout", "incidents": 3, "by_year": {"2025": 3, "2026": 0}},  # the default service
        {"service": "payments", "incidents": 2, "by_year": {"2025": 1, "2026": 1}},
    ]
    assert volume["detection_methods"] == ["alert", "automated-check", "customer-report", "not recorded"]
    assert volume["by_year_monitoring"] == {"2025": {"monitoring": 2, "incidents": 3},
                                            "2026": {"monitoring": 0, "incidents": 1}}
    assert volume["by_quarter_detection"]["2026-Q1"]["not recorded"] == 1


def test_empty_knowledge_base_gives_a_report_with_a_note(kb_root):
    kb, _ = load(kb_root({}))
    report = build_report(kb, date(2025, 1, 1))
    assert report.incidents == [] and report.story == []
    assert report.notes == ["No incidents in the period (all incidents)."]
    assert report.response["detect"]["overall"].median is None
    assert report.as_dict()["incident_count"] == 0


# ------------------------------------------------------------------------------------ follow-up


def test_action_items_open_overdue_closed_by_owner_type_and_quarter(kb_root):
    items = [
        {"id": "AI-1", "title": "Done one", "owner": "team-a", "due": "2025-03-01", "status": "done", "type": "prevent"},
        {"id": "AI-2", "title": "Not doing", "owner": "team-a", "due": "2025-03-01", "status": "wont-do", "type": "detect"},
        {"id": "AI-3", "title": "Overdue by one day", "owner": "team-a", "due": "2025-06-30", "status": "open",
         "type": "prevent"},
        {"id": "AI-4", "title": "Due today, not overdue", "owner": "team-b", "due": "2025-07-01", "status": "in-progress",
         "type": "detect"},
    ]
    kb = knowledge_base(kb_root, {
        "INC-2025-001": incident("INC-2025-001", started_at="2025-02-01T23:30:00-05:00", action_items=items),
        "INC-2025-002": incident("INC-2025-002", started_at="2025-05-01T10:00:00Z", action_items=[
            {"id": "AI-1", "title": "No due date", "owner": "team-b", "status": "open"}]),
    })
    follow = build_report(kb, date(2025, 7, 1)).follow_up
    assert follow["total"] == 5
    assert follow["states"] == {"overdue": 1, "open": 2, "done": 1, "wont-do": 1}
    assert follow["open_without_due"] == 1
    # Oldest open first; age counts from the incident's start day as written (February 1).
    assert [(r["incident"], r["item"], r["age_days"], r["overdue_days"]) for r in follow["oldest_open"]] == [
        ("INC-2025-001", "AI-3", 150, 1), ("INC-2025-001", "AI-4", 150, None), ("INC-2025-002", "AI-1", 61, None)]
    assert follow["by_owner"] == {
        "team-b": {"overdue": 0, "open": 2, "done": 0, "wont-do": 0, "total": 2, "oldest_open_days": 150},
        "team-a": {"overdue": 1, "open": 0, "done": 1, "wont-do": 1, "total": 3, "oldest_open_days": 150},
    }
    assert follow["by_type"]["(no type)"]["open"] == 1
    assert list(follow["by_type"]) == ["detect", "prevent", "(no type)"]
    assert follow["by_quarter_raised"]["2025-Q1"]["overdue"] == 1
    assert follow["by_quarter_raised"]["2025-Q2"]["open"] == 1


def test_postmortems_waiting_for_review(kb_root):
    kb = knowledge_base(kb_root, {
        "INC-2025-001": incident("INC-2025-001", started_at="2025-06-01T10:00:00Z", resolved_at="2025-06-02T10:00:00Z",
                                 postmortem={"status": "draft", "owner": "Ana"}),
        "INC-2025-002": incident("INC-2025-002", started_at="2025-06-10T10:00:00Z", postmortem={"status": "in-review"}),
        "INC-2025-003": incident("INC-2025-003", started_at="2025-06-11T10:00:00Z", postmortem={"status": "reviewed"}),
        "INC-2025-004": incident("INC-2025-004", started_at="2025-06-12T10:00:00Z"),  # resolved, no post-mortem state
        "INC-2025-005": incident("INC-2025-005", status="open", started_at="2025-06-13T10:00:00Z"),  # still open
    })
    waiting = build_report(kb, date(2025, 7, 1)).follow_up["postmortems_waiting"]
    assert [(w["incident"], w["postmortem"], w["waiting_days"]) for w in waiting] == [
        ("INC-2025-001", "draft", 29), ("INC-2025-002", "in-review", 21), ("INC-2025-004", "not recorded", 19)]


# ------------------------------------------------------------------------------------- runbooks

CATALOG = """\
teams:
  - {id: team-a, name: Team A}
services:
  - {id: checkout, name: Checkout, owner: team-a, tier: 1, escalation: call}
  - {id: orders, name: Orders, owner: team-a, tier: 2, escalation: call}
vendors:
  - {id: paycorp, name: PayCorp, support: phone}
"""


def test_runbook_usage_and_services_without_one(kb_root):
    kb = knowledge_base(
        kb_root,
        {"INC-2025-001": incident("INC-2025-001", services=["checkout", "paycorp"], runbooks=["checkout-slow"],
                                  started_at="2025-01-01T10:00:00Z"),
         "INC-2025-002": incident("INC-2025-002", services=["checkout", "orders"], runbooks=["checkout-slow", "gone"],
                                  started_at="2025-02-01T10:00:00+01:00"),
         "INC-2026-001": incident("INC-2026-001", services=["orders"], started_at="2026-01-01T10:00:00Z")},
        **{"catalog.yml": CATALOG, "runbooks/checkout/checkout-slow.md": runbook("checkout-slow", ["checkout"]),
           "runbooks/checkout/payment-errors.md": runbook("payment-errors", ["checkout"])})
    runbooks = build_report(kb, date(2026, 2, 1)).runbooks
    assert runbooks["used"] == [{"runbook": "checkout-slow", "title": "Runbook checkout-slow", "incidents": 2,
                                 "last_used": date(2025, 2, 1), "ids": ["INC-2025-001", "INC-2025-002"]}]
    assert runbooks["never_used"] == ["payment-errors"]
    # paycorp is a vendor: left out; orders has incidents and no runbook
    assert runbooks["services_without_runbook"] == [{"service": "orders", "incidents": 2,
                                                     "ids": ["INC-2025-002", "INC-2026-001"]}]
    assert runbooks["by_year"] == {"2025": {"incidents": 2, "without_runbook": 0},
                                   "2026": {"incidents": 1, "without_runbook": 1}}


# -------------------------------------------------------------------------------------- causes


def test_cause_categories_count_incidents_not_causes(kb_root):
    cause = lambda category: {"category": category, "description": "x"}  # noqa: E731
    kb = knowledge_base(kb_root, {
        "INC-2025-001": incident("INC-2025-001", root_causes=[cause("capacity"), cause("capacity"), cause("change")],
                                 contributing_factors=[cause("process")], started_at="2025-01-01T10:00:00Z"),
        "INC-2025-002": incident("INC-2025-002", root_causes=[cause("change")], started_at="2025-01-11T10:00:00Z"),
        "INC-2025-003": incident("INC-2025-003", services=["search"], started_at="2025-02-01T10:00:00Z"),
    })
    causes = build_report(kb, date(2025, 3, 1)).causes
    assert [(r["category"], r["incidents"]) for r in causes["root_causes"]] == [("change", 2), ("capacity", 1)]
    assert causes["contributing_factors"] == [{"category": "process", "incidents": 1, "ids": ["INC-2025-001"]}]
    assert causes["without_root_cause"] == ["INC-2025-003"]
    assert causes["repeat_services"] == [{"service": "checkout", "incidents": 2, "ids": ["INC-2025-001", "INC-2025-002"],
                                          "first": date(2025, 1, 1), "last": date(2025, 1, 11), "shortest_gap_days": 10}]


class FakeIndex:
    """Stands in for SimilarityIndex: fixed neighbour scores, so the graph rules can be checked by hand."""

    def __init__(self, pairs: dict[tuple[str, str], float]):
        self.pairs = pairs

    def all_neighbours(self, top=5):
        out: dict[str, list] = {}
        for (a, b), score in self.pairs.items():
            out.setdefault(a, []).append(Match(b, "incident", b, score, ("both mention 'pool'",)))
            out.setdefault(b, []).append(Match(a, "incident", a, score, ("both mention 'pool'",)))
        return out


def test_clusters_are_the_two_core_of_links_above_the_threshold(kb_root):
    ids = [f"INC-2025-00{n}" for n in range(1, 10)]
    kb = knowledge_base(
        kb_root, {i: incident(i, tags=["pool"], started_at=f"2025-01-0{n + 1}T10:00:00Z") for n, i in enumerate(ids)},
        **{"problems/PRB-001-pool.md": "---\nid: PRB-001\ntitle: Pool\nstatus: open\nincidents: [INC-2025-001, "
                                       "INC-2025-002]\nopened_at: 2025-02-01\n---\n"})
    a, b, c, d, e, f, g, h, i = ids
    index = FakeIndex({
        (a, b): 0.40, (b, c): 0.30, (a, c): CLUSTER_THRESHOLD,  # a triangle: a cluster
        (a, d): 0.50,  # d hangs on by one link: set aside
        (e, f): 0.60, (f, g): 0.60,  # a path: nobody but f has two links, so no cluster
        (g, h): CLUSTER_THRESHOLD - 0.01, (h, i): 0.2, (g, i): 0.9,  # below the threshold: not linked
    })
    clusters, method = find_clusters(kb, kb.incidents, index)
    assert method.startswith("similar-incident index")
    assert len(clusters) == 1
    cluster = clusters[0]
    assert cluster.incidents == (a, b, c)
    assert cluster.problems == (("PRB-001", 2),)
    assert cluster.explained_by == "PRB-001"  # lists 2 of 3: at least half
    assert cluster.unlinked == (c,)
    assert cluster.strength == pytest.approx(round((0.40 + 0.30 + CLUSTER_THRESHOLD) / 3, 2))
    assert "tag: pool" in cluster.shared and "mention: pool" in cluster.shared


def test_loose_groups_lose_their_weakest_links_until_they_are_dense():
    from incidentkb.analysis.clusters import dense_groups

    a, b, c, d, e, f = "abcdef"
    triangles = {(a, b): 0.5, (a, c): 0.5, (b, c): 0.5, (d, e): 0.5, (d, f): 0.5, (e, f): 0.5}
    # joined by one weak link: 7 of 15 pairs linked (< half), so the 0.3 link goes and two triangles remain
    assert dense_groups({**triangles, (c, d): 0.3}) == [[a, b, c], [d, e, f]]
    # joined by two links: 8 of 15 pairs, dense enough to stay one group
    assert dense_groups({**triangles, (c, d): 0.3, (b, e): 0.3}) == [[a, b, c, d, e, f]]
    # a ring of six equal links is loose (6 of 15) and has no weaker link to drop: no cluster
    ring = {(a, b): 0.4, (b, c): 0.4, (c, d): 0.4, (d, e): 0.4, (e, f): 0.4, (a, f): 0.4}
    assert dense_groups(ring) == []


def test_tls_incidents_cluster_with_the_real_index_and_no_problem_explains_them(kb_root):
    def tls(incident_id, service, day):
        return incident(incident_id, title=f"{service} certificate expired: TLS handshake failures", services=[service],
                        tags=["tls", "certificate-expiry"], runbooks=["tls-certificate-expiry"],
                        started_at=f"2025-0{day}-01T00:00:00Z",
                        summary=f"The TLS certificate of {service} expired at midnight UTC; clients failed the TLS "
                                "handshake until the certificate was renewed by hand.",
                        root_causes=[{"category": "process", "description": "Certificate renewal was manual."}])

    kb = knowledge_base(kb_root, {
        "INC-2025-001": tls("INC-2025-001", "storefront", 1),
        "INC-2025-002": tls("INC-2025-002", "payments", 3),
        "INC-2025-003": tls("INC-2025-003", "shipping", 5),
        "INC-2025-004": incident("INC-2025-004", title="Search results stale after indexer crash", services=["search"],
                                 summary="The search indexer ran out of memory and results went stale.",
                                 started_at="2025-07-01T00:00:00Z"),
    })
    clusters, method = find_clusters(kb, kb.incidents)
    assert method.startswith("similar-incident index")
    assert [c.incidents for c in clusters] == [("INC-2025-001", "INC-2025-002", "INC-2025-003")]
    assert clusters[0].explained_by is None
    assert {"tag: tls", "tag: certificate-expiry", "root cause: process"} <= set(clusters[0].shared)
    report = build_report(kb, date(2025, 8, 1))
    assert report.causes["unexplained_clusters"] == [0]
    assert any("no problem record explains them" in s for s in report.story)


def test_clusters_fall_back_to_shared_fields_without_the_similar_module(kb_root, monkeypatch):
    cause = [{"category": "process", "description": "manual renewal"}]
    kb = knowledge_base(kb_root, {
        "INC-2025-001": incident("INC-2025-001", tags=["tls", "expiry"], root_causes=cause, started_at="2025-01-01T00:00:00Z"),
        "INC-2025-002": incident("INC-2025-002", tags=["tls", "expiry"], root_causes=cause, started_at="2025-02-01T00:00:00Z"),
        "INC-2025-003": incident("INC-2025-003", tags=["tls"], runbooks=["tls"], root_causes=cause,
                                 started_at="2025-03-01T00:00:00Z"),
        # shares tags but not a root-cause category: not linked
        "INC-2025-004": incident("INC-2025-004", tags=["tls", "expiry"], started_at="2025-04-01T00:00:00Z"),
    })
    monkeypatch.setattr(clusters_module, "SimilarityIndex", None)  # as when the import failed
    clusters, method = find_clusters(kb, kb.incidents)
    assert method.startswith("shared fields")
    # 001-002 share tls, expiry, checkout and process; 003 shares tls, checkout and process with both
    assert [c.incidents for c in clusters] == [("INC-2025-001", "INC-2025-002", "INC-2025-003")]


# -------------------------------------------------------------------------- headline and story


def test_headline_compares_this_quarter_with_the_last(kb_root):
    kb = knowledge_base(kb_root, {
        "INC-2025-001": incident("INC-2025-001", severity="SEV1", started_at="2025-05-01T10:00:00Z",
                                 detected_at="2025-05-01T10:30:00Z", detection={"method": "customer-report"}),
        "INC-2025-002": incident("INC-2025-002", started_at="2025-07-02T10:00:00Z", detected_at="2025-07-02T10:02:00Z",
                                 detection={"method": "alert", "alert": "A"}, status="open"),
        "INC-2025-003": incident("INC-2025-003", started_at="2025-09-02T10:00:00Z"),  # after the reference day
    })
    headline = build_report(kb, date(2025, 12, 1), until=date(2025, 8, 15)).headline
    assert (headline["previous"], headline["current"], headline["complete"]) == ("2025-Q2", "2025-Q3", False)
    previous, current = headline["quarters"]["2025-Q2"], headline["quarters"]["2025-Q3"]
    assert (previous["incidents"], previous["severe"], previous["median_detect"]) == (1, 1, 30 * MINUTES)
    assert (current["incidents"], current["still_open"], current["found_by_monitoring"]) == (1, 1, 1)
    assert current["to"] == date(2025, 8, 15)


def test_story_states_the_detection_trend_with_counts(kb_root):
    incidents = {}
    for n, (year, spans) in enumerate(((2024, (60, 90, 120)), (2025, (2, 4, 6)))):
        for m, span in enumerate(spans):
            iid = f"INC-{year}-00{m + 1}"
            incidents[iid] = incident(iid, started_at=f"{year}-03-0{m + 1}T10:00:00Z",
                                      detected_at=f"{year}-03-0{m + 1}T{10 + span // 60:02d}:{span % 60:02d}:00Z",
                                      detection={"method": "customer-report" if year == 2024 else "alert", "alert": "A"})
    story = build_report(knowledge_base(kb_root, incidents), date(2025, 12, 31)).story
    assert story[0] == "Median time to detect fell from 1 h 30 min in 2024 (3 incidents) to 4 min in 2025 (3 incidents)."
    assert story[1] == "Our monitoring found 0% of incidents in 2024 (0 of 3) and 100% in 2025 (3 of 3)."


def test_report_as_json_is_deterministic_and_plain(response_kb):
    import json

    first = json.dumps(build_report(response_kb, date(2025, 7, 1)).as_dict())
    second = json.dumps(build_report(response_kb, date(2025, 7, 1)).as_dict())
    assert first == second
    data = json.loads(first)
    assert data["response_times"]["detect"]["overall"]["median_minutes"] == 15.0
    assert data["rules"]["metrics"]["detect"].startswith("detected_at − started_at")


# ------------------------------------------------------------------------- the sample's story


@pytest.fixture(scope="module")
def sample_report():
    kb, _ = load(REPO)
    return kb, build_report(kb, date(2026, 11, 28))


def test_sample_tells_its_story(sample_report):
    kb, report = sample_report
    detect = report.response["detect"]["by_year"]
    assert detect["2024"].median > 30 * MINUTES > 10 * MINUTES > detect["2026"].median  # detection improved
    monitoring = report.volume["by_year_monitoring"]
    assert monitoring["2024"]["monitoring"] / monitoring["2024"]["incidents"] < 0.5
    assert monitoring["2026"]["monitoring"] / monitoring["2026"]["incidents"] > 0.8
    # the recurring cause: the certificate expiries form a cluster no problem record explains
    clusters = report.causes["clusters"]
    unexplained = [clusters[n] for n in report.causes["unexplained_clusters"]]
    assert [c.incidents for c in unexplained] == [("INC-2024-002", "INC-2025-004", "INC-2025-011", "INC-2026-002")]
    assert {c.explained_by for c in clusters} == {None, "PRB-001", "PRB-002"}
    # the growing backlog: team-platform, mostly overdue
    owner, entry = next(iter(report.follow_up["by_owner"].items()))
    assert owner == "team-platform" and entry["open"] + entry["overdue"] >= 10 and entry["overdue"] > entry["open"]
    assert any("Platform Engineering" in s for s in report.story)
