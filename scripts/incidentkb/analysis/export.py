"""`kb export` and `kb report`: the report's figures and the records behind them, as files and as text.

- CSV: incidents.csv, action_items.csv and metrics.csv (tidy: one number per
  row, for pivot tables and BI tools). Columns are fixed and in a stable order;
  lists are joined with "; ". Text cells that a spreadsheet would run as a
  formula (starting with = + - @, a tab or a carriage return) get a leading
  apostrophe, so a title such as `=HYPERLINK(...)` stays text.
- JSON: one document holding the same incidents, action items and every figure
  of the report (`Report.as_dict`). JSON is data, not a spreadsheet: no quoting.
- Text: the report as tables for a terminal.

Everything here is pure: it returns text. `write_export` is the one function
that writes, and it never replaces an existing file.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timezone
from pathlib import Path

from incidentkb.analysis.report import ITEM_STATES, Report, detection_method, item_state, item_timing
from incidentkb.analysis.report_stats import (
    METRIC_BY_KEY, METRICS, local_day, measure, month_key, quarter_key, quarter_label,
)
from incidentkb.core.errors import UsageError
from incidentkb.core.formats import fmt_duration, fmt_share
from incidentkb.core.safe_write import write_new_file
from incidentkb.records.model import KnowledgeBase

EXPORT_FORMAT = "incidentkb-export"
EXPORT_VERSION = 1

INCIDENT_COLUMNS = (
    "id", "title", "status", "severity", "services", "started_at", "detected_at", "acknowledged_at", "mitigated_at",
    "resolved_at", "started_at_utc", "start_date", "month", "quarter", "detection_method", "detection_alert",
    "time_to_detect_minutes", "time_to_acknowledge_minutes", "time_to_mitigate_minutes", "time_to_resolve_minutes",
    "root_cause_categories", "contributing_factor_categories", "tags", "runbooks", "problems", "related",
    "postmortem_status", "postmortem_owner", "postmortem_reviewed_at", "customers_affected", "users_affected",
    "sla_breached", "revenue_loss", "currency", "data_exposed", "action_items", "action_items_open",
    "action_items_overdue", "commander", "visibility", "path",
)
ACTION_ITEM_COLUMNS = (
    "incident", "incident_title", "incident_severity", "incident_start_date", "id", "title", "owner", "type",
    "priority", "status", "state", "due", "quarter_raised", "age_days", "overdue_days", "ticket",
)
METRIC_COLUMNS = ("area", "metric", "dimension", "group", "subgroup", "statistic", "value", "unit")
CSV_FILES = ("incidents.csv", "action_items.csv", "metrics.csv")
JSON_FILE = "export.json"

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportExists(UsageError):
    """An export file is already there; nothing was written."""


# ------------------------------------------------------------------------------- rows


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def incident_rows(kb: KnowledgeBase, report: Report) -> list[dict]:
    """One row per incident of the report's period, in id order, with the report's own durations."""
    problems_of: dict[str, list[str]] = {}
    for problem in kb.problems:
        for incident_id in problem.incidents:
            problems_of.setdefault(incident_id, []).append(problem.id)
    rows = []
    for incident_id in report.incidents:
        i = kb.incident_by_id[incident_id]
        day = local_day(i.started_at)
        row = {
            "id": i.id, "title": i.title, "status": i.status, "severity": i.severity, "services": list(i.services),
            "started_at": _iso(i.started_at), "detected_at": _iso(i.detected_at),
            "acknowledged_at": _iso(i.acknowledged_at), "mitigated_at": _iso(i.mitigated_at),
            "resolved_at": _iso(i.resolved_at),
            "started_at_utc": i.started_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
            "start_date": day.isoformat(), "month": month_key(day), "quarter": quarter_key(day),
            "detection_method": detection_method(i), "detection_alert": i.detection["alert"] if i.detection else None,
        }
        for metric in METRICS:
            state, seconds, _ = measure(i, metric)
            row[f"time_to_{metric.key}_minutes"] = round(seconds / 60, 2) if state == "ok" else None
        impact = i.impact or {}
        postmortem = i.postmortem or {}
        states = [item_state(a, report.today) for a in i.action_items]
        row.update({
            "root_cause_categories": sorted({c["category"] for c in i.root_causes}),
            "contributing_factor_categories": sorted({c["category"] for c in i.contributing_factors}),
            "tags": list(i.tags), "runbooks": list(i.runbooks), "problems": sorted(problems_of.get(i.id, [])),
            "related": list(i.related),
            "postmortem_status": postmortem.get("status"), "postmortem_owner": postmortem.get("owner"),
            "postmortem_reviewed_at": _iso(postmortem.get("reviewed_at")),
            "customers_affected": impact.get("customers_affected"), "users_affected": impact.get("users_affected"),
            "sla_breached": impact.get("sla_breached"), "revenue_loss": impact.get("revenue_loss"),
            "currency": impact.get("currency"), "data_exposed": impact.get("data_exposed"),
            "action_items": len(i.action_items), "action_items_open": sum(s in ("open", "overdue") for s in states),
            "action_items_overdue": states.count("overdue"),
            "commander": (i.roles or {}).get("commander"), "visibility": i.data.get("visibility"), "path": i.path,
        })
        rows.append({column: row[column] for column in INCIDENT_COLUMNS})
    return rows


def action_item_rows(kb: KnowledgeBase, report: Report) -> list[dict]:
    """Every action item of the period's incidents (open and closed), by incident id then item order."""
    rows = []
    for incident_id in report.incidents:
        i = kb.incident_by_id[incident_id]
        raised = local_day(i.started_at)
        for a in i.action_items:
            state, age_days, overdue_days = item_timing(a, raised, report.today)
            rows.append({
                "incident": i.id, "incident_title": i.title, "incident_severity": i.severity,
                "incident_start_date": raised.isoformat(), "id": a["id"], "title": a["title"], "owner": a["owner"],
                "type": a["type"], "priority": a["priority"], "status": a["status"], "state": state,
                "due": _iso(a["due"]), "quarter_raised": quarter_key(raised),
                "age_days": age_days, "overdue_days": overdue_days, "ticket": a["ticket"],
            })
    return rows


