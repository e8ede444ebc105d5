"""Training: the learning path for new staff, computed from the policy file and the records.

The path is an ordered list of steps (what an incident is, severity, roles, the
first 15 minutes, communication, escalation, post-mortems, runbooks, tools).
Every fact on it is computed from the policy file and the records, and every
"read this" points into the real policy pages, so the path stays true when the
policy changes and never holds a second copy of policy text.

Links to a heading of a policy page name the heading (`Link.heading`); the site
turns it into the id that page gives it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from incidentkb.analysis.glossary import Glossary, glossary_of
from incidentkb.records.audience import visibility_of
from incidentkb.records.model import INCIDENT_STATUSES, RUNBOOK_SECTIONS, Incident, KnowledgeBase

_INCIDENT_ID = re.compile(r"\bINC-\d{4}-\d{3,}\b")

# ============================================================= learning path

@dataclass(frozen=True)
class Link:
    label: str
    target: str  # a site source path, e.g. policy/severity.md
    anchor: str = ""  # an id on that page
    note: str = ""
    heading: str = ""  # or a heading of that page, whose id the site knows (site.renderer.heading_anchor)


@dataclass(frozen=True)
class Check:
    question: str
    answer: str
    link: Link | None = None


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    goal: str
    read: tuple[Link, ...] = ()
    facts: tuple[str, ...] = ()
    table: tuple = ()  # (header cells, rows of cells), or empty
    examples: tuple[Link, ...] = ()
    checks: tuple[Check, ...] = ()
    ordered: tuple[str, ...] = ()  # a checklist to follow in order, when the step has one

    @property
    def path(self) -> str:
        return f"training/{self.id}.md"


INDEX = "training/index.md"
GLOSSARY = "training/glossary.md"
CARD = "training/commander-card.md"
DRILLS = "drills/index.md"

# `kb` commands the tools step names; a test checks each one exists.
TOOLS = (
    ("kb check", "checks every record, the catalog and the policy file, with file, line and a hint for each problem"),
    ("kb new incident", "starts a post-mortem with the next free id and every field to fill in"),
    ("kb new runbook", "starts a runbook with the sections every runbook has"),
    ("kb drill", "turns a past incident into a tabletop exercise for a facilitator"),
    ("kb serve", "previews the site on your laptop while you write"),
)


def shareable_incidents(kb: KnowledgeBase) -> list[Incident]:
    """Incidents fit to be shown as examples: never restricted ones; public first, then the best documented."""
    candidates = [i for i in kb.incidents if visibility_of(i, kb) != "restricted"]
    return sorted(candidates, key=lambda i: (
        visibility_of(i, kb) != "public",
        not (i.postmortem and i.postmortem["status"] == "reviewed"),
        -len(i.timeline), -i.started_at.timestamp(), i.id))


def _policy_heading_links(kb: KnowledgeBase) -> bool:
    return bool(kb.policy.path)


def _sev_link(kb: KnowledgeBase, severity: dict) -> Link | None:
    if not _policy_heading_links(kb):
        return None
    heading = f"{severity['id']}: {severity['name']}"
    return Link(heading, "policy/severity.md", heading=heading)


def _policy_link(kb: KnowledgeBase, label: str, page: str, heading: str = "", note: str = "") -> list[Link]:
    if not _policy_heading_links(kb):
        return []
    return [Link(label, f"policy/{page}.md", note=note, heading=heading)]


def _incident_link(incident: Incident, note: str) -> Link:
    return Link(f"{incident.id}: {incident.title}", incident.path, note=note)


def _example_for_severity(kb: KnowledgeBase, severity: dict, shareable: list[Incident]) -> Incident | None:
    allowed = {i.id for i in shareable}
    for text in severity.get("examples") or []:
        for incident_id in _INCIDENT_ID.findall(text):
            if incident_id in allowed and kb.incident_by_id[incident_id].severity == severity["id"]:
                return kb.incident_by_id[incident_id]
    return next((i for i in shareable if i.severity == severity["id"]), None)


def _join(items, last: str = "and") -> str:
    items = [str(i) for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def postmortem_sections() -> list[str]:
    """The post-mortem sections, as `kb new incident` writes them (so the path follows the template)."""
    text = (resources.files("incidentkb.authoring") / "templates" / "incident.md.j2").read_text(encoding="utf-8")
    return re.findall(r"^## (.+?)\s*$", text, re.MULTILINE)


def _duration(value) -> str:
    return str(value) if value else ""


@dataclass(frozen=True)
class _PathContext:
    """What every step is computed from."""

    kb: KnowledgeBase
    glossary: Glossary
    shareable: list[Incident]

    @property
    def severities(self) -> list[dict]:
        return self.kb.policy.severities

    @property
    def top(self) -> dict | None:
        return self.severities[0] if self.severities else None

    @property
    def second(self) -> dict | None:
        return self.severities[1] if len(self.severities) > 1 else None

    @property
    def roles(self) -> list[dict]:
        return self.kb.policy.section("roles", []) or []


def learning_path(kb: KnowledgeBase) -> list[Step]:
    """The ordered steps of the path, each computed from the policy and the records."""
    context = _PathContext(kb, glossary_of(kb.policy), shareable_incidents(kb))
    return [build(context) for build in STEPS]


def _what_is_an_incident(c: _PathContext) -> Step:
    """What an incident is."""
    kb, glossary, shareable = c.kb, c.glossary, c.shareable
    read = [Link(t.term, GLOSSARY, t.anchor) for t in map(glossary.get, ("Incident", "Problem", "Known error")) if t]
    read += _policy_link(kb, "The incident management policy", "index", note="what it covers and who owns it")
    read.append(Link("The incident list", "incidents/index.md", note="every incident we have recorded"))
    if kb.problems:
        read.append(Link("Known problems", "problems/index.md", note="causes behind more than one incident"))
    years = sorted({i.year for i in kb.incidents})
    facts = []
    if kb.incidents:
        facts.append(f"This knowledge base holds {len(kb.incidents)} incidents from {years[0]} to {years[-1]}, "
                     f"{len(kb.runbooks)} runbooks and {len(kb.problems)} problem records.")
    facts.append("An incident moves through the statuses " + " → ".join(INCIDENT_STATUSES) + ".")
    examples = []
    shown = {i.id for i in shareable}
    recurring = next((p for p in kb.problems if sum(1 for i in p.incidents if i in shown) > 1), None)
    if recurring:
        examples.append(Link(f"{recurring.id}: {recurring.title}", recurring.path,
                             note=f"one problem behind {len(recurring.incidents)} incidents"))
    if shareable:
        examples.append(_incident_link(shareable[0], "a complete incident record, with its post-mortem"))
    checks = [
        Check("What is the difference between an incident and a problem?",
              "An incident is the interruption you respond to now; a problem is the underlying cause of one or "
              "more incidents, tracked until it is removed."),
        Check("When is an incident over?",
              "When the service works again (it is then mitigated, later resolved), even if the cause is not "
              "fixed yet; the status then goes " + " → ".join(INCIDENT_STATUSES[1:]) + "."),
    ]
    known = glossary.get("Known error")
    if known:
        checks.append(Check("What turns a problem into a known error?", known.definition,
                            Link("Glossary: known error", GLOSSARY, known.anchor)))
    return Step("what-is-an-incident", "What an incident is",
                "Tell an incident from a problem and a known error, and find your way around the records.",
                tuple(read), tuple(facts), (), tuple(examples), tuple(checks))


def _severity(c: _PathContext) -> Step:
    """Severity."""
    kb, shareable, severities, top, second = c.kb, c.shareable, c.severities, c.top, c.second
    read = _policy_link(kb, "Severity levels", "severity", note="the matrix and the criteria of every level")
    read += [link for link in (_sev_link(kb, s) for s in severities) if link]
    rows = tuple((s["id"], s["name"], s.get("summary") or "", _duration(s.get("acknowledge_within")) or "—",
                  _duration(s.get("update_every")) or "—",
                  "required" if s.get("postmortem_required") else "optional") for s in severities)
    table = (("Severity", "Name", "Means", "Acknowledge within", "Updates every", "Post-mortem"), rows)
    examples = []
    for s in severities:
        incident = _example_for_severity(kb, s, shareable)
        if incident:
            examples.append(_incident_link(incident, f"read it as an example of a {s['id']}"))
    checks = []
    if top and top.get("acknowledge_within"):
        checks.append(Check(f"How quickly must a {top['id']} page be acknowledged?",
                            f"Within {top['acknowledge_within']}.", _sev_link(kb, top)))
    for s in (top, second):
        if s and s.get("update_every"):
            checks.append(Check(f"During a {s['id']}, how often do stakeholders get a status update?",
                                f"Every {s['update_every']}, even when nothing has changed.", _sev_link(kb, s)))
    for s in severities[1:3]:
        if s.get("criteria"):
            checks.append(Check(f"“{s['criteria'][0]}”: which severity is that?",
                                f"{s['id']} ({s['name']}), unless a criterion of a higher level also fits.",
                                _sev_link(kb, s)))
    if top and second:
        checks.append(Check(f"You cannot decide between {top['id']} and {second['id']}. Which do you declare?",
                            f"{top['id']}: when in doubt, the higher severity. Lowering it later costs nothing."))
    return Step("severity", "Severity levels",
                "Choose a severity in under a minute, and know what each level sets in motion.",
                tuple(read), (), table if rows else (), tuple(examples), tuple(checks))


def _roles(c: _PathContext) -> Step:
    """Roles."""
    kb, shareable, roles = c.kb, c.shareable, c.roles
    read = [link for role in roles for link in _policy_link(kb, role["name"], "roles", role["name"], role["summary"])]
    facts = tuple(f"{role['name']}: {role['summary']}" for role in roles)
    staffed = next((i for i in shareable if i.roles and i.roles["commander"] and i.roles["communications_lead"]
                    and i.roles["scribe"]), None)
    examples = [_incident_link(staffed, "every role was filled: see who did what")] if staffed else []
    checks = [Check(f"Which role {role['summary'][:1].lower() + role['summary'][1:].rstrip('.')}?", role["name"],
                    (_policy_link(kb, role["name"], "roles", role["name"]) or [None])[0]) for role in roles[:3]]
    commander = next((r for r in roles if r["id"] == "commander"), None)
    if commander and commander.get("handover"):
        checks.append(Check("How is the incident commander role handed over?", commander["handover"][0] + "."))
    if not checks:
        checks = [Check("Who owns the response to an incident?", "The incident commander, until the incident is "
                        "resolved or command is handed over.")]
    return Step("roles", "Roles in an incident", "Know who does what, so nobody waits to be told and nobody "
                "does two jobs at once.", tuple(read), facts, (), tuple(examples), tuple(checks))


def _first_15_minutes(c: _PathContext) -> Step:
    """The first 15 minutes."""
    kb, shareable, severities, top, second = c.kb, c.shareable, c.severities, c.top, c.second
    card = kb.policy.checklist("commander")
    read = [Link("Commander's first 15 minutes (printable)", CARD, note="one page, for your desk or your bag")]
    if card:
        read += _policy_link(kb, card["name"], "checklists", card["name"])
    read.append(Link("Runbooks by service", "runbooks/index.md", note="look for the service that paged you"))
    items = list(card["items"]) if card else []
    facts = []
    for s in (top, second):
        if s and s.get("acknowledge_within"):
            facts.append(f"A {s['id']} page is acknowledged within {s['acknowledge_within']}"
                         + (f"; {_join(s.get('page') or [])} are paged." if s.get("page") else "."))
    quick = min((i for i in shareable if i.time_to_acknowledge is not None and i.severity in
                 {s["id"] for s in severities[:2]}), key=lambda i: (i.time_to_acknowledge, i.id), default=None)
    examples = [_incident_link(quick, "a fast start: acknowledged within minutes")] if quick else []
    checks = []
    if items:
        checks.append(Check("What is the commander's first step?", items[0] + ".",
                            (_policy_link(kb, card["name"], "checklists", card["name"]) or [None])[0]))
    if len(items) > 3:
        checks.append(Check(f"What comes right after “{items[2]}”?", items[3] + "."))
    if top and top.get("acknowledge_within"):
        checks.append(Check(f"You are paged for a {top['id']} at 03:00. How long do you have to acknowledge?",
                            f"{top['acknowledge_within']}."))
    checks.append(Check("Mitigate first or find the root cause first?",
                        "Mitigate first: stop the customer impact; the root cause is for later (the post-mortem)."))
    return Step("first-15-minutes", "The first 15 minutes", "Start a response calmly: acknowledge, declare, "
                "hand out roles, ask what changed, choose a first mitigation.", tuple(read), tuple(facts),
                (), tuple(examples), tuple(checks), tuple(items))


def _communication(c: _PathContext) -> Step:
    """Communication."""
    kb, policy, shareable, roles = c.kb, c.kb.policy, c.shareable, c.roles
    severities, top, second = c.severities, c.top, c.second
    templates = policy.section("templates", []) or []
    comms_role = next((r for r in roles if "communic" in r["id"]), None)
    read = _policy_link(kb, "Communication templates", "communication",
                        note="with each template filled in for a real incident")
    if comms_role:
        read += _policy_link(kb, comms_role["name"], "roles", comms_role["name"])
    comms = kb.policy.checklist("communications")
    if comms:
        read += _policy_link(kb, comms["name"], "checklists", comms["name"])
    rows = tuple((s["id"], _duration(s.get("update_every")) or "—", _join(s.get("notify") or []) or "—")
                 for s in severities)
    table = (("Severity", "Updates every", "Who must be told"), rows)
    facts = tuple(f"{t['name']}: for {t['audience']}"
                  + (f"; {t['when'][:1].lower()}{t['when'][1:]}." if t.get("when") else ".")
                  for t in templates)
    examples = []
    example_id = policy.section("template_example")
    example = kb.incident_by_id.get(example_id) if example_id else None
    if example and example in shareable:
        examples.append(_incident_link(example, "the incident the templates are filled in with"))
    checks = []
    if second and second.get("update_every"):
        checks.append(Check(f"During a {second['id']}, how often does an update go out?",
                            f"Every {second['update_every']}."))
    if top and top.get("notify"):
        checks.append(Check(f"Who must be told about a {top['id']}?", _join(top["notify"]) + "."))
    if templates:
        t = templates[min(1, len(templates) - 1)]
        checks.append(Check(f"Which template is for {t['audience'][:1].lower()}{t['audience'][1:]}?", t["name"] + ".",
                            (_policy_link(kb, t["name"], "communication", t["name"]) or [None])[0]))
    checks.append(Check("Nothing has changed since the last update. Do you still send one?",
                        "Yes: updates go out at the severity's interval even when nothing changed, so nobody has "
                        "to interrupt the responders to ask."))
    return Step("communication", "Communication", "Keep everyone outside the response informed, on time, "
                "so the responders are left alone to work.", tuple(read), facts, table if rows else (),
                tuple(examples), tuple(checks))


def _escalation(c: _PathContext) -> Step:
    """Escalation."""
    kb, policy, shareable, severities, top = c.kb, c.kb.policy, c.shareable, c.severities, c.top
    esc = policy.section("escalation", {}) or {}
    read = _policy_link(kb, "Escalation by severity", "escalation", "By severity")
    if esc.get("by_tier"):
        read += _policy_link(kb, "Escalation by service tier", "escalation", "By service tier")
    read += _policy_link(kb, "Vendors and third parties", "escalation", "Vendors and third parties")
    read.append(Link("Services", "services/index.md", note="each service's tier, owner and escalation contact"))
    rows = tuple((s["id"], _duration(s.get("escalate_after")) or "—", " → ".join(s.get("escalation") or []) or "—")
                 for s in severities)
    table = (("Severity", "Escalate after no progress for", "Escalation path"), rows)
    facts = []
    for tier in esc.get("by_tier") or []:
        count = sum(1 for s in kb.services if s.tier == tier["tier"])
        facts.append(f"Tier {tier['tier']} ({count} services): {tier['response']}"
                     + (f" Path: {' → '.join(tier['path'])}." if tier.get("path") else ""))
    vendor_ids = {v.id for v in kb.vendors}
    vendor_case = next((i for i in shareable if vendor_ids.intersection(i.services)), None)
    examples = [_incident_link(vendor_case, "escalating to a vendor")] if vendor_case else []
    checks = []
    if top and top.get("escalate_after") and top.get("escalation"):
        checks.append(Check(f"A {top['id']} has made no progress. When do you escalate, and to whom first?",
                            f"After {top['escalate_after']} without progress, to {top['escalation'][0]}"
                            + (f", then {_join(top['escalation'][1:], 'then')}." if len(top["escalation"]) > 1 else ".")))
    tier_one = next((t for t in esc.get("by_tier") or [] if t["tier"] == 1 and t.get("path")), None)
    if tier_one:
        checks.append(Check("Who is first on the escalation path of a tier-1 service?", tier_one["path"][0] + "."))
    checks.append(Check("Is escalating a sign that you failed?",
                        "No. Escalate early; waking someone for nothing costs little, a slow response costs a lot."))
    return Step("escalation", "Escalation", "Know when to call for help, whom to call, and how to involve a "
                "vendor.", tuple(read), tuple(facts), table if rows else (), tuple(examples), tuple(checks))


def _postmortems(c: _PathContext) -> Step:
    """Post-mortems."""
    kb, policy, glossary, shareable, severities = c.kb, c.kb.policy, c.glossary, c.shareable, c.severities
    pm = policy.section("postmortems", {}) or {}
    read = _policy_link(kb, "Post-mortems and deadlines", "postmortems", note="why we write them, and by when")
    review = kb.policy.checklist(pm.get("review_checklist") or "postmortem-review")
    if review:
        read += _policy_link(kb, review["name"], "checklists", review["name"])
    read.append(Link("Open action items", "action-items/index.md", note="what past post-mortems asked for"))
    sections = postmortem_sections()
    facts = []
    if sections:
        facts.append("A post-mortem tells the story in these sections: " + _join(sections) + ".")
    required = [s for s in severities if s.get("postmortem_required")]
    for s in required:
        facts.append(f"A {s['id']} needs a post-mortem reviewed within {s.get('postmortem_due') or 'the policy deadline'}"
                     " of resolution.")
    for rule in (policy.section("action_items", {}) or {}).get("due_within") or []:
        facts.append(f"A {rule['priority']}-priority action item is due within {rule['within']} of resolution.")
    reviewed = next((i for i in shareable if i.postmortem and i.postmortem["status"] == "reviewed"
                     and all(f"## {name}" in i.body for name in sections[:3])), None)
    examples = [_incident_link(reviewed, "a reviewed post-mortem with every section")] if reviewed else []
    checks = []
    if required:
        first = required[0]
        checks.append(Check(f"By when must the post-mortem of a {first['id']} be reviewed?",
                            f"Within {first.get('postmortem_due') or 'the deadline'} of resolution."))
    optional = [s for s in severities if not s.get("postmortem_required")]
    if optional:
        checks.append(Check(f"Is a post-mortem required for a {optional[0]['id']}?",
                            "No, it is optional; write one when there is something to learn (a near-miss often has)."))
    blameless = glossary.get("Blameless")
    if blameless:
        checks.append(Check("What does “blameless” mean in a post-mortem?", blameless.definition,
                            Link("Glossary: blameless", GLOSSARY, blameless.anchor)))
    if len(sections) > 4:
        checks.append(Check("Which section says what nearly went worse?", sections[-2] + "."))
    return Step("postmortems", "Post-mortems", "Write and review a blameless post-mortem, and turn it into "
                "action items that get done.", tuple(read), tuple(facts), (), tuple(examples), tuple(checks))


def _runbooks(c: _PathContext) -> Step:
    """Reading a runbook."""
    kb, policy, shareable = c.kb, c.kb.policy, c.shareable
    shown_runbooks = [rb for rb in kb.runbooks if visibility_of(rb, kb) != "restricted"]
    used: dict[str, int] = {}
    for incident in shareable:
        for runbook_id in incident.runbooks:
            used[runbook_id] = used.get(runbook_id, 0) + 1
    favourite = max(shown_runbooks, key=lambda rb: (used.get(rb.id, 0), rb.id), default=None)
    read = [Link("Runbooks by service", "runbooks/index.md")]
    new_runbook = kb.policy.checklist("new-runbook")
    if new_runbook:
        read += _policy_link(kb, new_runbook["name"], "checklists", new_runbook["name"])
    facts = ["Every runbook has the sections " + _join(RUNBOOK_SECTIONS) + ", in that order.",
             f"Runbooks are reviewed every {policy.runbook_review_every} unless they set their own interval; "
             "an overdue one shows a banner at the top."]
    with_alerts = sum(1 for rb in shown_runbooks if rb.alerts)
    if shown_runbooks:
        facts.append(f"{len(shown_runbooks)} runbooks cover {len({s for rb in shown_runbooks for s in rb.services})} "
                     f"services; {with_alerts} of them answer named alerts, so the alert links straight to them.")
    examples = []
    if favourite:
        examples.append(Link(favourite.title, favourite.path, note=f"used in {used.get(favourite.id, 0)} incidents"))
        user = next((i for i in shareable if favourite.id in i.runbooks), None)
        if user:
            examples.append(_incident_link(user, "an incident where it was used"))
    checks = [Check("In which section is the safest first action?", f"{RUNBOOK_SECTIONS[3]}: the safest "
                    "mitigation comes first, with how to check it worked."),
              Check("The runbook does not match what you see. What do you do?",
                    "Say so in the incident channel, tell the commander, continue with care, and make fixing the "
                    "runbook an action item."),
              Check("What does a review banner on a runbook mean?",
                    f"Nobody has checked it against reality within {policy.runbook_review_every}: read it with "
                    "extra care.")]
    return Step("runbooks", "Reading a runbook", "Find the right runbook from an alert or a symptom, and "
                "use it without following it blindly.", tuple(read), tuple(facts), (), tuple(examples),
                tuple(checks))


def _tools(c: _PathContext) -> Step:
    """Tools."""
    read = [Link("Glossary", GLOSSARY, note="every term on this site, explained"),
            Link("Incidents by severity", "incidents/index.md", note="and by year, service and tag"),
            Link("Tabletop drills", DRILLS, note="practise on our own past incidents"),
            Link("Field reference", "reference/fields.md", note="every field of an incident record")]
    facts = tuple(f"{command}: {what}." for command, what in TOOLS)
    checks = [Check("How do you check a new post-mortem before you open a pull request?", "Run kb check; it names "
                    "the file, line and field of every problem, with a hint."),
              Check("How do you practise on a past incident?", "Open a drill from the drills page, or run "
                    "kb drill ID to make one for any incident.", Link("Tabletop drills", DRILLS)),
              Check("A term on a page is underlined with dots. What does that mean?",
                    "It is in the glossary: hover over it (or tap it) to read what it means.")]
    return Step("tools", "Tools", "Use the site and the kb command to find, write and practise.",
                tuple(read), facts, (), (), tuple(checks))


STEPS = (_what_is_an_incident, _severity, _roles, _first_15_minutes, _communication, _escalation, _postmortems,
         _runbooks, _tools)


def commander_card(kb: KnowledgeBase) -> dict:
    """What the printable card shows: the commander checklist and the facts of the top two severities."""
    policy = kb.policy
    card = kb.policy.checklist("commander")
    clocks = [c for c in policy.section("regulatory_clocks", []) or []
              if (c.get("applies_when") or {}).get("personal_data")]
    first_clock = min(clocks, key=lambda c: (_hours(c["deadline"]), c["id"]), default=None)
    return {"checklist": card, "severities": policy.severities[:2], "clock": first_clock}


_HOURS = {"minutes": 1 / 60, "hours": 1, "days": 24, "business_days": 24 * 7 / 5, "weeks": 168, "months": 730,
          "years": 8760}


def _hours(duration) -> float:
    return duration.amount * _HOURS.get(duration.unit, 0) if duration else float("inf")


