"""The policy file (policy.yml): one human-editable source for the policy pages and the compliance checks.

It declares severity levels, roles, escalation, deadlines with a working-day
calendar, regulatory clocks, communication templates, checklists, and the level
(error, warning, off) of every compliance rule. The site renders it as the policy
pages people read; compliance.py enforces the same data on the records, so the
page and the check cannot disagree.

A knowledge base without a policy file gets the built-in defaults below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jinja2 import Environment, TemplateSyntaxError, meta

from incidentkb.core.durations import Duration
from incidentkb.core.findings import ERROR, Finding
from incidentkb.core.yamlsafe import position_of
from incidentkb.records.calendar_policy import CALENDAR, calendar_from_data, check_calendar
from incidentkb.records.frontmatter import DEFAULT_MAX_FILE_BYTES
from incidentkb.records.model import (
    DEFAULT_CAUSE_CATEGORIES, DEFAULT_PRIORITIES, DEFAULT_SEVERITIES, INCIDENT_SCHEMA, VISIBILITIES,
)
from incidentkb.records.policy_sections import POLICY_ALERTS, POLICY_BODIES, POLICY_SECRETS
from incidentkb.records.schema import (
    Boolean, Choice, Date, DurationType, Field, Integer, ListOf, Object, Schema, String, Text, did_you_mean,
)
from incidentkb.records.workdays import WorkCalendar

SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
SLUG_DOC = "lower-case words joined by hyphens"
LEVELS = ("error", "warning", "off")

# Incident fields a severity level can demand (dotted names reach into roles and impact).
REQUIRABLE_FIELDS = (
    "impact", "impact.customers_affected", "impact.description", "roles", "roles.commander",
    "roles.communications_lead", "roles.scribe", "timeline", "root_causes", "contributing_factors", "action_items",
    "detection", "detected_at", "acknowledged_at", "mitigated_at", "trigger", "postmortem", "postmortem.owner",
)

# Where a regulatory clock can start.
CLOCK_STARTS = ("security.aware_at", "detected_at", "started_at", "acknowledged_at")

RULES = {
    "postmortem-overdue": ("error", "Incidents whose severity requires a post-mortem have one reviewed by the deadline."),
    "action-item-overdue": ("warning", "Open action items are done by their due date."),
    "action-item-owner": ("warning", "Open action items have an owner."),
    "action-item-due": ("warning", "Open action items have a due date."),
    "action-item-due-too-late": ("warning", "Action items are due within the time their priority allows."),
    "runbook-review-overdue": ("warning", "Runbooks are reviewed within their review interval."),
    "regulatory-timestamps": ("error", "Incidents a regulatory clock applies to record the timestamp that starts it."),
    "regulatory-deadline": ("error", "Incidents a regulatory clock applies to record the notification, made in time."),
    "severity-required-fields": ("error", "Incidents have the fields their severity demands."),
}

_text_list = ListOf(Text())
_names = ListOf(String(label="a name or role", plural="names or roles"))

SEVERITY = Object([
    Field("id", String(r"[A-Za-z0-9-]+", "letters, digits and hyphens, e.g. SEV1", "a severity id"),
          "The value incidents write in `severity`.", "SEV1", required=True),
    Field("name", Text(), "Short name.", "Critical", required=True),
    Field("summary", Text(), "One-line meaning.", "Most customers cannot buy, or personal data is exposed.",
          required=True),
    Field("criteria", _text_list, "Any one of these makes an incident this severe.", ["More than 25% of checkouts fail"]),
    Field("examples", _text_list, "Real or typical examples.", ["Checkout down on Black Friday"]),
    Field("page", _names, "Who is paged at once.", ["On-call engineer", "Incident commander on duty"]),
    Field("notify", _names, "Who must be told.", ["Head of Engineering", "Customer Care lead"]),
    Field("update_every", DurationType(), "How often stakeholders get a status update.", "30 minutes"),
    Field("acknowledge_within", DurationType(), "Time for on-call to acknowledge the page.", "5 minutes"),
    Field("escalate_after", DurationType(), "Escalate to the next level when there is no progress for this long.",
          "15 minutes"),
    Field("escalation", _names, "Who to escalate to, in order.", ["Team lead", "Head of Engineering", "CTO"]),
    Field("postmortem_required", Boolean(), "Whether a post-mortem is required.", True, default=False),
    Field("postmortem_due", DurationType(), "Post-mortem reviewed within this time after resolution.",
          "5 business days"),
    Field("required_fields", ListOf(Choice(REQUIRABLE_FIELDS), unique=True),
          "Incident fields that must be filled in at this severity.", ["impact", "roles.commander", "timeline"]),
], label="a severity level", plural="severity levels")

ROLE = Object([
    Field("id", String(SLUG, SLUG_DOC, "a role id"), "Short id.", "commander", required=True),
    Field("name", Text(), "Name of the role.", "Incident commander", required=True),
    Field("summary", Text(), "What the role is for.", "Owns the response until hand-over.", required=True),
    Field("duties", _text_list, "What the role does.", ["Declares the severity", "Assigns roles"]),
    Field("handover", _text_list, "How the role is handed over.", ["Hand over in the incident channel, in writing"]),
], label="a role", plural="roles")

TIER_ESCALATION = Object([
    Field("tier", Integer(minimum=1), "Service tier (catalog.yml).", 1, required=True),
    Field("response", Text(), "Expected response.", "24/7 on-call; acknowledge within 5 minutes", required=True),
    Field("path", _names, "Escalation path, in order.", ["Owning team on-call", "Incident commander on duty"]),
], label="a tier escalation", plural="tier escalations")

CLOCK = Object([
    Field("id", String(SLUG, SLUG_DOC, "a clock id"), "Short id; incidents name it in security.notifications.",
          "gdpr-art33", required=True),
    Field("name", Text(), "What must be done.", "Notify the supervisory authority of a personal-data breach",
          required=True),
    Field("basis", Text(), "The rule behind it.", "GDPR art. 33(1)"),
    Field("authority", Text(), "Who is notified.", "Berlin data protection authority (BlnBDI)"),
    Field("starts", Choice(CLOCK_STARTS), "The incident timestamp that starts the clock.", "security.aware_at",
          default="security.aware_at"),
    Field("deadline", DurationType(), "Time allowed after the start.", "72 hours", required=True),
    Field("applies_when", Object([
        Field("personal_data", Boolean(), "The incident involves personal data (security.personal_data).", True),
        Field("data_exposed", Boolean(), "Data was exposed (impact.data_exposed).", True),
        Field("tags_any", ListOf(String(label="a tag", plural="tags")), "Any of these tags.", ["data-breach"]),
        Field("severities", ListOf(String(label="a severity", plural="severities")), "Only at these severities.",
              ["SEV1"]),
    ], label="conditions"), "All given conditions must hold; no conditions means the clock never applies.",
          {"personal_data": True}),
    Field("description", Text(), "Notes for responders.", "Notify even if the investigation is not finished."),
], label="a regulatory clock", plural="regulatory clocks")

TEMPLATE = Object([
    Field("id", String(SLUG, SLUG_DOC, "a template id"), "Short id.", "internal-update", required=True),
    Field("name", Text(), "Name.", "Internal status update", required=True),
    Field("audience", Text(), "Who reads it.", "Everyone in #incidents", required=True),
    Field("when", Text(), "When to send it.", "At every update interval of the severity"),
    Field("body", Text(), "Jinja template; placeholders are incident fields, e.g. {{ title }}.",
          "[{{ severity }}] {{ title }}: {{ status }}", required=True),
], label="a communication template", plural="communication templates")

CHECKLIST = Object([
    Field("id", String(SLUG, SLUG_DOC, "a checklist id"), "Short id.", "commander", required=True),
    Field("name", Text(), "Name.", "Incident commander's checklist", required=True),
    Field("when", Text(), "When to use it.", "From the first page until hand-over"),
    Field("items", ListOf(Text(), min_items=1), "The steps, in order.", ["Declare the severity"], required=True),
], label="a checklist", plural="checklists")

POLICY_SCHEMA = Schema(
    kind="policy",
    title="Policy file",
    doc="policy.yml: severity levels, roles, escalation, deadlines, regulatory clocks, communication templates, "
        "checklists and the level of every compliance rule. Unknown keys are errors here: a misspelt rule name "
        "would otherwise switch a check off without anyone noticing.",
    fields=(
        Field("title", Text(), "Title of the policy.", "Incident management policy"),
        Field("owner", Text(), "Who owns the policy.", "Head of Site Reliability"),
        Field("last_reviewed", Date(), "When the policy was last reviewed.", "2026-09-15"),
        Field("review_every", DurationType(), "How often the policy itself is reviewed.", "12 months"),
        Field("introduction", Text(), "Opening paragraph of the policy pages.", "This policy applies to ..."),
        Field("severities", ListOf(SEVERITY, min_items=1), "Severity levels, most severe first."),
        Field("roles", ListOf(ROLE), "Incident roles."),
        Field("escalation", Object([
            Field("introduction", Text(), "How escalation works.", "Escalate early; nobody is blamed for it."),
            Field("by_tier", ListOf(TIER_ESCALATION), "Escalation by service tier."),
            Field("vendors", Text(), "How to escalate to vendors and third parties.",
                  "Open a priority case, then call the vendor's escalation contact."),
        ], label="the escalation rules"), "Escalation paths besides those of each severity."),
        Field("postmortems", Object([
            Field("introduction", Text(), "Why and how post-mortems are written.", "Post-mortems are blameless."),
            Field("review_checklist", String(SLUG, SLUG_DOC, "a checklist id"), "Checklist reviewers use.",
                  "postmortem-review"),
        ], label="the post-mortem rules"), "The post-mortem process."),
        Field("action_items", Object([
            Field("require_owner", Boolean(), "Open action items must have an owner.", True, default=True),
            Field("require_due", Boolean(), "Open action items must have a due date.", True, default=True),
            Field("due_within", ListOf(Object([
                Field("priority", String(label="a priority"), "Priority of the action item.", "high", required=True),
                Field("within", DurationType(), "Due at most this long after the incident is resolved.",
                      "10 business days", required=True),
            ], label="a due rule", plural="due rules")), "Longest allowed time to the due date, by priority."),
        ], label="the action-item rules"), "Rules for action items."),
        Field("runbooks", Object([
            Field("review_every", DurationType(), "Review interval of a runbook that does not set its own.", "6 months"),
        ], label="the runbook rules"), "Rules for runbooks."),
        Field("calendar", CALENDAR, "Working days, for deadlines in business days: the weekend, public holidays "
              "by country and subdivision (from the holidays package), and company days."),
        Field("regulatory_clocks", ListOf(CLOCK), "Deadlines set by law or contract for security incidents."),
        Field("templates", ListOf(TEMPLATE), "Communication templates."),
        Field("template_example", String(r"INC-\d{4}-\d{3,}", "an incident id", "an incident id"),
              "Incident used to show each template filled in (default: the most recent incident).", "INC-2025-014"),
        Field("checklists", ListOf(CHECKLIST), "Checklists, shown as task lists."),
        Field("bodies", POLICY_BODIES, "What record bodies may contain."),
        Field("alerts", POLICY_ALERTS, "Alert coverage: the rule files to read, the runbook_url pattern, and the "
              "share of alerts that must have a runbook (see `kb alerts`)."),
        Field("glossary", ListOf(Object([
            Field("term", String(r"[^\[\]\n]+", "text without square brackets", "a term"),
                  "The term as it is written, e.g. MTTR or known error.", "MTTR", required=True),
            Field("definition", Text(), "One or two sentences; the first one is the tooltip on every page.",
                  "Mean time to restore: the average time until the service works again.", required=True),
            Field("aliases", ListOf(String(r"[^\[\]\n]+", "text without square brackets", "an alias", "aliases"),
                                    unique=True), "Other spellings that get the same tooltip (plurals in -s are "
                  "added automatically).", ["post-incident review"]),
            Field("tooltip", Boolean(), "Explain the term wherever it appears (default: yes for abbreviations and "
                  "terms of several words, no for everyday words such as incident).", True),
            Field("source", Text(), "Where the term comes from.", "ITIL"),
        ], label="a glossary term", plural="glossary terms")), "Terms for the training glossary; they add to and "
              "replace (by term) the built-in ITIL and SRE glossary."),
        Field("secrets", POLICY_SECRETS, "The secret and personal-data scan of `kb check`: reviewed false "
              "positives (allow-list) and the level of personal-data findings (docs/guide/secrets.md)."),
        Field("rules", Object([
            Field(rule, Choice(LEVELS), doc, default) for rule, (default, doc) in RULES.items()
        ], label="the rule levels"), "Level of each compliance rule: error, warning or off."),
        Field("cause_categories", ListOf(String(SLUG, SLUG_DOC, "a category"), unique=True, min_items=1),
              "Categories for root causes and contributing factors.", ["capacity", "change"]),
        Field("action_item_priorities", ListOf(String(label="a priority", plural="priorities"), unique=True, min_items=1),
              "Priorities of action items, most urgent first.", ["high", "medium", "low"]),
        Field("defaults", Object([
            Field("visibility", Choice(VISIBILITIES), "Visibility of a record that does not say.", "internal"),
        ], label="the defaults"), "Defaults for fields a record leaves out."),
        Field("limits", Object([
            Field("max_file_bytes", Integer(minimum=1), "Largest record file accepted.", DEFAULT_MAX_FILE_BYTES),
        ], label="the limits"), "Limits that keep loading fast and safe."),
    ),
    rules=(
        "Every severity that incidents use must be defined.",
        "Templates may only use placeholders that are incident fields (or `severity_name`, `duration`, `now`).",
        "Rule names under `rules` are the ids listed above; their level is error, warning or off.",
    ),
)

_FIELDS = {f.name: f for f in POLICY_SCHEMA.fields}

# Names a communication template may use besides the incident's own fields.
TEMPLATE_EXTRAS = ("severity_name", "duration", "now", "services_text", "url")
TEMPLATE_NAMES = frozenset(f.name for f in INCIDENT_SCHEMA.fields) | set(TEMPLATE_EXTRAS) | {"security"}


@dataclass
class Policy:
    """The policy as the checks and pages use it. Defaults apply when there is no policy file."""

    path: str = ""
    data: dict = field(default_factory=dict)  # the validated file (empty without one)
    raw: object = None  # the parsed file with line marks, for findings that point into it
    severities: list[dict] = field(default_factory=lambda: [
        {**{f.name: f.missing_value() for f in SEVERITY.fields}, "id": s, "name": s, "summary": ""}
        for s in DEFAULT_SEVERITIES])
    cause_categories: list[str] = field(default_factory=lambda: list(DEFAULT_CAUSE_CATEGORIES))
    action_item_priorities: list[str] = field(default_factory=lambda: list(DEFAULT_PRIORITIES))
    default_visibility: str = "internal"
    runbook_review_every: Duration = Duration(6, "months")
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    rule_levels: dict[str, str] = field(default_factory=lambda: {rule: level for rule, (level, _) in RULES.items()})

    @property
    def severity_ids(self) -> list[str]:
        return [s["id"] for s in self.severities]

    @property
    def severity_by_id(self) -> dict[str, dict]:
        return {s["id"]: s for s in self.severities}

    def checklist(self, checklist_id: str) -> dict | None:
        """The checklist with this id, if the policy has one."""
        return next((c for c in self.section("checklists", []) or [] if c["id"] == checklist_id), None)

    def section(self, name: str, default=None):
        """A top-level part of the policy file; a missing mapping comes back with all its keys empty."""
        value = self.data.get(name)
        if value is not None:
            return value
        spec = _FIELDS.get(name)
        if spec is not None and isinstance(spec.type, Object):
            return {f.name: f.missing_value() for f in spec.type.fields}
        return default

    def choices(self) -> dict[str, list[str]]:
        """Values for the schema's policy-driven choices."""
        return {
            "severity": self.severity_ids,
            "cause category": self.cause_categories,
            "priority": self.action_item_priorities,
        }


