"""How times, dates and durations are written for people: one set of formatters for pages, reports,
exports, drills and messages, so the same span never reads "1 h 0 min" in one place and "1 h" in another.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

NONE = "—"  # what a missing value shows


def fmt_duration(span: timedelta | float | int | None) -> str:
    """A duration (a timedelta, or seconds): 45 s, 0 min, 4 min, 1 h, 1 h 20 min, 3 d, 3 d 4 h.

    Rounded to the nearest minute from a minute up; parts that are zero are left out; a negative
    span (a record whose times run backwards) keeps its sign."""
    if span is None:
        return NONE
    seconds = span.total_seconds() if isinstance(span, timedelta) else float(span)
    sign = "−" if seconds < 0 else ""
    seconds = abs(seconds)
    if 0 < seconds < 59.5:  # a response in seconds is worth telling; nothing at all is 0 min
        return f"{sign}{round(seconds)} s"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h" if hours else f"{sign}{days} d"
    if hours:
        return f"{sign}{hours} h {mins} min" if mins else f"{sign}{hours} h"
    return f"{sign}{mins} min"


def fmt_since(moment: datetime, start: datetime) -> str:
    """How long after `start` something happened: +12 min (−3 min when it was before)."""
    span = moment - start
    return ("+" if span >= timedelta(0) else "") + fmt_duration(span)


def fmt_timestamp(moment: datetime | None) -> str:
    """As written, with its offset: responders think in the time zone the incident was handled in."""
    if moment is None:
        return NONE
    offset = moment.strftime("%z")
    zone = "UTC" if offset in ("+0000", "-0000") else f"{offset[:3]}:{offset[3:]}"
    return f"{moment:%Y-%m-%d %H:%M} {zone}"


def fmt_date(day: date | datetime | None) -> str:
    if day is None:
        return NONE
    return (day.date() if isinstance(day, datetime) else day).isoformat()


def fmt_share(part: int, whole: int) -> str:
    """A share in whole per cent: 42%."""
    return f"{round(100 * part / whole)}%" if whole else NONE
