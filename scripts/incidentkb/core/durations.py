"""Durations written by people: `90d`, `2 weeks`, `5 business days`, `72h`, `6 months`.

Calendar units (months, years) and business days cannot be turned into a fixed
number of seconds, so a Duration keeps its unit and is applied to a date or a
timestamp by the code that knows the calendar (see policy.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {
    "min": "minutes", "minute": "minutes", "minutes": "minutes",
    "h": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days",
    "bd": "business_days", "business day": "business_days", "business days": "business_days",
    "w": "weeks", "week": "weeks", "weeks": "weeks",
    "mo": "months", "month": "months", "months": "months",
    "y": "years", "year": "years", "years": "years",
}

_PATTERN = re.compile(r"^\s*(\d+)\s*([a-z]+(?: [a-z]+)?)\s*$")

DURATION_SYNTAX = "a number and a unit, e.g. 15 minutes, 72h, 5d, 5 business days, 2w, 6mo, 1y"


@dataclass(frozen=True, order=True)
class Duration:
    amount: int
    unit: str  # one of the values of UNITS

    def __str__(self) -> str:
        singular = {"business_days": "business day"}.get(self.unit, self.unit[:-1])
        plural = self.unit.replace("_", " ")
        return f"{self.amount} {singular if self.amount == 1 else plural}"


def parse_duration(text: str) -> Duration | None:
    """Parse a duration, or return None when the text is not one."""
    if not isinstance(text, str):
        return None
    match = _PATTERN.match(text.lower())
    if not match:
        return None
    unit = UNITS.get(match.group(2))
    return Duration(int(match.group(1)), unit) if unit else None
