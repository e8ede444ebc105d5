"""Reports for management: every figure of the reports pages, `kb report` and `kb export`, as pure functions.

`build_report(kb, today, since, until)` returns a `Report`: plain data, no MkDocs,
no I/O. The site's reports section (`report_pages`, at the end; charts in
charts.py), the terminal tables and the exports (export.py) are all views of it,
so they can never disagree.

Rules, stated once here and in docs/guide/reports.md:

- Time to detect = detected_at − started_at; acknowledge = acknowledged_at −
  detected_at; mitigate = mitigated_at − started_at; resolve = resolved_at −
  started_at (the same definitions as the incident pages).
- An incident is measured for a metric when both timestamps are present. When
  one is absent the incident is *still open* if it has not reached that stage
  (mitigate: status open; resolve: status open or mitigated), and *missing*
  otherwise. A negative span (timestamps running backwards) is *invalid*. Open,
  missing and invalid incidents are counted separately, listed by id, and never
  enter a mean, median or percentile.
- Percentiles interpolate linearly between closest ranks (Excel's
  PERCENTILE.INC, NumPy's default): with the n values sorted, the p-th
  percentile sits at 0-based rank (n − 1)·p/100. The median is the 50th.
- Calendar: an incident belongs to the day, month and quarter of its started_at
  *as written* (in the offset the record gives), the date every incident list
  on the site shows. --since/--until compare that date, inclusive. An incident
  belongs to the quarter it started in, however long it lasted.
- Everything is sorted with explicit tie-breaks, so two runs give identical output.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime, timedelta

from .model import (
    DETECTION_METHODS, OPEN_ACTION_STATUSES, POSTMORTEM_STATUSES, RESOLVED_STATUSES, Incident, KnowledgeBase,
)

# --------------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    start: str
    end: str
    definition: str
    reached: tuple[str, ...] = ()  # statuses at which the incident has passed this stage; () = always


METRICS = (
    Metric("detect", "Time to detect", "started_at", "detected_at",
           "detected_at − started_at: from the start of impact to the alert or report."),
    Metric("acknowledge", "Time to acknowledge", "detected_at", "acknowledged_at",
           "acknowledged_at − detected_at: from detection to a responder taking ownership."),
    Metric("mitigate", "Time to mitigate", "started_at", "mitigated_at",
           "mitigated_at − started_at: from the start of impact to the end of customer impact.",
           reached=("mitigated", "resolved", "closed")),
    Metric("resolve", "Time to resolve", "started_at", "resolved_at",
           "resolved_at − started_at: from the start of impact to the fix for good.", reached=RESOLVED_STATUSES),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}

MONITORING = ("alert", "automated-check")  # detection methods that count as "found by our monitoring"
NO_DETECTION = "not recorded"
NO_OWNER = "(no owner)"
NO_TYPE = "(no type)"
ITEM_STATES = ("overdue", "open", "done", "wont-do")  # "open" = open or in progress, not overdue
WAITING_POSTMORTEM = ("draft", "in-review")
OLDEST_ITEMS = 10

# Clusters: incident pairs the similar-incident index scores at or above CLUSTER_THRESHOLD are linked.
# Measured on the sample knowledge base (similar-incident scores of issue 23): incidents with one underlying
# cause (the PRB-001 and PRB-002 incidents, four certificate expiries) score 0.24-0.32 against each other;
# merely alike incidents (same CDN, same queue, same login service) 0.10-0.23, with one CDN incident at 0.22
# from a certificate incident. Every member of a cluster must be linked to at least two other members (the
# 2-core of the graph), so one chance resemblance cannot chain two groups together; a cluster of three is
# then a triangle. And at least
# CLUSTER_DENSITY of its member pairs must be linked: on the DFDS post-mortems (nearly all Kubernetes)
# the 2-core alone was one chain of 29 incidents; dropping the weakest links of a loose group until its
# parts are dense leaves the three real repeats (the 503 outages, the lost CloudWatch logs, one cluster's
# failures) and nothing else.
CLUSTER_THRESHOLD = 0.24
CLUSTER_MIN_SIZE = 3
CLUSTER_DENSITY = 0.5  # at least half of the member pairs of a cluster are linked
MENTION = "both mention '"  # how a similar-incident reason names a term both records use
FALLBACK_MAX_GROUP = 200  # a tag or runbook shared by more incidents than this is too common to link them

CALENDAR_RULE = ("Incidents are placed in the day, month and quarter of their started_at as written, in the offset "
                 "the record gives (the date incident lists show); an incident belongs to the quarter it started in.")
PERCENTILE_RULE = ("Medians and 90th percentiles interpolate linearly between closest ranks (Excel's PERCENTILE.INC): "
                   "with n values sorted, the p-th percentile is at 0-based rank (n − 1)·p/100.")

# ------------------------------------------------------------------------------ numbers


def percentile(values, p: float) -> float | None:
    """The p-th percentile (0..100) of values, by linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Stats:
    """One metric over one group of incidents. Values are seconds."""

    incidents: int = 0  # incidents in the group
    n: int = 0  # incidents with a value
    open: int = 0  # not yet at this stage
    missing: int = 0  # at this stage but a timestamp is absent
    invalid: int = 0  # timestamps run backwards
    mean: float | None = None
    median: float | None = None
    p90: float | None = None
    min: float | None = None
    max: float | None = None

    @classmethod
    def of(cls, measured: list[tuple[str, float | None]]) -> "Stats":
        """measured: (state, seconds) per incident, state one of ok/open/missing/invalid."""
        values = [seconds for state, seconds in measured if state == "ok"]
        states = Counter(state for state, _ in measured)
        stats = cls(incidents=len(measured), n=len(values), open=states["open"], missing=states["missing"],
                    invalid=states["invalid"])
        if values:
            stats.mean = math.fsum(values) / len(values)
            stats.median = percentile(values, 50)
            stats.p90 = percentile(values, 90)
            stats.min, stats.max = min(values), max(values)
        return stats

    def as_dict(self) -> dict:
        out = {"incidents": self.incidents, "n": self.n, "open": self.open, "missing": self.missing,
               "invalid": self.invalid}
        for name in ("mean", "median", "p90", "min", "max"):
            value = getattr(self, name)
            out[f"{name}_minutes"] = None if value is None else round(value / 60, 2)
        return out


