"""Tabletop drills from past incidents: an incident record becomes an exercise a facilitator can run.

A drill has five parts:

- the scenario, as the responders first saw it: the moment of detection, how
  it reached them (method, alert, source), where it showed, what they saw up to
  the acknowledgement, and symptoms, with no spoilers (see below);
- steps: the rest of the timeline, revealed one group at a time, each with the
  question a facilitator asks before revealing it ("what would you check
  next?", "who do you tell?"), chosen by what the revealed entries are about;
- facilitator notes: what actually happened, the causes, the response times,
  and what happened before anyone knew;
- the runbooks that applied;
- debrief questions from the post-mortem ("What went wrong", "Where we got
  lucky", "Lessons learned") and from the action items that are still open.

The no-spoiler rule. The scenario is built only from what existed at the
moment of acknowledgement: the detection fields, the alert's own runbook, and
the timeline entries from detection to acknowledgement, clause by clause
(split at ";"). Entries before detection are never shown (they are usually the
cause, seen in hindsight). A clause or sentence is withheld, and revealed in a
later step instead, when it is not about noticing the problem, or when it
contains a word of the causes (root causes, contributing factors, trigger, the
"Root cause" section), a fix word (rolled back, restarted, hotfix, because...),
a clock time after the acknowledgement, a duration, or hindsight (totals,
estimates, refunds). The severity is withheld too: choosing it is the first
decision. Responders' names become their roles.

A record with a thin timeline (no entries after detection, no detection, no
post-mortem narrative) still makes a usable drill: the missing steps are
generic ones that practise the policy, and a note tells the facilitator so.

Nothing here imports MkDocs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from . import urls
from .audience import visibility_of
from .model import Incident, KnowledgeBase, Runbook
from .render import RAW_BLOCK, GeneratedPage, fmt_since

MAX_SITE_DRILLS = 50  # drill pages on the site; `kb drill ID` makes one for any other incident
MIN_TIMELINE = 3  # entries an incident needs to get a drill page on the site
MAX_STEPS = 6
MIN_STEPS = 3

# ------------------------------------------------------------------ vocabulary

_STOP = frozenset("""
about above after again against all also although among another any are around because been before being below
between both but can cannot could did does doing down during each either every few for from further had has have
having her here hers him his how into its itself just least less many may might more most much must near neither
never nor not now off once one only other our ours out over own per same several shall she should since some such
than that the their theirs them then there these they this those though three through thus too two under until upon
very was were what when where whether which while who whom whose why will with within without would yet you your
first second last next new old made make makes making used uses using use set sets still even only already instead
time times minute minutes hour hours day days week weeks month months year years customer customers service services
user users team teams people our we us it its system systems every about high higher low lower lot lots part
acknowledge acknowledged acknowledges alert alerts fires fired page paged pages on-call incident incidents
responder responders commander
""".split())

_FIX = re.compile(
    r"\b(?:roll(?:ed|ing|s)?[ -]?back|revert\w*|hot-?fix\w*|fix(?:ed|es|ing)?|restart\w*|restor\w*|resolv\w*|"
    r"mitigat\w*|recover\w*|fail(?:ed|ing|s)?[ -]?over|promot\w*|because|caus(?:e|ed|es|ing)|due to|workaround\w*|"
    r"patch\w*|disabl\w*|re-?enabl\w*|republish\w*|replac\w*|ended|stopp?ed|turn(?:ed|ing)? (?:on|off)|"
    r"scal(?:ed|ing) (?:up|down|back|out|in|from)|made (?:it|things) worse|root cause|the cause)\b", re.IGNORECASE)
_HINDSIGHT = re.compile(
    r"\b(?:estimat\w*|lost|loss|losses|in total|total|overall|later|afterwards|turned out|eventually|finally|"
    r"refund\w*|were affected|was affected|at least one|so far|no data was lost|we|until|EUR|USD|GBP)\b|[€$£]|"
    r"\b\d{1,3}(?:,\d{3})+\b|\b\d+ (?:customers|orders|users|parcels|labels|e-mails|items|accounts)\b", re.IGNORECASE)
_SPAN = re.compile(r"\b(?:\d+(?:[.,]\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|"
                   r"thirty|forty|fifty|sixty|ninety|several|few|many)\s*(?:minutes?|mins?|hours?|hrs?|h|days?|weeks?)\b",
                   re.IGNORECASE)
_CLOCK = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
_SEEN = re.compile(
    r"\b(?:fires?|fired|firing|alerts?|alerted|page[sd]?|paging|acknowledg\w*|reports?|reported|raises?|raised|"
    r"notic\w*|complain\w*|complaints?|tickets?|e-?mails?|posts?|posted|escalates?|arrives?|calls?|called|"
    r"takes the incident|opens? the incident)\b", re.IGNORECASE)
_ALERT_NAME = re.compile(r"\b[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*){2,}\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['-][A-Za-z0-9]+)*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])")


def _stem(word: str) -> str:
    word = word.lower()
    return word[:6] if len(word) > 6 else word


def _terms(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text or "") if len(w) >= 4 and w.lower() not in _STOP}


def _camel_words(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name or "")


def body_sections(body: str) -> dict[str, str]:
    """The body's `##` sections by lower-case heading (outside code fences)."""
    sections: dict[str, list[str]] = {}
    current = None
    fence = None
    for line in (body or "").split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fence = None if fence and stripped.startswith(fence) else (fence or stripped[:3])
        if fence is None:
            match = re.match(r"^#{2,3}\s+(.+?)\s*#*\s*$", line)
            if match:
                current = match.group(1).strip().lower()
                sections.setdefault(current, [])
                continue
        if current is not None:
            sections[current].append(line)
    return {name: "\n".join(lines).strip() for name, lines in sections.items()}


