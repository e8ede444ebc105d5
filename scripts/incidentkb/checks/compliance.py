"""Compliance: the rules of the policy file, evaluated on the records.

Each rule returns a RuleResult: how many records (or action items) it applies
to and which fail, with a message and the front-matter field to point at. The
compliance page and `kb check` both come from these results, so they always
agree. `today` makes every judgement reproducible (`kb check --today`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from incidentkb.checks.calendar_gaps import Gap, gap_findings, uncovered_years
from incidentkb.core.findings import ERROR, WARNING, Finding
from incidentkb.core.yamlsafe import position_of
from incidentkb.records.model import OPEN_ACTION_STATUSES, Incident, KnowledgeBase, Record
from incidentkb.records.policy import RULES, Policy


@dataclass(frozen=True)
class Failure:
    record: Record
    where: tuple  # front-matter path of the field at fault, for the line number
    message: str
    hint: str
    item: str = ""  # action-item id, when the rule is about one
    at_most_warning: bool = False  # an imported record (see imported_history)


@dataclass
class RuleResult:
    rule: str
    level: str  # error, warning or off (from the policy file)
    description: str
    unit: str  # what is counted: incidents, action items, runbooks
    checked: int = 0
    failures: list[Failure] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)  # deadlines counted through a year the calendar does not know

    @property
    def passed(self) -> int:
        return self.checked - len(self.failures)


def _fmt(moment) -> str:
    if isinstance(moment, datetime):
        return moment.isoformat(timespec="minutes")
    return moment.isoformat()


def _end_of(day: date) -> datetime:
    """The last moment of a day, as seen anywhere on earth: a clock counts as missed only after it."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=timezone.utc)


def imported_history(incident: Incident) -> bool:
    """A record brought in by `kb import` (it has a source reference): history written before this policy.
    What its severity demands and the post-mortem deadline are reported as warnings for it, never errors, so
    that an archive can be imported whole and completed over time; the warnings say what to fill in."""
    return bool(incident.data.get("source"))


