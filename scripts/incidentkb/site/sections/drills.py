"""Drill pages: the drills index and one tabletop exercise per selected incident; `kb drill`'s Markdown."""

from __future__ import annotations

from incidentkb.analysis.drills import (
    MAX_SITE_DRILLS, Drill, DrillError, build_drill, eligible_incidents, is_restricted, site_candidates,
)
from incidentkb.records import urls
from incidentkb.records.model import KnowledgeBase
from incidentkb.records.schema import did_you_mean
from incidentkb.site.glossary import wrapper
from incidentkb.site.renderer import RAW_BLOCK, GeneratedPage, Renderer, RenderOptions

INDEX = "drills/index.md"


def render_drill(renderer: Renderer, drill: Drill, page: str, link=None, standalone: bool = False) -> str:
    def url(target) -> str:
        return link(target) if link else renderer.url(page, target)

    return renderer.env.get_template("drills/drill.md.j2").render(
        url=url, page=page, urls=urls, drill=drill, standalone=standalone, gloss=wrapper(renderer.kb.policy),
        severity=renderer.kb.policy.severity_by_id.get(drill.incident.severity) or {})


def pages(renderer: Renderer) -> list[GeneratedPage]:
    """drills/index.md and one page per selected incident (see analysis.drills.site_candidates)."""
    kb = renderer.kb
    eligible = eligible_incidents(kb)
    drills = [build_drill(i, kb) for i in site_candidates(kb, eligible=eligible)]
    drill_pages = [GeneratedPage(d.path, render_drill(renderer, d, d.path), d.incident.path, record=True)
                   for d in drills]
    by_severity = {s: [d for d in drills if d.incident.severity == s] for s in kb.policy.severity_ids}
    by_service: dict[str, list[Drill]] = {}
    for d in drills:
        for service in d.incident.services:
            by_service.setdefault(service, []).append(d)
    services = sorted(by_service, key=lambda s: (-len(by_service[s]), s))
    index = renderer.render("drills/index.md.j2", INDEX, drills=drills, by_severity=by_severity,
                            by_service=by_service, services=services, eligible=len(eligible), limit=MAX_SITE_DRILLS,
                            gloss=wrapper(kb.policy))
    return [GeneratedPage(INDEX, index)] + drill_pages


def drill_markdown(kb: KnowledgeBase, incident_id: str, allow_restricted: bool = False, site_url: str = "") -> str:
    """The drill of one incident as standalone Markdown (for `kb drill`): links go to the published site
    when `site_url` is given, otherwise to the records' source files."""
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
