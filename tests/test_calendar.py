"""The working-day calendar: public holidays by country and subdivision, company days, years it does not cover."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import holidays
import pytest
from conftest import TODAY, minimal_incident, run_kb

from incidentkb.core.durations import parse_duration
from incidentkb.records.calendar_policy import calendar_from_data
from incidentkb.records.load import load
from incidentkb.records.public_holidays import PublicHolidays
from incidentkb.records.workdays import WorkCalendar

CEST = timezone(timedelta(hours=2))
CET = timezone(timedelta(hours=1))


def calendar(**section) -> WorkCalendar:
    return calendar_from_data({"weekend": ["saturday", "sunday"], **section})


def due(work: WorkCalendar, start: datetime, span: str) -> date:
    return work.deadline(start, parse_duration(span)).date()


# ------------------------------------------------------------------------------------------ the calendar

def test_a_one_off_public_holiday_of_the_subdivision_is_skipped():
    # 8 May 2025 was a public holiday in Berlin only, that year only (80 years since the end of the war).
    resolved = datetime(2025, 5, 7, 15, 0, tzinfo=CEST)  # a Wednesday
    assert due(calendar(country="DE", subdivision="BE"), resolved, "1 business days") == date(2025, 5, 9)
    assert due(calendar(country="DE"), resolved, "1 business days") == date(2025, 5, 8)
    # In 2026 the same day is an ordinary Friday in Berlin too.
    assert due(calendar(country="DE", subdivision="BE"), datetime(2026, 5, 7, 15, 0, tzinfo=CEST),
               "1 business days") == date(2026, 5, 8)


def test_the_subdivision_adds_its_own_yearly_holidays_in_years_nobody_typed_in():
    # Women's Day (8 March) is a public holiday in Berlin, not in Germany as a whole; in 2027 it is a Monday.
    friday = datetime(2027, 3, 5, 16, 0, tzinfo=CET)
    assert due(calendar(country="DE", subdivision="BE"), friday, "1 business days") == date(2027, 3, 9)
    assert due(calendar(country="DE", subdivision="BY"), friday, "1 business days") == date(2027, 3, 8)


def test_company_days_come_on_top_of_the_public_holidays():
    work = calendar(country="DE", subdivision="BE", every_year=[{"date": (12, 24), "name": "Christmas Eve"}],
                    holidays=[{"date": date(2026, 12, 28), "name": "Company day"}])
    # Wed 23 Dec 2026: 24th company day, 25th-26th public, 27th Sunday, 28th company day: next is Tue 29th.
    assert due(work, datetime(2026, 12, 23, 10, 0, tzinfo=CET), "1 business days") == date(2026, 12, 29)
    # Every year: 24 December 2027 is a Friday.
    assert due(work, datetime(2027, 12, 23, 10, 0, tzinfo=CET), "1 business days") == date(2027, 12, 27)
    kinds = {(d.day, d.source) for d in work.days_off(2026)}
    assert {(date(2026, 12, 24), "company"), (date(2026, 12, 25), "public"), (date(2026, 12, 28), "company")} <= kinds


def test_29_february_every_year_is_a_day_off_in_leap_years_only():
    work = calendar(every_year=[{"date": (2, 29), "name": "Leap day"}])
    assert [d.day for d in work.days_off(2028)] == [date(2028, 2, 29)] and work.days_off(2027) == ()


def test_not_observed_removes_a_public_holiday_and_its_substitute_day():
    # 4 July 2026 is a Saturday; the package adds Friday 3 July as "Independence Day (observed)".
    thursday = datetime(2026, 7, 2, 12, 0, tzinfo=timezone(timedelta(hours=-4)))
    assert due(calendar(country="US"), thursday, "1 business days") == date(2026, 7, 6)
    assert due(calendar(country="US", not_observed=["Independence Day"]), thursday, "1 business days") == date(2026, 7, 3)
    names = [d.name for d in calendar(country="US", not_observed=["Independence Day"]).days_off(2026)]
    assert {"Independence Day", "Independence Day (observed)"}.isdisjoint(names) and "Christmas Day" in names
    # Only that name: Juneteenth's full name contains "Independence Day" and stays.
    assert "Juneteenth National Independence Day" in names


def test_the_old_explicit_calendar_is_all_the_holidays_there_are():
    work = calendar(holidays=[{"date": date(2025, 3, 17), "name": "A Monday off"}])
    assert work.public is None
    assert due(work, datetime(2025, 3, 14, 10, 0, tzinfo=CET), "1 business days") == date(2025, 3, 18)
    assert [(d.day, d.source) for d in work.days_off(2025)] == [(date(2025, 3, 17), "listed")]


def test_years_the_calendar_does_not_cover():
    explicit = calendar(holidays=[{"date": date(2025, 12, 25), "name": "Christmas Day"}])
    assert explicit.gap(2025) == "" and explicit.gap(2027) == "no day is listed for 2027"
    assert calendar().gap(2027) == ""  # no country, no listed day: weekends only, by declaration
    public = calendar(country="DE", subdivision="BE")
    first, last = public.public.years
    assert public.gap(2027) == "" and public.gap(first) == "" and public.gap(last) == ""
    assert public.gap(last + 1).startswith(f"the holidays package {holidays.__version__} has holidays for "
                                           f"Germany, Berlin (DE-BE) from {first} to {last} only")
    # A year written down by hand is covered by what was written.
    taken_over = calendar(country="DE", holidays=[{"date": date(last + 1, 1, 1), "name": "New Year"}])
    assert taken_over.gap(last + 1) == ""
    assert public.uncovered(date(last, 12, 30), date(last + 1, 1, 3)) == [(last + 1, public.gap(last + 1))]


def test_a_warning_of_the_package_becomes_a_gap_not_a_python_warning():
    # India's Hindu holidays come from tables that end; the package warns with a UserWarning, which the
    # test suite (filterwarnings = error) would turn into an exception if it escaped.
    work = calendar(country="IN")
    assert "available only from 2001 to 2035" in work.gap(2040)
    assert work.gap(2030) == ""


def test_each_year_is_computed_once(monkeypatch):
    calls = []
    real = holidays.country_holidays
    monkeypatch.setattr(holidays, "country_holidays", lambda *a, **k: calls.append(k.get("years")) or real(*a, **k))
    work = calendar(country="DE", subdivision="BE")
    start = datetime(2025, 1, 1, 9, 0, tzinfo=CET)
    for offset in range(0, 731):  # two years of starts; the last deadlines run into 2027
        work.deadline(start + timedelta(days=offset), parse_duration("5 business days"))
    assert sorted(calls) == [2025, 2026, 2027]


def test_holiday_names_do_not_follow_the_machines_locale(monkeypatch):
    monkeypatch.setenv("LANGUAGE", "de")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    names = {d.name for d in calendar(country="DE").days_off(2026)}
    assert "Christmas Day" in names and "Erster Weihnachtstag" not in names
    german = {d.name for d in calendar(country="DE", language="de").days_off(2026)}
    assert "Erster Weihnachtstag" in german


# ------------------------------------------------------------------------------------------ kb check

SEVERITIES = """\
severities:
  - id: SEV1
    name: Critical
    summary: Most customers cannot buy.
    postmortem_required: true
    postmortem_due: 5 business days
  - id: SEV3
    name: Minor
    summary: Some customers see errors.
