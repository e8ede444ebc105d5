"""The `calendar:` section of the policy file: its fields, their validation, and the WorkCalendar it gives.

Two forms, both valid:

    calendar:                      # public holidays from the holidays package, company days on top
      country: DE
      subdivision: BE
      not_observed: [Women's Day]  # public holidays the company works on
      every_year: [{date: 12-24, name: Christmas Eve}]
      holidays: [{date: 2026-06-12, name: Summer party}]

    calendar:                      # older policy files: the listed days are all the holidays there are
      holidays: [{date: 2026-12-25, name: Christmas Day}]

The country, subdivision and language are checked against what the installed
package knows, with a did-you-mean; everything else is plain schema.
"""

from __future__ import annotations

import re
from datetime import date

from incidentkb.records import public_holidays
from incidentkb.records.public_holidays import PublicHolidays, holiday_names
from incidentkb.records.schema import (
    INVALID, Choice, Date, Field, FieldType, ListOf, Object, String, Text, did_you_mean,
)
from incidentkb.records.workdays import WEEKDAYS, WorkCalendar

# The years whose holiday names calendar.not_observed is checked against: long enough to hold every
# name in current use, short enough to stay a few milliseconds per country.
NAME_YEARS = range(2000, 2041)


class CountryCode(FieldType):
    label = "an ISO 3166-1 alpha-2 country code, e.g. DE or US"

    def convert(self, value, ctx, where):
        if not isinstance(value, str):
            return self.wrong_type(value, ctx, where, "Write the two-letter code, e.g. country: DE.")
        if value in public_holidays.countries():
            return value
        suggestion = public_holidays.suggest_country(value)
        hint = (f"Did you mean {suggestion!r} ({public_holidays.countries()[suggestion]})? " if suggestion else "")
        ctx.report(where, "unknown-country", f"{value!r} is not a country the holidays package "
                   f"{public_holidays.package_version()} knows; expected {self.label}",
                   hint + "Write the two-letter ISO 3166-1 code; the package's list: "
                   "python -c 'import holidays; print(sorted(holidays.list_supported_countries()))'.")
        return INVALID

    def json_schema(self, choices):
        return {"type": "string", "pattern": "^[A-Z]{2}$"}


class MonthDay(FieldType):
    label = "a month and day (MM-DD)"

    def convert(self, value, ctx, where):
        hint = "Write month and day as MM-DD, e.g. 12-24 for 24 December."
        if not isinstance(value, str):
            return self.wrong_type(value, ctx, where, hint)
        match = re.fullmatch(r"(\d{2})-(\d{2})", value.strip())
        if not match:
            ctx.report(where, "bad-date", f"{value!r} is not {self.label}", hint)
            return INVALID
        try:
            date(2000, int(match[1]), int(match[2]))  # a leap year: 02-29 is a real day, in leap years
        except ValueError as error:
            ctx.report(where, "impossible-date", f"{value!r} is not a real day of the year ({error})",
                       "Check the day and month.")
            return INVALID
        return int(match[1]), int(match[2])

    def json_schema(self, choices):
        return {"type": "string", "pattern": r"^\d{2}-\d{2}$"}


class CalendarSection(Object):
    """The calendar mapping; the subdivision and language depend on the country, so they are checked here."""

    def convert(self, value, ctx, where):
        out = super().convert(value, ctx, where)
        if not isinstance(out, dict):
            return out
        country = out.get("country")
        if country is None:
            for name in ("subdivision", "language", "not_observed"):
                if out.get(name) and not (isinstance(value, dict) and value.get("country") is not None):
                    ctx.report(where + (name,), "calendar-needs-country", f"{name} applies to public holidays, "
                               "but the calendar names no country", "Add country: with the two-letter code "
                               "(e.g. DE), or remove " + name + ".")
            return out
        subdivision = out.get("subdivision")
        known = public_holidays.subdivisions(country)
        if subdivision is not None and subdivision not in known:
            suggestion = public_holidays.suggest_subdivision(country, subdivision)
            listing = ", ".join(f"{code} ({name})" if name != code else code for code, name in known.items())
            ctx.report(where + ("subdivision",), "unknown-subdivision",
                       f"{subdivision!r} is not a subdivision of {country} in the holidays package "
                       f"{public_holidays.package_version()}",
                       (f"Did you mean {suggestion!r}? " if suggestion else "")
                       + (f"Use one of: {listing}." if known else f"{country} has no subdivisions: remove it."))
            out["subdivision"] = None
        language = out.get("language")
        languages = public_holidays.languages(country)
        if language is not None and language not in languages:
            suggestion = did_you_mean(language, list(languages))
            ctx.report(where + ("language",), "unknown-language",
                       f"the holidays package has no {language!r} names for {country}",
                       (f"Did you mean {suggestion!r}? " if suggestion else "") + "Use one of: "
                       + ", ".join(languages) + ", or leave it out (English where the package has it).")
            out["language"] = None
        return out


_day_off = Object([
    Field("date", Date(), "The date.", "2026-06-12", required=True),
    Field("name", Text(), "What the day is.", "Company summer party", required=True),
], label="a holiday", plural="holidays")

