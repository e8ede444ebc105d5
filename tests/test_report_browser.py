"""The reports pages of the built sample site in a real browser, at desktop and phone widths."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPORT_PAGES = ["reports/", "reports/response-times/", "reports/volume/", "reports/causes/", "reports/follow-up/",
                "reports/runbooks/"]
WIDTHS = [(1280, 900), (375, 812)]


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Screenshots land here, to look at while developing (pytest prints tmp paths with -v on failure)."""
    return tmp_path_factory.mktemp("report-screenshots")


@pytest.mark.parametrize("page", WIDTHS, indirect=True, ids=["desktop", "phone"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_report_pages_fit_and_stay_offline(page, sample_url, shots, scheme):
    page.emulate_media(color_scheme=scheme)
    width = page.viewport_size["width"]
    for path in REPORT_PAGES:
        page.goto(sample_url + path)
        page.wait_for_load_state("networkidle")
        scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, f"{path}: content {scroll}px wide in a {inner}px viewport"
        charts = page.evaluate("""() => [...document.querySelectorAll('figure.kb-chart')].map(f => {
            const svg = f.querySelector('svg'), box = svg.getBoundingClientRect();
            const next = f.nextElementSibling;
            return {role: svg.getAttribute('role'), title: svg.querySelector('title').textContent,
                    desc: svg.querySelector('desc').textContent, width: box.width, height: box.height,
                    right: box.right, table: !!(next && next.querySelector('table')),
                    fill: getComputedStyle(svg.querySelector('rect, circle') || svg).fill};
        })""")
        if path != "reports/runbooks/" or charts:
            assert charts, f"{path}: no charts"
        for chart in charts:
            assert chart["role"] == "img" and chart["title"] and chart["desc"], (path, chart)
            assert chart["table"], f"{path}: {chart['title']} has no table of its numbers"
            assert 0 < chart["width"] <= inner and chart["right"] <= inner and chart["height"] > 40, (path, chart)
        page.screenshot(path=str(shots / f"{path.strip('/').replace('/', '-')}-{width}-{scheme}.png"), full_page=True)
        assert page.dialogs == [], f"{path}: markup from a record ran"
    assert page.outside_requests == []


def test_chart_colours_follow_the_dark_scheme(page, sample_url):
    colours = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.goto(sample_url + "reports/volume/")
        page.evaluate("() => localStorage.clear()")  # Material remembers the last palette; follow the system's
        page.reload()
        colours[scheme] = page.evaluate("""() => {
            const rect = document.querySelector('#chart-by-month-severity rect');
            const label = document.querySelector('#chart-by-month-severity svg text');
            return [getComputedStyle(rect).fill, getComputedStyle(label).fill, getComputedStyle(document.body).color];
        }""")
    assert colours["light"][0] != colours["dark"][0]  # the severity colour switches palette
    for scheme in ("light", "dark"):
        assert colours[scheme][1] == colours[scheme][2]  # axis text is the page's text colour (currentColor)


def test_overview_tells_the_story_and_links_the_areas(page, sample_url):
    page.goto(sample_url + "reports/")
    story = page.locator(".kb-story").inner_text()
    assert "Median time to detect fell" in story
    assert "no problem record explains them" in story
    assert "Platform Engineering" in story
    page.locator("nav.kb-report-nav a", has_text="Recurring causes").click()
    page.wait_for_url("**/reports/causes/")
    assert page.locator(".kb-cluster").count() >= 2
    page.locator(".kb-cluster a", has_text="INC-2024-002").first.click()
    assert page.locator("h1").inner_text().startswith("INC-2024-002")
