"""Deadlines: durations applied to timestamps, with a working-day calendar for business-day rules.

"5 business days after resolution" counts the working days after the day of
resolution (weekends and listed holidays skipped) and ends at the end of the
fifth; the day is judged in the UTC offset the timestamp was written in, which
is the office's local time for the people who handled the incident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from incidentkb.core.durations import Duration

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def add_months(moment, months: int):
    """Same day of the month `months` later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    month += 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=28)


@dataclass(frozen=True)
class WorkCalendar:
    weekend: frozenset[int] = frozenset({5, 6})  # Monday is 0
    holidays: frozenset[date] = field(default_factory=frozenset)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_business_days(self, day: date, count: int) -> date:
        """The `count`-th business day after `day` (day itself is never counted)."""
        if len(self.weekend) >= 7:
            raise ValueError("a calendar whose every day is weekend has no business days")
        current = day
        remaining = count
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_business_day(current):
                remaining -= 1
        return current

    def deadline(self, start: datetime, span: Duration) -> datetime:
        """The moment a clock that starts at `start` and runs for `span` expires."""
        if span.unit == "minutes":
            return start + timedelta(minutes=span.amount)
        if span.unit == "hours":
            return start + timedelta(hours=span.amount)
        if span.unit == "days":
            return start + timedelta(days=span.amount)
        if span.unit == "weeks":
            return start + timedelta(weeks=span.amount)
        if span.unit == "months":
            return add_months(start, span.amount)
        if span.unit == "years":
            return add_months(start, 12 * span.amount)
        day = self.add_business_days(start.date(), span.amount)
        return datetime.combine(day, time(23, 59, 59), tzinfo=start.tzinfo)

    def date_deadline(self, day: date, span: Duration) -> date:
        """A deadline counted in whole days from a date (review intervals, action-item due dates)."""
        if span.unit == "business_days":
            return self.add_business_days(day, span.amount)
        if span.unit in ("minutes", "hours"):
            # Whole days, rounded up: a review due "within 36 hours" of a date is due two days later.
            hours = span.amount / 60 if span.unit == "minutes" else span.amount
            return day + timedelta(days=-(-hours // 24))
        if span.unit == "days":
            return day + timedelta(days=span.amount)
        if span.unit == "weeks":
            return day + timedelta(weeks=span.amount)
        return add_months(day, span.amount * (12 if span.unit == "years" else 1))