def _plain(text: str) -> str:
    """Markdown inline syntax removed: what a facilitator reads aloud."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__|`+)", "", text)
    return " ".join(text.split())


def section_items(text: str) -> list[str]:
    """Bullets of a section, or its sentences when it has none (code blocks skipped)."""
    text = re.sub(r"^(```|~~~).*?^\1\s*$", "", text or "", flags=re.MULTILINE | re.DOTALL)
    bullets = re.split(r"^\s{0,3}(?:[-*+]|\d+[.)])\s+", text, flags=re.MULTILINE)
    if len(bullets) > 1:
        return [_plain(b) for b in bullets[1:] if _plain(b)]
    return [_plain(s) for s in _SENTENCE.split(" ".join(text.split())) if _plain(s)]


def _section(sections: dict[str, str], *names: str) -> str:
    for name in names:
        for heading, text in sections.items():
            if heading.startswith(name):
                return text
    return ""


class Spoilers:
    """Decides whether a piece of text gives away what the responders did not know yet."""

    def __init__(self, incident: Incident, allowed_text: str, until: datetime | None, severities=()):
        sources = [c["description"] for c in incident.root_causes + incident.contributing_factors]
        sources += [incident.trigger or "", _section(body_sections(incident.body), "root cause")]
        self.terms = _terms(" ".join(sources)) - _terms(allowed_text)
        self.until = until
        ids = sorted({*severities, incident.severity}, key=lambda x: (-len(x), x))
        self.severity = re.compile(r"\b(?:" + "|".join(re.escape(i) for i in ids) + r")\b", re.IGNORECASE)

    def reasons(self, text: str) -> list[str]:
        found = []
        words = sorted(_terms(text) & self.terms)
        if words:
            found.append("cause words: " + ", ".join(words))
        if _FIX.search(text):
            found.append("fix words")
        if self.severity.search(text):
            found.append("the severity")
        if _HINDSIGHT.search(text):
            found.append("hindsight")
        if _SPAN.search(text):
            found.append("a duration")
        if self.until is not None:
            limit = self.until.hour * 60 + self.until.minute
            if any(int(h) * 60 + int(m) > limit for h, m in _CLOCK.findall(text)):
                found.append("a later time")
        return found

    def spoils(self, text: str) -> bool:
        return bool(self.reasons(text))


# ------------------------------------------------------------------ the drill

@dataclass(frozen=True)
class Reveal:
    at: datetime | None
    offset: str  # e.g. "T+9 min", relative to the scenario's moment
    text: str


@dataclass(frozen=True)
class DrillStep:
    number: int
    topic: str
    question: str
    reveals: tuple[Reveal, ...]
    look_for: tuple[str, ...] = ()
    generic: bool = False  # not based on the record: the record says nothing about this point

    @property
    def offset(self) -> str:
        return self.reveals[0].offset if self.reveals else ""


@dataclass(frozen=True)
class Debrief:
    question: str
    source: str  # what it was drawn from, for the facilitator


@dataclass
class Drill:
    incident: Incident
    headline: str
    moment: datetime | None
    detection: dict | None
    shown_services: list  # catalog entries (or ids when not in the catalog)
    seen: list[Reveal]
    symptoms: list[str]
    alert_runbooks: list[Runbook]
    opening_question: str
    steps: list[DrillStep]
    before: list[Reveal]  # what happened before anyone knew
    runbooks: list[Runbook]
    debrief: list[Debrief]
    notes: list[str] = field(default_factory=list)  # to the facilitator: what is thin about this record
    withheld: list[str] = field(default_factory=list)  # scenario clauses moved into the steps, and why

    @property
    def path(self) -> str:
        return drill_path(self.incident)

    @property
    def when(self) -> str:
        """The scenario's moment as a person says it, with the offset it was recorded in."""
        if self.moment is None:
            return ""
        offset = self.moment.strftime("%z")
        zone = "UTC" if offset in ("+0000", "-0000", "") else f"UTC{offset[:3]}:{offset[3:]}"
        return f"{self.moment:%A} {self.moment.day} {self.moment:%B %Y, %H:%M} ({zone})"

    @property
    def reaches_you(self) -> str:
        """How the problem reached the responders, in words."""
        detection = self.detection or {}
        source = f" ({detection['source']})" if detection.get("source") else ""
        if detection.get("alert"):
            return f"The alert {detection['alert']} fires{source}."
        method = {"alert": "An alert fires", "customer-report": "Customers report a problem",
                  "staff": "A colleague reports a problem", "vendor": "A vendor tells us about a problem",
                  "automated-check": "An automated check fails", "other": "Someone reports a problem"}
        if detection.get("method"):
            return method.get(detection["method"], "Someone reports a problem") + source + "."
        return "Impact has begun; the record does not say how it was noticed."

    def scenario_text(self) -> str:
        """Everything the participants see before the first step, as plain text (for the no-spoiler tests)."""
        parts = [self.headline, self.when, self.reaches_you, self.opening_question, *(r.text for r in self.seen),
                 *self.symptoms,
                 *(getattr(s, "name", s) for s in self.shown_services), *(rb.title for rb in self.alert_runbooks)]
        return "\n".join(parts)