def metric_rows(report: Report) -> list[dict]:
    """Every number of the report, one per row: (area, metric, dimension, group, subgroup, statistic, value, unit)."""
    rows: list[dict] = []

    def add(area, metric, dimension, group, subgroup, statistic, value, unit):
        rows.append(dict(zip(METRIC_COLUMNS, (area, metric, dimension, group, subgroup, statistic, value, unit))))

    for metric in METRICS:
        section = report.response[metric.key]
        groups = [("all", "all", section["overall"])]
        for dimension in ("severity", "service", "quarter", "year"):
            groups += [(dimension, key, stats) for key, stats in section[f"by_{dimension}"].items()]
        groups += [("trailing_year", key, stats) for key, stats in section["trailing_year"].items()]
        for dimension, key, stats in groups:
            for statistic, value in stats.as_dict().items():
                unit = "minutes" if statistic.endswith("_minutes") else "incidents"
                add("response_times", f"time_to_{metric.key}", dimension, key, "",
                    statistic.removesuffix("_minutes"), value, unit)
    volume = report.volume
    for month, counts in volume["by_month_severity"].items():
        for severity, n in counts.items():
            add("volume", "incidents", "month/severity", month, severity, "count", n, "incidents")
    for quarter, counts in volume["by_quarter_detection"].items():
        for method in volume["detection_methods"]:
            add("volume", "incidents", "quarter/detection_method", quarter, method, "count", counts[method], "incidents")
    for year, counts in volume["by_year_detection"].items():
        for method in volume["detection_methods"]:
            add("volume", "incidents", "year/detection_method", year, method, "count", counts[method], "incidents")
    for row in volume["by_service"]:
        for year, n in row["by_year"].items():
            add("volume", "incidents", "service/year", row["service"], year, "count", n, "incidents")
    causes = report.causes
    for key in ("root_causes", "contributing_factors"):
        for row in causes[key]:
            add("causes", key, "category", row["category"], "", "incidents", row["incidents"], "incidents")
    for row in causes["repeat_services"]:
        add("causes", "repeat_incidents", "service", row["service"], "", "incidents", row["incidents"], "incidents")
    for number, cluster in enumerate(causes["clusters"], 1):
        add("causes", "cluster", "cluster", f"cluster {number}", "; ".join(cluster.incidents), "size", cluster.size,
            "incidents")
        add("causes", "cluster", "cluster", f"cluster {number}", cluster.explained_by or "unexplained", "explained",
            int(cluster.explained_by is not None), "yes=1")
    follow = report.follow_up
    for state in ITEM_STATES:
        add("follow_up", "action_items", "state", state, "", "count", follow["states"][state], "items")
    for dimension, table in (("owner", follow["by_owner"]), ("type", follow["by_type"]),
                             ("quarter_raised", follow["by_quarter_raised"])):
        for key, entry in table.items():
            for state in ITEM_STATES:
                add("follow_up", "action_items", f"{dimension}/state", key, state, "count", entry[state], "items")
            if entry["oldest_open_days"] is not None:
                add("follow_up", "oldest_open_item", dimension, key, "", "age", entry["oldest_open_days"], "days")
    add("follow_up", "postmortems_waiting", "all", "all", "", "count", len(follow["postmortems_waiting"]), "incidents")
    runbooks = report.runbooks
    for row in runbooks["used"]:
        add("runbooks", "incidents_using", "runbook", row["runbook"], "", "count", row["incidents"], "incidents")
    for runbook_id in runbooks["never_used"]:
        add("runbooks", "incidents_using", "runbook", runbook_id, "", "count", 0, "incidents")
    for row in runbooks["services_without_runbook"]:
        add("runbooks", "incidents_without_runbook", "service", row["service"], "", "count", row["incidents"], "incidents")
    for year, entry in runbooks["by_year"].items():
        add("runbooks", "incidents_without_runbook", "year", year, "", "count", entry["without_runbook"], "incidents")
    for quarter, entry in report.headline["quarters"].items():
        for key in ("incidents", "severe", "found_by_monitoring", "action_items_raised", "still_open"):
            add("headline", key, "quarter", quarter, "", "count", entry[key], "incidents" if key != "action_items_raised"
                else "items")
        for key in ("median_detect", "median_resolve"):
            value = entry[key]
            add("headline", key, "quarter", quarter, "", "median", None if value is None else round(value / 60, 2),
                "minutes")
    return rows


