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

Plain data: site/sections/drills.py makes the pages and `kb drill`'s Markdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from incidentkb.analysis.drill_reading import (
    ALERT_NAME_IN_TEXT, GENERIC_TOPICS, LAST_WORDS, OPENING_QUESTION, QUESTIONS, SEEN_WORDS, SENTENCE_BREAK, Spoilers,
    body_sections, camel_spaced, classify, group_entries, section_items, section_named,
)
from incidentkb.core.errors import UsageError
from incidentkb.core.formats import fmt_since
from incidentkb.core.markdown import headings, plain_text
from incidentkb.records.audience import visibility_of
from incidentkb.records.model import Incident, KnowledgeBase, Runbook

MAX_SITE_DRILLS = 50  # drill pages on the site; `kb drill ID` makes one for any other incident
MIN_TIMELINE = 3  # entries an incident needs to get a drill page on the site
MIN_STEPS = 3

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
            out.append(SENTENCE_BREAK.split(" ".join(text.split()))[0])
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
    for item in section_items(section_named(sections, "what went wrong"))[:3]:
        out.append(Debrief(f"What went wrong: “{names(item)}” Would it go the same way today? What would stop it?",
                           "What went wrong"))
    for item in section_items(section_named(sections, "where we got lucky"))[:1]:
        out.append(Debrief(f"We got lucky: “{names(item)}” What would we have done if luck had run out?",
                           "Where we got lucky"))
    lessons = [i for i in section_items(section_named(sections, "lessons learned", "lessons"))
               if len(i.split()) >= 4 and not re.search(r"\bAI-\d|^We\b", i)]  # lessons, not the actions taken
    for item in lessons[:2]:
        out.append(Debrief(f"The post-mortem's lesson: “{names(item)}” Where else could the same thing happen to us?",
                           "Lessons learned"))
    from_narrative = bool(out)
    if not from_narrative:
        for cause in incident.contributing_factors[:2]:
            out.append(Debrief(f"A contributing factor: “{names(plain_text(cause['description']))}” How could the response "
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
    allowed = " ".join([camel_spaced(alert or ""), (detection or {}).get("source") or "",
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
            if (alert and alert in clause) or ALERT_NAME_IN_TEXT.search(clause):
                # An alert is what responders saw, whatever words it uses; only a later time or a fix withholds it.
                reasons = [r for r in reasons if r in ("a later time", "fix words", "the severity")]
                about_noticing = True
            else:
                about_noticing = SEEN_WORDS.search(clause)
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
        for sentence in SENTENCE_BREAK.split(" ".join(text.split())):
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
        if index == len(groups) - 1 and LAST_WORDS.search(text) and topic != "declare":
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
    narrative = _has_narrative(incident.body or "")
    return (4 * len(incident.open_action_items) + 3 * max(0, 4 - rank) + min(len(incident.timeline), 10)
            + (2 if incident.detection else 0) + (2 if narrative else 0))


_NARRATIVE = re.compile(r"^[ \t]{0,3}#{2,3}[ \t]+(?:what went wrong|lessons)", re.MULTILINE | re.IGNORECASE)


def _has_narrative(body: str) -> bool:
    """Whether the post-mortem has a "What went wrong" or "Lessons" section. This runs on every incident: the
    pattern rules out most bodies, and the Markdown reader confirms the rest (a heading, not a line in code)."""
    return bool(_NARRATIVE.search(body)) and any(
        h.level in (2, 3) and h.text.lower().startswith(("what went wrong", "lessons")) for h in headings(body))


def eligible_incidents(kb: KnowledgeBase) -> list[Incident]:
    """The incidents that may get a drill page: never restricted ones, only those with a timeline worth revealing."""
    return [i for i in kb.incidents if not is_restricted(i, kb) and len(i.timeline) >= MIN_TIMELINE]


def site_candidates(kb: KnowledgeBase, limit: int = MAX_SITE_DRILLS,
                    eligible: list[Incident] | None = None) -> list[Incident]:
    """The incidents that get a drill page: the best `limit` of the eligible ones by score (newest first on a tie)."""
    ranked = sorted(eligible_incidents(kb) if eligible is None else eligible,
                    key=lambda i: (-drill_score(i, kb), -i.started_at.timestamp(), i.id))
    return ranked[:limit]


class DrillError(UsageError):
    """An incident that cannot become a drill; the message says why and what to do."""
