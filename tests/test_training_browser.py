"""The training path and a drill in a real browser (Debian chromium through Playwright), on the built sample site."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_follow_the_path_from_the_home_page_to_the_end(page, sample_url):
    page.goto(sample_url)
    page.get_by_role("link", name="Start the training path").click()
    page.wait_for_url("**/training/")
    titles = []
    while True:
        following = page.locator("a.kb-next[rel=next]")
        if following.count() == 0:
            break
        assert following.count() == 1
        following.click()
        page.wait_for_load_state()
        titles.append(page.locator("h1").inner_text().rstrip("¶").strip())
        assert page.locator(".kb-step-of").inner_text().startswith(f"Step {len(titles)} of ")
        assert page.locator("details.kb-check").count() >= 2, titles[-1]
    assert titles[0] == "What an incident is" and titles[-1] == "Tools" and len(titles) == 9
    assert "You have reached the end of the path" in page.locator("article").inner_text()
    assert page.outside_requests == []


def test_a_self_check_answer_opens_on_click(page, sample_url):
    page.goto(sample_url + "training/severity/")
    check = page.locator("details.kb-check").filter(has_text="During a SEV1").first
    answer = check.locator("p")
    assert not answer.is_visible()
    check.locator("summary").click()
    assert answer.is_visible() and "Every 30 minutes" in answer.inner_text()


def test_progress_is_ticked_and_kept_across_reloads(page, sample_url):
    page.goto(sample_url + "training/roles/")
    box = page.locator("input.kb-progress[data-step=roles]")
    assert box.is_visible() and box.is_enabled() and not box.is_checked()
    box.check()
    page.reload()
    assert page.locator("input.kb-progress[data-step=roles]").is_checked()
    page.goto(sample_url + "training/")
    assert page.locator("[data-kb-done]").inner_text() == "1"
    assert page.locator("input.kb-progress[data-step=roles]").is_checked()
    assert page.locator("[data-kb-continue]").get_attribute("href").endswith("what-is-an-incident/")
    keys = page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('incidentkb:'))")
    assert keys == ["incidentkb:training:/training/"]  # the site's own path is part of the key
    page.locator("[data-kb-reset]").click()
    assert page.locator("[data-kb-done]").inner_text() == "0"
    page.reload()
    assert not page.locator("input.kb-progress[data-step=roles]").is_checked()
    assert page.outside_requests == []


def test_without_javascript_the_path_still_works(browser, sample_url):
    context = browser.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(sample_url + "training/")
        assert not tab.locator("input.kb-progress").first.is_visible()
        assert not tab.locator(".kb-progress-summary").is_visible()
        tab.locator("a.kb-next[rel=next]").click()
        tab.wait_for_url("**/training/what-is-an-incident/")
        assert tab.locator("a.kb-next[rel=next]").is_visible()
    finally:
        context.close()


def test_glossary_terms_have_tooltips(page, sample_url):
    page.goto(sample_url + "training/")
    term = page.locator("article abbr", has_text="known error").first
    term.hover()
    title = term.get_attribute("title")
    assert title.startswith("A problem whose root cause is understood")
    page.goto(sample_url + "training/glossary/")
    assert page.locator("dt#term-mttr").is_visible()
    assert "Mean time to restore" in page.locator("dt#term-mttr + dd").inner_text()
    assert page.outside_requests == []


def test_drill_reveals_one_step_at_a_time(page, sample_url):
    page.goto(sample_url + "drills/")
    page.get_by_role("link", name="CheckoutLatencyHigh on a Friday evening").first.click()
    page.wait_for_url("**/drills/INC-2025-014/")
    steps = page.locator("details.kb-drill-step")
    assert steps.count() >= 3
    questions = page.locator("details.kb-drill-step > .kb-drill-question")
    assert not any(questions.nth(i).is_visible() for i in range(steps.count()))
    steps.nth(0).locator("> summary").click()
    assert questions.nth(0).is_visible() and not questions.nth(1).is_visible()
    reveal = steps.nth(0).locator("details.kb-drill-reveal")
    assert not reveal.locator("ul").first.is_visible()
    reveal.locator("> summary").click()
    assert "SEV1 declared" in reveal.inner_text()
    assert not page.locator("details.kb-drill-notes ul").first.is_visible()
    assert "Kestrel" not in page.locator(".kb-drill-scenario").inner_text()
    assert page.outside_requests == []


def test_commander_card_prints_on_one_a4_page(page, sample_url):
    page.goto(sample_url + "training/commander-card/")
    page.emulate_media(media="print")
    assert not page.locator(".md-header").is_visible() and not page.locator(".md-sidebar--primary").is_visible()
    assert page.locator(".kb-card-checklist li").count() >= 5
    pdf = page.pdf(format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    assert page.outside_requests == []