def drill_path(incident: Incident) -> str:
    return f"drills/{incident.id}.md"


_PART_OF_DAY = ((5, "night"), (12, "morning"), (18, "afternoon"), (22, "evening"), (24, "night"))


def _part_of_day(moment: datetime) -> str:
    return next(name for limit, name in _PART_OF_DAY if moment.hour < limit)


def _offset(at: datetime | None, moment: datetime | None) -> str:
    if at is None or moment is None:
        return ""
    return "T" + fmt_since(at, moment)


class _Names:
    """Responders' names → their roles: a drill practises roles, not people (and stays blameless)."""

    def __init__(self, incident: Incident):
        roles = incident.roles or {}
        pairs = []
        for key, label in (("commander", "the incident commander"), ("communications_lead", "the communications lead"),
                           ("scribe", "the scribe")):
            if roles.get(key):
                pairs.append((roles[key], label))
        for index, name in enumerate(roles.get("responders") or []):
            pairs.append((name, f"responder {chr(65 + index) if index < 26 else index + 1}"))
        pairs = [(name, label) for name, label in pairs if name and name.strip()]
        pairs.sort(key=lambda p: -len(p[0]))  # "Ana Lima-Souza" before "Ana Lima"
        self.pattern = re.compile(r"\b(?:" + "|".join(re.escape(n) for n, _ in pairs) + r")\b") if pairs else None
        self.labels = dict(pairs)

    def __call__(self, text: str) -> str:
        if self.pattern is None:
            return text
        replaced = self.pattern.sub(lambda m: self.labels[m.group(0)], text)
        for label in ("incident commander", "communications lead", "scribe"):
            # "Mira Okafor incident commander" or "Mira Okafor (commander)" would say the role twice.
            replaced = re.sub(rf"\bthe {label},? \(?(?:{label}|{label.split()[-1]})\)?", f"the {label}", replaced)
        if replaced != text and self.pattern.match(text):
            replaced = replaced[:1].upper() + replaced[1:]
        return replaced


def _entry_clauses(event: str) -> list[str]:
    return [c.strip() for c in re.split(r";\s+", event) if c.strip()]


# ------------------------------------------------------------------ topics and questions

