"""Search on the built sample site, in Debian chromium: what a responder types, what comes back, the keys.

Every page here blocks and records requests that leave the local server (the `page` fixture in
conftest.py); each test ends by asserting there were none.
"""

from __future__ import annotations

import re

import pytest
from browser_support import HEADER, RESULTS_JS, search, wait_done

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def record_path(root, pattern):
    """The site path of the record whose source file matches pattern (e.g. incidents/2025/INC-2025-014-*.md)."""
    source = next(root.glob(pattern))
    return "/" + source.relative_to(root).with_suffix("").as_posix() + "/"


@pytest.fixture
def home(page, sample_url):
    page.goto(sample_url)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    return page


@pytest.mark.parametrize("query", ["KubePodCrashLooping", "kubepodcrashlooping", "alertname=KubePodCrashLooping"])
def test_alert_name_puts_its_runbook_first(home, query):
    results = search(home, query)
    assert results[0]["path"] == "/runbooks/k8s-platform/kube-pod-crashlooping/"
    assert results[0]["type"] == "runbook" and results[0]["label"] == "Runbook" and results[0]["exact"]
    assert "KubePodCrashLooping" in results[0]["marks"]
    assert len({r["path"] for r in results}) == len(results), "a result is listed twice"
    assert home.outside_requests == [] and home.errors == []


def test_incident_id_puts_that_incident_first(home, sample_site):
    root, _ = sample_site
    results = search(home, "INC-2025-014")
    assert results[0]["path"] == record_path(root, "incidents/2025/INC-2025-014-*.md")
    assert results[0]["title"].startswith("INC-2025-014: Black Friday") and results[0]["type"] == "incident"
    assert [r["path"] for r in results].count(results[0]["path"]) == 1
    assert home.outside_requests == []


@pytest.mark.parametrize("query", ["OOMKilled", "connection refused", "db-primary-01", "x509: certificate has expired"])
def test_error_strings_find_the_records_that_contain_them(home, sample_site, query):
    root, site = sample_site
    expected = set()
    for folder in ("incidents", "runbooks"):
        for source in (root / folder).rglob("*.md"):
            if query.lower() in source.read_text(encoding="utf-8").lower():
                expected.add("/" + source.relative_to(root).with_suffix("").as_posix() + "/")
    assert expected, f"the sample no longer contains {query!r}"
    results = search(home, query, everything=True)
    paths = [r["path"] for r in results]
    missing = expected - set(paths)
    assert not missing, f"{query!r}: not found: {sorted(missing)}; got {paths}"
    # The best results hold the string itself, not only its parts.
    for path in paths[:5]:
        assert query.lower() in (site / path.lstrip("/") / "index.html").read_text(encoding="utf-8").lower(), path
    words = [w.lower() for w in re.findall(r"[A-Za-z0-9]+", query)]
    for result in results[:5]:
        assert result["marks"], f"{query!r}: no highlighted match in {result['title']!r}"
        assert any(w in " ".join(result["marks"]).lower() for w in words)
        assert result["title"] and result["label"]
    assert home.outside_requests == [] and home.errors == []


def test_results_are_text_never_markup(home):
    # The hostile sample incident holds <script>, <img onerror>, javascript: links in its fields.
    results = search(home, "ampersand")
    assert any("INC-2026-099" in r["title"] for r in results)
    injected = home.evaluate("""() => ({
        elements: document.querySelectorAll('[data-kb-search] script, [data-kb-search] img, [data-kb-search] iframe,'
            + ' [data-kb-search] svg[onload], [data-kb-search] b').length,
        handlers: [...document.querySelectorAll('[data-kb-search] *')].filter(e =>
            [...e.attributes].some(a => a.name.startsWith('on'))).length,
    })""")
    assert injected == {"elements": 0, "handlers": 0}
    assert home.dialogs == [] and home.outside_requests == []


