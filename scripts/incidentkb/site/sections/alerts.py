"""Alert pages: the coverage page (runbooks/alerts/index.md) and one page per alert name."""

from __future__ import annotations

from incidentkb.analysis.alert_coverage import alert_page_set, site_coverage
from incidentkb.analysis.alert_rules import rule_paths
from incidentkb.records import urls
from incidentkb.site.renderer import GeneratedPage, Renderer, heading_anchor

COVERAGE_PAGE = "runbooks/alerts/index.md"


def checklist_link(policy) -> tuple[str, str] | None:
    """(name, anchor on the checklists page) of the policy's checklist for writing a runbook, when it has one."""
    chosen = policy.checklist("new-runbook") or next(
        (c for c in policy.section("checklists", []) or [] if "runbook" in c["id"] and "review" not in c["id"]), None)
    if chosen is None or not policy.path:
        return None
    return chosen["name"], heading_anchor(chosen["name"])


def pages(renderer: Renderer) -> list[GeneratedPage]:
    kb = renderer.kb
    cov = site_coverage(kb, renderer.options.site_url)
    alert_pages = alert_page_set(kb, cov)
    min_coverage = (kb.policy.section("alerts") or {}).get("min_coverage")
    context = {"checklist": checklist_link(kb.policy), "pattern": cov.url_pattern, "alert_page": urls.alert_page,
               "paths": rule_paths(kb.policy)[0], "min_coverage": min_coverage}
    out = [GeneratedPage(COVERAGE_PAGE, renderer.render(
        "alerts/coverage.md.j2", COVERAGE_PAGE, cov=cov, alert_pages=alert_pages,
        has_page={p.key for p in alert_pages}, **context))]
    for page in alert_pages:
        path = urls.alert_page(page.key)
        # An alert page with a runbook stays out of the search index like the other listings (search finds the
        # runbook itself); one without is indexed, so that searching for the alert finds "No runbook yet".
        out.append(GeneratedPage(path, renderer.render("alerts/alert.md.j2", path, alert=page, cov=cov, **context),
                                 record=not page.runbooks))
    return out


def nav(kb) -> list:
    return [{"Alert coverage": COVERAGE_PAGE}]