"""

POLICY = SEVERITIES + """\
calendar:
  weekend: [saturday, sunday]
  country: DE
  subdivision: BE
  not_observed: [Women's Day]
  every_year:
    - {date: 12-24, name: Christmas Eve}
  holidays:
    - {date: 2026-06-19, name: Company day}
"""

# The calendar of older policy files: no country, the listed days are all the holidays.
EXPLICIT = SEVERITIES + """\
calendar:
  holidays:
    - {date: 2025-12-25, name: Christmas Day}
    - {date: 2025-12-26, name: Second Day of Christmas}
"""


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def sev1(incident_id: str, resolved: str, postmortem: str | None = None) -> str:
    return minimal_incident(incident_id, severity="SEV1", started_at=resolved, detected_at=resolved,
                            resolved_at=resolved, postmortem=postmortem)


def test_the_policy_calendar_loads_and_checks_clean(kb_root):
    root = kb_root({"policy.yml": POLICY, "incidents/2025/INC-2025-001-a.md": minimal_incident()})
    check = run_kb("check", "--root", root, "--today", TODAY, "--format", "json")
    assert check.code == 0 and check.json == []
    kb, _ = load(root)
    assert kb.policy.calendar.public == PublicHolidays("DE", "BE")
    off = {d.name for d in kb.policy.calendar.days_off(2026)}
    assert {"Christmas Eve", "Company day", "Good Friday"} <= off and "Women's Day" not in off


def test_deadline_in_a_year_without_listed_holidays_is_a_located_warning(kb_root):
    files = {
        "policy.yml": EXPLICIT,
        # Resolved on Christmas Eve 2025: five business days run into 2026, which lists nothing.
        "incidents/2025/INC-2025-001-a.md": sev1("INC-2025-001", "2025-12-24T10:00:00+01:00"),
        # Reviewed within the deadline counted without 2026's holidays: met either way, nothing to say.
        "incidents/2025/INC-2025-002-b.md": sev1("INC-2025-002", "2025-12-23T10:00:00+01:00",
                                                 "{status: reviewed, reviewed_at: 2025-12-29}"),
        # Five business days from 10 December stay in 2025, which is covered.
        "incidents/2025/INC-2025-003-c.md": sev1("INC-2025-003", "2025-12-10T10:00:00+01:00",
                                                 "{status: reviewed, reviewed_at: 2025-12-16}"),
    }
    root = kb_root(files)
    check = run_kb("check", "--root", root, "--today", "2025-12-27", "--format", "json")
    gaps = [p for p in check.json if p["code"] == "calendar-not-covered"]
    assert check.code == 0, check.json  # a warning: the check still passes
    assert [(p["path"], p["level"]) for p in gaps] == [("incidents/2025/INC-2025-001-a.md", "warning")]
    text = files["incidents/2025/INC-2025-001-a.md"]
    assert gaps[0]["line"] == line_of(text, "resolved_at:")
    assert gaps[0]["message"] == (
        "the post-mortem deadline (5 business days after resolved_at: 2026-01-02) counts business days in 2026, "
        f"which the calendar does not cover (policy.yml line {line_of(EXPLICIT, 'holidays:')}, calendar.holidays: "
        "no day is listed for 2026); holidays there are not skipped, so the deadline may be too early")
    assert "List 2026's holidays under calendar.holidays in policy.yml" in gaps[0]["hint"]
    assert "calendar.country" in gaps[0]["hint"]
    # --strict turns the warning into a failure: the deadline may be wrong.
    assert run_kb("check", "--root", root, "--today", "2025-12-27", "--strict").code == 1
    # Naming the country covers every year the package knows: the warning goes.
    fixed = EXPLICIT.replace("calendar:\n", "calendar:\n  country: DE\n")
    (root / "policy.yml").write_text(fixed.replace("    - {date: 2025-12-25, name: Christmas Day}\n"
                                                   "    - {date: 2025-12-26, name: Second Day of Christmas}\n", ""))
    check = run_kb("check", "--root", root, "--today", "2025-12-27", "--format", "json")
    assert [p for p in check.json if p["code"] == "calendar-not-covered"] == [] and check.code == 0


def test_action_item_and_regulatory_deadlines_are_covered_too(kb_root):
    policy = EXPLICIT + """\
action_items:
  due_within:
    - {priority: high, within: 3 business days}
regulatory_clocks:
  - id: contract-notice
    name: Tell the client
    starts: detected_at
    deadline: 2 business days
    applies_when: {tags_any: [client-x]}
"""
    items = "[{id: AI-1, title: Fix it, owner: team-a, due: 2026-01-09, priority: high}]"
    text = minimal_incident("INC-2025-001", started_at="2025-12-30T09:00:00+01:00",
                            detected_at="2025-12-30T09:10:00+01:00", resolved_at="2025-12-30T12:00:00+01:00",
                            tags="[client-x]", action_items=items)
    root = kb_root({"policy.yml": policy, "incidents/2025/INC-2025-001-a.md": text})
    check = run_kb("check", "--root", root, "--today", "2026-01-05", "--format", "json")
    gaps = [p for p in check.json if p["code"] == "calendar-not-covered"]
    assert len(gaps) == 1  # one warning per record, naming each affected deadline
    assert "the latest due date of action item AI-1 (3 business days after resolved_at: 2026-01-02)" in gaps[0]["message"]
    assert "the deadline of contract-notice (2 business days after detected_at: 2026-01-01)" in gaps[0]["message"]


def test_a_year_outside_the_package_range_is_named_with_the_package(kb_root):
    first = holidays.country_holidays("DE", years=()).start_year
    year = first - 1
    files = {"policy.yml": POLICY,
             f"incidents/{year}/INC-{year}-001-a.md": sev1(f"INC-{year}-001", f"{year}-12-20T10:00:00+01:00")}
    root = kb_root(files)
    check = run_kb("check", "--root", root, "--today", TODAY, "--format", "json")
    gaps = [p for p in check.json if p["code"] == "calendar-not-covered"]
    assert len(gaps) == 1 and gaps[0]["path"] == f"incidents/{year}/INC-{year}-001-a.md"
    assert (f"counts business days in {year}, which the calendar does not cover (policy.yml line "
            f"{line_of(POLICY, 'country:')}, calendar.country: the holidays package {holidays.__version__} has "
            f"holidays for Germany, Berlin (DE-BE) from {first} to") in gaps[0]["message"]
    assert "a year with listed days counts as covered" in gaps[0]["hint"]
    # Writing that year's holidays down by hand covers it.
    (root / "policy.yml").write_text(POLICY + f"    - {{date: {year}-12-25, name: Christmas Day}}\n")
    check = run_kb("check", "--root", root, "--today", TODAY, "--format", "json")
    assert [p for p in check.json if p["code"] == "calendar-not-covered"] == []


@pytest.mark.parametrize("change, code, at, text", [
    (("country: DE", "country: Germany"), "unknown-country", "country:", "Did you mean 'DE' (Germany)?"),
    (("country: DE", "country: DEU"), "unknown-country", "country:", "Did you mean 'DE'"),
    (("country: DE", "country: de"), "unknown-country", "country:", "Did you mean 'DE'"),
    (("country: DE", "country: XQ"), "unknown-country", "country:", "not a country the holidays package"),
    (("country: DE", "country: 49"), "wrong-type", "country:", "expected an ISO 3166-1 alpha-2 country code"),
    (("subdivision: BE", "subdivision: Berlin"), "unknown-subdivision", "subdivision:", "Did you mean 'BE'?"),
    (("subdivision: BE", "subdivision: XY"), "unknown-subdivision", "subdivision:", "BE (Berlin)"),
    (("subdivision: BE", "subdivision: [BE]"), "wrong-type", "subdivision:", "expected a subdivision code"),
    (("  country: DE\n", ""), "calendar-needs-country", "subdivision:", "Add country:"),
    (("subdivision: BE", "subdivision: BE\n  language: fr"), "unknown-language", "language:", "Use one of: de, en_US"),
    (("not_observed: [Women's Day]", "not_observed: [Womens Day]"), "unknown-holiday", "not_observed:",
     "Did you mean \"Women's Day\"?"),
    (("not_observed: [Women's Day]", "not_observed: Women's Day"), "wrong-type", "not_observed:", "a list"),
    (("{date: 12-24, name: Christmas Eve}", "{date: 12-32, name: Christmas Eve}"), "impossible-date", "12-32",
     "not a real day of the year"),
    (("{date: 12-24, name: Christmas Eve}", "{date: 24.12., name: Christmas Eve}"), "bad-date", "24.12.",
     "MM-DD"),
    (("{date: 2026-06-19, name: Company day}", "{date: 2026-12-25, name: Christmas}"), "calendar-redundant",
     "2026-12-25", "already a public holiday in Germany, Berlin (DE-BE) (Christmas Day)"),
])
def test_bad_calendars_name_file_line_and_key(kb_root, change, code, at, text):
    old, new = change
    assert old in POLICY
    policy = POLICY.replace(old, new)
    root = kb_root({"policy.yml": policy, "incidents/2025/INC-2025-001-a.md": minimal_incident()})
    check = run_kb("check", "--root", root, "--today", TODAY, "--format", "json")
    found = [p for p in check.json if p["path"] == "policy.yml" and p["code"] == code]
    assert found, check.json
    assert found[0]["line"] == line_of(policy, at) and text in found[0]["message"] + " " + found[0]["hint"]
    assert "Traceback" not in check.err
    if code == "calendar-redundant":
        assert found[0]["level"] == "warning" and check.code == 0
        return
    assert check.code == 1
    # A broken calendar stops the site build before anything is published.
    build = run_kb("build", "--root", root, "--today", TODAY)
    assert build.code == 1 and not (root / "site").exists()


# ------------------------------------------------------------------------------------------ the policy page

def test_policy_page_lists_the_holidays_of_the_years_the_site_shows(kb_root, tmp_path):
    root = kb_root({"policy.yml": POLICY,
                    "incidents/2024/INC-2024-001-a.md": minimal_incident(
                        "INC-2024-001", started_at="2024-06-03T09:00:00+02:00",
                        detected_at="2024-06-03T09:10:00+02:00", resolved_at="2024-06-03T11:00:00+02:00")})
    assert run_kb("generate", "--root", root, "--out", tmp_path / "out", "--today", "2025-11-28").code == 0
    page = (tmp_path / "out/policy/postmortems.md").read_text()
    calendar_part = page[page.index("## Working-day calendar"):]
    # From the first incident's year to next year, newest first; this year and next open.
    assert [calendar_part.index(f"<summary>{year}") for year in (2026, 2025, 2024)] == sorted(
        calendar_part.index(f"<summary>{year}") for year in (2026, 2025, 2024))
    assert "<summary>2023" not in calendar_part and "<summary>2027" not in calendar_part
    assert '<details class="kb-holidays" open>\n<summary>2026' in calendar_part
    assert '<details class="kb-holidays">\n<summary>2024' in calendar_part
    assert (f"Public holidays of Germany, Berlin (DE-BE), from the <code>holidays</code> package "
            f"{holidays.__version__}") in calendar_part
    assert "the company works on Women&#39;s Day" in calendar_part
    assert ("<tr><td>2025-05-08</td><td>Thursday</td><td>80th anniversary of the liberation from Nazism and the end "
            "of the Second World War in Europe</td><td>public holiday</td></tr>") in calendar_part
    assert "<tr><td>2026-12-24</td><td>Thursday</td><td>Christmas Eve</td><td>company day</td></tr>" in calendar_part
    assert "<tr><td>2026-06-19</td><td>Friday</td><td>Company day</td><td>company day</td></tr>" in calendar_part
    assert "Women&#39;s Day</td>" not in calendar_part  # not observed: not a day off, not listed


def test_policy_page_says_which_years_an_explicit_calendar_misses(kb_root, tmp_path):
    root = kb_root({"policy.yml": EXPLICIT, "incidents/2025/INC-2025-001-a.md": minimal_incident()})
    assert run_kb("generate", "--root", root, "--out", tmp_path / "out", "--today", "2025-11-28").code == 0
    page = (tmp_path / "out/policy/postmortems.md").read_text()
    assert "<summary>2025: 2 days off</summary>" in page
    assert "<summary>2026: 0 days off, not covered</summary>" in page
    assert "Not covered: no day is listed for 2026. Business-day deadlines in 2026 skip weekends only." in page


def test_the_calendar_example_of_kb_init_works_once_uncommented(tmp_path):
    target = tmp_path / "new-kb"
    assert run_kb("init", target).code == 0
    policy = target / "policy.yml"
    text = policy.read_text()
    start = text.index("calendar:\n")
    section, rest = text[start:].split("\n\n", 1)
    assert section.count("  # ") >= 4, section
    policy.write_text(text[:start] + section.replace("  # ", "  ") + "\n\n" + rest)
    check = run_kb("check", "--root", target, "--strict")
    assert check.code == 0, check.out + check.err
    kb, _ = load(target)
    assert kb.policy.calendar.public == PublicHolidays("US", "NY")
    assert "Election Day" not in {d.name for d in kb.policy.calendar.days_off(2026)}
