"""`kb report` and `kb export` as a user runs them: exit codes, JSON shape, CSV columns and escaping, no overwrites."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import REPO, run_kb
from test_report import incident

from incidentkb.analysis.export import (
    ACTION_ITEM_COLUMNS, INCIDENT_COLUMNS, METRIC_COLUMNS, ExportExists, csv_cell, write_export,
)

HOSTILE_TITLE = "=HYPERLINK(\"http://evil.example\",\"click\")"

FILES = {
    "incidents/2025/INC-2025-001-x.md": incident(
        "INC-2025-001", title=HOSTILE_TITLE, severity="SEV2", started_at="2025-03-14T09:00:00+01:00",
        detected_at="2025-03-14T09:10:00+01:00", resolved_at="2025-03-14T11:00:00+01:00",
        tags=["tls", "cdn"], detection={"method": "alert", "alert": "EdgeErrors"},
        action_items=[{"id": "AI-1", "title": "+1 more alert", "owner": "@team-a", "due": "2025-04-01", "status": "open"},
                      {"id": "AI-2", "title": "Done", "owner": "team-a", "due": "2025-04-01", "status": "done"}]),
    "incidents/2025/INC-2025-002-y.md": incident(
        "INC-2025-002", status="open", started_at="2025-04-01T00:30:00+02:00", visibility="restricted"),
    "incidents/2025/INC-2025-003-z.md": incident(
        "INC-2025-003", status="mitigated", started_at="2025-05-01T08:00:00-10:00", mitigated_at="2025-05-01T09:00:00-10:00"),
}


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+49 30 1234", "'+49 30 1234"), ("-rf", "'-rf"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tindented", "'\tindented"), ("\rline", "'\rline"), ("plain", "plain"), ("a=b", "a=b"),
    (-5, "-5"), (2.5, "2.5"), (313.0, "313"), (None, ""), (True, "true"), (["a", "=b"], "a; =b"), ([], ""),
])
def test_csv_cells_never_start_a_formula(value, cell):
    assert csv_cell(value) == cell


def test_report_prints_tables(kb_root):
    root = kb_root(FILES)
    result = run_kb("report", "--root", root, "--today", "2025-06-01")
    assert result.code == 0, result.err
    assert result.out.startswith("Incident report: all incidents (2 incidents), judged on 2025-06-01")
    assert "Response times" in result.out and "Time to detect" in result.out
    assert "Q2 2025 to 2025-06-01 compared with Q1 2025" in result.out
    assert "INC-2025-002" not in result.out  # restricted: not for the default (internal) audience


def test_report_json_shape_and_audience(kb_root):
    root = kb_root(FILES)
    result = run_kb("report", "--root", root, "--today", "2025-06-01", "--json")
    assert result.code == 0, result.err
    data = result.json
    assert set(data) >= {"today", "period", "rules", "incident_count", "headline", "story", "response_times", "flags",
                         "volume", "causes", "follow_up", "runbooks"}
    assert data["incident_count"] == 2
    assert data["response_times"]["detect"]["overall"]["median_minutes"] == 10.0
    assert data["response_times"]["resolve"]["overall"]["open"] == 1
    restricted = run_kb("report", "--root", root, "--today", "2025-06-01", "--json", "--audience", "restricted").json
    assert restricted["incident_count"] == 3


def test_report_period_options(kb_root):
    root = kb_root(FILES)
    result = run_kb("report", "--root", root, "--json", "--since", "2025-04-01", "--until", "2025-12-31",
                    "--today", "2025-06-01")
    assert result.code == 0
    assert result.json["period"] == {"since": "2025-04-01", "until": "2025-12-31",
                                     "label": "incidents started 2025-04-01 to 2025-12-31"}
    assert result.json["incident_count"] == 1


@pytest.mark.parametrize("args, message", [
    (["--since", "2025-13-01"], "--since"),
    (["--until", "yesterday"], "--until"),
    (["--since", "2025-06-01", "--until", "2025-01-01"], "is after --until"),
    (["--today", "soon"], "--today"),
])
def test_report_usage_errors_exit_2(kb_root, args, message):
    root = kb_root(FILES)
    result = run_kb("report", "--root", root, *args)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err


def test_report_on_a_missing_folder_exits_2(tmp_path):
    result = run_kb("report", "--root", tmp_path / "nowhere")
    assert result.code == 2 and "no such folder" in result.err


def test_report_warns_when_records_could_not_be_loaded(kb_root):
    root = kb_root({**FILES, "incidents/2025/INC-2025-009-broken.md": "---\nid: [unclosed\n---\n"})
    result = run_kb("report", "--root", root, "--json")
    assert result.code == 0
    assert "left out of these figures" in result.err
    assert result.json["incident_count"] == 2


def test_export_csv_files_columns_and_escaping(kb_root, tmp_path):
    root = kb_root(FILES)
    out = tmp_path / "out"
    result = run_kb("export", "--root", root, "--format", "csv", "--out", out, "--today", "2025-06-01")
    assert result.code == 0, result.err
    assert result.out.split() == [str(out / name) for name in ("incidents.csv", "action_items.csv", "metrics.csv")]
    incidents = read_csv((out / "incidents.csv").read_text(encoding="utf-8"))
    assert incidents[0] == list(INCIDENT_COLUMNS)
    rows = [dict(zip(incidents[0], row)) for row in incidents[1:]]
    assert [r["id"] for r in rows] == ["INC-2025-001", "INC-2025-003"]
    first = rows[0]
    assert first["title"] == "'" + HOSTILE_TITLE
    assert (first["time_to_detect_minutes"], first["time_to_resolve_minutes"]) == ("10", "120")
    assert first["started_at"] == "2025-03-14T09:00:00+01:00" and first["started_at_utc"] == "2025-03-14T08:00:00Z"
    assert (first["tags"], first["quarter"], first["detection_method"]) == ("tls; cdn", "2025-Q1", "alert")
    assert (first["action_items"], first["action_items_open"], first["action_items_overdue"]) == ("2", "1", "1")
    assert rows[1]["time_to_resolve_minutes"] == "" and rows[1]["quarter"] == "2025-Q2"
    items = read_csv((out / "action_items.csv").read_text(encoding="utf-8"))
    assert items[0] == list(ACTION_ITEM_COLUMNS)
    item = dict(zip(items[0], items[1]))
    assert (item["title"], item["owner"], item["state"], item["overdue_days"]) == ("'+1 more alert", "'@team-a",
                                                                                    "overdue", "61")
    metrics = read_csv((out / "metrics.csv").read_text(encoding="utf-8"))
    assert metrics[0] == list(METRIC_COLUMNS)
    lookup = {tuple(row[:6]): row[6] for row in metrics[1:]}
    assert lookup[("response_times", "time_to_detect", "all", "all", "", "median")] == "10"
    assert lookup[("volume", "incidents", "month/severity", "2025-03", "SEV2", "count")] == "1"
    assert lookup[("follow_up", "action_items", "owner/state", "'@team-a", "overdue", "count")] == "1"
    assert all(len(row) == len(METRIC_COLUMNS) for row in metrics)
    assert (out / "metrics.csv").read_bytes().count(b"\r\n") == len(metrics)


def test_export_never_overwrites(kb_root, tmp_path):
    root = kb_root(FILES)
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.csv").write_text("mine\n", encoding="utf-8")
    result = run_kb("export", "--root", root, "--out", out)
    assert result.code == 2
    assert "metrics.csv already exists; nothing was written" in result.err
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv"]
    assert (out / "metrics.csv").read_text(encoding="utf-8") == "mine\n"
    with pytest.raises(ExportExists):
        write_export(out, {"metrics.csv": "x"})


def test_export_json_document(kb_root, tmp_path):
    root = kb_root(FILES)
    result = run_kb("export", "--root", root, "--format", "json", "--out", tmp_path / "j", "--today", "2025-06-01")
    assert result.code == 0, result.err
    document = json.loads((tmp_path / "j" / "export.json").read_text(encoding="utf-8"))
    assert (document["format"], document["version"], document["today"]) == ("incidentkb-export", 1, "2025-06-01")
    assert list(document["incidents"][0]) == list(INCIDENT_COLUMNS)
    assert document["incidents"][0]["title"] == HOSTILE_TITLE  # JSON is data: no spreadsheet quoting
    assert document["incidents"][0]["tags"] == ["tls", "cdn"]
    assert list(document["action_items"][0]) == list(ACTION_ITEM_COLUMNS)
    assert document["metrics"]["response_times"]["detect"]["overall"]["n"] == 1
    stdout = run_kb("export", "--root", root, "--format", "json", "--out", "-", "--today", "2025-06-01")
    assert stdout.code == 0 and json.loads(stdout.out) == document


def test_export_to_stdout_needs_json(kb_root):
    result = run_kb("export", "--root", kb_root(FILES), "--format", "csv", "--out", "-")
    assert result.code == 2 and "--format json" in result.err


def test_export_of_the_sample_is_deterministic(tmp_path):
    first = run_kb("export", "--root", REPO, "--format", "json", "--out", "-", "--today", "2026-11-28")
    second = run_kb("export", "--root", REPO, "--format", "json", "--out", "-", "--today", "2026-11-28")
    assert first.code == 0 and first.out == second.out
    document = json.loads(first.out)
    assert len(document["incidents"]) >= 30
    assert sum(1 for item in document["action_items"] if item["owner"] == "team-platform" and item["state"] == "overdue") \
        >= 10


def test_commands_are_documented():
    guide = (REPO / "docs" / "guide" / "reports.md").read_text(encoding="utf-8")
    for text in ("kb report", "kb export", "--since", "--until", "--json", "--format", "--out", "--audience",
                 "formula", "PERCENTILE.INC"):
        assert text in guide, text
    for command in ("report", "export"):
        result = run_kb(command, "--help")
        assert result.code == 0 and "Usage: kb " + command in result.out