def measure(incident: Incident, metric: Metric) -> tuple[str, float | None, str]:
    """(state, seconds, reason) of one incident for one metric; see the module docstring for the states."""
    start, end = incident.data.get(metric.start), incident.data.get(metric.end)
    if start is not None and end is not None:
        seconds = (end - start).total_seconds()
        if seconds < 0:
            return "invalid", None, f"{metric.end} is before {metric.start}"
        return "ok", seconds, ""
    if metric.reached and incident.status not in metric.reached and end is None:
        return "open", None, f"status {incident.status}"
    absent = [name for name, value in ((metric.start, start), (metric.end, end)) if value is None]
    return "missing", None, "no " + " and no ".join(absent)


# ----------------------------------------------------------------------------- calendar


def local_day(moment: datetime) -> date:
    """The calendar day of a timestamp in the offset it was written in."""
    return moment.date()


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def quarter_key(day: date) -> str:
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def previous_quarter(day: date) -> date:
    """The first day of the quarter before the one holding `day`."""
    start = quarter_start(day)
    return quarter_start(start - timedelta(days=1))


def months_between(first: date, last: date) -> list[str]:
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def quarters_between(first: date, last: date) -> list[str]:
    out, day = [], quarter_start(first)
    while day <= last:
        out.append(quarter_key(day))
        day = date(day.year + 1, 1, 1) if day.month == 10 else date(day.year, day.month + 3, 1)
    return out


def quarter_label(key: str) -> str:
    """2025-Q1 -> Q1 2025."""
    year, quarter = key.split("-")
    return f"{quarter} {year}"


def fmt_span(seconds: float | None) -> str:
    """A duration for people: 45 s, 4 min, 1 h 20 min, 3 d 4 h (rounded to the nearest minute above a minute)."""
    if seconds is None:
        return "—"
    if seconds < 59.5:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def fmt_share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "—"


# -------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Period:
    """Incidents whose started_at (as written) falls between since and until, both inclusive; None = open end."""

    since: date | None = None
    until: date | None = None

    def __contains__(self, incident: Incident) -> bool:
        day = local_day(incident.started_at)
        return (self.since is None or day >= self.since) and (self.until is None or day <= self.until)

    @property
    def label(self) -> str:
        if self.since is None and self.until is None:
            return "all incidents"
        return f"incidents started {self.since.isoformat() if self.since else 'any time'} to " \
               f"{self.until.isoformat() if self.until else 'now'}"


@dataclass(frozen=True)
class Cluster:
    """Similar incidents that suggest one underlying problem."""

    incidents: tuple[str, ...]  # sorted ids
    shared: tuple[str, ...]  # what most members have in common, e.g. "tag: tls"
    strength: float  # mean score of the links inside the cluster
    problems: tuple[tuple[str, int], ...]  # (problem id, members it lists), most first
    explained_by: str | None  # the problem record listing at least half of the members
    unlinked: tuple[str, ...]  # members no problem record lists

    @property
    def size(self) -> int:
        return len(self.incidents)


