"""The built sample site in a real browser (Debian chromium through Playwright)."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_open_an_incident_from_the_year_index(page, sample_url):
    page.goto(sample_url + "incidents/2025/")
    page.get_by_role("link", name="INC-2025-014", exact=True).click()
    page.wait_for_url("**/INC-2025-014-*/")
    assert page.locator("h1").inner_text().startswith("INC-2025-014: Black Friday checkout latency")
    assert "SEV1" in page.locator(".kb-panel .admonition-title").inner_text()
    assert page.outside_requests == []


def test_runbook_link_and_backlink(page, sample_url):
    page.goto(sample_url + "incidents/2025/")
    page.get_by_role("link", name="INC-2025-014", exact=True).click()
    page.locator(".kb-runbooks a").first.click()
    page.wait_for_load_state()
    assert "/runbooks/" in page.url
    backlinks = page.locator("#used-in-incidents ~ .kb-table a", has_text="INC-2025-014")
    assert backlinks.count() == 1
    backlinks.click()
    assert "INC-2025-014" in page.locator("h1").inner_text()
    assert page.outside_requests == []


def test_edit_link_names_the_real_source_file(page, sample_url, sample_site):
    root, _ = sample_site
    source = next((root / "incidents/2025").glob("INC-2025-014-*.md")).relative_to(root).as_posix()
    page.goto(sample_url + "incidents/2025/")
    page.get_by_role("link", name="INC-2025-014", exact=True).click()
    edit = page.locator("a.md-content__button[title='Edit this page']")
    assert edit.get_attribute("href").endswith("/edit/main/" + source)


def test_markup_in_fields_renders_as_text(page, sample_url):
    page.goto(sample_url + "incidents/2026/INC-2026-099-hostile-markup/")
    page.wait_for_timeout(300)
    assert page.dialogs == []
    body = page.locator("article").inner_text()
    assert "<script>alert('title')</script>" in page.locator("h1").inner_text()
    assert "<iframe src=javascript:alert(3)></iframe>" in body
    assert "[open me](javascript:alert(6))" in body
    injected = page.evaluate("""() => ({
        scripts: [...document.querySelectorAll('article script')].length,
        handlers: [...document.querySelectorAll('article *')].filter(e =>
            [...e.attributes].some(a => a.name.startsWith('on'))).length,
        jsLinks: [...document.querySelectorAll('a[href^="javascript:"]')].length,
        frames: document.querySelectorAll('iframe, svg[onload], img[src="x"]').length,
    })""")
    assert injected == {"scripts": 0, "handlers": 0, "jsLinks": 0, "frames": 0}


@pytest.mark.parametrize("page", [(375, 812)], indirect=True)
@pytest.mark.parametrize("path", ["", "incidents/", "incidents/2025/", "services/checkout/", "action-items/",
                                  "runbooks/", "incidents/2026/INC-2026-099-hostile-markup/"])
def test_phone_viewport_has_no_horizontal_scroll(page, sample_url, path):
    page.goto(sample_url + path)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{path}: content {widths[0]}px wide in a {widths[1]}px viewport"


def test_incident_page_without_network(page, sample_url):
    page.goto(sample_url + "incidents/2025/")
    page.get_by_role("link", name="INC-2025-014", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert page.outside_requests == []
    # The page's own stylesheet and Material's assets load from the site itself.
    assert page.evaluate("() => getComputedStyle(document.querySelector('.kb-panel')).borderLeftStyle") != ""
    assert re.search(r"SEV1", page.locator(".kb-panel").inner_text())