# What the revealed entries are about. The topic whose cue comes first in the text names the step
# ("Kubectl describe shows renewals failing" is diagnosis, not mitigation); ties go to the earlier topic here.
_TOPICS = (
    ("declare", r"\bdeclar\w*|\bas SEV\s?\d|\b(?:raised|lowered|downgraded|upgraded) to SEV\s?\d"),
    ("rollback", r"roll(?:ed|s|ing)? ?back|\brollback|revert\w*|downgrad\w*|scaled back|rollout undo|\bundo\w*"),
    ("vendor", r"\bvendors?\b|support case|\bP1 case\b|integration desk|account manager|their status page"),
    ("detection", r"\bfires\b|\bfired\b|\bfollows\b|\balerts? (?:fire|follow)"),
    ("roles", r"acknowledg\w*|takes command|hand(?:s|ed)? over|handover|takes the incident|\bcommander\b"),
    ("escalation", r"escalat\w*|\bpaged\b|\bpaging\b|\bpages (?:the|again|in)\b|called in|calls in|brought in|"
                   r"pull(?:s|ed)? in|wak\w+ up|\bjoins?\b|\bjoined\b"),
    ("communication", r"status page|customer care (?:is |was )?(?:informed|briefed|told)|announce\w*|\binform\w*|"
                      r"\bupdates? (?:sent|posted|published)|executive|stakeholder|\bcomms\b|notif\w*|all-clear|"
                      r"\bbanner\b|\bFAQ\b|e-?mail to|message to customers|point customers"),
    ("mitigation", r"restart\w*|\bscal(?:ed|es|ing)\b|failover|failed over|promot\w*|\bflag\b|disabl\w*|throttl\w*|"
                   r"rate-limit\w*|\bdrain\w*|cordon\w*|\bblock(?:ed|ing)?\b|purg\w*|redirect\w*|rerout\w*|"
                   r"switch\w*|steer\w*|increas\w*|\braised\b|lowered|reduced|\bset (?:to|\w+ to)|hot-?fix\w*|"
                   r"patch\w*|deploy\w*|canar\w*|rolled out|rollout|\bshed\w*|paus\w*|republish\w*|renew\w*|"
                   r"\bissu(?:e|ed|es)\b|reload\w*|install\w*|copied|applied|\bgrown\b|resum\w*|\bmoved?\b|"
                   r"manual bookings|deleted|deletion|expanded|\badded\b|skipped|stopped"),
    ("resolution", r"resolv\w*|back to normal|all clear|incident closed|recover(?:ed|s|y)\b|caught up"),
    ("diagnosis", r"\bfinds?\b|found|\bshows?\b|showed|\blogs?\b|notic\w*|identif\w*|\btrac(?:es?|ed|ing)\b|"
                  r"confirm\w*|suspect\w*|"
                  r"investigat\w*|reports?|discover\w*|\bsees?\b|spott\w*|realis\w*|realiz\w*|dashboard|graph|"
                  r"quer\w+|\bcheck(?:s|ed|ing)?\b|describe|compar\w*|ping\b|curl\b"),
)
_TOPIC_RE = [(topic, re.compile(pattern, re.IGNORECASE)) for topic, pattern in _TOPICS]
_DECLARE = dict(_TOPIC_RE)["declare"]
_RESOLUTION = dict(_TOPIC_RE)["resolution"]
_LAST = re.compile(_RESOLUTION.pattern + r"|\bcomplete[ds]?\b|\bnormal\b|\bstable\b", re.IGNORECASE)

QUESTIONS = {
    "declare": ("What severity do you declare, and who has to be paged and told at that level?",),
    "vendor": ("The trail leads outside our walls. How do you reach the vendor, and what do you do on our side "
               "while you wait?",
               "What do you ask the vendor for now, and what do you do on our side in the meantime?",
               "What do you need to see before you trust the vendor's fix?"),
    "rollback": ("Do you roll back or fix forward? What do you need to know to decide, and who decides?",),
    "escalation": ("Do you have the people you need? Who do you call in or escalate to, and what do you tell them?",
                   "It is taking longer than hoped. Is it time to escalate, and to whom?"),
    "communication": ("Who do you tell, and what do you say? When is the next update due?",
                      "What does the next update say, and who needs it?"),
    "mitigation": ("What would you do now to stop the customer impact? What could make it worse?",
                   "Is the mitigation working? What would you check before the next move?",
                   "What is your next move, and how will you know it worked?"),
    "resolution": ("How do you know it is over? What has to happen before you call it resolved, and who owns the "
                   "post-mortem?",),
    "diagnosis": ("What would you check next, and where would you look?",
                  "What does this rule in or out? What would you check now?",
                  "Where would you look next?"),
    "roles": ("Who is the incident commander now, and which roles do you hand out first?",),
    "detection": ("Another signal arrives. What does it tell you, and what would you check next?",),
}
GENERIC_TOPICS = ("declare", "diagnosis", "communication", "mitigation", "resolution")
OPENING_QUESTION = "You are on call and this has just reached you. What do you do in the next five minutes?"


