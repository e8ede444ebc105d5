"""Cross-links: every relationship between records, in both directions, computed once.

A record only states its outgoing links (an incident lists its runbooks and
services; a service lists what it depends on). Pages need the reverse too:
"used in incidents" on a runbook, "depended on by" on a service. All lists are
sorted so pages are deterministic.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from incidentkb.records.model import Incident, KnowledgeBase


def newest_first(incidents: list[Incident]) -> list[Incident]:
    # Sort by id first, then by start (stable): equal starts keep a fixed order.
    return sorted(sorted(incidents, key=lambda i: i.id, reverse=True), key=lambda i: i.started_at, reverse=True)


@dataclass
class Links:
    incidents_of_runbook: dict[str, list[Incident]] = field(default_factory=dict)
    incidents_of_service: dict[str, list[Incident]] = field(default_factory=dict)
    runbooks_of_service: dict[str, list] = field(default_factory=dict)
    dependents_of: dict[str, list] = field(default_factory=dict)  # service/vendor id -> services depending on it
    related_of: dict[str, list[Incident]] = field(default_factory=dict)  # both directions
    incidents_of_tag: dict[str, list[Incident]] = field(default_factory=dict)
    runbooks_of_tag: dict[str, list] = field(default_factory=dict)
    runbooks_of_alert: dict[str, list] = field(default_factory=dict)  # alert name -> runbooks
    incidents_of_alert: dict[str, list[Incident]] = field(default_factory=dict)
    problems_of_incident: dict[str, list] = field(default_factory=dict)
    incidents_by_year: dict[int, list[Incident]] = field(default_factory=dict)
    incidents_by_severity: dict[str, list[Incident]] = field(default_factory=dict)

    def get(self, name: str, key) -> list:
        return getattr(self, name).get(key, [])


def build_links(kb: KnowledgeBase) -> Links:
    incidents_of_runbook = defaultdict(list)
    incidents_of_service = defaultdict(list)
    related = defaultdict(set)
    incidents_of_tag = defaultdict(list)
    incidents_of_alert = defaultdict(list)
    by_year = defaultdict(list)
    by_severity = defaultdict(list)
    for incident in kb.incidents:
        for runbook_id in incident.runbooks:
            if runbook_id in kb.runbook_by_id:
                incidents_of_runbook[runbook_id].append(incident)
        for service_id in incident.services:
            incidents_of_service[service_id].append(incident)
        for other in incident.related:
            if other in kb.incident_by_id and other != incident.id:
                related[incident.id].add(other)
                related[other].add(incident.id)
        for tag in incident.tags:
            incidents_of_tag[tag].append(incident)
        if incident.detection and incident.detection["alert"]:
            incidents_of_alert[incident.detection["alert"]].append(incident)
        by_year[incident.year].append(incident)
        by_severity[incident.severity].append(incident)

    runbooks_of_service = defaultdict(list)
    runbooks_of_tag = defaultdict(list)
    runbooks_of_alert = defaultdict(list)
    for runbook in kb.runbooks:
        for service_id in runbook.services:
            runbooks_of_service[service_id].append(runbook)
        for tag in runbook.tags:
            runbooks_of_tag[tag].append(runbook)
        for alert in runbook.alerts:
            runbooks_of_alert[alert].append(runbook)

    dependents = defaultdict(list)
    for service in kb.services:
        for dependency in service.depends_on:
            dependents[dependency].append(service)

    problems_of_incident = defaultdict(list)
    for problem in kb.problems:
        for incident_id in problem.incidents:
            problems_of_incident[incident_id].append(problem)

    return Links(
        incidents_of_runbook={k: newest_first(v) for k, v in incidents_of_runbook.items()},
        incidents_of_service={k: newest_first(v) for k, v in incidents_of_service.items()},
        runbooks_of_service=dict(runbooks_of_service),
        dependents_of=dict(dependents),
        related_of={k: newest_first([kb.incident_by_id[i] for i in v]) for k, v in related.items()},
        incidents_of_tag={k: newest_first(v) for k, v in incidents_of_tag.items()},
        runbooks_of_tag=dict(runbooks_of_tag),
        runbooks_of_alert=dict(runbooks_of_alert),
        incidents_of_alert={k: newest_first(v) for k, v in incidents_of_alert.items()},
        problems_of_incident=dict(problems_of_incident),
        incidents_by_year={k: newest_first(v) for k, v in sorted(by_year.items(), reverse=True)},
        incidents_by_severity={k: newest_first(v) for k, v in by_severity.items()},
    )
