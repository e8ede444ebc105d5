"""Recurring causes: groups of incidents that look like repeats of one another.

Incidents are linked when the similar-incident index scores them alike (or, without it, when they
share rarer field values); a cluster is a dense part of that graph (see CLUSTER_* below).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

try:
    from incidentkb.analysis.similar import SIMILAR_SHOWN, SimilarityIndex
except ImportError:  # rapidfuzz's compiled extension is missing on this platform: clusters come from shared fields
    SIMILAR_SHOWN, SimilarityIndex = 0, None
from incidentkb.records.model import Incident, KnowledgeBase

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


def _similarity_links(kb: KnowledgeBase, ids: set[str], index) -> tuple[dict, str] | None:
    if SimilarityIndex is None:
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