def classify(text: str, vendors: tuple[str, ...] = (), last: bool = False) -> str:
    """The topic of a step from the text it reveals. Declaring the severity always names the step (it is
    the first decision); the last step is about resolution when it says so."""
    if _DECLARE.search(text):
        return "declare"
    if last and _LAST.search(text):
        return "resolution"
    best = (len(text) + 1, len(_TOPIC_RE), "diagnosis")
    for priority, (topic, pattern) in enumerate(_TOPIC_RE):
        match = pattern.search(text)
        if match and (match.start(), priority) < best[:2]:
            best = (match.start(), priority, topic)
    alert = _ALERT_NAME.search(text)
    if alert and alert.start() < best[0]:
        best = (alert.start(), -1, "detection")
    if best[2] == "rollback" and not re.search(r"\btheir\b", text, re.IGNORECASE):
        return "rollback"  # our own rollback, even when a vendor is mentioned
    for name in vendors:  # a vendor named in the step makes it a vendor step, whatever they did
        if re.search(r"\b" + re.escape(name) + r"\b", text, re.IGNORECASE):
            return "vendor"
    return best[2]


Entry = tuple[datetime, str, str]  # (at, text, topic)


def group_entries(entries: list[Entry], limit: int = MAX_STEPS) -> list[list[Entry]]:
    """(at, text, topic) entries into at most `limit` steps, in time order. Neighbours about the same topic
    are merged first, then those closest in time (the earliest pair on a tie), so each step keeps one decision."""
    groups = [[e] for e in entries]
    while len(groups) > limit:
        def cost(i: int):
            left, right = groups[i], groups[i + 1]
            same = left[-1][2] == right[0][2]
            return (not same, right[0][0] - left[-1][0], i)

        i = min(range(len(groups) - 1), key=cost)
        groups[i:i + 2] = [groups[i] + groups[i + 1]]
    return groups


# ------------------------------------------------------------------ building a drill

def _shown_services(incident: Incident, kb: KnowledgeBase) -> list:
    """Where the problem shows first: the first service the record lists (by convention the one that
    hurt), never a vendor unless only vendors are listed. The others may be part of the answer."""
    own = [s for s in incident.services if s not in kb.vendor_by_id]
    ids = (own or incident.services)[:1]
    return [kb.service_by_id.get(i) or kb.vendor_by_id.get(i) or i for i in ids]


def _checklist_items(kb: KnowledgeBase, checklist_id: str, pattern: str) -> list[str]:
    checklist = kb.policy.checklist(checklist_id)
    if not checklist:
        return []
    return [item for item in checklist["items"] if re.search(pattern, item, re.IGNORECASE)]


def look_for(topic: str, incident: Incident, kb: KnowledgeBase, runbooks: list[Runbook]) -> tuple[str, ...]:
    """What a good answer mentions, from the policy (so the drill teaches the current policy)."""
    severity = kb.policy.severity_by_id.get(incident.severity) or {}
    sev = incident.severity
    out: list[str] = []

    def fact(label: str, key: str) -> str:
        value = severity.get(key)
        if isinstance(value, list):
            value = ", ".join(value)
        return f"{label} {value}" if value else ""

    if topic in ("declare", "roles"):
        facts = [f for f in (fact("page", "page"), fact("tell", "notify"), fact("updates every", "update_every")) if f]
        if facts:
            out.append(f"Policy for {sev}: " + "; ".join(facts) + ".")
        out += _checklist_items(kb, "commander", r"communications lead|scribe" if topic == "roles" else r"severity")[:1]
    elif topic == "communication":
        facts = [f for f in (fact("updates every", "update_every"), fact("tell", "notify")) if f]
        if facts:
            out.append(f"Policy for {sev}: " + "; ".join(facts) + ".")
        out += _checklist_items(kb, "communications", r"first|status page")[:2]
    elif topic == "escalation":
        if severity.get("escalate_after") and severity.get("escalation"):
            out.append(f"Policy for {sev}: escalate after {severity['escalate_after']} without progress: "
                       + " → ".join(severity["escalation"]) + ".")
        tiers = {t["tier"]: t for t in (kb.policy.section("escalation", {}) or {}).get("by_tier") or []}
        service = kb.service_by_id.get(incident.services[0]) if incident.services else None
        if service and service.tier in tiers and tiers[service.tier].get("path"):
            out.append(f"{service.name} is tier {service.tier}: " + " → ".join(tiers[service.tier]["path"]) + ".")
    elif topic == "vendor":
        for vendor_id in incident.services:
            vendor = kb.vendor_by_id.get(vendor_id)
            if vendor:
                out.append(f"{vendor.name}: support via {vendor.support}"
                           + (f"; escalation: {vendor.escalation}" if vendor.escalation else "") + ".")
        text = (kb.policy.section("escalation", {}) or {}).get("vendors")
        if text:
            out.append(_SENTENCE.split(" ".join(text.split()))[0])
    elif topic in ("mitigation", "rollback"):
        out += _checklist_items(kb, "commander", r"mitigation\b|roll")
        out += [f"Runbook “{rb.title}”: its Mitigation section." for rb in runbooks[:2]]
    elif topic == "diagnosis":
        out += _checklist_items(kb, "commander", r"what changed")
        out += [f"Runbook “{rb.title}”: its Diagnosis section." for rb in runbooks[:2]]
    elif topic == "resolution":
        out += _checklist_items(kb, "commander", r"resolved|post-mortem")
        if severity.get("postmortem_required"):
            due = severity.get("postmortem_due") or "the deadline"
            out.append(f"A {sev} post-mortem is required, reviewed within {due}"
                       " of resolution.")
    return tuple(dict.fromkeys(o for o in out if o))


