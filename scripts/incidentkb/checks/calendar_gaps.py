"""Deadlines counted through a year the calendar does not know: `kb check` warns, naming the record and policy.yml.

A business-day deadline skips the holidays of every year it runs through. When
the calendar does not know a year's holidays (an explicit list with no day in
that year, or a year outside the holidays package's range), the count skips
weekends only. Holidays can only move a deadline later, so such a deadline is
never too late, only possibly too early: a deadline that was met is met either
way and is not reported. What is reported is a deadline that was missed, or
has not come yet, while counted through an uncovered year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from incidentkb.core.durations import Duration
from incidentkb.core.findings import WARNING, Finding
from incidentkb.core.yamlsafe import position_of
from incidentkb.records.workdays import WorkCalendar

CODE = "calendar-not-covered"


@dataclass(frozen=True)
class Gap:
    record: object  # model.Record
    where: tuple  # the record's field that starts the clock or holds the date, for the line number
    deadline: str  # "the post-mortem deadline (5 business days after resolved_at, 2027-01-06)"
    years: tuple[tuple[int, str], ...]  # (year, why the calendar does not know it)


def uncovered_years(calendar: WorkCalendar, start: date, span: Duration, due: date) -> tuple[tuple[int, str], ...]:
    """The years a business-day count from `start` to `due` runs through without knowing their holidays."""
    if span.unit != "business_days":
        return ()  # minutes to years are exact: holidays play no part
    # The start day itself is not counted; the count runs from the next day to the deadline.
    return tuple(calendar.uncovered(start + timedelta(days=1), due))


def where_in_policy(policy) -> str:
    """'policy.yml line 178, calendar.country': where the calendar that misses a year is declared."""
    path = ("calendar", "country") if policy.calendar.public is not None else ("calendar", "holidays")
    line, _ = position_of(policy.raw, path) if policy.raw is not None else (0, 0)
    return f"{policy.path} line {line}, {'.'.join(path)}" if line else f"{policy.path}, {'.'.join(path)}"


def gap_findings(gaps: list[Gap], policy) -> list[Finding]:
    """One warning per record, at the field of its first affected deadline, naming all of them."""
    by_record: dict[str, list[Gap]] = {}
    for gap in gaps:
        by_record.setdefault(gap.record.path, []).append(gap)
    out = []
    declared = where_in_policy(policy)
    for record_gaps in by_record.values():
        first = record_gaps[0]
        years = sorted({year for gap in record_gaps for year in gap.years}, key=lambda item: item[0])
        year_text = ", ".join(str(year) for year, _ in years)
        reasons = "; ".join(why for _, why in years)
        deadlines = ", ".join(gap.deadline for gap in record_gaps)
        record = first.record
        line, column = position_of(record.meta, first.where) if record.meta is not None else (0, 0)
        if policy.calendar.public is None:
            hint = (f"List {year_text}'s holidays under calendar.holidays in {policy.path}, or name calendar.country "
                    "(and subdivision) to take public holidays from the holidays package.")
        else:
            hint = (f"List {year_text}'s holidays under calendar.holidays in {policy.path} (a year with listed days "
                    "counts as covered), or upgrade the holidays package if a newer release covers it.")
        out.append(Finding(record.path, line, column, WARNING, CODE,
                           f"{deadlines} counts business days in {year_text}, which the calendar does not cover "
                           f"({declared}: {reasons}); holidays there are not skipped, so the deadline may be too early",
                           hint))
    return out
