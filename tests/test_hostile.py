"""Hostile record bodies that we did not write, through `kb check` and a real `mkdocs build`.

Corpora (tests/hostile/): our own vectors for every form the issue names (tags split over
lines, reference links, entity-encoded and tab-broken schemes, attribute lists, SVG and
MathML events, <details ontoggle>, formaction, our own block fences), and the vectors of
the OWASP XSS Filter Evasion Cheat Sheet (CC BY-SA 4.0, extracted unchanged).

For each form the tests show which of the two outcomes happens:
- error: `kb check` reports it at its source line (so `kb build` and `mkdocs build --strict`
  stop), and a plain `mkdocs build` publishes the page with the active parts removed
  (exit 1: the errors are listed);
- inert: Python-Markdown already renders it harmless, and it is published as it is.
Either way, no built page carries anything active from a record. The browser test
(test_hostile_browser.py) checks that no record script runs.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from conftest import run_kb
from hostile_support import OWASP, VECTORS, cases, hostile_kb, mkdocs_build, record_active_parts

from incidentkb.checks.rendered_html import active_parts, render_body
from incidentkb.site.sanitize import sanitize

SAFETY_CODES = {"unsafe-html", "unsafe-link", "raw-html"}
OURS = cases(VECTORS, [])
ALL = cases(VECTORS, OWASP)
BY_NAME = {case.name: case for case in ALL}


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory):
    return hostile_kb(tmp_path_factory.mktemp("hostile") / "kb", ALL)


@pytest.fixture(scope="module")
def check_findings(hostile_root):
    result = run_kb("check", "--root", hostile_root, "--format", "json")
    assert result.code == 1 and "Traceback" not in result.out + result.err
    by_path = defaultdict(list)
    for finding in result.json:
        if finding["code"] in SAFETY_CODES:
            by_path[finding["path"]].append(finding)
    return by_path


@pytest.fixture(scope="module", params=[1, 2], ids=["in-mkdocs", "in-workers"])
def built(request, hostile_root, tmp_path_factory):
    """The site built by a plain `mkdocs build`: the pages in MkDocs' own loop (KB_WORKERS=1) or in workers."""
    site = tmp_path_factory.mktemp(f"site-{request.param}")
    result = mkdocs_build(hostile_root, site, workers=request.param)
    assert "build worker stopped" not in result.stderr  # with 2, every page is built in a worker
    return site, result


def test_the_corpora_are_there():
    assert len(VECTORS) >= 40 and len(OWASP) >= 100
    assert len({case.name for case in ALL}) == len(ALL)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_kb_check_reports_each_form_at_its_line(vector, check_findings):
    case = BY_NAME[vector["name"]]
    found = [(f["code"], f["line"]) for f in check_findings[case.path]]
    if vector["outcome"] == "inert":
        assert found == [], "Python-Markdown renders this harmless: nothing to report"
        return
    expected = (vector["code"], case.first_line + vector["line"] - 1)
    assert expected in found, f"expected {expected}, found {found}"
    for finding in check_findings[case.path]:
        assert finding["level"] == "error" and finding["hint"]


def test_every_owasp_vector_that_renders_active_is_reported(check_findings):
    """A vector whose rendered body (before sanitising) holds anything active must be an error of kb check."""
    missed = []
    for case in ALL[len(VECTORS):]:
        html, _ = render_body(case.body)
        if active_parts(html) and not check_findings[case.path]:
            missed.append((case.name, case.body[:80]))
    assert missed == []


def test_owasp_findings_point_into_the_body(check_findings):
    for case in ALL[len(VECTORS):]:
        lines = case.body.count("\n") + 1
        for finding in check_findings[case.path]:
            assert case.first_line <= finding["line"] < case.first_line + lines, (case.name, finding)


def test_a_plain_build_publishes_every_page_without_active_parts(built):
    site, result = built
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr[-2000:]
    assert "the site was built, but the records have" in result.stderr
    clean = (site / "incidents/index.html").read_text(encoding="utf-8")
    baseline = len([p for p in active_parts(clean) if p.tag == "script" and not p.attribute])
    leaks = {}
    for case in ALL:
        page = site / case.page
        assert page.is_file(), f"{case.name}: page not built"
        found = record_active_parts(page.read_text(encoding="utf-8"), baseline)
        if found:
            leaks[case.name] = found
    assert leaks == {}


