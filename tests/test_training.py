"""The training path and the glossary: facts follow the policy file, terms are explained where (and only where) they should be."""

from __future__ import annotations

import re
from pathlib import Path

import markdown
import pytest
from conftest import minimal_incident

from incidentkb.analysis import glossary as glossary_module
from incidentkb.analysis.glossary import Glossary, builtin_terms, glossary_of
from incidentkb.analysis.training import CARD, GLOSSARY, INDEX, TOOLS, learning_path, postmortem_sections
from incidentkb.records.load import load
from incidentkb.site.glossary import add_abbreviations, markdown_text, wrap_html
from incidentkb.site.renderer import RAW_END, RAW_START, Renderer, RenderOptions
from incidentkb.site.renderer import heading_anchor as anchor
from incidentkb.site.sections.training import link_fragment
from incidentkb.site.sections.training import nav as training_section_nav
from incidentkb.site.sections.training import pages as training_pages

POLICY = """\
title: Test policy
severities:
  - id: SEV1
    name: Critical
    summary: Everything is down.
    criteria: [Checkout is down]
    examples: [The big outage (INC-2025-002)]
    page: [On-call engineer, Incident commander on duty]
    notify: [CTO]
    update_every: {update}
    acknowledge_within: 5 minutes
    escalate_after: 15 minutes
    escalation: [Team lead, CTO]
    postmortem_required: true
    postmortem_due: 5 business days
  - id: SEV2
    name: Major
    summary: Something important is broken.
    criteria: [Login fails for 10% of customers]
    update_every: 1 hour
    acknowledge_within: 10 minutes
    postmortem_required: false
roles:
  - id: commander
    name: Incident commander
    summary: Owns the response.
    handover: [Hand over in writing]
  - id: communications-lead
    name: Communications lead
    summary: Keeps everyone outside the response informed.
checklists:
  - id: commander
    name: Incident commander's checklist
    items: [Acknowledge the page, Declare the severity, Name a scribe, Ask what changed, Decide the first mitigation]
glossary:
  - term: MTTR
    definition: Our own meaning of it. A second sentence that is not in the tooltip.
  - term: Flux capacitor
    definition: A thing we have.
"""

CATALOG = """\
teams:
  - {id: team-a, name: Team A}
services:
  - {id: checkout, name: Checkout, owner: team-a, tier: 1, escalation: on-call}
"""


def make_kb(kb_root, update: str = "30 minutes", incidents: dict | None = None, policy: bool = True):
    files = {"catalog.yml": CATALOG, **(incidents or {})}
    if policy:
        files["policy.yml"] = POLICY.replace("{update}", update)
    root = kb_root(files)
    kb, findings = load(root)
    assert not [f for f in findings if f.is_error], findings
    return kb


def step(steps, step_id):
    return next(s for s in steps if s.id == step_id)


def answers(s) -> str:
    return "\n".join(f"{c.question} {c.answer}" for c in s.checks)


# ----------------------------------------------------------------------------- the path

def test_path_is_ordered_and_complete(kb_root):
    steps = learning_path(make_kb(kb_root))
    assert [s.id for s in steps] == ["what-is-an-incident", "severity", "roles", "first-15-minutes", "communication",
                                     "escalation", "postmortems", "runbooks", "tools"]
    for s in steps:
        assert s.goal and s.read and s.checks, s.id
    nav = training_section_nav(make_kb(kb_root))[0]["Training"]
    assert nav[0] == INDEX and nav[-3:-1] == [GLOSSARY, CARD] and nav[1:-3] == [s.path for s in steps]


@pytest.mark.parametrize("update", ["30 minutes", "20 minutes", "2 hours"])
def test_facts_and_answers_follow_the_policy(kb_root, update):
    steps = learning_path(make_kb(kb_root, update=update))
    severity = step(steps, "severity")
    assert f"During a SEV1, how often do stakeholders get a status update? Every {update}" in answers(severity)
    assert ("SEV1", "Critical", "Everything is down.", "5 minutes", update, "required") in severity.table[1]
    assert "“Login fails for 10% of customers”: which severity is that? SEV2 (Major)" in answers(severity)
    first = step(steps, "first-15-minutes")
    assert first.ordered == ("Acknowledge the page", "Declare the severity", "Name a scribe", "Ask what changed",
                             "Decide the first mitigation")
    assert "What is the commander's first step? Acknowledge the page." in answers(first)
    assert "What comes right after “Name a scribe”? Ask what changed." in answers(first)
    escalation = step(steps, "escalation")
    assert "After 15 minutes without progress, to Team lead, then CTO." in answers(escalation)
    postmortems = step(steps, "postmortems")
    assert "Within 5 business days of resolution." in answers(postmortems)
    assert "Is a post-mortem required for a SEV2? No" in answers(postmortems)


