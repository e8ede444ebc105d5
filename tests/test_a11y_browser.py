"""Accessibility of the built sample site: axe-core's WCAG 2.1 A and AA rules in a real browser.

Responders read this site under stress, on phones and in dark mode; new staff may use a screen
reader or only a keyboard. axe-core (the script bundled by the axe-playwright-python package)
checks what a machine can check: colour contrast, links told apart from text by more than colour,
names of links and controls, keyboard access to regions that scroll, landmarks. It runs on the
pages people use most, in the light and the dark palette, at desktop and phone widths.
"""

from __future__ import annotations

from importlib import resources

import pytest
from browser_support import search, wait_done

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RULE_SETS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SCHEMES = ("default", "slate")  # Material's light and dark palettes
DESKTOP, PHONE = (1280, 900), (390, 844)

PAGES = [
    "",  # the home page: search first, quick links, recent incidents
    "incidents/2025/INC-2025-003-warehouse-sync-oomkilled-crash-loop/",
    "incidents/2026/INC-2026-099-hostile-markup/",  # markup in every field, shown as text
    "incidents/",
    "runbooks/k8s-platform/kube-pod-crashlooping/",
    "runbooks/alerts/kubepodcrashlooping/",
    "services/checkout/",
    "action-items/",
    "similar/",
    "reports/response-times/",
    "reports/follow-up/",
    "policy/severity/",
    "policy/compliance/",
    "policy/checklists/",  # task lists: every checkbox named by its step (a11y.py)
    "training/",
    "training/severity/",
    "drills/",
]
PHONE_PAGES = ["incidents/2025/INC-2025-003-warehouse-sync-oomkilled-crash-loop/", "policy/severity/",
               "services/checkout/", "reports/follow-up/"]


def axe_violations(page, label: str) -> list[str]:
    """axe-core's findings on the page as it is now, one line each (empty when it passes)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(resources.files("axe_playwright_python") / "axe.min.js"))
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", RULE_SETS)
    return [f"{label}: {v['id']} ({v['help']}) at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
            for v in result["violations"]]


def open_in(page, url: str, scheme: str) -> None:
    """Open a page in one of the palettes. Material fades colours in; axe must see the final ones."""
    response = page.goto(url)
    assert response is not None and response.ok, url  # a missing page would pass axe as the 404 page
    page.add_style_tag(content="*, *::before, *::after { transition: none !important; animation: none !important; }")
    page.evaluate("(scheme) => document.body.setAttribute('data-md-color-scheme', scheme)", scheme)


@pytest.mark.parametrize("page, paths", [(DESKTOP, PAGES), (PHONE, PHONE_PAGES)], indirect=["page"],
                         ids=["desktop", "phone"])
def test_pages_pass_axe(page, paths, sample_url):
    problems = []
    for scheme in SCHEMES:
        for path in paths:
            open_in(page, sample_url + path, scheme)
            problems += axe_violations(page, f"{scheme} /{path}")
    assert problems == [], "\n".join(problems)
    assert page.outside_requests == []


@pytest.mark.parametrize("page", [DESKTOP, PHONE], indirect=True)
def test_search_results_pass_axe(page, sample_url):
    """Results, snippets with the matched words marked, filters: in the page's box and (desktop) in the header's."""
    problems = []
    desktop = page.viewport_size["width"] == DESKTOP[0]
    for scheme in SCHEMES:
        open_in(page, sample_url + "?q=OOMKilled", scheme)
        wait_done(page, "#kb-search-page")
        assert page.locator("#kb-search-page mark").count() > 0
        problems += axe_violations(page, f"{scheme} home page search")
        if desktop:
            open_in(page, sample_url + "incidents/", scheme)
            assert search(page, "checkout slow")
            problems += axe_violations(page, f"{scheme} header search")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("page", [PHONE], indirect=True)
def test_wide_tables_can_be_scrolled_with_the_keyboard(page, sample_url):
    """A table wider than the screen scrolls in a wrapper that takes the focus and has a name; one that fits
    adds no stop to the tab order."""
    page.goto(sample_url + "incidents/2025/INC-2025-003-warehouse-sync-oomkilled-crash-loop/")
    wide = page.locator("#action-items ~ .kb-table .md-typeset__scrollwrap").first
    page.wait_for_function("(el) => el.getAttribute('tabindex') === '0'", arg=wide.element_handle())
    assert wide.get_attribute("role") == "region" and wide.get_attribute("aria-label")
    wide.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("(el) => el.scrollLeft > 0", arg=wide.element_handle())
    fits = page.locator("#timeline ~ .kb-timeline .md-typeset__scrollwrap").first
    assert fits.evaluate("(el) => el.scrollWidth <= el.clientWidth") and fits.get_attribute("tabindex") is None
    assert page.locator(".md-typeset div.kb-table[tabindex]").count() == 0  # Material's wrapper is the one that scrolls
