"""Dates and times stated in prose ("On February 28, 2017, at 9:37 AM PST ...") as timeline entries.

Post-mortems written as stories have no timeline table; their times are in sentences. Only
explicit, unambiguous forms are read, so that nothing is guessed:
- dates with a year: 2017-02-28, February 28, 2017, Feb 28th 2017, 28 February 2017, 22nd June 2021;
- times: 9:37 AM, 21:37, 9:37:12 pm, 9 AM, each with an optional zone word (UTC, GMT, PST, CET, ...)
  or offset (UTC+2).
A time without a date in its sentence belongs to the last date stated before it. A time that
comes earlier than the previous one on the same carried-over date, after an evening time, is
read as the next morning ("from 9:16 PM to 11:16 PM PDT ... until 1:30 AM PDT"). Dates with
ambiguous order (03/04/2017) and dates without a year are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

MONTHS = {name: number for number, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
    ("december", "dec")), start=1) for name in names}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_DATES = (
    re.compile(r"(?<![\d.])(?P<year>(?:19|20)\d{2})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?![\d])"),
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.I),
    re.compile(rf"\b{_DAY}(?:\s+of)?\s+{_MONTH},?\s+{_YEAR}\b", re.I),
)

# Offsets of the zone words post-mortems use, in minutes east of UTC.
ZONES = {"utc": 0, "gmt": 0, "z": 0, "cet": 60, "cest": 120, "bst": 60, "ist": 330, "est": -300, "edt": -240,
         "cst": -360, "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420, "jst": 540, "aest": 600,
         "aedt": 660}
_ZONE = r"(?P<zone>UTC|GMT|CEST|CET|BST|EST|EDT|CST|CDT|MST|MDT|PST|PDT|JST|AEST|AEDT)\b(?:\s*(?P<sign>[+-])\s*(?P<oh>\d{1,2})(?::?(?P<om>\d{2}))?)?"
ZONE_WORD = re.compile(_ZONE)
_TIME = re.compile(
    r"(?<![\d:.])(?P<hour>\d{1,2})(?::(?P<minute>\d{2})(?::\d{2}(?:\.\d+)?)?)?"
    r"(?:\s*(?P<ampm>[ap]\.?m\.?)(?![a-z]))?(?:\s*\(?" + _ZONE + r"\)?)?(?![\d:])", re.I)


@dataclass(frozen=True)
class Moment:
    at: datetime
    text: str  # the sentence it was stated in
    date_only: bool = False


def zone_of(text: str) -> timezone | None:
    """The first time zone named in a text ("All times in CET", "9:37 AM PST"), or None."""
    match = ZONE_WORD.search(text)
    return _zone(match) if match else None


def _zone(match: re.Match) -> timezone:
    minutes = ZONES[match.group("zone").lower()]
    if match.group("sign"):
        extra = int(match.group("oh")) * 60 + int(match.group("om") or 0)
        minutes += extra if match.group("sign") == "+" else -extra
    return timezone(timedelta(minutes=minutes))


def dates_in(text: str) -> list[tuple[int, date]]:
    """(offset, date) of every explicit date with a year in a text, in order."""
    found = []
    for pattern in _DATES:
        for match in pattern.finditer(text):
            month = match.group("month")
            number = int(month) if month.isdigit() else MONTHS[month.lower().rstrip(".")]
            try:
                found.append((match.start(), date(int(match.group("year")), number, int(match.group("day"))), match.end()))
            except ValueError:
                continue
    found.sort()
    out, last_end = [], -1
    for start, day, end in found:
        if start >= last_end:  # "2017-02-28" is not also read as part of another pattern
            out.append((start, day))
            last_end = end
    return out


def _times_in(text: str) -> list[tuple[int, time, timezone | None]]:
    out = []
    for match in _TIME.finditer(text):
        hour, minute, ampm = int(match.group("hour")), match.group("minute"), match.group("ampm")
        if minute is None and ampm is None:
            continue  # a bare number is not a time
        if ampm:
            if not 1 <= hour <= 12:
                continue
            hour = hour % 12 + (12 if ampm.lower().startswith("p") else 0)
        if hour > 23 or int(minute or 0) > 59:
            continue
        zone = _zone(match) if match.group("zone") else None
        out.append((match.start(), time(hour, int(minute or 0)), zone))
    return out


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def moments(paragraphs: list[str], default_zone: timezone) -> list[Moment]:
    """The timed moments stated in paragraphs of prose, in the order stated (see the module docstring)."""
    out: list[Moment] = []
    current: date | None = None
    previous: Moment | None = None
    for paragraph in paragraphs:
        for sentence in sentences(paragraph):
            stated = dates_in(sentence)
            times = _times_in(sentence)
            if times:
                offset, clock, zone = times[0]
                # "from 9:16 PM to 11:16 PM PDT": the zone named last in a range holds for the whole range.
                zone = zone or next((z for _, _, z in times if z is not None), None)
                before = [day for at, day in stated if at < offset]
                day = before[-1] if before else (stated[0][1] if stated else current)
                if day is not None:
                    moment = datetime.combine(day, clock, tzinfo=zone or default_zone)
                    if not stated and previous is not None and moment < previous.at and previous.at.hour >= 18 \
                            and moment.hour < 12:
                        moment += timedelta(days=1)  # past midnight, on the date carried over
                        current = moment.date()
                    previous = Moment(moment, sentence)
                    out.append(previous)
            if stated:
                current = stated[-1][1]
    return out


def first_date(paragraphs: list[str]) -> date | None:
    """The first explicit date with a year in the prose, for a story that states no time."""
    for paragraph in paragraphs:
        found = dates_in(paragraph)
        if found:
            return found[0][1]
    return None