def test_read_links_point_at_policy_headings(kb_root):
    steps = learning_path(make_kb(kb_root))
    links = {(l.target, link_fragment(l).lstrip("#")) for s in steps for l in s.read}
    assert ("policy/severity.md", "sev1-critical") in links
    assert ("policy/roles.md", "communications-lead") in links
    assert ("policy/checklists.md", anchor("Incident commander's checklist")) in links
    # The anchors are what the policy pages' headings (`## {{ name | md }}`) really get.
    assert anchor("SEV1: Critical") == "sev1-critical"


def test_examples_use_the_policy_examples_and_never_restricted_incidents(kb_root):
    incidents = {
        "incidents/2025/INC-2025-001-a.md": minimal_incident("INC-2025-001", severity="SEV1", visibility="restricted"),
        "incidents/2025/INC-2025-002-b.md": minimal_incident("INC-2025-002", severity="SEV1"),
        "incidents/2025/INC-2025-003-c.md": minimal_incident("INC-2025-003", severity="SEV2", visibility="restricted"),
    }
    steps = learning_path(make_kb(kb_root, incidents=incidents))
    shown = {l.target for s in steps for l in s.examples}
    assert "incidents/2025/INC-2025-002-b.md" in shown
    assert not {p for p in shown if "INC-2025-001" in p or "INC-2025-003" in p}


def test_path_without_a_policy_file_links_to_no_policy_page(kb_root):
    kb = make_kb(kb_root, policy=False, incidents={"incidents/2025/INC-2025-001-a.md": minimal_incident()})
    pages = training_pages(Renderer(kb, RenderOptions()))
    training = [p for p in pages if p.path.startswith("training/")]
    assert {p.path for p in training} >= {INDEX, GLOSSARY, CARD}
    for page in training:
        assert "policy/" not in re.sub(r"policy file", "", page.markdown), page.path


def test_tools_name_real_commands():
    from incidentkb.cli import cli

    for command, _ in TOOLS:
        group = cli
        for word in command.split()[1:]:
            assert word in group.commands, command
            group = group.commands[word]


def test_postmortem_sections_come_from_the_new_incident_template():
    assert postmortem_sections() == ["What happened", "Impact", "Root cause", "What went well", "What went wrong",
                                     "Where we got lucky", "Lessons learned"]


def test_pages_render_with_prev_next_and_progress(kb_root):
    kb = make_kb(kb_root)
    pages = {p.path: p.markdown for p in training_pages(Renderer(kb, RenderOptions()))}
    steps = learning_path(kb)
    first, second, last = pages[steps[0].path], pages[steps[1].path], pages[steps[-1].path]
    assert f"Step 1 of {len(steps)}" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert 'rel="prev"' in second and 'rel="next"' in second
    assert 'rel="next"' not in last and "You have reached the end of the path" in last
    assert 'data-step="severity"' in pages[INDEX] and 'data-kb-training="./"' in pages[INDEX]
    assert 'data-kb-training="../"' in second
    assert "<script>" in first and "localStorage" in first and "http" not in first.split("<script>")[1].split("</script>")[0]
    card = pages[CARD]
    assert "Acknowledge the page" in card and "@page" in card and "SEV1" in card and "SEV2" in card


def test_hostile_policy_text_is_escaped(kb_root):
    kb = make_kb(kb_root)
    kb.policy.data["checklists"][0]["items"][0] = "<script>alert(1)</script> [x](javascript:alert(2))"
    kb.policy.data["glossary"].append({"term": "XSS", "definition": '"><img src=x onerror=alert(3)>', "aliases": [],
                                       "tooltip": True, "source": None})
    glossary_module._CACHE.clear()
    pages = training_pages(Renderer(kb, RenderOptions()))
    text = "\n".join(p.markdown for p in pages)
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)" in text
    assert "<img" not in text and "&lt;img src=x onerror=alert(3)&gt;" in text
    glossary_module._CACHE.clear()


# ----------------------------------------------------------------------------- the glossary

def test_builtin_glossary_is_valid_and_has_the_core_terms():
    names = {t["term"] for t in builtin_terms()}
    assert {"Incident", "Problem", "Known error", "MTTR", "SLA", "SLO", "Error budget", "Post-mortem"} <= names


def test_policy_terms_add_and_replace(kb_root):
    glossary = glossary_of(make_kb(kb_root).policy)
    assert glossary.get("mttr").definition.startswith("Our own meaning")
    assert glossary.tooltips["MTTR"] == "Our own meaning of it."  # the first sentence only
    assert glossary.get("Flux capacitor") is not None
    assert [t.term for t in glossary.terms] == sorted((t.term for t in glossary.terms), key=str.casefold)