def test_the_strict_build_stops_with_the_located_findings(hostile_root, tmp_path):
    result = mkdocs_build(hostile_root, tmp_path / "site", workers=1, strict=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    case = BY_NAME["split-img-tag"]
    assert f"{case.path}:{case.first_line + 2}: unsafe-html: the onerror= attribute on <img>" in result.stderr


def test_inert_forms_are_published_as_text(built):
    site, _ = built
    page = (site / BY_NAME["code-span-and-fence"].page).read_text(encoding="utf-8")
    assert "&lt;script&gt;kbHit('code-span')&lt;/script&gt;" in page
    assert "onerror=kbHit(&#39;code-fence&#39;)" in page or "onerror=kbHit('code-fence')" in page.replace("&#39;", "'")


def test_harmless_markup_survives_the_sanitiser():
    html = ('<details open><summary>More</summary><p>Text <kbd>Ctrl</kbd><br><sup>1</sup></p></details>'
            '<table><thead><tr><th style="text-align: left;">a</th></tr></thead></table>'
            '<p><a href="https://example.com/x" title="t">x</a> <a href="../y/#z">y</a> <img alt="c" src="c.png"></p>'
            '<ul class="task-list"><li class="task-list-item"><label class="task-list-control">'
            '<input type="checkbox" disabled checked><span class="task-list-indicator"></span></label> done</li></ul>'
            '<h2 id="cause">Cause<a class="headerlink" href="#cause" title="Permanent link">¶</a></h2>'
            '<abbr title="Mean time to restore">MTTR</abbr>'
            '<div class="admonition note"><p class="admonition-title">N</p></div>')
    cleaned = sanitize(html)
    for kept in ("<details open", "<kbd>", "<sup>", 'style="text-align:left"', 'href="https://example.com/x"',
                 'href="../y/#z"', 'src="c.png"', 'type="checkbox"', "checked", 'class="task-list-indicator"',
                 'id="cause"', 'href="#cause"', '<abbr title="Mean time to restore">', 'class="admonition note"'):
        assert kept in cleaned, kept


def test_kb_generate_refuses_bodies_that_run_code(hostile_root, tmp_path):
    """Another builder renders the generated Markdown without our sanitiser: nothing is written."""
    result = run_kb("generate", "--root", hostile_root, "--out", tmp_path / "out")
    assert result.code == 1 and "Traceback" not in result.err
    case = BY_NAME["reference-link"]
    assert f"{case.path}:{case.first_line + 2}: unsafe-link:" in result.err
    assert not (tmp_path / "out").exists()


def test_kb_generate_writes_inert_bodies_without_our_fences(kb_root, tmp_path):
    from conftest import minimal_incident

    quoted = "```\n<!--kb-raw-->\n<b>quoted</b>\n<!--/kb-raw-->\n```"
    root = kb_root({"catalog.yml": (hostile_root_catalog()),
                    "incidents/2025/INC-2025-001-x.md": minimal_incident().replace("A deploy broke checkout.", quoted)})
    result = run_kb("generate", "--root", root, "--out", tmp_path / "out")
    assert result.code == 0, result.err
    page = next((tmp_path / "out/incidents/2025").glob("INC-2025-001-*.md")).read_text(encoding="utf-8")
    assert "<!-- kb-raw -->\n<b>quoted</b>\n<!-- /kb-raw -->" in page


def hostile_root_catalog() -> str:
    from conftest import REPO

    return (REPO / "tests/badinput/_valid/catalog.yml").read_text(encoding="utf-8")


def test_reject_mode_refuses_raw_html_the_source_patterns_miss(kb_root):
    from conftest import minimal_incident

    body = "Text.\n\n<b\nclass=\"x\">bold</b> and <details><summary>s</summary>t</details>"
    root = kb_root({"catalog.yml": hostile_root_catalog(), "policy.yml": "bodies:\n  raw_html: reject\n",
                    "incidents/2025/INC-2025-001-x.md": minimal_incident().replace("A deploy broke checkout.", body)})
    result = run_kb("check", "--root", root, "--format", "json")
    found = sorted((f["code"], f["line"]) for f in result.json if f["code"] in SAFETY_CODES)
    assert result.code == 1
    # The split tag (found on the rendered body), and <details> and <summary> (found by the source check).
    assert found == [("raw-html", 17), ("raw-html", 18), ("raw-html", 18)], found


def test_allow_mode_trusts_contributors(kb_root, tmp_path):
    """`bodies.raw_html: allow` is the documented opt-out: no finding, and the body is published as written."""
    from conftest import minimal_incident

    root = kb_root({"catalog.yml": hostile_root_catalog(), "policy.yml": "bodies:\n  raw_html: allow\n",
                    "mkdocs.yml": "site_name: t\ntheme: {name: material, font: false}\nplugins: [incidentkb]\n",
                    "docs/index.md": "# Home\n",
                    "incidents/2025/INC-2025-001-x.md": minimal_incident().replace(
                        "A deploy broke checkout.", "<kbd onclick=\"x()\">Ctrl</kbd>")})
    result = run_kb("check", "--root", root, "--format", "json")
    assert not [f for f in (result.json if result.out.strip() else []) if f["code"] in SAFETY_CODES]
    assert mkdocs_build(root, tmp_path / "site", workers=1).returncode == 0
    page = next((tmp_path / "site/incidents/2025").glob("INC-2025-001-*/index.html")).read_text(encoding="utf-8")
    assert '<kbd onclick="x()">Ctrl</kbd>' in page


@pytest.mark.parametrize("body, rendered", [
    ("Plain text with `code` and **bold**; a < b and c > d.", False),
    ("See [x](https://grafana.example.com/d/x), [y](../a/b.md#h), [z](foo.md), [m](mailto:a@b.c), [t](#top).", False),
    ("[x][1]\n\n[1]: https://example.com/x", False),
    ("## Heading {: #id .class }", False),
    ("[1]: javascript:alert(1)", True),
    ("[x]( \njavascript:x)", True),
    ("[x](<javascript:x>)", True),
    ("[x](jav&#x61;script:x)", True),
    ("[x](java%0ascript:x)", True),
    ("![i](data:text/html,x)", True),
    ("a <kbd>x</kbd>", True),
    ("Para\n{: onclick=x }", True),
])
def test_the_check_renders_the_bodies_that_could_run_code(body, rendered):
    """The check skips prose and plain links (most bodies): what it skips cannot render to anything active."""
    from incidentkb.checks.rendered_html import may_run_code

    assert may_run_code(body) == rendered
    if not rendered:
        assert active_parts(render_body(body)[0]) == []