def _debrief(incident: Incident, names: _Names) -> tuple[list[Debrief], bool]:
    sections = body_sections(incident.body)
    out: list[Debrief] = []
    for item in section_items(_section(sections, "what went wrong"))[:3]:
        out.append(Debrief(f"What went wrong: “{names(item)}” Would it go the same way today? What would stop it?",
                           "What went wrong"))
    for item in section_items(_section(sections, "where we got lucky"))[:1]:
        out.append(Debrief(f"We got lucky: “{names(item)}” What would we have done if luck had run out?",
                           "Where we got lucky"))
    lessons = [i for i in section_items(_section(sections, "lessons learned", "lessons"))
               if len(i.split()) >= 4 and not re.search(r"\bAI-\d|^We\b", i)]  # lessons, not the actions taken
    for item in lessons[:2]:
        out.append(Debrief(f"The post-mortem's lesson: “{names(item)}” Where else could the same thing happen to us?",
                           "Lessons learned"))
    from_narrative = bool(out)
    if not from_narrative:
        for cause in incident.contributing_factors[:2]:
            out.append(Debrief(f"A contributing factor: “{names(_plain(cause['description']))}” How could the response "
                               "have noticed it sooner?", "contributing factors"))
    for item in incident.open_action_items[:2]:
        who = ", ".join(x for x in (f"owner {item['owner']}" if item["owner"] else "",
                                    f"due {item['due'].isoformat()}" if item["due"] else "") if x)
        out.append(Debrief(f"{item['id']} “{item['title']}” is still {item['status']}" + (f" ({who})" if who else "")
                           + ". Until it is done, what would we do if this happened again tomorrow?",
                           "open action items"))
    generic = [Debrief("What would have let us detect this sooner?", "generic"),
               Debrief("Which runbook did you wish you had at the start, and what should it say?", "generic"),
               Debrief("What went well that we should keep doing?", "generic")]
    for question in generic:
        if len(out) >= 3:
            break
        out.append(question)
    return out[:8], from_narrative