def test_tooltip_defaults():
    glossary = Glossary([
        {"term": "SLO", "definition": "Objective."}, {"term": "Known error", "definition": "Known."},
        {"term": "Incident", "definition": "Everyday word."}, {"term": "Runbook", "definition": "x", "tooltip": True},
    ])
    assert set(glossary.tooltips) >= {"SLO", "SLOs", "Known error", "known error", "known errors", "Runbook", "runbook"}
    assert "Incident" not in glossary.tooltips and "incident" not in glossary.tooltips
    assert "slo" not in glossary.tooltips  # abbreviations match as written


PAGE = f"""\
# MTTR and SLO in a heading

Our SLO is strict, and MTTR matters. Known errors are listed.

See [the MTTR report](reports/mttr.md) and `SLA` in code.

```text
error budget inside a fence
```

{RAW_START}
<table><tr><td>RPO in generated HTML</td></tr></table>
{RAW_END}
"""


def test_add_abbreviations_defines_only_terms_in_markdown_text(kb_root):
    policy = make_kb(kb_root).policy
    out = add_abbreviations(PAGE, policy)
    defined = re.findall(r"^\*\[([^\]]+)\]: (.*)$", out, re.MULTILINE)
    assert {term for term, _ in defined} == {"SLO", "MTTR", "Known errors"}
    assert dict(defined)["MTTR"] == "Our own meaning of it."
    assert out.startswith(PAGE.rstrip("\n"))
    assert add_abbreviations(out, policy) == out  # idempotent: the hook may run on a page twice
    assert add_abbreviations("Nothing to explain here.\n", policy) == "Nothing to explain here.\n"


def test_a_page_that_defines_a_term_keeps_its_own_definition(kb_root):
    page = "Our SLO and MTTR.\n\n*[SLO]: Defined by this page.\n"
    out = add_abbreviations(page, make_kb(kb_root).policy)
    assert out.count("*[SLO]") == 1 and "*[MTTR]: Our own meaning of it." in out


def test_an_unclosed_fence_gets_nothing_appended(kb_root):
    page = "MTTR here.\n\n```\ncode without an end\n"
    assert markdown_text(page) is None
    assert add_abbreviations(page, make_kb(kb_root).policy) == page


def test_the_extension_explains_text_but_not_links_headings_or_code(kb_root):
    out = add_abbreviations(PAGE.replace(RAW_START + "\n", "").replace("\n" + RAW_END, ""), make_kb(kb_root).policy)
    html = markdown.markdown(out, extensions=["incidentkb.training", "toc", "fenced_code"])
    assert re.search(r'<p>Our <abbr title="[^"]+">SLO</abbr> is strict, and <abbr title="Our own meaning of it.">MTTR'
                     r"</abbr> matters\. <abbr [^>]+>Known errors</abbr>", html)
    assert '<a href="reports/mttr.md">the MTTR report</a>' in html  # link text left alone
    assert "<code>SLA</code>" in html and "error budget inside a fence" in html and "<abbr>" not in html
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", html).group(1)
    assert "abbr" not in heading
    assert "RPO in generated HTML</td>" in html  # raw HTML untouched
    assert "*[" not in html  # the definitions themselves never show


def test_wrap_html_leaves_tags_links_and_code_alone(kb_root):
    glossary = glossary_of(make_kb(kb_root).policy)
    assert str(wrap_html(glossary, "MTTR < 1 h & SLO")) == (
        '<abbr title="Our own meaning of it.">MTTR</abbr> &lt; 1 h &amp; <abbr title="' +
        glossary.tooltips["SLO"].replace('"', "&#34;") + '">SLO</abbr>')
    from markupsafe import Markup

    html = Markup('<a href="x" title="MTTR">MTTR</a> <code>SLO</code> <span data-x="SLO">SLO</span>')
    wrapped = str(wrap_html(glossary, html))
    assert wrapped.startswith('<a href="x" title="MTTR">MTTR</a> <code>SLO</code> <span data-x="SLO"><abbr ')


def test_glossary_page_lists_every_term_with_an_anchor(kb_root):
    kb = make_kb(kb_root)
    page = next(p for p in training_pages(Renderer(kb, RenderOptions())) if p.path == GLOSSARY).markdown
    for term in glossary_of(kb.policy).terms:
        assert f'id="{term.anchor}"' in page


def test_sample_knowledge_base_path_renders():
    root = Path(__file__).resolve().parent.parent
    kb, _ = load(root)
    steps = learning_path(kb)
    assert len(steps) == 9
    severity = step(steps, "severity")
    # The sample policy's SEV1 example names INC-2025-014; the path shows it as the SEV1 example.
    assert any("INC-2025-014" in l.target for l in severity.examples)
    assert "Every 30 minutes, even when nothing has changed." in answers(severity)