# ------------------------------------------------------------------------------ formats


def csv_cell(value) -> str:
    """A value as spreadsheet-safe CSV text; numbers stay numbers, text never starts a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(columns, rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row[column]) for column in columns])
    return out.getvalue()


def _json_default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def export_files(kb: KnowledgeBase, report: Report, output_format: str) -> dict[str, str]:
    """{file name: text} of an export, in the given format ("csv" or "json")."""
    incidents, items = incident_rows(kb, report), action_item_rows(kb, report)
    if output_format == "csv":
        return {"incidents.csv": to_csv(INCIDENT_COLUMNS, incidents),
                "action_items.csv": to_csv(ACTION_ITEM_COLUMNS, items),
                "metrics.csv": to_csv(METRIC_COLUMNS, metric_rows(report))}
    if output_format == "json":
        document = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "today": report.today.isoformat(),
                    "period": {"since": _iso(report.period.since), "until": _iso(report.period.until)},
                    "columns": {"incidents": list(INCIDENT_COLUMNS), "action_items": list(ACTION_ITEM_COLUMNS)},
                    "incidents": incidents, "action_items": items, "metrics": report.as_dict()}
        return {JSON_FILE: json.dumps(document, indent=2, ensure_ascii=False, default=_json_default) + "\n"}
    raise ValueError(f"format must be csv or json, not {output_format!r}")


def write_export(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write every file into folder, or none when any of them exists already (raises ExportExists)."""
    targets = [Path(folder) / name for name in files]
    existing = [path for path in targets if path.exists()]
    if existing:
        verb = "already exists" if len(existing) == 1 else "already exist"
        raise ExportExists(f"{', '.join(str(p) for p in existing)} {verb}; nothing was written; choose another --out")
    written = []
    for path, text in zip(targets, files.values()):
        try:
            write_new_file(path, text)
        except FileExistsError:  # appeared meanwhile: keep it, and say what this export had written
            done = f" (this export had written {', '.join(map(str, written))})" if written else ""
            raise ExportExists(f"{path} already exists{done}; choose another --out") from None
        written.append(path)
    return written