@dataclass
class Report:
    today: date
    period: Period
    incidents: list[str]  # ids in the period, in id order
    severities: list[str]
    services: list[str]
    response: dict
    flags: list[dict]
    volume: dict
    causes: dict
    follow_up: dict
    runbooks: dict
    headline: dict
    story: list[str]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return _jsonable({
            "today": self.today, "period": {"since": self.period.since, "until": self.period.until,
                                            "label": self.period.label},
            "rules": {"calendar": CALENDAR_RULE, "percentiles": PERCENTILE_RULE,
                      "metrics": {m.key: m.definition for m in METRICS}},
            "incident_count": len(self.incidents), "severities": self.severities, "headline": self.headline,
            "story": self.story, "response_times": self.response, "flags": self.flags, "volume": self.volume,
            "causes": self.causes, "follow_up": self.follow_up, "runbooks": self.runbooks, "notes": self.notes,
        })


def _jsonable(value):
    if isinstance(value, Stats):
        return value.as_dict()
    if isinstance(value, Cluster):
        return {"incidents": list(value.incidents), "size": value.size, "shared": list(value.shared),
                "strength": value.strength, "problems": [{"id": p, "members": n} for p, n in value.problems],
                "explained_by": value.explained_by, "unlinked": list(value.unlinked)}
    if is_dataclass(value):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    return value


def build_report(kb: KnowledgeBase, today: date, since: date | None = None, until: date | None = None,
                 similar=None) -> Report:
    """Every figure of the reports, for the incidents started between since and until (inclusive).

    `similar` is a built SimilarityIndex to reuse; without one it is built here (or, when the
    similar module is unavailable, clusters fall back to shared fields; see find_clusters).
    """
    period = Period(since, until)
    incidents = [i for i in kb.incidents if i in period]
    severities = list(kb.policy.severity_ids) + sorted({i.severity for i in incidents} - set(kb.policy.severity_ids))
    services = sorted({s for i in incidents for s in i.services})
    end = until or max([today] + [local_day(i.started_at) for i in incidents])
    start = since or min([local_day(i.started_at) for i in incidents], default=end)
    response, flags = response_times(incidents, severities, quarters_between(start, end))
    volume = volume_figures(incidents, severities, start, end)
    clusters, method = find_clusters(kb, incidents, similar)
    causes = cause_figures(kb, incidents, clusters, method)
    follow = follow_up_figures(incidents, today)
    runbooks = runbook_figures(kb, incidents)
    reference = until or today
    headline = headline_figures(kb, reference, severities)
    report = Report(today, period, [i.id for i in incidents], severities, services, response, flags, volume, causes,
                    follow, runbooks, headline, [])
    report.story = tell_story(kb, report)
    if not incidents:
        report.notes.append(f"No incidents in the period ({period.label}).")
    return report


# ------------------------------------------------------------------------ response times


def _group(incidents: list[Incident], key) -> dict[str, list[Incident]]:
    groups: dict[str, list[Incident]] = defaultdict(list)
    for incident in incidents:
        keys = key(incident)
        for k in (keys if isinstance(keys, list) else [keys]):
            groups[k].append(incident)
    return groups


def trailing_quarters(key: str, count: int = 4) -> list[str]:
    """The quarter `key` (YYYY-Qn) and the count − 1 quarters before it, oldest first."""
    year, quarter = int(key[:4]), int(key[-1])
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-Q{quarter}")
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return out[::-1]


def response_times(incidents: list[Incident], severities: list[str], quarters: list[str] = ()) -> tuple[dict, list[dict]]:
    """{metric: {"overall": Stats, "by_severity": {...}, "by_service": {...}, "by_quarter": {...}, "by_year": {...},
    "trailing_year": {quarter: Stats of that quarter and the three before it}}} and the flagged incidents
    (open, missing, invalid) per metric, in id order. The trailing year smooths quarters with few incidents."""
    measured = {m.key: {i.id: measure(i, m) for i in incidents} for m in METRICS}
    groupings = {
        "by_severity": (_group(incidents, lambda i: i.severity), severities),
        "by_service": (_group(incidents, lambda i: list(i.services)), None),
        "by_quarter": (_group(incidents, lambda i: quarter_key(local_day(i.started_at))), None),
        "by_year": (_group(incidents, lambda i: str(local_day(i.started_at).year)), None),
    }
    out: dict = {}
    for metric in METRICS:
        values = measured[metric.key]
        section = {"overall": Stats.of([values[i.id][:2] for i in incidents])}
        for name, (groups, order) in groupings.items():
            keys = [k for k in order if k in groups] if order else sorted(groups)
            section[name] = {k: Stats.of([values[i.id][:2] for i in groups[k]]) for k in keys}
        by_quarter = groupings["by_quarter"][0]
        section["trailing_year"] = {q: Stats.of([values[i.id][:2] for w in trailing_quarters(q) for i in by_quarter.get(w, ())])
                                    for q in quarters}
        out[metric.key] = section
    flags = [{"incident": i.id, "metric": m.key, "state": measured[m.key][i.id][0], "reason": measured[m.key][i.id][2]}
             for i in incidents for m in METRICS if measured[m.key][i.id][0] != "ok"]
    return out, flags


