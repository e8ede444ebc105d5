"""Index pages: incidents by year and severity, tags, open action items, runbooks, services, problems.

Individual records stay out of the navigation (it is rendered into every page); these pages list them.
"""

from __future__ import annotations

from incidentkb.records import urls
from incidentkb.records.model import Runbook
from incidentkb.site.renderer import GeneratedPage, Renderer


def runbooks_without_service(renderer: Renderer) -> list[Runbook]:
    kb = renderer.kb
    known = set(kb.service_by_id) | set(kb.vendor_by_id)
    return [rb for rb in kb.runbooks if not known.intersection(rb.services)]


def recent_incidents(renderer: Renderer) -> list:
    return sorted(renderer.kb.incidents, key=lambda i: (i.started_at, i.id), reverse=True)[: renderer.options.recent]


def pages(renderer: Renderer) -> list[GeneratedPage]:
    kb, links = renderer.kb, renderer.links
    out = []

    def add(path: str, template: str, **context):
        out.append(GeneratedPage(path, renderer.render(template, path, **context)))

    add("incidents/index.md", "incidents_index.md.j2", recent=kb.incidents and recent_incidents(renderer))
    for year, incidents in links.incidents_by_year.items():
        add(urls.year_page(year), "incident_list.md.j2", title=f"Incidents of {year}", incidents=incidents,
            intro=f"{len(incidents)} incidents, newest first.")
    for severity, incidents in links.incidents_by_severity.items():
        add(urls.severity_page(severity), "incident_list.md.j2",
            title=f"{severity} incidents: {renderer.severity_name(severity)}", incidents=incidents,
            intro=f"{len(incidents)} incidents, newest first.")
    tags = sorted(set(links.incidents_of_tag) | set(links.runbooks_of_tag))
    add("tags.md", "tags_index.md.j2", tags=tags)
    for tag in tags:
        add(urls.tag_page(tag), "tag.md.j2", tag=tag, incidents=links.get("incidents_of_tag", tag),
            runbooks=links.get("runbooks_of_tag", tag))
    add("action-items/index.md", "action_items.md.j2", rows=renderer.open_items(kb.incidents))
    add("runbooks/index.md", "runbooks_index.md.j2", others=runbooks_without_service(renderer))
    add("services/index.md", "services_index.md.j2")
    if kb.problems:
        add("problems/index.md", "problems_index.md.j2")
    return out


def nav(kb) -> list:
    entries: list = [{"Incidents": "incidents/index.md"}, {"Runbooks": "runbooks/index.md"},
                     {"Services": "services/index.md"}]
    if kb.problems:
        entries.append({"Known problems": "problems/index.md"})
    entries.append({"Open action items": "action-items/index.md"})
    return entries