def test_filters_narrow_by_type_severity_and_service(home):
    everything = search(home, "certificate")
    assert {r["type"] for r in everything} >= {"incident", "runbook"}
    home.select_option(f"{HEADER} select[name=type]", "runbook")
    wait_done(home)
    runbooks = home.evaluate(RESULTS_JS, HEADER)
    assert runbooks and {r["type"] for r in runbooks} == {"runbook"}
    home.select_option(f"{HEADER} select[name=type]", "incident")
    home.select_option(f"{HEADER} select[name=severity]", "SEV2")
    wait_done(home)
    sev2 = home.evaluate(RESULTS_JS, HEADER)
    assert sev2 and all(r["type"] == "incident" for r in sev2)
    assert all("SEV2" in t for t in home.locator(f"{HEADER} .md-search-result__link .kb-sev").all_inner_texts())
    home.select_option(f"{HEADER} select[name=severity]", "")
    home.select_option(f"{HEADER} select[name=service]", "payments-api")
    wait_done(home)
    services = home.locator(f"{HEADER} .kb-search-result__services").all_inner_texts()
    assert services and all("Payments API" in s for s in services)
    # The policy type exists too, and a filter alone (no words) lists what it selects.
    home.select_option(f"{HEADER} select[name=service]", "")
    home.select_option(f"{HEADER} select[name=type]", "policy")
    home.fill(f"{HEADER} [data-kb-search-query]", "")
    wait_done(home)
    policy = home.evaluate(RESULTS_JS, HEADER)
    assert policy and {r["type"] for r in policy} == {"policy"}
    assert home.outside_requests == []


def test_slash_focuses_the_big_box_on_the_home_page(home):
    home.locator("body").click(position={"x": 5, "y": 300})
    home.keyboard.press("/")
    assert home.evaluate("document.activeElement.closest('#kb-search-page') !== null")


def test_keyboard_as_in_material(home, sample_site, sample_url):
    root, _ = sample_site
    home.goto(sample_url + "incidents/")  # a page without the home page's big search box
    toggle = "document.getElementById('__search').checked"
    for key in ("/", "s"):
        home.locator("body").click(position={"x": 5, "y": 300})
        home.keyboard.press("Escape")
        home.keyboard.press(key)
        assert home.evaluate("document.activeElement.matches('[data-kb-search] [data-kb-search-query]')"), key
        assert home.evaluate(toggle) is True
    home.keyboard.type("OOMKilled")
    wait_done(home)
    home.keyboard.press("ArrowDown")
    first = home.evaluate("document.activeElement.getAttribute('href')")
    home.keyboard.press("ArrowDown")
    second = home.evaluate("document.activeElement.getAttribute('href')")
    assert first and second and first != second
    home.keyboard.press("ArrowUp")
    assert home.evaluate("document.activeElement.getAttribute('href')") == first
    home.keyboard.press("ArrowUp")
    assert home.evaluate("document.activeElement.matches('[data-kb-search-query]')")
    home.keyboard.press("Escape")
    assert home.evaluate(toggle) is False
    home.keyboard.press("/")
    home.keyboard.press("Control+a")
    home.keyboard.type("INC-2025-014")
    wait_done(home)
    home.keyboard.press("Enter")
    home.wait_for_url(re.compile(r".*/incidents/2025/INC-2025-014-[^/]+/$"))
    assert home.locator("h1").inner_text().startswith("INC-2025-014")
    home.keyboard.press("s")
    home.keyboard.type("db-primary-01")
    wait_done(home)
    home.keyboard.press("ArrowDown")
    target = home.evaluate("document.activeElement.href")
    home.keyboard.press("Enter")
    home.wait_for_url(target)
    assert home.outside_requests == []


def test_links_are_relative_and_work_from_deep_pages(page, sample_url, sample_site):
    root, _ = sample_site
    page.goto(sample_url + record_path(root, "incidents/2025/INC-2025-014-*.md").lstrip("/"))
    results = search(page, "KubePodCrashLooping")
    assert results[0]["href"] == "../../../runbooks/k8s-platform/kube-pod-crashlooping/"
    page.click(f"{HEADER} .md-search-result__link >> nth=0")
    page.wait_for_url("**/runbooks/k8s-platform/kube-pod-crashlooping/")
    assert page.outside_requests == []