# -------------------------------------------------------------------------------- volume


def detection_method(incident: Incident) -> str:
    return incident.detection["method"] if incident.detection else NO_DETECTION


def volume_figures(incidents: list[Incident], severities: list[str], start: date, end: date) -> dict:
    months = months_between(start, end)
    quarters = quarters_between(start, end)
    years = [str(y) for y in range(start.year, end.year + 1)]
    by_month = {m: {s: 0 for s in severities} for m in months}
    by_quarter = {q: {s: 0 for s in severities} for q in quarters}
    methods = list(DETECTION_METHODS) + [NO_DETECTION]
    detection_q = {q: {m: 0 for m in methods} for q in quarters}
    detection_y = {y: {m: 0 for m in methods} for y in years}
    services: dict[str, Counter] = defaultdict(Counter)
    for incident in incidents:
        day = local_day(incident.started_at)
        for table, key in ((by_month, month_key(day)), (by_quarter, quarter_key(day))):
            if key in table:
                table[key][incident.severity] += 1
        method = detection_method(incident)
        for table, key in ((detection_q, quarter_key(day)), (detection_y, str(day.year))):
            if key in table:
                table[key][method] += 1
        for service in incident.services:
            services[service][str(day.year)] += 1
    by_service = [{"service": s, "incidents": sum(c.values()), "by_year": {y: c.get(y, 0) for y in years}}
                  for s, c in services.items()]
    by_service.sort(key=lambda row: (-row["incidents"], row["service"]))
    used_methods = [m for m in methods if any(detection_y[y][m] for y in years)]
    monitoring = {y: {"monitoring": sum(detection_y[y][m] for m in MONITORING), "incidents": sum(detection_y[y].values())}
                  for y in years}
    return {
        "months": months, "quarters": quarters, "years": years,
        "by_month_severity": by_month, "by_quarter_severity": by_quarter, "by_service": by_service,
        "detection_methods": used_methods, "by_quarter_detection": detection_q, "by_year_detection": detection_y,
        "by_year_monitoring": monitoring,
    }


# -------------------------------------------------------------------------------- causes


def _category_counts(incidents: list[Incident], field_name: str, order: list[str]) -> list[dict]:
    ids: dict[str, list[str]] = defaultdict(list)
    for incident in incidents:
        for category in sorted({c["category"] for c in incident.data.get(field_name) or []}):
            ids[category].append(incident.id)
    rank = {c: n for n, c in enumerate(order)}
    rows = [{"category": c, "incidents": len(v), "ids": v} for c, v in ids.items()]
    rows.sort(key=lambda row: (-row["incidents"], rank.get(row["category"], len(rank)), row["category"]))
    return rows


def cause_figures(kb: KnowledgeBase, incidents: list[Incident], clusters: list[Cluster], method: str) -> dict:
    order = list(kb.policy.cause_categories)
    per_service = _group(incidents, lambda i: list(i.services))
    repeat = []
    for service, members in per_service.items():
        if len(members) >= 2:
            days = sorted(local_day(i.started_at) for i in members)
            gaps = [(b - a).days for a, b in zip(days, days[1:])]
            ordered = [i.id for i in sorted(members, key=lambda i: (i.started_at, i.id))]
            repeat.append({"service": service, "incidents": len(members), "ids": ordered,
                           "first": days[0], "last": days[-1], "shortest_gap_days": min(gaps)})
    repeat.sort(key=lambda row: (-row["incidents"], row["service"]))
    in_period = {i.id for i in incidents}
    problems = [{"id": p.id, "title": p.title, "status": p.status, "owner": p.owner,
                 "incidents": len(p.incidents), "in_period": sorted(set(p.incidents) & in_period),
                 "opened_at": p.opened_at, "resolved_at": p.resolved_at,
                 "clusters": [n for n, c in enumerate(clusters) if c.explained_by == p.id]}
                for p in kb.problems]
    return {
        "root_causes": _category_counts(incidents, "root_causes", order),
        "contributing_factors": _category_counts(incidents, "contributing_factors", order),
        "without_root_cause": sorted(i.id for i in incidents if not i.data.get("root_causes")),
        "repeat_services": repeat,
        "clusters": clusters,
        "unexplained_clusters": [n for n, c in enumerate(clusters) if c.explained_by is None],
        "cluster_method": method,
        "problems": problems,
    }


