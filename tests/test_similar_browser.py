"""Find similar on the built sample site, in Debian chromium, against `kb similar` on the same records.

The page ranks in the browser from the static index the site build wrote; `kb similar` ranks in Python.
For the same pasted text both must list the same runbooks and incidents, in the same order, with the
same scores and the same reasons. The site indexes what its audience may see (no restricted records,
no drafts), so `kb similar` runs on a copy of the sample holding exactly the records the site indexed.
"""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import run_kb

from incidentkb.records.load import load

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEXTS = [
    "pods OOMKilled in CrashLoopBackOff after the deploy",
    "x509: certificate has expired",
    "checkout p99 latency above 2 s, connection pool exhausted",
    "KafkaConsumerLagHigh on the orders topic",
    "customers logged out, redis evicting keys",
    "certficate expird on the payments endpoint",  # typos: both read them as the same known words
    "SERVFAIL from coredns, DNS resolution failures in the cluster",
]

RESULTS_JS = """() => [...document.querySelectorAll('#kb-find-similar .kb-similar-section')].map(section => ({
    heading: section.querySelector('h2').textContent,
    matches: [...section.querySelectorAll('.kb-similar-result')].map(item => ({
        id: item.querySelector('.kb-similar-id').textContent,
        kind: item.querySelector('.kb-similar-kind').textContent,
        title: item.querySelector('a').textContent,
        score: Number(item.querySelector('.kb-similar-score').textContent),
        reasons: [...item.querySelectorAll('.kb-similar-reasons li')].map(li => li.textContent),
    })),
}))"""


def indexed_records(site) -> set[tuple[str, str]]:
    """(kind, id) of every record in the site's similar-incident index (its r-*.js record files)."""
    out = set()
    for path in sorted((site / "assets" / "similar").glob("r-*.js")):
        text = path.read_text(encoding="utf-8")
        rows = json.loads(text[text.index("[") : text.rindex("]") + 1])
        out |= {(row[1], row[0]) for row in rows}
    return out


@pytest.fixture(scope="module")
def same_records(sample_site, tmp_path_factory):
    """A copy of the sample site's knowledge base holding only the records its Find similar page indexed."""
    root, site = sample_site
    indexed = indexed_records(site)
    assert len(indexed) >= 40, "the sample site's similar-incident index is smaller than the sample"
    copy = tmp_path_factory.mktemp("same-records")
    shutil.copytree(root, copy, dirs_exist_ok=True, ignore=shutil.ignore_patterns("site"))
    kb, _ = load(copy)
    left_out = [r for r in list(kb.incidents) + list(kb.runbooks) if (r.kind, r.id) not in indexed]
    for record in left_out:
        (copy / record.path).unlink()
    kb, _ = load(copy)
    assert {(r.kind, r.id) for r in list(kb.incidents) + list(kb.runbooks)} == indexed
    return copy


def kb_similar(root, text: str, kind: str, top: int) -> list[dict]:
    result = run_kb("similar", "--root", root, "--json", "--kind", kind, "--top", str(top), text)
    assert result.code in (0, 1), result.err
    return result.json if result.out.strip() else []


@pytest.mark.parametrize("text", TEXTS)
def test_find_similar_ranks_as_kb_similar(page, sample_url, same_records, text):
    page.goto(sample_url + "similar/")
    page.fill("#kb-find-similar textarea", text)
    page.click("#kb-find-similar button")
    page.wait_for_selector("#kb-find-similar[data-state=done]")
    shown = {section["heading"]: section["matches"] for section in page.evaluate(RESULTS_JS)}
    expected = {"Runbooks": kb_similar(same_records, text, "runbooks", 5),
                "Past incidents": kb_similar(same_records, text, "incidents", 10)}
    assert expected["Runbooks"] and expected["Past incidents"], f"{text!r} finds nothing in the sample"
    assert shown == expected
    assert page.outside_requests == []
