"""The record types of the knowledge base: their schemas (declared once) and the typed records.

Field names are part of the public contract: other tools, the docs and the
JSON Schema files use them. Add fields freely; rename none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from incidentkb.core.yamlsafe import MarkedDict, position_of
from incidentkb.records.schema import (
    Boolean, Choice, Date, DurationType, Field, Integer, ListOf, Number, Object, Ref, Schema, String, Text, Timestamp,
    Url,
)

# ---------------------------------------------------------------- identifiers

INCIDENT_ID = r"INC-\d{4}-\d{3,}"
INCIDENT_ID_DOC = "INC-<year>-<number of at least 3 digits>, e.g. INC-2025-014"
PROBLEM_ID = r"PRB-\d{3,}"
PROBLEM_ID_DOC = "PRB-<number of at least 3 digits>, e.g. PRB-004"
SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
SLUG_DOC = "lower-case words joined by hyphens, e.g. checkout-api"

# --------------------------------------------------------------- vocabularies
# Defaults for a knowledge base without a policy file; the policy file may replace them.

DEFAULT_SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
INCIDENT_STATUSES = ("open", "mitigated", "resolved", "closed")
RESOLVED_STATUSES = ("resolved", "closed")
DEFAULT_CAUSE_CATEGORIES = (
    "change", "configuration", "capacity", "software-bug", "dependency", "hardware", "network",
    "security", "data", "process", "monitoring-gap", "unknown",
)
DETECTION_METHODS = ("alert", "automated-check", "customer-report", "staff", "vendor", "other")
ACTION_STATUSES = ("open", "in-progress", "done", "wont-do")
OPEN_ACTION_STATUSES = ("open", "in-progress")
ACTION_TYPES = ("prevent", "mitigate", "detect", "process")
DEFAULT_PRIORITIES = ("high", "medium", "low")
POSTMORTEM_STATUSES = ("draft", "in-review", "reviewed")
VISIBILITIES = ("public", "internal", "restricted")
PROBLEM_STATUSES = ("open", "known-error", "resolved")

# ----------------------------------------------------------------- sub-objects

_cause = Object([
    Field("category", Choice(DEFAULT_CAUSE_CATEGORIES, source="cause category"),
          "What kind of cause this is; reports group causes by category.", "capacity", required=True),
    Field("description", Text(), "What happened, in one or two sentences. Describe systems, not people.",
          "The connection pool was sized for last year's peak traffic.", required=True),
], label="a cause (category and description)", plural="causes (category and description)")

ACTION_ITEM = Object([
    Field("id", String(r"[A-Za-z0-9][A-Za-z0-9._-]*", "letters, digits, '.', '_' or '-', e.g. AI-1"),
          "Unique within the incident; the action item is cited as <incident id>/<id>.", "AI-1", required=True),
    Field("title", Text(), "What will be done.", "Alert on connection-pool saturation above 80%", required=True),
    Field("owner", String(label="an owner"), "Team or person accountable for it.", "team-payments"),
    Field("due", Date(), "Date by which it should be done.", "2025-04-30"),
    Field("status", Choice(ACTION_STATUSES), "Where the work stands.", "open", default="open"),
    Field("type", Choice(ACTION_TYPES), "prevent a repeat, mitigate impact, detect sooner, or fix a process.", "detect"),
    Field("priority", Choice(DEFAULT_PRIORITIES, source="priority"), "How urgent it is; policy sets due dates by priority.",
          "high"),
    Field("ticket", String(label="a ticket reference"), "Issue tracker reference or URL.", "OPS-1234"),
], label="an action item", plural="action items")

TIMELINE_ENTRY = Object([
    Field("at", Timestamp(), "When it happened.", "2025-03-14T09:12:00+01:00", required=True),
    Field("event", Text(), "What happened or what was decided.", "Error-rate alert fires for checkout", required=True),
], label="a timeline entry", plural="timeline entries")

# --------------------------------------------------------------------- schemas

INCIDENT_SCHEMA = Schema(
    kind="incident",
    title="Incident record",
    doc="One incident and its post-mortem: a Markdown file under incidents/<year>/ named <id>-<slug>.md. "
        "The front matter holds the facts below; the Markdown body is the narrative post-mortem.",
    fields=(
        Field("id", String(INCIDENT_ID, INCIDENT_ID_DOC, "an incident id"), "Unique id; the file name starts with it.",
              "INC-2025-014", required=True),
        Field("title", Text(), "A short headline a responder would recognise.", "Checkout latency after payment SDK upgrade",
              required=True),
        Field("status", Choice(INCIDENT_STATUSES), "Lifecycle: open → mitigated → resolved → closed "
              "(closed = post-mortem done and follow-up agreed).", "resolved", required=True),
        Field("severity", Choice(DEFAULT_SEVERITIES, source="severity"), "Severity level, as defined in the policy file.",
              "SEV2", required=True),
        Field("services", ListOf(Ref("service", SLUG, SLUG_DOC), unique=True, min_items=1),
              "Affected services and vendors, by id from the service catalog.", ["checkout", "payments-api"],
              required=True),
        Field("started_at", Timestamp(), "When impact began (may be earlier than detection).",
              "2025-03-14T09:02:00+01:00", required=True),
        Field("detected_at", Timestamp(), "When we knew: the alert fired or the report arrived.", "2025-03-14T09:12:00+01:00"),
        Field("acknowledged_at", Timestamp(), "When a responder took ownership.", "2025-03-14T09:15:00+01:00"),
        Field("mitigated_at", Timestamp(), "When customer impact stopped.", "2025-03-14T10:05:00+01:00"),
        Field("resolved_at", Timestamp(), "When the incident was fixed for good; required once resolved or closed.",
              "2025-03-14T11:40:00+01:00"),
        Field("summary", Text(), "One paragraph: what happened, the impact, and what fixed it.",
              "For 63 minutes a third of checkout attempts timed out after an SDK upgrade exhausted the database "
              "connection pool. Rolling back the SDK restored service.", required=True),
        Field("tags", ListOf(String(SLUG, SLUG_DOC, "a tag", "tags"), unique=True), "Free keywords for search and grouping.",
              ["database", "connection-pool"]),
        Field("runbooks", ListOf(Ref("runbook", SLUG, SLUG_DOC), unique=True), "Runbooks used during the response, by id.",
              ["checkout-high-latency"]),
        Field("related", ListOf(Ref("incident", INCIDENT_ID, INCIDENT_ID_DOC), unique=True),
              "Related incidents, by id. The link shows on both pages.", ["INC-2024-031"]),
        Field("distinct_from", ListOf(Ref("incident", INCIDENT_ID, INCIDENT_ID_DOC), unique=True),
              "Incidents this one resembles but does not duplicate; silences the duplicate warning for them.",
              ["INC-2024-007"]),
        Field("root_causes", ListOf(_cause), "Why it happened. Several causes are normal."),
        Field("contributing_factors", ListOf(_cause), "What made it worse or slower to fix."),
        Field("trigger", Text(), "The event that set it off.", "Deploy of payments SDK 4.2 to checkout"),
        Field("detection", Object([
            Field("method", Choice(DETECTION_METHODS), "How we found out.", "alert", required=True),
            Field("alert", String(label="an alert name"), "Name of the alert that fired, when method is alert.",
                  "CheckoutLatencyHigh"),
            Field("source", Text(), "Who or what reported it, in words.", "PagerDuty, payments on-call"),
        ], label="a detection (method and alert)"), "How the incident was detected."),
        Field("impact", Object([
            Field("customers_affected", Integer(), "Number of customers affected (estimate if needed).", 1840),
            Field("users_affected", Integer(), "Number of internal users affected.", 0),
            Field("sla_breached", Boolean(), "Whether a customer SLA or SLO was breached.", True),
            Field("revenue_loss", Number(), "Estimated money lost, in `currency`.", 12500),
            Field("currency", String(r"[A-Z]{3}", "a three-letter ISO 4217 code such as EUR", "a currency code"),
                  "Currency of revenue_loss.", "EUR"),
            Field("data_exposed", Boolean(), "Whether personal or confidential data was exposed.", False),
            Field("description", Text(), "The impact in words.", "About a third of checkouts failed for an hour."),
        ], label="an impact description"), "Who and what was affected."),
        Field("roles", Object([
            Field("commander", String(label="a name"), "Incident commander.", "Priya Raman"),
            Field("communications_lead", String(label="a name"), "Communications lead.", "Tom Becker"),
            Field("scribe", String(label="a name"), "Scribe who kept the timeline.", "Ana Lima"),
            Field("responders", ListOf(String(label="a name", plural="names")), "Other responders and subject-matter experts.",
                  ["Jonas Berg"]),
        ], label="the incident roles"), "Who did what during the response."),
        Field("action_items", ListOf(ACTION_ITEM), "Follow-up work agreed in the post-mortem."),
        Field("timeline", ListOf(TIMELINE_ENTRY), "Key moments in order."),
        Field("postmortem", Object([
            Field("status", Choice(POSTMORTEM_STATUSES), "draft → in-review → reviewed.", "reviewed", required=True),
            Field("owner", String(label="a name"), "Who writes and drives the post-mortem.", "Priya Raman"),
            Field("reviewed_at", Date(), "When the review meeting signed it off.", "2025-03-20"),
        ], label="the post-mortem state"), "State of the post-mortem review."),
        Field("security", Object([
            Field("personal_data", Boolean(), "Personal data was involved (regulatory clocks may apply).", True),
            Field("aware_at", Timestamp(), "When we became aware that it is a security incident: the start of "
                  "most regulatory clocks.", "2025-06-03T16:40:00+02:00"),
            Field("notifications", ListOf(Object([
                Field("clock", String(r"[a-z0-9]+(?:-[a-z0-9]+)*", "a clock id from the policy file", "a clock id"),
                      "The regulatory clock this notification satisfies.", "gdpr-art33", required=True),
                Field("at", Timestamp(), "When it was sent.", "2025-06-05T11:00:00+02:00", required=True),
                Field("reference", Text(), "Case number or where the record of it is kept.", "BlnBDI case 2025-1187"),
            ], label="a notification", plural="notifications")), "Notifications made to authorities and others."),
        ], label="the security details"), "For security incidents: what the regulatory clocks need."),
        Field("visibility", Choice(VISIBILITIES), "Who may read it: public, internal, or restricted "
              "(left out of every build for a wider audience). Default set in the policy file.", "internal"),
        Field("source", Object([
            Field("tool", String(SLUG, SLUG_DOC, "a tool name"), "Where it was imported from: pagerduty, opsgenie, "
                  "jira, servicenow, incidentio, or a document format (markdown, html, confluence, google-docs, docx).",
                  "pagerduty", required=True),
            Field("id", Text(), "Its id there: incident number, issue key, or the document's path.", "Q2P4XY8",
                  required=True),
            Field("url", Url(), "Where it is in that tool.", "https://example.pagerduty.com/incidents/Q2P4XY8"),
            Field("imported_at", Timestamp(), "When it was imported.", "2026-12-01T10:00:00Z"),
            Field("digest", String(r"sha256:[0-9a-f]{16}", "sha256: and 16 hex digits", "a digest"),
                  "Fingerprint of the imported facts: `kb import --update` refreshes them only while nobody has "
                  "edited them.", "sha256:3f2a9c0d4e5b6a71"),
        ], label="a source reference (tool and id)"),
              "Set by `kb import`: where the record came from, so a second import of the same export finds it "
              "instead of duplicating it."),
    ),
    rules=(
        "`resolved_at` is required when `status` is resolved or closed.",
        "Timestamps must not run backwards: started_at ≤ detected_at ≤ acknowledged_at, "
        "and mitigated_at ≤ resolved_at; none may be before started_at.",
        "Timeline entries should be in time order.",
        "Action-item ids are unique within the incident; open action items need an owner and a due date.",
        "`detection.alert` is expected when `detection.method` is alert.",
        "The file lives at incidents/<year of the id>/<id>-<slug>.md.",
    ),
)

RUNBOOK_SECTIONS = ("Symptoms", "Impact", "Diagnosis", "Mitigation", "Escalation")

RUNBOOK_SCHEMA = Schema(
    kind="runbook",
    title="Runbook",
    doc="How to respond to one kind of problem: a Markdown file under runbooks/<service>/<id>.md with the sections "
        + ", ".join(RUNBOOK_SECTIONS) + ".",
    fields=(
        Field("id", String(SLUG, SLUG_DOC, "a runbook id"), "Unique id; the file is named <id>.md.",
              "checkout-high-latency", required=True),
        Field("title", Text(), "What it helps with, as a responder would search for it.", "Checkout latency is high",
              required=True),
        Field("services", ListOf(Ref("service", SLUG, SLUG_DOC), unique=True, min_items=1),
              "Services it applies to, by id from the service catalog.", ["checkout"], required=True),
        Field("alerts", ListOf(String(r"[A-Za-z_:][A-Za-z0-9_:.-]*", "an alert name such as CheckoutLatencyHigh",
                                      "an alert name", "alert names"), unique=True),
              "Names of the alerts it answers; their runbook_url should point here.", ["CheckoutLatencyHigh"]),
        Field("owner", String(label="a team"), "Team that keeps it correct.", "team-payments", required=True),
        Field("last_reviewed", Date(), "When it was last checked against reality.", "2025-02-01", required=True),
        Field("review_every", DurationType(), "How often to review it; default from the policy file.", "6mo"),
        Field("tags", ListOf(String(SLUG, SLUG_DOC, "a tag", "tags"), unique=True), "Free keywords.", ["latency"]),
        Field("visibility", Choice(VISIBILITIES), "Who may read it.", "internal"),
    ),
    rules=(
        "The body has the sections " + ", ".join(RUNBOOK_SECTIONS) + " (as ## headings).",
        "The file lives at runbooks/<service>/<id>.md.",
    ),
)

TEAM_SCHEMA = Schema(
    kind="team",
    title="Team",
    doc="A team that owns services and runbooks (catalog.yml, `teams:`).",
    fields=(
        Field("id", String(SLUG, SLUG_DOC, "a team id"), "Unique id.", "team-payments", required=True),
        Field("name", Text(), "Display name.", "Payments", required=True),
        Field("contact", Text(), "How to reach the team.", "#payments on chat, payments@example.com"),
        Field("github", String(r"@[A-Za-z0-9-]+(/[A-Za-z0-9_.-]+)?", "@org/team or @user", "a GitHub handle"),
              "GitHub team or user, for CODEOWNERS.", "@example/payments"),
    ),
)

SERVICE_SCHEMA = Schema(
    kind="service",
    title="Service",
    doc="A service we run (catalog.yml, `services:`).",
    fields=(
        Field("id", String(SLUG, SLUG_DOC, "a service id"), "Unique id, used by incidents and runbooks.", "checkout",
              required=True),
        Field("name", Text(), "Display name.", "Checkout", required=True),
        Field("description", Text(), "What it does for customers.", "Takes the basket to a paid order."),
        Field("owner", Ref("team", SLUG, SLUG_DOC), "Owning team, by id.", "team-payments", required=True),
        Field("tier", Integer(minimum=1), "Criticality: 1 is most critical.", 1, required=True),
        Field("escalation", Text(), "Who to call when it breaks.", "payments on-call via PagerDuty", required=True),
        Field("depends_on", ListOf(Ref("service or vendor", SLUG, SLUG_DOC), unique=True),
              "Services and vendors it needs.", ["payments-api", "orders-db"]),
        Field("dashboards", ListOf(Object([
            Field("title", Text(), "Dashboard name.", "Checkout overview", required=True),
            Field("url", Url(), "Where it is.", "https://grafana.example.com/d/checkout", required=True),
        ], label="a dashboard", plural="dashboards")), "Dashboards to open first."),
        Field("visibility", Choice(VISIBILITIES), "Who may read its page.", "internal"),
    ),
)

VENDOR_SCHEMA = Schema(
    kind="vendor",
    title="Vendor",
    doc="A third party we depend on (catalog.yml, `vendors:`). Incidents may list vendors under `services`.",
    fields=(
        Field("id", String(SLUG, SLUG_DOC, "a vendor id"), "Unique id, shared namespace with services.", "paystream",
              required=True),
        Field("name", Text(), "Display name.", "Paystream", required=True),
        Field("description", Text(), "What they provide.", "Card payment processing."),
        Field("owner", Ref("team", SLUG, SLUG_DOC), "Team that manages the relationship.", "team-payments"),
        Field("support", Text(), "How to open a support case.", "support portal, priority P1 phone line", required=True),
        Field("contract_sla", Text(), "What the contract promises.", "99.95% monthly availability"),
        Field("status_page", Url(), "Their public status page.", "https://status.paystream.example"),
        Field("escalation", Text(), "Escalation path beyond support.", "Account manager, then vendor duty manager"),
        Field("visibility", Choice(VISIBILITIES), "Who may read its page.", "internal"),
    ),
)

CATALOG_SCHEMA = Schema(
    kind="catalog",
    title="Service catalog",
    doc="catalog.yml: the teams, services and vendors that records refer to.",
    fields=(
        Field("teams", ListOf(TEAM_SCHEMA.root), "Teams."),
        Field("services", ListOf(SERVICE_SCHEMA.root), "Services we run."),
        Field("vendors", ListOf(VENDOR_SCHEMA.root), "Third parties."),
    ),
)

PROBLEM_SCHEMA = Schema(
    kind="problem",
    title="Problem record (known error)",
    doc="An underlying cause behind one or more incidents (ITIL problem management): problems/<id>-<slug>.md.",
    fields=(
        Field("id", String(PROBLEM_ID, PROBLEM_ID_DOC, "a problem id"), "Unique id.", "PRB-004", required=True),
        Field("title", Text(), "The underlying problem.", "Connection pool exhaustion under peak load", required=True),
        Field("status", Choice(PROBLEM_STATUSES), "open (investigating) → known-error (cause and workaround known) → "
              "resolved (permanent fix in place).", "known-error", required=True),
        Field("services", ListOf(Ref("service", SLUG, SLUG_DOC), unique=True), "Services it affects.", ["checkout"]),
        Field("incidents", ListOf(Ref("incident", INCIDENT_ID, INCIDENT_ID_DOC), unique=True, min_items=1),
              "Incidents it explains, by id.", ["INC-2025-014"], required=True),
        Field("root_cause", Text(), "The underlying cause.", "Pool size is static while traffic doubled."),
        Field("workaround", Text(), "What responders do until it is fixed.", "Raise the pool size and restart."),
        Field("owner", String(label="an owner"), "Team driving the permanent fix.", "team-payments"),
        Field("opened_at", Date(), "When the problem was recorded.", "2025-03-20", required=True),
        Field("resolved_at", Date(), "When the permanent fix landed.", "2025-06-01"),
        Field("visibility", Choice(VISIBILITIES), "Who may read it.", "internal"),
    ),
    rules=("`resolved_at` is required when `status` is resolved.",),
)

RECORD_SCHEMAS = {s.kind: s for s in (INCIDENT_SCHEMA, RUNBOOK_SCHEMA, PROBLEM_SCHEMA)}
CATALOG_SCHEMAS = (TEAM_SCHEMA, SERVICE_SCHEMA, VENDOR_SCHEMA)

# --------------------------------------------------------------------- records


@dataclass(eq=False)
class Record:
    """A validated record: `data` holds every declared field, converted (missing optional ones are None or [])."""

    kind: str
    path: str  # relative to the knowledge-base root, posix; "" for built-in defaults
    data: dict
    meta: MarkedDict | None = None  # the raw front matter, with line marks
    body: str = ""
    body_line: int = 0

    def __post_init__(self):
        # Fields become plain instance attributes: templates read them tens of millions of times at 10,000
        # incidents, and a lookup that first fails and then falls back to __getattr__ was 4% of a build.
        # Names the class itself defines (dataclass fields, properties) keep their meaning.
        for name, value in self.data.items():
            if not hasattr(type(self), name) and name not in _RECORD_FIELDS:
                self.__dict__[name] = value

    def __getattr__(self, name):
        # Only called when normal lookup fails: fields shadowed by a class attribute, or set on `data` later.
        try:
            return self.__dict__["data"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def line(self) -> int:
        return self.meta.line if self.meta is not None else 0

    def line_of(self, *path) -> int:
        return position_of(self.meta, path)[0] if self.meta is not None else 0


_RECORD_FIELDS = {"kind", "path", "data", "meta", "body", "body_line", "entry_line"}


def _span(start: datetime | None, end: datetime | None) -> timedelta | None:
    return end - start if start and end else None


class Incident(Record):
    @property
    def year(self) -> int:
        return int(self.id.split("-")[1])

    @property
    def is_resolved(self) -> bool:
        return self.status in RESOLVED_STATUSES

    @property
    def time_to_detect(self):
        return _span(self.started_at, self.detected_at)

    @property
    def time_to_acknowledge(self):
        return _span(self.detected_at, self.acknowledged_at)

    @property
    def time_to_mitigate(self):
        return _span(self.started_at, self.mitigated_at)

    @property
    def time_to_resolve(self):
        return _span(self.started_at, self.resolved_at)

    @property
    def open_action_items(self) -> list[dict]:
        return [a for a in self.action_items if a["status"] in OPEN_ACTION_STATUSES]


class Runbook(Record):
    pass


class Problem(Record):
    pass


@dataclass(eq=False)
class CatalogEntry(Record):
    """A team, service or vendor from the catalog. `path` is the catalog file; `line` is the entry's line."""

    entry_line: int = 0

    @property
    def line(self) -> int:
        return self.entry_line