# --------------------------------------------------------------------------------- text


def _table(headers: list[str], rows: list[list], indent: str = "  ") -> list[str]:
    cells = [[str(c) for c in headers]] + [["—" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[n]) for row in cells) for n in range(len(headers))]
    numeric = [all(_numberish(row[n]) for row in cells[1:]) and len(cells) > 1 for n in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        parts = [c.rjust(w) if numeric[n] and n else c.ljust(w) for n, (c, w) in enumerate(zip(row, widths))]
        lines.append(indent + "  ".join(parts).rstrip())
        if index == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return lines


def _short(text: str, room: int = 64) -> str:
    return text if len(text) <= room else text[: room - 1] + "…"


def _numberish(text: str) -> bool:
    return text == "—" or text.replace(",", "").replace(".", "", 1).replace("%", "").lstrip("-").isdigit()


def _stats_row(label: str, stats) -> list:
    return [label, fmt_duration(stats.median), fmt_duration(stats.p90), fmt_duration(stats.mean), stats.n, stats.open,
            stats.missing + stats.invalid]


STATS_HEADERS = ["", "median", "p90", "mean", "measured", "open", "missing"]


def report_text(kb: KnowledgeBase, report: Report) -> str:
    """The report as plain-text tables for a terminal."""
    out: list[str] = []

    def section(title: str) -> None:
        out.extend(["", title, "=" * len(title)])

    out.append(f"Incident report: {report.period.label} ({len(report.incidents)} incidents), judged on "
               f"{report.today.isoformat()}")
    h = report.headline
    prev, cur = h["quarters"][h["previous"]], h["quarters"][h["current"]]
    section(f"{quarter_label(h['current'])}{'' if h['complete'] else ' to ' + h['reference'].isoformat()} "
            f"compared with {quarter_label(h['previous'])}")
    out += _table(["", quarter_label(h["previous"]), quarter_label(h["current"])], [
        ["incidents", prev["incidents"], cur["incidents"]],
        [" or ".join(h["severe_levels"]), prev["severe"], cur["severe"]],
        ["median time to detect", fmt_duration(prev["median_detect"]), fmt_duration(cur["median_detect"])],
        ["median time to resolve", fmt_duration(prev["median_resolve"]), fmt_duration(cur["median_resolve"])],
        ["not yet resolved", prev["still_open"], cur["still_open"]],
        ["found by monitoring", prev["found_by_monitoring"], cur["found_by_monitoring"]],
        ["action items raised", prev["action_items_raised"], cur["action_items_raised"]],
    ])
    if report.story:
        section("The story in short")
        out += [f"  - {sentence}" for sentence in report.story]
    for note in report.notes:
        out.append(f"  note: {note}")

    section("Response times (median, 90th percentile, mean; incidents measured, still open, missing)")
    out += _table(STATS_HEADERS, [_stats_row(m.title, report.response[m.key]["overall"]) for m in METRICS])
    for key in ("detect", "resolve"):
        metric = METRIC_BY_KEY[key]
        for dimension in ("severity", "year", "quarter"):
            groups = report.response[key][f"by_{dimension}"]
            if groups:
                out.append("")
                out.append(f"  {metric.title} by {dimension}")
                out += _table(STATS_HEADERS, [_stats_row(g if dimension != "quarter" else quarter_label(g), s)
                                              for g, s in groups.items()])
    if report.flags:
        out.append("")
        out.append("  Not measured")
        out += _table(["incident", "metric", "state", "reason"],
                      [[f["incident"], f["metric"], f["state"], f["reason"]] for f in report.flags])

    volume = report.volume
    section("Incidents by quarter and severity")
    out += _table(["quarter"] + report.severities + ["total"],
                  [[quarter_label(q)] + [c[s] for s in report.severities] + [sum(c.values())]
                   for q, c in volume["by_quarter_severity"].items()])
    section("Detection by year")
    methods = volume["detection_methods"]
    out += _table(["year"] + methods + ["by monitoring"],
                  [[y] + [volume["by_year_detection"][y][m] for m in methods]
                   + [fmt_share(volume["by_year_monitoring"][y]["monitoring"], volume["by_year_monitoring"][y]["incidents"])]
                   for y in volume["years"]])
    section("Incidents by service")
    out += _table(["service"] + volume["years"] + ["total"],
                  [[row["service"]] + [row["by_year"][y] for y in volume["years"]] + [row["incidents"]]
                   for row in volume["by_service"]])

    causes = report.causes
    section("Recurring causes")
    out += _table(["root-cause category", "incidents"], [[r["category"], r["incidents"]] for r in causes["root_causes"]])
    out.append("")
    out += _table(["contributing-factor category", "incidents"],
                  [[r["category"], r["incidents"]] for r in causes["contributing_factors"]])
    out.append("")
    out += _table(["service with repeat incidents", "incidents", "first", "last", "shortest gap (days)"],
                  [[r["service"], r["incidents"], r["first"], r["last"], r["shortest_gap_days"]]
                   for r in causes["repeat_services"]])
    out.append("")
    out.append(f"  Clusters of similar incidents ({causes['cluster_method']}):")
    for cluster in causes["clusters"]:
        verdict = f"explained by {cluster.explained_by}" if cluster.explained_by else "NO PROBLEM RECORD"
        out.append(f"  - {cluster.size} incidents, {verdict}: {', '.join(cluster.incidents)}")
        out.append(f"    in common: {', '.join(cluster.shared) or '—'}")
    if not causes["clusters"]:
        out.append("  none")

    follow = report.follow_up
    section("Follow-up work")
    states = follow["states"]
    out.append(f"  {follow['total']} action items: {states['open'] + states['overdue']} open "
               f"({states['overdue']} overdue), {states['done']} done, {states['wont-do']} won't do")
    out.append("")
    for title, table in (("owner", follow["by_owner"]), ("type", follow["by_type"])):
        out += _table([title, "overdue", "open", "done", "won't do", "oldest open (days)"],
                      [[k, e["overdue"], e["open"], e["done"], e["wont-do"], e["oldest_open_days"]]
                       for k, e in table.items()])
        out.append("")
    out.append("  Oldest open items")
    out += _table(["item", "owner", "due", "age (days)", "title"],
                  [[f"{r['incident']}/{r['item']}", r["owner"], r["due"], r["age_days"], _short(r["title"])]
                   for r in follow["oldest_open"]])
    out.append("")
    out.append("  Post-mortems waiting for review")
    out += _table(["incident", "post-mortem", "owner", "waiting (days)"],
                  [[r["incident"], r["postmortem"], r["owner"], r["waiting_days"]] for r in follow["postmortems_waiting"]])

    runbooks = report.runbooks
    section("Runbooks")
    out += _table(["runbook used", "incidents", "last used"],
                  [[r["runbook"], r["incidents"], r["last_used"]] for r in runbooks["used"]])
    out.append("")
    out.append("  Never used: " + (", ".join(runbooks["never_used"]) or "none"))
    out.append("  Services with incidents but no runbook: "
               + (", ".join(f"{r['service']} ({r['incidents']})" for r in runbooks["services_without_runbook"]) or "none"))
    return "\n".join(out) + "\n"