CALENDAR = CalendarSection([
    Field("weekend", ListOf(Choice(WEEKDAYS), unique=True), "Days that are not working days.",
          ["saturday", "sunday"], default=["saturday", "sunday"]),
    Field("country", CountryCode(), "Take the public holidays of this country (ISO 3166-1 alpha-2 code) from the "
          "holidays package. Without it, the days under `holidays` are the only holidays.", "DE"),
    Field("subdivision", String(label="a subdivision code"), "State, province or region whose own public "
          "holidays count too, by its code in the holidays package (BE for Berlin, CA for California).", "BE"),
    Field("language", String(label="a language code such as en_US or de"),
          "Language of the public holidays' names (default: English where the package has it).", "en_US"),
    Field("not_observed", ListOf(Text(), unique=True), "Public holidays the company works on, every year, by "
          "their name as the package writes it; their substitute days ('... (observed)') go too.",
          ["Women's Day"]),
    Field("every_year", ListOf(Object([
        Field("date", MonthDay(), "Month and day.", "12-24", required=True),
        Field("name", Text(), "What the day is.", "Christmas Eve", required=True),
    ], label="a yearly day off", plural="yearly days off")), "Company days off on the same date every year."),
    Field("holidays", ListOf(_day_off), "Days off on one date: with a country, company days on top of the "
          "public holidays; without one, all the holidays there are (a year with none listed is reported as "
          "not covered)."),
], label="the working-day calendar")


def calendar_from_data(calendar: dict) -> WorkCalendar:
    """The WorkCalendar of a validated calendar section (see CALENDAR)."""
    public = None
    if calendar.get("country"):
        public = PublicHolidays(calendar["country"], calendar.get("subdivision"), calendar.get("language"))
    listed = calendar.get("holidays") or []
    return WorkCalendar(
        weekend=frozenset(WEEKDAYS.index(day) for day in calendar.get("weekend") or []),
        holidays=frozenset(h["date"] for h in listed),
        names=tuple(sorted((h["date"], h["name"]) for h in listed)),
        every_year=tuple(sorted((*d["date"], d["name"]) for d in calendar.get("every_year") or [])),
        public=public,
        not_observed=frozenset(calendar.get("not_observed") or []),
    )


def check_calendar(calendar: dict, work: WorkCalendar) -> list[tuple[tuple, str, str, str, str]]:
    """Problems of a validated calendar beyond its schema: [(path in the policy, level, code, message, hint)]."""
    out = []
    if calendar.get("weekend") is not None and len(calendar["weekend"]) >= 7:
        out.append((("calendar", "weekend"), "error", "calendar", "every day of the week is a weekend day: "
                    "no business day is left", "List only the days off, e.g. [saturday, sunday]."))
    seen: dict = {}
    for index, holiday in enumerate(calendar.get("holidays") or []):
        if holiday["date"] in seen:
            out.append((("calendar", "holidays", index), "error", "calendar", f"{holiday['date']} is listed twice "
                        f"({seen[holiday['date']]!r} and {holiday['name']!r})", "Keep one entry per date."))
        seen.setdefault(holiday["date"], holiday["name"])
    yearly: dict = {}
    for index, day in enumerate(calendar.get("every_year") or []):
        if day["date"] in yearly:
            out.append((("calendar", "every_year", index), "error", "calendar", "%02d-%02d is listed twice (%r and %r)"
                        % (*day["date"], yearly[day["date"]], day["name"]), "Keep one entry per date."))
        yearly.setdefault(day["date"], day["name"])
    if work.public is None:
        return out
    out += _check_against_public(calendar, work)
    return out


def _check_against_public(calendar: dict, work: WorkCalendar) -> list:
    out = []
    first, last = work.public.years
    names = holiday_names(work.public, range(max(first, NAME_YEARS.start), min(last, NAME_YEARS.stop - 1) + 1))
    bases = {re.sub(r"\s*\([^()]*\)\s*$", "", name) for name in names}
    for index, name in enumerate(calendar.get("not_observed") or []):
        if name not in names | bases:
            suggestion = did_you_mean(name, sorted(bases), cutoff=50)
            out.append((("calendar", "not_observed", index), "error", "unknown-holiday",
                        f"{name!r} is not the name of a public holiday of {work.public.name} "
                        f"({NAME_YEARS.start}-{NAME_YEARS.stop - 1}), so it removes nothing",
                        (f"Did you mean {suggestion!r}? " if suggestion else "")
                        + "Names are written as the policy page's holiday table shows them."))
    for index, holiday in enumerate(calendar.get("holidays") or []):
        public = [d for d in work.days_off(holiday["date"].year) if d.day == holiday["date"] and d.source == "public"]
        if public:
            out.append((("calendar", "holidays", index), "warning", "calendar-redundant",
                        f"{holiday['date']} is already a public holiday in {work.public.name} ({public[0].name})",
                        "Remove it from calendar.holidays: with a country, that list holds only company days."))
    return out
