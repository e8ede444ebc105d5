"""Markup in the catalog, the policy file and record fields: shown as text, on our pages and in `kb generate`.

Every free-text value of the sample's catalog.yml and policy.yml (any string with a space in it:
names, descriptions, definitions, templates, checklist items) gets hostile markup appended, and the
sample's hostile incident (conftest.HOSTILE_INCIDENT) holds markup in its fields. The pages of a
real build, and the Markdown `kb generate` writes as rendered by Python-Markdown with the usual
extensions (what another builder would do), must hold nothing active that came from that text.
"""

from __future__ import annotations

import shutil

import markdown
import pytest
import yaml
from conftest import HOSTILE_INCIDENT, REPO, TODAY, run_kb
from hostile_support import PAYLOAD, mkdocs_build

from incidentkb.checks.rendered_html import active_parts

pytestmark = pytest.mark.slow

MARKUP = " <img src=x onerror=alert('text')> [x](javascript:alert('text')) <script>alert('text')</script>"


FREE_TEXT = {"name", "description", "definition", "body", "title", "support", "escalation", "contact", "notes",
             "purpose", "summary", "goal", "answer", "question", "text", "when", "who", "items", "steps", "subject"}


def _poison(value, key=""):
    """Hostile markup appended to the free-text values (by key) of a parsed catalog or policy file."""
    if isinstance(value, dict):
        return {k: _poison(item, k) for k, item in value.items()}
    if isinstance(value, list):
        return [_poison(item, key) for item in value]
    if isinstance(value, str) and key in FREE_TEXT:
        return value + MARKUP
    return value


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory):
    root = tmp_path_factory.mktemp("poisoned") / "kb"
    ignore = shutil.ignore_patterns(".git", ".venv", "site", "tests", "scripts", "*.egg-info", "__pycache__", ".cache")
    shutil.copytree(REPO, root, ignore=ignore)
    for name in ("catalog.yml", "policy.yml"):
        data = yaml.safe_load((root / name).read_text(encoding="utf-8"))
        (root / name).write_text(yaml.safe_dump(_poison(data), allow_unicode=True, sort_keys=False), encoding="utf-8")
    (root / "incidents/2026/INC-2026-099-hostile-markup.md").write_text(HOSTILE_INCIDENT, encoding="utf-8")
    return root



def test_built_pages_show_the_markup_as_text(poisoned, tmp_path):
    result = mkdocs_build(poisoned, tmp_path / "site", workers=2)
    assert "Traceback" not in result.stderr
    leaks = {}
    for page in sorted((tmp_path / "site").rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        found = [p for p in active_parts(html) if p.attribute and PAYLOAD.search(p.value)]
        if "<script>alert('text')" in html or found:
            leaks[page.relative_to(tmp_path / "site").as_posix()] = found
    assert leaks == {}
    assert "&lt;img src=x onerror=alert(&#39;text&#39;)&gt;" in (tmp_path / "site/policy/roles/index.html").read_text(
        encoding="utf-8").replace("'", "&#39;")


def test_kb_generate_markdown_renders_the_markup_as_text(poisoned, tmp_path):
    result = run_kb("generate", "--root", poisoned, "--out", tmp_path / "out", "--today", TODAY)
    assert result.code == 0, result.err
    md = markdown.Markdown(extensions=["extra", "admonition", "toc", "pymdownx.tasklist"])
    leaks = {}
    for path in sorted((tmp_path / "out").rglob("*.md")):
        md.reset()
        html = md.convert(path.read_text(encoding="utf-8"))
        found = [p for p in active_parts(html) if p.attribute and PAYLOAD.search(p.value)]
        if "<script>alert(" in html or found:
            leaks[path.relative_to(tmp_path / "out").as_posix()] = found or ["<script>"]
    assert leaks == {}
