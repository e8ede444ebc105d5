"""Hypothesis against the whole build of a small knowledge base: `mkdocs build` never crashes.

Pages, reports, charts, similar incidents and search are computed from records before, or
without, the check's verdict, so no code there may assume a field holds an allowed value. Each
example is the valid base of the bad-input corpus plus two incidents whose fields are replaced,
some of them, by values hypothesis draws (near-valid, wrong type, anything), and a body that
mixes Markdown, raw HTML and hostile markup. The real `mkdocs build` runs on it (in this process,
see build_support.py; with the search index): it must end with exit 0 or 1 and no exception. Few examples, as each is a
whole build; hypothesis shrinks a failure to the field that caused it. To hunt longer, set
KB_FUZZ_EXAMPLES (e.g. 500) in the environment.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from build_support import mkdocs_build_here
from conftest import REPO
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_property import NEAR_VALID, values

pytestmark = pytest.mark.slow

BASE = REPO / "tests/badinput/_valid"
VALID = {
    "id": "INC-2025-020", "title": "Search outage", "status": "resolved", "severity": "SEV2", "services": ["checkout"],
    "started_at": "2025-03-20T09:00:00+01:00", "detected_at": "2025-03-20T09:05:00+01:00",
    "resolved_at": "2025-03-20T10:00:00+01:00", "summary": "Search returned errors until the index was rebuilt.",
    "detection": {"method": "alert", "alert": "CheckoutLatencyHigh"},
    "action_items": [{"id": "AI-1", "title": "Alert on index size", "owner": "team-payments", "due": "2025-04-30"}],
    "timeline": [{"at": "2025-03-20T09:05:00+01:00", "event": "Alert fires"}],
    "root_causes": [{"category": "capacity", "description": "The index outgrew its disk."}],
    "impact": {"customers_affected": 10, "sla_breached": True},
    "postmortem": {"status": "reviewed", "reviewed_at": "2025-03-25"},
    "tags": ["search"],
}
anything = st.one_of(st.sampled_from(NEAR_VALID), values)
detection = st.fixed_dictionaries({}, optional={"method": st.one_of(st.sampled_from(NEAR_VALID), st.text(max_size=8)),
                                                "alert": anything, "source": anything})
# Nested records whose other fields are valid, so that the one drawn value reaches the reports.
ITEM = VALID["action_items"][0]
nested = st.fixed_dictionaries({}, optional={
    "action_items": st.lists(st.dictionaries(st.sampled_from(["status", "type", "priority", "due", "owner", "id"]),
                                             anything, max_size=3).map(lambda d: {**ITEM, **d}), max_size=3),
    "root_causes": st.lists(st.fixed_dictionaries({"category": anything, "description": st.just("Disk full.")}),
                            max_size=2),
    "postmortem": st.fixed_dictionaries({"status": anything}, optional={"reviewed_at": anything, "owner": anything}),
    "impact": st.dictionaries(st.sampled_from(["customers_affected", "users_affected", "sla_breached", "revenue_loss",
                                               "currency", "data_exposed"]), anything, max_size=3),
    "timeline": st.lists(st.fixed_dictionaries({"at": anything, "event": anything}), max_size=3),
    "security": st.fixed_dictionaries({}, optional={"personal_data": anything, "aware_at": anything,
                                                    "notifications": anything}),
})
overrides = st.dictionaries(st.sampled_from(sorted(VALID) + ["trigger", "roles", "security", "mitigated_at",
                                                               "acknowledged_at", "related", "runbooks", "visibility"]),
                            anything, max_size=4)
body = st.lists(st.sampled_from([
    "## What happened", "Text with **bold** and a [link](https://example.com).", "<details><summary>x</summary>y",
    "<img src=x\nonerror=alert(1)>", "[1]: javascript:alert(1)", "{: onclick=alert(1) }", "| a | b |\n|---|---|\n| 1 |",
    "```\ncode\n", "<!--kb-raw-->", "<!--kb-stash-0-->", "- [ ] task", "!!! note\n    admonition", "# Title",
    "<div markdown=\"1\">\n*x*\n</div>", "&#106;avascript:", "\x00", "\u2028",
]) | st.text(max_size=40), max_size=8).map("\n\n".join)


def incident(number: int, changes: dict, detect, text: str) -> str:
    data = dict(VALID, id=f"INC-2025-{number:03d}")
    data.update(changes)
    if detect is not None:
        data["detection"] = detect
    return "---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "---\n\n" + text + "\n"


@settings(max_examples=int(os.environ.get("KB_FUZZ_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(first=overrides, second=nested, detect=st.none() | detection, text=body)
@example(first={}, second={}, detect={"method": "pager"}, text="")  # the crash of issue 19: KeyError: None in reports
def test_the_build_never_crashes(first, second, detect, text):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "kb"
        shutil.copytree(BASE, root, ignore=shutil.ignore_patterns("expected.yml"))
        for number, changes in ((20, first), (21, second)):
            path = root / f"incidents/2025/INC-2025-{number:03d}-fuzzed.md"
            path.write_text(incident(number, changes, detect, text).encode("utf-8", "surrogatepass").decode(
                "utf-8", "replace"), encoding="utf-8")
        built = mkdocs_build_here(root, Path(tmp) / "site", today="2025-04-01", search=True)
        assert built.crash is None, f"{type(built.crash).__name__}: {built.crash}\n{built.text()}"
        assert built.code in (0, 1)
        assert (Path(tmp) / "site/index.html").is_file() or built.code == 1
