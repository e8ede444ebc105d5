"""Alert pages and the coverage page of the built sample site, in a real browser."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_runbook_url_reaches_the_runbook_in_one_click(page, sample_url):
    # What a responder opens from the notification (runbook_url of KubePodCrashLooping).
    page.goto(sample_url + "runbooks/alerts/kubepodcrashlooping/")
    assert page.locator("h1").inner_text().startswith("KubePodCrashLooping")
    button = page.locator("a.kb-runbook-link")
    assert button.count() == 1 and button.is_visible()
    assert button.bounding_box()["y"] < 600  # above the fold: the first thing on the page
    button.click()
    page.wait_for_url("**/runbooks/k8s-platform/kube-pod-crashlooping/")
    assert "KubePodCrashLooping" in page.locator(".kb-runbook-panel").inner_text()
    assert page.outside_requests == []


def test_coverage_page(page, sample_url):
    page.goto(sample_url)
    page.locator("nav.md-nav--primary").get_by_role("link", name="Alert coverage").first.click()
    page.wait_for_url("**/runbooks/alerts/")
    assert page.locator("h1").inner_text().startswith("Alert coverage")
    assert "35 of 35 alerts" in page.locator(".kb-coverage-total").inner_text()
    assert page.locator(".kb-by-service table tbody tr").count() == 14
    assert page.locator(".kb-by-group table tbody tr").count() == 14
    assert page.locator("meter").first.get_attribute("value") == "1.0000"
    assert "None: every alert has a runbook." in page.locator("article").inner_text()
    # The index of every alert, each linked to its page.
    page.locator(".kb-all-alerts table a", has_text="RedisEvictionsHigh").click()
    page.wait_for_url("**/runbooks/alerts/redisevictionshigh/")
    assert page.outside_requests == []


def test_incident_links_to_its_alert_which_lists_it(page, sample_url):
    page.goto(sample_url + "incidents/2025/")
    page.get_by_role("link", name="INC-2025-003", exact=True).click()
    page.wait_for_url("**/INC-2025-003-*/")
    page.locator(".kb-panel a.kb-alert-link").click()
    page.wait_for_url("**/runbooks/alerts/kubepodcrashlooping/")
    incidents = page.locator("#incidents-detected-by-this-alert ~ .kb-table a", has_text="INC-2025-003")
    assert incidents.count() == 1
    rule = page.locator(".kb-alert-rule").inner_text()
    assert "warning" in rule and "kube_pod_container_status_restarts_total" in rule
    incidents.click()
    assert page.locator("h1").inner_text().startswith("INC-2025-003")
    assert page.outside_requests == []


@pytest.mark.parametrize("page", [(375, 812)], indirect=True)
@pytest.mark.parametrize("path", ["runbooks/alerts/", "runbooks/alerts/kubepodcrashlooping/"])
def test_phone_viewport_has_no_horizontal_scroll(page, sample_url, path):
    page.goto(sample_url + path)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{path}: content {widths[0]}px wide in a {widths[1]}px viewport"


@pytest.fixture
def archive_url(sample_site):
    """The sample site served from its zip: unlike http.server, it answers a missing page with 404.html,
    as static hosts do."""
    import threading

    from incidentkb.indexing.offline import archive_server

    server = archive_server(sample_site[1] / "site.zip", "127.0.0.1", 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_runbook_url_with_the_alerts_own_spelling_lands_on_its_page(page, archive_url):
    # Alerting rules write the alert's name as it is spelled; the alert pages live at lower-case URLs.
    page.goto(archive_url + "runbooks/alerts/KubePodCrashLooping/")
    page.wait_for_url("**/runbooks/alerts/kubepodcrashlooping/")
    assert page.locator("h1").inner_text().startswith("KubePodCrashLooping")
    assert page.locator("a.kb-runbook-link").count() == 1
    assert page.outside_requests == []


def test_unknown_alert_says_no_runbook_yet_and_how_to_write_one(page, archive_url):
    page.goto(archive_url + "runbooks/alerts/nosuchalert%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E/")
    heading = page.locator("h1").inner_text()
    assert heading == "No runbook yet for nosuchalert<img src=x onerror=alert(1)>"  # shown as text, not markup
    body = page.locator("#kb-404-text").inner_text()
    assert "kb new runbook" in body and "alerts:" in body
    page.get_by_role("link", name="Every alert the knowledge base knows, with its runbook").click()
    page.wait_for_url("**/runbooks/alerts/")
    assert page.locator("h1").inner_text().startswith("Alert coverage")
    assert page.dialogs == [] and page.outside_requests == []


def test_any_other_missing_page_gets_the_plain_404(page, archive_url):
    page.goto(archive_url + "no/such/page/")
    assert page.locator("h1").inner_text() == "Page not found"
    assert page.locator("article img").count() == 0


def test_unknown_alert_keeps_the_spelling_of_the_link(page, archive_url):
    # The link is redirected to the lower-case URL first; the answer still names the alert as the rule spells it.
    page.goto(archive_url + "runbooks/alerts/DiskPressureOnNodes/")
    page.wait_for_url("**/runbooks/alerts/diskpressureonnodes/")
    page.wait_for_function("document.querySelector('h1').textContent.startsWith('No runbook yet')")
    assert page.locator("h1").inner_text() == "No runbook yet for DiskPressureOnNodes"
    assert "“DiskPressureOnNodes”" in page.locator("#kb-404-text").inner_text()
