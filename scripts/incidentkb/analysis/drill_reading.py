"""Reading an incident for a drill: what may be shown before it is revealed, and what each entry is about.

The no-spoiler rule (see drills.py) needs to know which words give the answer away (causes, fixes,
hindsight, clock times, durations); the steps need to know what each timeline entry is about
(declaring, diagnosis, communication, mitigation, a vendor, the resolution) to ask the right question.
"""

from __future__ import annotations

import re
from datetime import datetime

from incidentkb.core.markdown import code_lines, list_items, plain_text, sections_by_title
from incidentkb.records.model import Incident

MAX_STEPS = 6  # steps of a drill: groups of timeline entries revealed together

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
SEEN_WORDS = re.compile(
    r"\b(?:fires?|fired|firing|alerts?|alerted|page[sd]?|paging|acknowledg\w*|reports?|reported|raises?|raised|"
    r"notic\w*|complain\w*|complaints?|tickets?|e-?mails?|posts?|posted|escalates?|arrives?|calls?|called|"
    r"takes the incident|opens? the incident)\b", re.IGNORECASE)
ALERT_NAME_IN_TEXT = re.compile(r"\b[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*){2,}\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['-][A-Za-z0-9]+)*")
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])")


def _stem(word: str) -> str:
    word = word.lower()
    return word[:6] if len(word) > 6 else word


def _terms(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text or "") if len(w) >= 4 and w.lower() not in _STOP}


def camel_spaced(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name or "")


def body_sections(body: str) -> dict[str, str]:
    """The body's `##` and `###` sections by lower-case heading."""
    return sections_by_title(body or "", max_level=3)


def section_items(text: str) -> list[str]:
    """Items of a section's lists, or its sentences when it has none (code left out), as plain text."""
    items = list_items(text)
    if items:
        return items
    prose = "\n".join(line for number, line in enumerate((text or "").split("\n")) if number not in code_lines(text or ""))
    return [s for s in map(plain_text, SENTENCE_BREAK.split(" ".join(prose.split()))) if s]


def section_named(sections: dict[str, str], *names: str) -> str:
    for name in names:
        for heading, text in sections.items():
            if heading.startswith(name):
                return text
    return ""


class Spoilers:
    """Decides whether a piece of text gives away what the responders did not know yet."""

    def __init__(self, incident: Incident, allowed_text: str, until: datetime | None, severities=()):
        sources = [c["description"] for c in incident.root_causes + incident.contributing_factors]
        sources += [incident.trigger or "", section_named(body_sections(incident.body), "root cause")]
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
LAST_WORDS = re.compile(_RESOLUTION.pattern + r"|\bcomplete[ds]?\b|\bnormal\b|\bstable\b", re.IGNORECASE)

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
    if last and LAST_WORDS.search(text):
        return "resolution"
    best = (len(text) + 1, len(_TOPIC_RE), "diagnosis")
    for priority, (topic, pattern) in enumerate(_TOPIC_RE):
        match = pattern.search(text)
        if match and (match.start(), priority) < best[:2]:
            best = (match.start(), priority, topic)
    alert = ALERT_NAME_IN_TEXT.search(text)
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