def _similarity_links(kb: KnowledgeBase, ids: set[str], index) -> tuple[dict, str] | None:
    try:
        from .similar import SIMILAR_SHOWN, SimilarityIndex
    except ImportError:
        return None
    if index is None:
        index = SimilarityIndex.build(kb)
    links: dict[tuple[str, str], tuple[float, set[str]]] = {}
    # The neighbours incident pages show: a link of a cluster must be among them.
    for source, matches in index.all_neighbours(top=SIMILAR_SHOWN).items():
        if source not in ids:
            continue
        for match in matches:
            if match.kind != "incident" or match.id not in ids or match.id == source or match.score < CLUSTER_THRESHOLD:
                continue
            pair = (min(source, match.id), max(source, match.id))
            score, terms = links.get(pair, (0.0, set()))
            said = {r[len(MENTION):-1] for r in match.reasons if r.startswith(MENTION) and r.endswith("'")}
            links[pair] = (max(score, match.score), terms | said)
    return links, f"similar-incident index, score ≥ {CLUSTER_THRESHOLD}"


def _field_values(incident: Incident) -> set[tuple[str, str]]:
    values = {("tag", t) for t in incident.tags} | {("runbook", r) for r in incident.runbooks}
    values |= {("service", s) for s in incident.services}
    values |= {("root cause", c["category"]) for c in incident.root_causes}
    if incident.detection and incident.detection["alert"]:
        values.add(("alert", incident.detection["alert"]))
    return values


def _field_links(incidents: list[Incident]) -> tuple[dict, str]:
    """Fallback links without the similar-incident index: a shared root-cause category plus at least two
    shared tags, runbooks or services. Candidates come from tags and runbooks (never all pairs)."""
    values = {i.id: _field_values(i) for i in incidents}
    postings: dict[tuple[str, str], list[str]] = defaultdict(list)
    for incident in incidents:
        for value in values[incident.id]:
            if value[0] in ("tag", "runbook"):
                postings[value].append(incident.id)
    links: dict[tuple[str, str], tuple[float, set[str]]] = {}
    for incident in incidents:
        candidates = set()
        for value in values[incident.id]:
            members = postings.get(value, ())
            if len(members) <= FALLBACK_MAX_GROUP:
                candidates.update(m for m in members if m > incident.id)
        for other in sorted(candidates):
            shared = values[incident.id] & values[other]
            if any(kind == "root cause" for kind, _ in shared) and sum(kind != "root cause" for kind, _ in shared) >= 2:
                union = values[incident.id] | values[other]
                links[(incident.id, other)] = (round(len(shared) / len(union), 2), set())
    return links, "shared fields (the similar-incident index was unavailable): a root-cause category and two " \
                  "tags, runbooks or services in common"


def _two_core_components(links) -> list[list[str]]:
    """Connected components, of at least CLUSTER_MIN_SIZE, of the 2-core of the graph (every node keeps two links)."""
    neighbours: dict[str, set[str]] = defaultdict(set)
    for a, b in links:
        neighbours[a].add(b)
        neighbours[b].add(a)
    weak = sorted(n for n, linked in neighbours.items() if len(linked) < 2)
    while weak:
        node = weak.pop()
        for other in neighbours.pop(node, set()):
            if other in neighbours:
                neighbours[other].discard(node)
                if len(neighbours[other]) == 1:
                    weak.append(other)
    seen: set[str] = set()
    components = []
    for start in sorted(neighbours):
        if start in seen:
            continue
        stack, component = [start], []
        seen.add(start)
        while stack:
            node = stack.pop()
            component.append(node)
            for other in sorted(neighbours[node] - seen):
                seen.add(other)
                stack.append(other)
        if len(component) >= CLUSTER_MIN_SIZE:
            components.append(sorted(component))
    return components


def dense_groups(links: dict[tuple[str, str], float]) -> list[list[str]]:
    """Groups of linked incidents, each linked pairwise at least CLUSTER_DENSITY of the time.

    The 2-core components of the links; a component that is too loose (a dense subject area such as
    "everything Kubernetes", chained through many middling links) loses its weakest links and is split
    again, until each part is dense or falls apart. Sorted members, groups in order of first member.
    """
    out = []
    pending = [links]
    while pending:
        current = pending.pop()
        components = _two_core_components(current)
        component_of = {node: n for n, members in enumerate(components) for node in members}
        links_in: list[dict] = [{} for _ in components]
        for (a, b), score in current.items():
            if a in component_of and component_of[a] == component_of.get(b):
                links_in[component_of[a]][(a, b)] = score
        for component, inside in zip(components, links_in):
            pairs = len(component) * (len(component) - 1) / 2
            if len(inside) >= CLUSTER_DENSITY * pairs:
                out.append(component)
            else:
                weakest = min(inside.values())
                pending.append({pair: score for pair, score in inside.items() if score > weakest})
    return sorted(out)


