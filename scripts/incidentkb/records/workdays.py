"""Deadlines: durations applied to timestamps, with a working-day calendar for business-day rules.

"5 business days after resolution" counts the working days after the day of
resolution (weekends and holidays skipped) and ends at the end of the fifth; the
day is judged in the UTC offset the timestamp was written in, which is the
office's local time for the people who handled the incident.

Holidays are known per year: public ones from the holidays package (by country
and subdivision, see public_holidays.py), company days on top, or, in a calendar
without a country, only the days the policy lists. A year the calendar does not
know (no listed day, or outside the package's range) is a `gap`: deadlines
counted through it skip weekends only, and `kb check` says so (calendar_gaps.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from incidentkb.core.durations import Duration
from incidentkb.records.public_holidays import PublicHolidays, observed

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
class DayOff:
    day: date
    name: str
    source: str  # "public" (the holidays package), "company" (on top of it) or "listed" (a calendar without country)

    @property
    def weekday(self) -> str:
        return WEEKDAYS[self.day.weekday()].title()  # not strftime: that follows the machine's locale


@dataclass(frozen=True)
class _Year:
    days: tuple[DayOff, ...]
    dates: frozenset[date]
    gap: str  # why the calendar does not know this year's holidays, or ""


@dataclass(frozen=True)
class WorkCalendar:
    """Working days: the weekend, public holidays (by country, from the holidays package) and company days.

    Without `public`, `holidays` is the whole list of days off (the explicit calendar of older policy
    files). With it, `holidays` and `every_year` are company days on top of the public holidays, and
    `not_observed` names public holidays the company works on.
    """

    weekend: frozenset[int] = frozenset({5, 6})  # Monday is 0
    holidays: frozenset[date] = field(default_factory=frozenset)
    names: tuple[tuple[date, str], ...] = ()  # the names of `holidays`, for the policy page
    every_year: tuple[tuple[int, int, str], ...] = ()  # (month, day, name): company days off every year
    public: PublicHolidays | None = None
    not_observed: frozenset[str] = field(default_factory=frozenset)
    # {year: _Year}, filled on first use: the deadlines of 10,000 incidents touch a dozen years, so the
    # holidays package is asked a dozen times, not once per deadline.
    _years: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    def _year(self, year: int) -> _Year:
        known = self._years.get(year)
        if known is None:
            known = self._years[year] = self._compute(year)
        return known

    def _compute(self, year: int) -> _Year:
        named = dict(self.names)
        listed = [DayOff(day, named.get(day, ""), "company" if self.public else "listed")
                  for day in sorted(self.holidays) if day.year == year]
        recurring = []
        for month, day, name in self.every_year:
            try:
                recurring.append(DayOff(date(year, month, day), name, "company"))
            except ValueError:  # 29 February outside a leap year
                continue
        public: list[DayOff] = []
        if self.public is not None:
            listing, gap = self.public.for_year(year)
            public = [DayOff(day, "; ".join(names), "public") for day, names in listing.items()
                      if any(observed(name, self.not_observed) for name in names)]
            if listed:
                gap = ""  # somebody wrote this year's days down by hand: the year is covered by them
        elif listed or not self.holidays:
            # A calendar without a country and without any dated day is weekends-only by declaration.
            gap = ""
        else:
            gap = f"no day is listed for {year}"
        days = sorted(public + listed + recurring, key=lambda d: (d.day, d.source != "public", d.name))
        return _Year(tuple(days), frozenset(d.day for d in days), gap)

    def days_off(self, year: int) -> tuple[DayOff, ...]:
        """The year's days off by date; a date can appear twice (a public holiday that is also a company day)."""
        return self._year(year).days

    def gap(self, year: int) -> str:
        """Why the calendar does not know `year`'s holidays, or '' when it does."""
        return self._year(year).gap

    def uncovered(self, first: date, last: date) -> list[tuple[int, str]]:
        """[(year, why)] for the years from `first` to `last` that the calendar does not cover."""
        return [(year, why) for year in range(first.year, last.year + 1) if (why := self.gap(year))]

    def is_business_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self._year(day.year).dates

    def years_to_show(self, days: Iterable, today: date) -> list[int]:
        """The years a page lists holidays for: from the earliest record (or listed day) to next year.

        Dates after next year are left out: a record dated 2099 is a typo, not a reason to list 70 years."""
        years = {day.year for day in days if day is not None and day.year <= today.year + 1}
        years |= {day.year for day in self.holidays} | {today.year, today.year + 1}
        return list(range(min(years), max(years) + 1))

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