def test_query_in_the_address_opens_search(page, sample_url):
    page.goto(sample_url + "runbooks/?q=OOMKilled")
    wait_done(page)
    assert page.evaluate("document.getElementById('__search').checked")
    assert page.input_value(f"{HEADER} [data-kb-search-query]") == "OOMKilled"
    assert page.locator(f"{HEADER} .md-search-result__item").count() > 0


def test_a_search_box_in_a_page(page, sample_url):
    # Any page with <div id="kb-search-page"></div> gets a large search box (the home page can have one).
    def with_box(route):
        response = route.fetch()
        body = response.text().replace('<article class="md-content__inner md-typeset">',
                                       '<article class="md-content__inner md-typeset"><div id="kb-search-page"></div>')
        route.fulfill(response=response, body=body)

    page.route(re.compile(r".*/policy/$"), with_box)
    page.goto(sample_url + "policy/")
    box = "#kb-search-page"
    assert page.locator(f"{box} input").get_attribute("placeholder").startswith("Alert name")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.closest('#kb-search-page') !== null")
    results = search(page, "kubepodcrashlooping", root=box)
    assert results[0]["path"] == "/runbooks/k8s-platform/kube-pod-crashlooping/"
    assert page.locator(f"{box} select[name=type]").count() == 1
    assert not page.evaluate("document.getElementById('__search').checked")
    assert page.outside_requests == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_looks_like_material_in_both_palettes(browser, sample_url, scheme, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.goto(sample_url)
    search(page, "certificate")
    colours = page.evaluate("""() => {
        const style = e => getComputedStyle(document.querySelector(e));
        return {
            scheme: document.body.getAttribute('data-md-color-scheme'),
            page: style('body').getPropertyValue('--md-default-bg-color').trim(),
            panel: style('[data-kb-search] .md-search__scrollwrap').backgroundColor,
            form: style('[data-kb-search] .md-search__form').backgroundColor,
            select: style('[data-kb-search] select').backgroundColor,
        };
    }""")
    assert colours["scheme"] == ("slate" if scheme == "dark" else "default")
    assert colours["panel"] == colours["form"] == colours["select"]
    dark = sum(int(c) for c in re.findall(r"\d+", colours["panel"])[:3]) < 3 * 128
    assert dark == (scheme == "dark")
    page.screenshot(path=str(tmp_path / f"search-{scheme}.png"))
    context.close()


def test_phone_search_opens_full_screen(browser, sample_url):
    context = browser.new_context(viewport={"width": 375, "height": 812}, has_touch=True)
    page = context.new_page()
    page.goto(sample_url)
    page.click("label.md-header__button[for=__search]")
    page.wait_for_function("document.activeElement.matches('[data-kb-search-query]')")
    page.keyboard.type("OOMKilled")
    wait_done(page)
    assert page.locator(f"{HEADER} .md-search-result__item").first.is_visible()
    width = page.evaluate("document.querySelector('[data-kb-search] .md-search__inner').getBoundingClientRect().width")
    assert width == 375
    context.close()


def test_typing_at_a_persons_pace_searches_once_at_the_pause(home, sample_url):
    """At 150 ms a key the half-typed words must not each fetch index chunks and snippets (the 500 kB bar)."""
    home.goto(sample_url + "incidents/")  # one search box here: the header's
    requested: list[str] = []
    home.on("request", lambda request: requested.append(request.url))
    home.keyboard.press("/")
    home.keyboard.type("x509: certificate has expired", delay=150)
    wait_done(home)
    assert home.locator("[data-kb-search] .md-search-result__item").count() > 0
    assert not [url for url in requested if "/kb-search/exact/" in url], "two words are never an exact key"
    fragments = [url for url in requested if "/pagefind/fragment/" in url]
    assert len(fragments) <= 10, f"{len(fragments)} result snippets loaded: searches ran while typing"
    assert home.errors == []
