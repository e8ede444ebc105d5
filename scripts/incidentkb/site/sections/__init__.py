"""The sections of the site. Each turns data from the analysis stage into pages (`pages(renderer)`) and
names its entries in the default navigation (`nav(kb)`); the renderer knows none of them.

PAGE_ORDER is the order pages are generated in, NAV_ORDER the order of the default navigation
(hand-written pages go between NAV_ORDER and NAV_LAST). To add a section: a module here with those
two functions, and its place in both lists.
"""

from __future__ import annotations

from incidentkb.core.background import Deferred
from incidentkb.records.model import KnowledgeBase
from incidentkb.site.renderer import GeneratedPage, Renderer, RenderOptions
from incidentkb.site.sections import alerts, drills, indexes, policy, records, reference, reports, similar, training

PAGE_ORDER = (records, indexes, reference, policy, reports, alerts, training, drills, similar)
NAV_ORDER = (similar, indexes, alerts, reports, policy, training)
NAV_LAST = (reference,)


def render_site(kb: KnowledgeBase, options: RenderOptions | None = None) -> tuple[list[GeneratedPage], Renderer]:
    """Every generated page of the site, in a deterministic order: incident pages first, then PAGE_ORDER.

    What shows similar incidents (the Related section of incident pages, the reports) is rendered
    last: the similar-incident index may still be computing in a background process (see site/build.py).
    """
    renderer = Renderer(kb, options)
    sections = {section: section.pages(renderer) for section in PAGE_ORDER if section is not reports}
    incidents = [records.incident_page(renderer, i, related=False) for i in kb.incidents]
    if renderer.options.similar is not None:
        renderer.options.similar.all_neighbours(records.SIMILAR_SHOWN)  # waits here: a child must not read its pipe
    # The reports are rendered in a forked child while this process fills in the Related sections: at 10,000
    # incidents both take seconds, and the other core would otherwise wait (see core/background.py).
    sections[reports] = Deferred(lambda: reports.pages(renderer))
    incidents = [records.with_related(renderer, page, i) for page, i in zip(incidents, kb.incidents)]
    sections[reports] = sections[reports].result()
    return incidents + [page for section in PAGE_ORDER for page in sections[section]], renderer


def default_nav(kb: KnowledgeBase, hand_written: list[str]) -> list:
    """A small navigation: the home page, the generated sections, hand-written pages (top-level ones as
    they are, those in a folder as one section per folder, its index.md first, titled after the folder:
    docs/guide/ becomes "Guide"), then the field reference."""
    nav: list = [{"Home": "index.md"}] if "index.md" in hand_written else []
    for section in NAV_ORDER:
        nav += section.nav(kb)
    folders: dict[str, list[str]] = {}
    for path in sorted(hand_written):
        if path != "index.md":
            folders.setdefault(path.split("/", 1)[0] if "/" in path else "", []).append(path)
    nav += folders.pop("", [])
    for folder, paths in folders.items():
        paths.sort(key=lambda p: (not p.endswith("/index.md"), p))
        nav.append({folder.replace("-", " ").capitalize(): paths})
    for section in NAV_LAST:
        nav += section.nav(kb)
    return nav
