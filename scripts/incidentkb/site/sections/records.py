"""Record pages: one per incident, runbook, service, vendor and problem.

An incident page's Related section shows similar incidents, so it is rendered apart
(`with_related`): the rest of the page does not wait for the similar-incident index.
"""

from __future__ import annotations

from dataclasses import replace

from markupsafe import Markup

from incidentkb.analysis.similar import SIMILAR_SHOWN, Match
from incidentkb.core.markdown import demote_headings
from incidentkb.records import urls
from incidentkb.records.model import CatalogEntry, Incident, Record, Runbook
from incidentkb.site.renderer import RELATED_MARK, GeneratedPage, Renderer


def similar_to(renderer: Renderer, incident: Incident) -> list[Match]:
    """The SIMILAR_SHOWN most similar incidents, with score and reasons (from the index built once per site)."""
    index = renderer.options.similar
    return index.all_neighbours(SIMILAR_SHOWN).get(incident.id, []) if index is not None else []


def incident_page(renderer: Renderer, incident: Incident, related: bool = True) -> GeneratedPage:
    """The incident's page. With related=False its Related section is left as RELATED_MARK for
    with_related() to fill in."""
    page = urls.record_page(incident)
    section = related_section(renderer, page, incident) if related else RELATED_MARK
    markdown = renderer.render("incident.md.j2", page, incident=incident, body=demote_headings(incident.body),
                               related=Markup(section))
    return GeneratedPage(page, markdown, incident.path, record=True)


def related_section(renderer: Renderer, page: str, incident: Incident) -> str:
    return renderer.render("incident_related.md.j2", page, incident=incident, similar=similar_to(renderer, incident))


def with_related(renderer: Renderer, generated: GeneratedPage, incident: Incident) -> GeneratedPage:
    # The first mark is ours: it comes before the post-mortem, and text above it is escaped.
    section = related_section(renderer, generated.path, incident)
    return replace(generated, markdown=generated.markdown.replace(RELATED_MARK, section, 1))


def runbook_page(renderer: Renderer, runbook: Runbook) -> GeneratedPage:
    page = urls.record_page(runbook)
    return GeneratedPage(page, renderer.render("runbook.md.j2", page, runbook=runbook), runbook.path, record=True)


def catalog_page(renderer: Renderer, entry: CatalogEntry) -> GeneratedPage:
    page = urls.record_page(entry)
    links = renderer.links
    incidents = links.get("incidents_of_service", entry.id)
    markdown = renderer.render("service.md.j2", page, entry=entry, incidents=incidents,
                               runbooks=links.get("runbooks_of_service", entry.id),
                               dependents=links.get("dependents_of", entry.id),
                               open_items=renderer.open_items(incidents))
    return GeneratedPage(page, markdown, None, record=True)


def problem_page(renderer: Renderer, problem: Record) -> GeneratedPage:
    page = urls.record_page(problem)
    kb = renderer.kb
    incidents = [kb.incident_by_id[i] for i in problem.incidents if i in kb.incident_by_id]
    return GeneratedPage(page, renderer.render("problem.md.j2", page, problem=problem, incidents=incidents),
                         problem.path, record=True)


def pages(renderer: Renderer) -> list[GeneratedPage]:
    """Runbook, catalog and problem pages (incident pages are made by the assembler, see __init__.py)."""
    kb = renderer.kb
    return ([runbook_page(renderer, r) for r in kb.runbooks]
            + [catalog_page(renderer, e) for e in kb.services + kb.vendors]
            + [problem_page(renderer, p) for p in kb.problems])