def find_clusters(kb: KnowledgeBase, incidents: list[Incident], similar=None) -> tuple[list[Cluster], str]:
    """Groups of at least CLUSTER_MIN_SIZE similar incidents (see dense_groups). Biggest first, then by first id."""
    ids = {i.id for i in incidents}
    found = _similarity_links(kb, ids, similar)
    links, method = found if found is not None else _field_links(incidents)
    components = dense_groups({pair: score for pair, (score, _) in links.items()})
    problems_of: dict[str, list[str]] = defaultdict(list)
    for problem in kb.problems:
        for incident_id in problem.incidents:
            problems_of[incident_id].append(problem.id)
    component_of = {node: n for n, members in enumerate(components) for node in members}
    inside: list[list] = [[] for _ in components]
    for (a, b), value in links.items():
        if a in component_of and component_of[a] == component_of.get(b):
            inside[component_of[a]].append(value)
    clusters = [_cluster(kb, members, inside[n], problems_of) for n, members in enumerate(components)]
    clusters.sort(key=lambda c: (-c.size, c.incidents))
    return clusters, method


def _cluster(kb, members: list[str], inside: list[tuple[float, set[str]]], problems_of: dict) -> Cluster:
    """Label one cluster; `inside` holds the (score, mentioned terms) of the links between its members."""
    size = len(members)
    counts = Counter(v for m in members for v in _field_values(kb.incident_by_id[m]))
    need = math.ceil(2 * size / 3)
    kinds = ("root cause", "tag", "runbook", "alert", "service")
    common = sorted((v for v, n in counts.items() if n >= need), key=lambda v: (-counts[v], kinds.index(v[0]), v[1]))
    shared = [f"{kind}: {value}" for kind, value in common[:6]]
    mentions = Counter(t for _, terms in inside for t in terms)
    said: set[str] = set()
    for term, n in sorted(mentions.items(), key=lambda x: (-x[1], -len(x[0]), x[0])):
        words = set(term.split())
        if n * 2 >= len(inside) and n >= 2 and not words <= said and len(said) < 8:
            shared.append(f"mention: {term}")
            said |= words
    strength = round(math.fsum(score for score, _ in inside) / len(inside), 2) if inside else 0.0
    listed = Counter(p for m in members for p in problems_of.get(m, ()))
    problems = tuple(sorted(listed.items(), key=lambda x: (-x[1], x[0])))
    explained = problems[0][0] if problems and problems[0][1] * 2 >= size else None
    unlinked = tuple(m for m in members if not problems_of.get(m))
    return Cluster(tuple(members), tuple(shared), strength, problems, explained, unlinked)


# ----------------------------------------------------------------------------- follow-up


def item_state(item: dict, today: date) -> str:
    if item["status"] in OPEN_ACTION_STATUSES:
        return "overdue" if item["due"] is not None and item["due"] < today else "open"
    return item["status"]


def item_timing(item: dict, raised: date, today: date) -> tuple[str, int | None, int | None]:
    """(state, days open, days overdue) of an action item raised on `raised`; the days are None when they do not apply."""
    state = item_state(item, today)
    return (state, (today - raised).days if state in ("open", "overdue") else None,
            (today - item["due"]).days if state == "overdue" else None)


def follow_up_figures(incidents: list[Incident], today: date) -> dict:
    rows = []
    for incident in incidents:
        raised = local_day(incident.started_at)
        for item in incident.action_items:
            state, age_days, overdue_days = item_timing(item, raised, today)
            rows.append({
                "incident": incident.id, "item": item["id"], "title": item["title"], "owner": item["owner"] or NO_OWNER,
                "type": item["type"] or NO_TYPE, "priority": item["priority"], "due": item["due"], "status": item["status"],
                "state": state, "raised": raised, "quarter": quarter_key(raised),
                "age_days": age_days, "overdue_days": overdue_days,
            })

    def tally(key) -> dict:
        out: dict[str, dict] = {}
        for row in rows:
            entry = out.setdefault(row[key], {s: 0 for s in ITEM_STATES} | {"total": 0, "oldest_open_days": None})
            entry[row["state"]] += 1
            entry["total"] += 1
            if row["age_days"] is not None:
                entry["oldest_open_days"] = max(entry["oldest_open_days"] or 0, row["age_days"])
        return out

    by_owner = tally("owner")
    owners = sorted(by_owner, key=lambda k: (-(by_owner[k]["open"] + by_owner[k]["overdue"]), -by_owner[k]["total"], k))
    by_type = tally("type")
    quarters = sorted({row["quarter"] for row in rows})
    by_quarter = tally("quarter")
    open_rows = [row for row in rows if row["age_days"] is not None]
    open_rows.sort(key=lambda row: (-row["age_days"], row["incident"], row["item"]))
    states = Counter(row["state"] for row in rows)
    waiting = []
    for incident in incidents:
        postmortem = incident.postmortem
        status = postmortem["status"] if postmortem else None
        if status in WAITING_POSTMORTEM or (status is None and incident.is_resolved):
            since = local_day(incident.resolved_at) if incident.resolved_at else local_day(incident.started_at)
            waiting.append({"incident": incident.id, "title": incident.title, "status": incident.status,
                            "postmortem": status or "not recorded", "owner": postmortem["owner"] if postmortem else None,
                            "since": since, "waiting_days": (today - since).days})
    waiting.sort(key=lambda row: (-row["waiting_days"], row["incident"]))
    return {
        "total": len(rows), "states": {s: states.get(s, 0) for s in ITEM_STATES},
        "open_without_due": sum(1 for row in rows if row["state"] == "open" and row["due"] is None),
        "by_owner": {k: by_owner[k] for k in owners},
        "by_type": {k: by_type[k] for k in sorted(by_type, key=lambda k: (k == NO_TYPE, k))},
        "by_quarter_raised": {q: by_quarter[q] for q in quarters},
        "oldest_open": open_rows[:OLDEST_ITEMS], "open_items": open_rows,
        "postmortems_waiting": waiting, "postmortem_statuses": list(POSTMORTEM_STATUSES),
    }