def _value_at(incident: Incident, dotted: str):
    value = incident.data
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class Evaluator:
    def __init__(self, kb: KnowledgeBase, today: date):
        self.kb = kb
        self.policy: Policy = kb.policy
        self.today = today
        self.calendar = self.policy.calendar

    def result(self, rule: str, unit: str) -> RuleResult:
        return RuleResult(rule, self.policy.rule_levels.get(rule, RULES[rule][0]), RULES[rule][1], unit)

    def note_gap(self, result: RuleResult, record: Record, where: tuple, what: str, after: str, start: date, span,
                 due: date) -> None:
        """Keep a deadline that was not met (or is still to come) counted through a year without holidays."""
        years = uncovered_years(self.calendar, start, span, due)
        if years:
            result.gaps.append(Gap(record, where, f"{what} ({span} after {after}: {_fmt(due)})", years))

    def postmortem_overdue(self) -> RuleResult:
        result = self.result("postmortem-overdue", "incidents")
        severities = self.policy.severity_by_id
        for incident in self.kb.incidents:
            level = severities.get(incident.severity) or {}
            if not level.get("postmortem_required") or not incident.resolved_at or not level.get("postmortem_due"):
                continue
            result.checked += 1
            due = self.calendar.deadline(incident.resolved_at, level["postmortem_due"]).date()
            pm = incident.postmortem or {}
            reviewed = pm.get("status") == "reviewed"
            reviewed_at = pm.get("reviewed_at")
            if not (reviewed and reviewed_at is not None and reviewed_at <= due):
                self.note_gap(result, incident, ("resolved_at",), "the post-mortem deadline", "resolved_at",
                              incident.resolved_at.date(), level["postmortem_due"], due)
            rule = f"{incident.severity} needs its post-mortem reviewed within {level['postmortem_due']} of resolution"
            if reviewed and reviewed_at is None:
                result.failures.append(Failure(incident, ("postmortem", "status"), "post-mortem marked reviewed "
                                               "without postmortem.reviewed_at", "Add reviewed_at: YYYY-MM-DD."))
            elif reviewed and reviewed_at > due:
                result.failures.append(Failure(incident, ("postmortem", "reviewed_at"),
                                               f"post-mortem reviewed on {_fmt(reviewed_at)}, after its deadline "
                                               f"{_fmt(due)} ({rule})", "Late reviews stay on record; hold the next on time."))
            elif not reviewed and self.today > due:
                result.failures.append(Failure(incident, ("postmortem",) if incident.postmortem else ("status",),
                                               f"post-mortem not reviewed; it was due on {_fmt(due)} ({rule})",
                                               "Hold the review meeting, then set postmortem.status: reviewed "
                                               "and postmortem.reviewed_at.", at_most_warning=imported_history(incident)))
        return result

    def action_items(self) -> list[RuleResult]:
        overdue = self.result("action-item-overdue", "open action items")
        owner = self.result("action-item-owner", "open action items")
        due = self.result("action-item-due", "open action items")
        too_late = self.result("action-item-due-too-late", "action items")
        rules = self.policy.section("action_items", {}) or {}
        within = {r["priority"]: r["within"] for r in rules.get("due_within") or []}
        for incident in self.kb.incidents:
            for index, item in enumerate(incident.action_items):
                where = ("action_items", index)
                label = f"action item {item['id']}"
                if item["status"] in OPEN_ACTION_STATUSES:
                    overdue.checked += 1
                    owner.checked += 1
                    due.checked += 1
                    if item["due"] is not None and item["due"] < self.today:
                        overdue.failures.append(Failure(incident, where + ("due",), f"{label} was due on "
                                                        f"{_fmt(item['due'])} ({(self.today - item['due']).days} days ago)",
                                                        "Finish it, or agree a new due date and record why.", item["id"]))
                    if rules.get("require_owner", True) and not item["owner"]:
                        owner.failures.append(Failure(incident, where, f"open {label} has no owner",
                                                      "Add owner: the team or person accountable for it.", item["id"]))
                    if rules.get("require_due", True) and not item["due"]:
                        due.failures.append(Failure(incident, where, f"open {label} has no due date",
                                                    "Add due: YYYY-MM-DD.", item["id"]))
                span = within.get(item["priority"])
                if span is not None and incident.resolved_at and item["due"] is not None:
                    too_late.checked += 1
                    latest = self.calendar.date_deadline(incident.resolved_at.date(), span)
                    if item["due"] > latest:
                        self.note_gap(too_late, incident, where + ("due",), f"the latest due date of {label}",
                                      "resolved_at", incident.resolved_at.date(), span, latest)
                        too_late.failures.append(Failure(
                            incident, where + ("due",), f"{label} ({item['priority']}) is due {_fmt(item['due'])}, "
                            f"later than the policy allows ({span} after resolution: {_fmt(latest)})",
                            "Bring the due date forward, or lower the priority if the work is less urgent.", item["id"]))
        return [overdue, owner, due, too_late]

    def runbook_reviews(self) -> RuleResult:
        result = self.result("runbook-review-overdue", "runbooks")
        for runbook in self.kb.runbooks:
            result.checked += 1
            every = runbook.review_every or self.policy.runbook_review_every
            due = self.calendar.date_deadline(runbook.last_reviewed, every)
            self.note_gap(result, runbook, ("last_reviewed",), "the review deadline", "last_reviewed",
                          runbook.last_reviewed, every, due)
            if due < self.today:
                result.failures.append(Failure(runbook, ("last_reviewed",), f"review overdue since {_fmt(due)} "
                                               f"(last reviewed {_fmt(runbook.last_reviewed)}, every {every})",
                                               "Walk through the runbook, fix what changed, then update last_reviewed."))
        return result

    def clocks_for(self, incident: Incident) -> list[dict]:
        out = []
        for clock in self.policy.section("regulatory_clocks", []):
            conditions = clock["applies_when"] or {}
            checks = []
            if conditions.get("personal_data") is not None:
                checks.append(bool((incident.security or {}).get("personal_data")) == conditions["personal_data"])
            if conditions.get("data_exposed") is not None:
                checks.append(bool((incident.impact or {}).get("data_exposed")) == conditions["data_exposed"])
            if conditions.get("tags_any"):
                checks.append(bool(set(conditions["tags_any"]) & set(incident.tags)))
            if conditions.get("severities"):
                checks.append(incident.severity in conditions["severities"])
            if checks and all(checks):
                out.append(clock)
        return out

    def regulatory(self) -> list[RuleResult]:
        stamps = self.result("regulatory-timestamps", "clock × incident")
        deadlines = self.result("regulatory-deadline", "clock × incident")
        for incident in self.kb.incidents:
            for clock in self.clocks_for(incident):
                stamps.checked += 1
                start = _value_at(incident, clock["starts"])
                if start is None:
                    stamps.failures.append(Failure(incident, tuple(clock["starts"].split("."))[:1],
                                                   f"{clock['name']} ({clock['id']}) applies, but {clock['starts']} "
                                                   "is missing", f"Record {clock['starts']}: the clock starts then.",
                                                   clock["id"]))
                    continue
                deadlines.checked += 1
                due = self.calendar.deadline(start, clock["deadline"])
                sent = [n for n in (incident.security or {}).get("notifications") or [] if n["clock"] == clock["id"]]
                if not (sent and min(n["at"] for n in sent) <= due):
                    self.note_gap(deadlines, incident, tuple(clock["starts"].split(".")),
                                  f"the deadline of {clock['id']}", clock["starts"], start.date(), clock["deadline"], due.date())
                if sent:
                    first = min(n["at"] for n in sent)
                    if first > due:
                        deadlines.failures.append(Failure(
                            incident, ("security", "notifications"),
                            f"{clock['name']} ({clock['id']}) made {_fmt(first)}, after the deadline {_fmt(due)} "
                            f"({clock['deadline']} from {clock['starts']})",
                            "A late notification must say why it is late (e.g. GDPR art. 33(1)); keep the record.",
                            clock["id"]))
                elif _end_of(self.today) > due:
                    deadlines.failures.append(Failure(
                        incident, ("security",), f"{clock['name']} ({clock['id']}) not recorded; the deadline was "
                        f"{_fmt(due)}", f"Record it under security.notifications with clock: {clock['id']} and at:, "
                        "or notify now.", clock["id"]))
        return [stamps, deadlines]

    def required_fields(self) -> RuleResult:
        result = self.result("severity-required-fields", "incidents")
        severities = self.policy.severity_by_id
        for incident in self.kb.incidents:
            required = (severities.get(incident.severity) or {}).get("required_fields") or []
            if not required:
                continue
            result.checked += 1
            missing = [name for name in required if _value_at(incident, name) in (None, [], "", {})]
            if missing:
                result.failures.append(Failure(incident, ("severity",), f"{incident.severity} incidents need "
                                               + ", ".join(missing), "Fill in " + ", ".join(missing) + ".",
                                               at_most_warning=imported_history(incident)))
        return result


def evaluate(kb: KnowledgeBase, today: date) -> list[RuleResult]:
    """Every compliance rule, in the order of policy.RULES."""
    evaluator = Evaluator(kb, today)
    results = [evaluator.postmortem_overdue(), *evaluator.action_items(), evaluator.runbook_reviews(),
               *evaluator.regulatory(), evaluator.required_fields()]
    order = list(RULES)
    return sorted(results, key=lambda r: order.index(r.rule))


def compliance_findings(results: list[RuleResult], policy: Policy | None = None) -> list[Finding]:
    """The failures as findings; with the policy, also a warning for deadlines counted through a year that its
    calendar does not cover (calendar_gaps.py)."""
    out = []
    gaps = []
    for result in results:
        if result.level == "off":
            continue
        gaps += result.gaps
        for failure in result.failures:
            level = ERROR if result.level == "error" and not failure.at_most_warning else WARNING
            record = failure.record
            line, column = position_of(record.meta, failure.where) if record.meta is not None else (0, 0)
            out.append(Finding(record.path, line, column, level, result.rule, failure.message, failure.hint))
    if policy is not None:
        out += gap_findings(gaps, policy)
    return out