def policy_from_data(data: dict, path: str) -> Policy:
    """Build a Policy from validated data (see POLICY_SCHEMA); missing parts keep their defaults."""
    policy = Policy(path=path, data=data)
    if data.get("severities"):
        policy.severities = data["severities"]
    if data.get("cause_categories"):
        policy.cause_categories = data["cause_categories"]
    if data.get("action_item_priorities"):
        policy.action_item_priorities = data["action_item_priorities"]
    defaults = data.get("defaults") or {}
    policy.default_visibility = defaults.get("visibility") or policy.default_visibility
    runbooks = data.get("runbooks") or {}
    policy.runbook_review_every = runbooks.get("review_every") or policy.runbook_review_every
    limits = data.get("limits") or {}
    policy.max_file_bytes = limits.get("max_file_bytes") or policy.max_file_bytes
    policy.calendar = calendar_from_data(policy.section("calendar"))
    policy.rule_levels.update({k: v for k, v in (data.get("rules") or {}).items() if v})
    return policy


def check_policy(policy: Policy, used_severities: dict[str, list[str]]) -> list[Finding]:
    """Checks of the policy file beyond its schema: template placeholders, the calendar, severities in use.

    `used_severities` maps a severity to the incidents using it.
    """
    if not policy.path:
        return []
    out = []

    def at(path: tuple, code: str, message: str, hint: str, level: str = ERROR) -> None:
        line, column = position_of(policy.raw, path)
        out.append(Finding(policy.path, line, column, level, code, message, hint))

    defined = set(policy.severity_ids)
    for severity, incidents in sorted(used_severities.items()):
        if severity not in defined:
            shown = ", ".join(incidents[:3]) + (f" and {len(incidents) - 3} more" if len(incidents) > 3 else "")
            at(("severities",), "severity-in-use",
               f"severity {severity!r} is used by {len(incidents)} incident(s) ({shown}) but is not defined here",
               f"Define {severity} under severities, or change those incidents to one of: {', '.join(sorted(defined))}.")
    env = Environment()
    for index, template in enumerate(policy.section("templates", [])):
        try:
            parsed = env.parse(template["body"])
        except TemplateSyntaxError as error:
            at(("templates", index, "body"), "template-syntax", f"template {template['id']!r}: {error.message} "
               f"(template line {error.lineno})", "Placeholders are written {{ name }}; blocks {% if %} ... {% endif %}.")
            continue
        unknown = sorted(meta.find_undeclared_variables(parsed) - TEMPLATE_NAMES)
        if unknown:
            hints = [f"{name!r} → {did_you_mean(name, sorted(TEMPLATE_NAMES)) or '?'}" for name in unknown]
            at(("templates", index, "body"), "template-placeholder",
               f"template {template['id']!r} uses unknown placeholder(s): {', '.join(unknown)}",
               "Placeholders are incident fields or " + ", ".join(TEMPLATE_EXTRAS) + ". Did you mean: " + "; ".join(hints))
    for where, level, code, message, hint in check_calendar(policy.section("calendar"), policy.calendar):
        at(where, code, message, hint, level)
    checklist_ids = {c["id"] for c in policy.section("checklists", [])}
    review = (policy.section("postmortems", {}) or {}).get("review_checklist")
    if review and review not in checklist_ids:
        at(("postmortems", "review_checklist"), "unknown-checklist", f"no checklist has the id {review!r}",
           "Use the id of one of the checklists: " + (", ".join(sorted(checklist_ids)) or "(none defined)") + ".")
    priorities = set(policy.action_item_priorities)
    for index, rule in enumerate((policy.section("action_items", {}) or {}).get("due_within") or []):
        if rule["priority"] not in priorities:
            at(("action_items", "due_within", index, "priority"), "unknown-priority",
               f"{rule['priority']!r} is not one of the action-item priorities",
               "Use one of: " + ", ".join(policy.action_item_priorities) + ".")
    return out