def build_drill(incident: Incident, kb: KnowledgeBase) -> Drill:
    """The exercise for one incident (restricted ones included: callers decide who may see it)."""
    names = _Names(incident)
    detection = incident.detection
    alert = (detection or {}).get("alert")
    timeline = sorted(enumerate(incident.timeline), key=lambda p: (p[1]["at"], p[0]))
    entries = [(e["at"], e["event"]) for _, e in timeline]
    moment = incident.detected_at or incident.started_at
    end = incident.acknowledged_at if incident.acknowledged_at and incident.acknowledged_at >= moment else moment
    alert_runbooks = [rb for rb in kb.runbooks if alert and alert in (rb.alerts or [])]
    shown = _shown_services(incident, kb)
    allowed = " ".join([_camel_words(alert or ""), (detection or {}).get("source") or "",
                        *(f"{getattr(s, 'id', s)} {getattr(s, 'name', '')}" for s in shown)])
    spoilers = Spoilers(incident, allowed, end, kb.policy.severity_ids)

    before = [Reveal(at, _offset(at, moment), names(text)) for at, text in entries if at < moment]
    seen: list[Reveal] = []
    later: list[tuple[datetime, str]] = []
    withheld: list[str] = []
    for at, text in entries:
        if at < moment:
            continue
        if at > end:
            later.append((at, text))
            continue
        kept, moved = [], []
        for clause in _entry_clauses(text):
            reasons = spoilers.reasons(clause)
            if (alert and alert in clause) or _ALERT_NAME.search(clause):
                # An alert is what responders saw, whatever words it uses; only a later time or a fix withholds it.
                reasons = [r for r in reasons if r in ("a later time", "fix words", "the severity")]
                about_noticing = True
            else:
                about_noticing = _SEEN.search(clause)
            if about_noticing and not reasons:
                kept.append(clause)
            else:
                moved.append(clause)
                withheld.append(f"“{names(clause)}”: " + ("; ".join(reasons) or "not about noticing the problem"))
        if kept:
            seen.append(Reveal(at, _offset(at, moment), names("; ".join(kept))))
        if moved:
            later.append((at, "; ".join(moved)))
    later.sort(key=lambda e: e[0])

    symptoms: list[str] = []
    for text in ((incident.impact or {}).get("description") or "", incident.summary or ""):
        for sentence in _SENTENCE.split(" ".join(text.split())):
            if (len(sentence.split()) >= 4 and not spoilers.spoils(sentence) and names(sentence) not in symptoms
                    and len(symptoms) < 2):
                symptoms.append(names(sentence))

    kb_runbooks = [kb.runbook_by_id[r] for r in incident.runbooks if r in kb.runbook_by_id]
    runbooks = kb_runbooks + [rb for rb in alert_runbooks if rb not in kb_runbooks]

    vendors = tuple(sorted({n for v in incident.services if v in kb.vendor_by_id
                            for n in (v, kb.vendor_by_id[v].name)}, key=lambda n: (-len(n), n)))
    steps: list[DrillStep] = []
    groups = group_entries([(at, text, classify(text, vendors)) for at, text in later])
    counts: dict[str, int] = {}
    for index, group in enumerate(groups):
        text = " ".join(t for _, t, _ in group)
        topic = group[0][2] if len(group) > 1 else classify(text, vendors, last=index == len(groups) - 1)
        if index == len(groups) - 1 and _LAST.search(text) and topic != "declare":
            topic = "resolution"
        variants = QUESTIONS[topic]
        question = variants[counts.get(topic, 0) % len(variants)]
        counts[topic] = counts.get(topic, 0) + 1
        steps.append(DrillStep(index + 1, topic, question,
                               tuple(Reveal(at, _offset(at, moment), names(t)) for at, t, _ in group),
                               look_for(topic, incident, kb, kb_runbooks or alert_runbooks)))
    notes: list[str] = []
    if len(steps) < MIN_STEPS:
        covered = {s.topic for s in steps}
        extra = [t for t in GENERIC_TOPICS if t not in covered][: MIN_STEPS - len(steps)]
        for topic in extra:
            position = 0 if topic == "declare" else len(steps)
            steps.insert(position, DrillStep(0, topic, QUESTIONS[topic][0], (),
                                             look_for(topic, incident, kb, kb_runbooks or alert_runbooks), True))
        steps = [DrillStep(n, s.topic, s.question, s.reveals, s.look_for, s.generic) for n, s in enumerate(steps, 1)]
        count = len(incident.timeline)
        notes.append(f"The record's timeline has {count} entr{'y' if count == 1 else 'ies'}"
                     f", {len(later)} of them after the acknowledgement: steps marked “generic” are not based on what "
                     "happened. Use them to practise the policy, and ask the responders to fill in the timeline.")
    if not detection:
        notes.append("The record does not say how the incident was detected: the scenario starts when impact began. "
                     "Decide with the group how they would have found out.")
    debrief, from_narrative = _debrief(incident, names)
    if not from_narrative:
        notes.append("There is no post-mortem narrative (What went wrong, Where we got lucky, Lessons learned): "
                     "the debrief questions come from the record's fields or are generic.")

    when = f"a {moment:%A} {_part_of_day(moment)}"
    if alert:
        headline = f"{alert} on {when}"
    else:
        where = ", ".join(getattr(s, "name", str(s)) for s in shown) or "a service"
        method = {"customer-report": "Customers report trouble with", "staff": "A colleague reports trouble with",
                  "vendor": "A vendor reports trouble with", "automated-check": "An automated check fails for"}.get(
            (detection or {}).get("method"), "Something is wrong with")
        headline = f"{method} {where} on {when}"
    return Drill(incident, headline, moment, detection, shown, seen, symptoms, alert_runbooks, OPENING_QUESTION,
                 steps, before, runbooks, debrief, notes, withheld)


# ------------------------------------------------------------------ which incidents get a page

def is_restricted(incident: Incident, kb: KnowledgeBase) -> bool:
    return visibility_of(incident, kb) == "restricted"