RECORD_CLASSES = {"incident": Incident, "runbook": Runbook, "problem": Problem}


@dataclass
class KnowledgeBase:
    """Everything loaded from one root. Lists are sorted by id so every consumer is deterministic."""

    root: str
    incidents: list[Incident] = field(default_factory=list)
    runbooks: list[Runbook] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    teams: list[CatalogEntry] = field(default_factory=list)
    services: list[CatalogEntry] = field(default_factory=list)
    vendors: list[CatalogEntry] = field(default_factory=list)
    policy: object = None
    files_read: int = 0
    severities_in_use: dict[str, list[str]] = field(default_factory=dict)  # as written, loaded or not

    def __post_init__(self):
        self.index()

    def index(self) -> None:
        """(Re)build the id lookups; call after changing the lists."""
        for name in ("incidents", "runbooks", "problems", "teams", "services", "vendors"):
            getattr(self, name).sort(key=lambda r: (r.id, r.path))
        # On a duplicate id the first file (in path order) wins; check.py reports the second.
        self.incident_by_id = _first_by_id(self.incidents)
        self.runbook_by_id = _first_by_id(self.runbooks)
        self.problem_by_id = _first_by_id(self.problems)
        self.team_by_id = _first_by_id(self.teams)
        self.service_by_id = _first_by_id(self.services)
        self.vendor_by_id = _first_by_id(self.vendors)


def _first_by_id(records: list[Record]) -> dict[str, Record]:
    out: dict[str, Record] = {}
    for record in records:
        out.setdefault(record.id, record)
    return out
