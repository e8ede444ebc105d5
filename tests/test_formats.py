"""The one set of formatters for times and durations (core/formats.py): pages, reports, exports and drills agree."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from incidentkb.core.formats import fmt_date, fmt_duration, fmt_share, fmt_since, fmt_timestamp


@pytest.mark.parametrize("seconds, text", [
    (None, "—"), (0, "0 min"), (45, "45 s"), (90, "2 min"), (210, "4 min"), (3600, "1 h"), (4800, "1 h 20 min"),
    (86400, "1 d"), (3 * 86400 + 4 * 3600 + 20, "3 d 4 h"), (-120, "−2 min"), (14 * 86400, "14 d"),
])
def test_durations_read_well(seconds, text):
    assert fmt_duration(seconds) == text


def test_a_timedelta_and_its_seconds_read_the_same():
    # One formatter for the spans of records (timedelta) and of the report figures (seconds).
    for span in (timedelta(minutes=60), timedelta(hours=26, minutes=5), timedelta(seconds=30)):
        assert fmt_duration(span) == fmt_duration(span.total_seconds())
    assert fmt_duration(timedelta(hours=1)) == "1 h"  # never "1 h 0 min"


def test_offsets_since_the_start():
    start = datetime(2025, 3, 14, 9, 0, tzinfo=timezone.utc)
    assert fmt_since(start, start) == "+0 min"
    assert fmt_since(start + timedelta(minutes=12), start) == "+12 min"
    assert fmt_since(start - timedelta(minutes=3), start) == "−3 min"


def test_timestamps_dates_and_shares():
    moment = datetime(2025, 3, 14, 9, 12, tzinfo=timezone(timedelta(hours=1)))
    assert fmt_timestamp(moment) == "2025-03-14 09:12 +01:00"
    assert fmt_timestamp(moment.astimezone(timezone.utc)) == "2025-03-14 08:12 UTC"
    assert fmt_timestamp(None) == "—" and fmt_date(None) == "—"
    assert fmt_date(moment) == "2025-03-14" and fmt_date(date(2025, 1, 2)) == "2025-01-02"
    assert fmt_share(1, 3) == "33%" and fmt_share(0, 0) == "—"