def drill_score(incident: Incident, kb: KnowledgeBase) -> int:
    """How good a drill an incident makes: open action items first (practise what is not fixed yet),
    then severity, then how much the record tells."""
    rank = kb.policy.severity_ids.index(incident.severity) if incident.severity in kb.policy.severity_ids else 9
    narrative = _NARRATIVE.search(incident.body or "")  # cheaper than parsing every body: this runs on all incidents
    return (4 * len(incident.open_action_items) + 3 * max(0, 4 - rank) + min(len(incident.timeline), 10)
            + (2 if incident.detection else 0) + (2 if narrative else 0))


_NARRATIVE = re.compile(r"^#{2,3}\s+(?:what went wrong|lessons)", re.MULTILINE | re.IGNORECASE)


def eligible_incidents(kb: KnowledgeBase) -> list[Incident]:
    """The incidents that may get a drill page: never restricted ones, only those with a timeline worth revealing."""
    return [i for i in kb.incidents if not is_restricted(i, kb) and len(i.timeline) >= MIN_TIMELINE]


def site_candidates(kb: KnowledgeBase, limit: int = MAX_SITE_DRILLS,
                    eligible: list[Incident] | None = None) -> list[Incident]:
    """The incidents that get a drill page: the best `limit` of the eligible ones by score (newest first on a tie)."""
    ranked = sorted(eligible_incidents(kb) if eligible is None else eligible,
                    key=lambda i: (-drill_score(i, kb), -i.started_at.timestamp(), i.id))
    return ranked[:limit]


# ------------------------------------------------------------------ rendering

def render_drill(renderer, drill: Drill, page: str, link=None, standalone: bool = False) -> str:
    from .training import glossary_of

    def url(target) -> str:
        return link(target) if link else renderer.url(page, target)

    return renderer.env.get_template("drills/drill.md.j2").render(
        url=url, page=page, urls=urls, drill=drill, standalone=standalone,
        gloss=glossary_of(renderer.kb.policy).wrap_html,
        severity=renderer.kb.policy.severity_by_id.get(drill.incident.severity) or {})


def drill_pages(renderer) -> list[GeneratedPage]:
    """drills/index.md and one page per selected incident (see site_candidates)."""
    from .training import glossary_of

    kb = renderer.kb
    eligible = eligible_incidents(kb)
    drills = [build_drill(i, kb) for i in site_candidates(kb, eligible=eligible)]
    pages = [GeneratedPage(d.path, render_drill(renderer, d, d.path), d.incident.path, record=True) for d in drills]
    by_severity = {s: [d for d in drills if d.incident.severity == s] for s in kb.policy.severity_ids}
    by_service: dict[str, list[Drill]] = {}
    for d in drills:
        for service in d.incident.services:
            by_service.setdefault(service, []).append(d)
    services = sorted(by_service, key=lambda s: (-len(by_service[s]), s))
    index = renderer.render("drills/index.md.j2", "drills/index.md", drills=drills, by_severity=by_severity,
                            by_service=by_service, services=services, eligible=len(eligible), limit=MAX_SITE_DRILLS,
                            gloss=glossary_of(kb.policy).wrap_html)
    return [GeneratedPage("drills/index.md", index)] + pages


class DrillError(LookupError):
    """An incident that cannot become a drill; the message says why and what to do."""


def drill_markdown(kb: KnowledgeBase, incident_id: str, allow_restricted: bool = False, site_url: str = "") -> str:
    """The drill of one incident as standalone Markdown (for `kb drill`): links go to the published site
    when `site_url` is given, otherwise to the records' source files."""
    from .render import Renderer, RenderOptions
    from .schema import did_you_mean

    incident = kb.incident_by_id.get(incident_id) or kb.incident_by_id.get(incident_id.upper())
    if incident is None:
        suggestion = did_you_mean(incident_id, sorted(kb.incident_by_id))
        raise DrillError(f"no incident {incident_id!r}" + (f"; did you mean {suggestion!r}?" if suggestion else "")
                         + f" ({len(kb.incidents)} incidents loaded; `kb check` reports records that failed to load)")
    if is_restricted(incident, kb) and not allow_restricted:
        raise DrillError(f"{incident.id} is restricted: no drill is made from it unless you pass --allow-restricted "
                         "(for a closed session; restricted drills are never published on the site)")
    renderer = Renderer(kb, RenderOptions(site_url=site_url))
    base = site_url.rstrip("/") + "/" if site_url else ""

    def link(target) -> str:
        if base:
            return base + urls.page_url(target if isinstance(target, str) else urls.record_page(target))
        return target if isinstance(target, str) else (target.path or urls.record_page(target))

    drill = build_drill(incident, kb)
    text = render_drill(renderer, drill, drill.path, link, standalone=True)
    return RAW_BLOCK.sub(lambda m: m.group(1), text)
