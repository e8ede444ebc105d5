"""Hostile record bodies in a real browser: no script from a record runs, on load or when a reader acts.

The hostile knowledge base of test_hostile.py (our vectors and the OWASP cheat sheet's, one incident
each) is built with a plain `mkdocs build` (pages in build workers) and every incident page is opened
in chromium. The vectors call kbHit(...) or alert/prompt/confirm; an init script records kbHit calls
and the page fixture records dialogs. After the load, every element of the article and of the
table of contents gets the events a reader causes (pointer over, focus, click on anything but a link), <details> are toggled, and every
link, form action and frame source is resolved by the browser: none may be a javascript:, vbscript:
or data: URL. Then the page waits, for handlers that fire late (image errors, animations).
"""

from __future__ import annotations

import pytest
from conftest import serve_directory
from hostile_support import ALL_CASES, hostile_kb, mkdocs_build

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RECORD_HITS = "() => window.__kbHits"
INIT = "window.__kbHits = []; window.kbHit = (name) => window.__kbHits.push(String(name));"

ACT_LIKE_A_READER = """async () => {
    const events = ['pointerover', 'mouseover', 'mouseenter', 'mousemove', 'pointerdown', 'mousedown',
                    'mouseup', 'focus', 'focusin', 'blur', 'keydown', 'input', 'change', 'copy', 'animationstart'];
    for (const element of document.querySelectorAll('article *, .md-nav--secondary *')) {
        for (const type of events) element.dispatchEvent(new Event(type, {bubbles: true}));
        if (element.tagName === 'DETAILS') { element.open = !element.open; element.open = !element.open; }
        if (typeof element.focus === 'function') element.focus();
        if (!element.closest('a, area, form') && element.tagName !== 'BUTTON') element.click?.();
    }
    const linking = 'a[href], area[href], form[action], [formaction], iframe[src], embed[src], object[data]';
    const urls = [...document.querySelectorAll(linking)]
        .map(e => e.href || e.action || e.formAction || e.src || e.data || '');
    await new Promise(resolve => setTimeout(resolve, 150));
    return urls.filter(u => /^(javascript|vbscript|data):/i.test(u.trim()));
}"""


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory):
    root = hostile_kb(tmp_path_factory.mktemp("hostile-browser") / "kb", ALL_CASES)
    site = tmp_path_factory.mktemp("hostile-browser-site")
    result = mkdocs_build(root, site, workers=2)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    url, server = serve_directory(site)
    yield url
    server.shutdown()
    server.server_close()


def test_no_record_script_runs(page, hostile_url):
    page.add_init_script(INIT)
    ran = {}
    for case in ALL_CASES:
        page.dialogs.clear()
        page.goto(hostile_url + case.page.removesuffix("index.html"))
        page.wait_for_load_state("load")
        assert f"Hostile body {case.name}" in page.locator("h1").inner_text()
        live_urls = page.evaluate(ACT_LIKE_A_READER)
        hits = page.evaluate(RECORD_HITS)
        if hits or page.dialogs or live_urls:
            ran[case.name] = {"kbHit": hits, "dialogs": list(page.dialogs), "urls": live_urls}
    assert ran == {}, ran
