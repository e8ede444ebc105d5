"""Helpers for driving the site's search in the browser tests (the browser and page fixtures are in conftest.py).

    results = search(page, "KubePodCrashLooping")          # the header box
    results = search(page, "OOMKilled", root="#kb-search-page", everything=True)

Each result is a dict: href (as written), path (resolved), type and label (record type),
title, snippet, marks (highlighted words), exact (an exact id / alert match).
"""

from __future__ import annotations

HEADER = "[data-kb-search]"

RESULTS_JS = """(root) => [...document.querySelectorAll(root + ' .md-search-result__link')]
    .filter(link => link.tagName === 'A').map(link => ({
        href: link.getAttribute('href'),
        path: new URL(link.href).pathname,
        type: link.dataset.kbSearchType,
        label: link.querySelector('.kb-search-result__type').textContent,
        title: link.querySelector('h1').textContent,
        snippet: (link.querySelector('.kb-search-result__snippet') || {}).textContent || '',
        marks: [...link.querySelectorAll('mark')].map(m => m.textContent),
        exact: !!link.querySelector('.kb-search-result__exact'),
    }))"""


def wait_done(page, root: str = HEADER) -> None:
    """Wait until the search box has shown the results of what was typed last."""
    page.wait_for_selector(f"{root}[data-kb-search-state='done']", state="attached", timeout=10_000)


def search(page, query: str, root: str = HEADER, everything: bool = False) -> list[dict]:
    """Type `query` into the search box like a person (it is focused first) and return the results shown."""
    box = page.locator(f"{root} [data-kb-search-query]")
    box.click()
    box.fill("")
    wait_done(page, root)
    page.keyboard.type(query)
    wait_done(page, root)
    while everything and page.locator(f"{root} .kb-search__more-button").count():
        page.locator(f"{root} .kb-search__more-button").click()
        wait_done(page, root)
    return page.evaluate(RESULTS_JS, root)
