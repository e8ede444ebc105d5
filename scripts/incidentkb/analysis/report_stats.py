"""The numbers and the calendar of the reports: percentiles, per-metric statistics, days, months, quarters.

Rules (also in docs/guide/reports.md): percentiles interpolate linearly between closest ranks
(Excel's PERCENTILE.INC); an incident belongs to the day, month and quarter of its started_at as
written, in the offset the record gives.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from incidentkb.records.model import RESOLVED_STATUSES, Incident


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    start: str
    end: str
    definition: str
    reached: tuple[str, ...] = ()  # statuses at which the incident has passed this stage; () = always


METRICS = (
    Metric("detect", "Time to detect", "started_at", "detected_at",
           "detected_at − started_at: from the start of impact to the alert or report."),
    Metric("acknowledge", "Time to acknowledge", "detected_at", "acknowledged_at",
           "acknowledged_at − detected_at: from detection to a responder taking ownership."),
    Metric("mitigate", "Time to mitigate", "started_at", "mitigated_at",
           "mitigated_at − started_at: from the start of impact to the end of customer impact.",
           reached=("mitigated", "resolved", "closed")),
    Metric("resolve", "Time to resolve", "started_at", "resolved_at",
           "resolved_at − started_at: from the start of impact to the fix for good.", reached=RESOLVED_STATUSES),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}

def percentile(values, p: float) -> float | None:
    """The p-th percentile (0..100) of values, by linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Stats:
    """One metric over one group of incidents. Values are seconds."""

    incidents: int = 0  # incidents in the group
    n: int = 0  # incidents with a value
    open: int = 0  # not yet at this stage
    missing: int = 0  # at this stage but a timestamp is absent
    invalid: int = 0  # timestamps run backwards
    mean: float | None = None
    median: float | None = None
    p90: float | None = None
    min: float | None = None
    max: float | None = None

    @classmethod
    def of(cls, measured: list[tuple[str, float | None]]) -> "Stats":
        """measured: (state, seconds) per incident, state one of ok/open/missing/invalid."""
        values = [seconds for state, seconds in measured if state == "ok"]
        states = Counter(state for state, _ in measured)
        stats = cls(incidents=len(measured), n=len(values), open=states["open"], missing=states["missing"],
                    invalid=states["invalid"])
        if values:
            stats.mean = math.fsum(values) / len(values)
            stats.median = percentile(values, 50)
            stats.p90 = percentile(values, 90)
            stats.min, stats.max = min(values), max(values)
        return stats

    def as_dict(self) -> dict:
        out = {"incidents": self.incidents, "n": self.n, "open": self.open, "missing": self.missing,
               "invalid": self.invalid}
        for name in ("mean", "median", "p90", "min", "max"):
            value = getattr(self, name)
            out[f"{name}_minutes"] = None if value is None else round(value / 60, 2)
        return out


def measure(incident: Incident, metric: Metric) -> tuple[str, float | None, str]:
    """(state, seconds, reason) of one incident for one metric; see the module docstring for the states."""
    start, end = incident.data.get(metric.start), incident.data.get(metric.end)
    if start is not None and end is not None:
        seconds = (end - start).total_seconds()
        if seconds < 0:
            return "invalid", None, f"{metric.end} is before {metric.start}"
        return "ok", seconds, ""
    if metric.reached and incident.status not in metric.reached and end is None:
        return "open", None, f"status {incident.status}"
    absent = [name for name, value in ((metric.start, start), (metric.end, end)) if value is None]
    return "missing", None, "no " + " and no ".join(absent)


# ----------------------------------------------------------------------------- calendar


def local_day(moment: datetime) -> date:
    """The calendar day of a timestamp in the offset it was written in."""
    return moment.date()


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def quarter_key(day: date) -> str:
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def previous_quarter(day: date) -> date:
    """The first day of the quarter before the one holding `day`."""
    start = quarter_start(day)
    return quarter_start(start - timedelta(days=1))


def months_between(first: date, last: date) -> list[str]:
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def quarters_between(first: date, last: date) -> list[str]:
    out, day = [], quarter_start(first)
    while day <= last:
        out.append(quarter_key(day))
        day = date(day.year + 1, 1, 1) if day.month == 10 else date(day.year, day.month + 3, 1)
    return out


def quarter_label(key: str) -> str:
    """2025-Q1 -> Q1 2025."""
    year, quarter = key.split("-")
    return f"{quarter} {year}"