# ------------------------------------------------------------------------------ runbooks


def runbook_figures(kb: KnowledgeBase, incidents: list[Incident]) -> dict:
    used: dict[str, list[Incident]] = defaultdict(list)
    for incident in incidents:
        for runbook_id in incident.runbooks:
            if runbook_id in kb.runbook_by_id:
                used[runbook_id].append(incident)
    rows = [{"runbook": rb, "title": kb.runbook_by_id[rb].title, "incidents": len(v),
             "last_used": max(local_day(i.started_at) for i in v), "ids": sorted(i.id for i in v)}
            for rb, v in used.items()]
    rows.sort(key=lambda row: (-row["incidents"], row["runbook"]))
    never = [rb.id for rb in kb.runbooks if rb.id not in used]
    covered = {s for rb in kb.runbooks for s in rb.services}
    without: dict[str, list[str]] = defaultdict(list)
    for incident in incidents:
        for service in incident.services:
            if service not in covered and service not in kb.vendor_by_id:
                without[service].append(incident.id)
    services = [{"service": s, "incidents": len(v), "ids": sorted(v)} for s, v in without.items()]
    services.sort(key=lambda row: (-row["incidents"], row["service"]))
    by_year: dict[str, dict] = {}
    for incident in incidents:
        entry = by_year.setdefault(str(local_day(incident.started_at).year), {"incidents": 0, "without_runbook": 0})
        entry["incidents"] += 1
        entry["without_runbook"] += not incident.runbooks
    return {"used": rows, "never_used": never, "services_without_runbook": services,
            "by_year": dict(sorted(by_year.items()))}


# ------------------------------------------------------------------------ headline, story


def headline_figures(kb: KnowledgeBase, reference: date, severities: list[str]) -> dict:
    """This quarter (the one holding `reference`, up to it) against the quarter before."""
    current = quarter_start(reference)
    previous = previous_quarter(reference)
    severe = severities[:2]
    columns = {}
    for label, first, last in ((quarter_key(previous), previous, current - timedelta(days=1)),
                               (quarter_key(current), current, reference)):
        members = [i for i in kb.incidents if first <= local_day(i.started_at) <= last]
        detect = Stats.of([measure(i, METRIC_BY_KEY["detect"])[:2] for i in members])
        resolve = Stats.of([measure(i, METRIC_BY_KEY["resolve"])[:2] for i in members])
        detected = [i for i in members if i.detection]
        columns[label] = {
            "from": first, "to": last, "incidents": len(members),
            "severe": sum(1 for i in members if i.severity in severe),
            "median_detect": detect.median, "median_resolve": resolve.median, "still_open": resolve.open,
            "found_by_monitoring": sum(1 for i in members if detection_method(i) in MONITORING),
            "detection_recorded": len(detected),
            "action_items_raised": sum(len(i.action_items) for i in members),
        }
    return {"reference": reference, "severe_levels": severe, "quarters": columns,
            "current": quarter_key(current), "previous": quarter_key(previous), "complete": reference >= _quarter_end(current)}


def _quarter_end(start: date) -> date:
    following = date(start.year + 1, 1, 1) if start.month == 10 else date(start.year, start.month + 3, 1)
    return following - timedelta(days=1)


def tell_story(kb: KnowledgeBase, report: Report) -> list[str]:
    """Short sentences computed from the figures; a sentence is left out when the data cannot support it."""
    story = []
    years = report.response["detect"]["by_year"]
    measured = [(y, s) for y, s in years.items() if s.n >= 3]
    if len(measured) >= 2:
        (first, a), (last, b) = measured[0], measured[-1]
        if a.median != b.median:
            verb = "fell" if b.median < a.median else "rose"
            story.append(f"Median time to detect {verb} from {fmt_span(a.median)} in {first} ({a.n} incidents) to "
                         f"{fmt_span(b.median)} in {last} ({b.n} incidents).")
        monitoring = report.volume["by_year_monitoring"]
        if monitoring[first]["incidents"] and monitoring[last]["incidents"]:
            story.append(
                f"Our monitoring found {fmt_share(monitoring[first]['monitoring'], monitoring[first]['incidents'])} of "
                f"incidents in {first} ({monitoring[first]['monitoring']} of {monitoring[first]['incidents']}) and "
                f"{fmt_share(monitoring[last]['monitoring'], monitoring[last]['incidents'])} in {last} "
                f"({monitoring[last]['monitoring']} of {monitoring[last]['incidents']}).")
    causes = report.causes
    for n in causes["unexplained_clusters"][:1]:
        cluster = causes["clusters"][n]
        shared = ", ".join(cluster.shared[:3])
        story.append(f"{cluster.size} similar incidents ({', '.join(cluster.incidents)}) share {shared} "
                     "and no problem record explains them yet.")
    if causes["root_causes"]:
        top = causes["root_causes"][:2]
        story.append("The most frequent root-cause categories are " +
                     " and ".join(f"{row['category']} ({row['incidents']} incidents)" for row in top) + ".")
    follow = report.follow_up
    if follow["by_owner"]:
        owner, entry = next(iter(follow["by_owner"].items()))
        open_count = entry["open"] + entry["overdue"]
        if open_count:
            total_open = follow["states"]["open"] + follow["states"]["overdue"]
            story.append(f"{_team_name(kb, owner)} holds the largest follow-up backlog: {open_count} of the "
                         f"{total_open} open action items, {entry['overdue']} of them overdue.")
    if follow["oldest_open"]:
        oldest = follow["oldest_open"][0]
        story.append(f"The oldest open action item ({oldest['incident']}/{oldest['item']}) was raised "
                     f"{oldest['age_days']} days ago.")
    waiting = follow["postmortems_waiting"]
    if waiting:
        story.append(f"{len(waiting)} post-mortem{'s' if len(waiting) != 1 else ''} "
                     f"{'wait' if len(waiting) != 1 else 'waits'} for review ({', '.join(w['incident'] for w in waiting)}).")
    gaps = report.runbooks["services_without_runbook"]
    if gaps:
        story.append(f"{len(gaps)} service{'s' if len(gaps) != 1 else ''} had incidents but no runbook: "
                     + ", ".join(row["service"] for row in gaps) + ".")
    return story


def _team_name(kb: KnowledgeBase, owner: str) -> str:
    team = kb.team_by_id.get(owner)
    return f"{team.name} ({owner})" if team else owner


# --------------------------------------------------------------------------------- pages

REPORT_PAGES = (
    ("reports/index.md", "reports/index.md.j2", "Quarterly review"),
    ("reports/response-times.md", "reports/response-times.md.j2", "Response times"),
    ("reports/volume.md", "reports/volume.md.j2", "Incident volume"),
    ("reports/causes.md", "reports/causes.md.j2", "Recurring causes"),
    ("reports/follow-up.md", "reports/follow-up.md.j2", "Follow-up work"),
    ("reports/runbooks.md", "reports/runbooks.md.j2", "Runbook usage"),
)


def display_name(kb: KnowledgeBase, entry_id: str) -> str:
    """The catalog name of a service, vendor or team id; the id itself when the catalog does not know it."""
    entry = kb.service_by_id.get(entry_id) or kb.vendor_by_id.get(entry_id) or kb.team_by_id.get(entry_id)
    return entry.name if entry is not None else entry_id


def report_pages(renderer) -> list:
    """The reports section of the site: an overview for a quarterly review and one page per area."""
    from .charts import report_charts
    from .render import GeneratedPage

    kb = renderer.kb
    report = build_report(kb, renderer.options.today, similar=renderer.options.similar)
    names = lambda entry_id: display_name(kb, entry_id)  # noqa: E731
    context = {
        "report": report, "charts": report_charts(report, names), "metrics": METRICS, "name": names,
        "span": fmt_span, "share": fmt_share, "quarter_label": quarter_label, "pages": REPORT_PAGES,
        "calendar_rule": CALENDAR_RULE, "percentile_rule": PERCENTILE_RULE, "monitoring": MONITORING,
        "cluster_threshold": CLUSTER_THRESHOLD, "cluster_min_size": CLUSTER_MIN_SIZE,
    }
    return [GeneratedPage(path, renderer.render(template, path, **context)) for path, template, _ in REPORT_PAGES]
