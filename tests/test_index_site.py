"""`kb generate`, a build by an engine without our plugin (Zensical; MkDocs with a plain mkdocs.yml), then
`kb index SITE_DIR`: the knowledge base's search, Find similar and offline archive on that site.

The browser checks are what a responder does: search an alert name on the home page's box, and
paste an error into Find similar.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from browser_support import search
from conftest import IN_CI, REPO, TODAY, run_kb, serve_directory

from incidentkb.publish.index_site import page_content, page_url_of, source_of

pytestmark = pytest.mark.slow

# What an engine without our plugin is given: the generated tree, Material's look, our stylesheet and scripts
# (the search box on the home page needs kb-search.js; `kb index` writes it), and a small navigation
# (individual records stay out of it: see docs/guide/site.md).
ENGINE_CONFIG = """\
site_name: Tidewater Outfitters incident knowledge base
docs_dir: docs
site_dir: site
use_directory_urls: true
theme:
  name: material
  font: false
  features: [navigation.indexes, navigation.sections]
nav:
  - Home: index.md
  - Find similar: similar.md
  - Incidents: incidents/index.md
  - Runbooks: runbooks/index.md
  - Services: services/index.md
extra_css:
  - assets/incidentkb/incidentkb.css
  - assets/incidentkb/search/kb-search.css
extra_javascript:
  - assets/incidentkb/incidentkb.js
  - assets/incidentkb/search/kb-search.js
markdown_extensions:
  - abbr
  - admonition
  - attr_list
  - md_in_html
  - tables
  - pymdownx.tasklist:
      custom_checkbox: true
  - toc:
      permalink: true
"""


def engine_command(engine: str) -> list[str]:
    if engine == "mkdocs":  # MkDocs itself, with no plugin at all: any engine that builds Markdown
        return [sys.executable, "-m", "mkdocs", "build", "--quiet", "-f", "mkdocs.yml"]
    zensical = shutil.which("zensical", path=str(Path(sys.executable).parent)) or shutil.which("zensical")
    if zensical is None:
        message = "zensical is not installed (pip install zensical==0.1.2, in the test extra)"
        if IN_CI:  # the Zensical path is a promise of the engines guide: CI must run it, not skip it
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    return [zensical, "build", "-f", "mkdocs.yml"]


@pytest.fixture(scope="module", params=["zensical", "mkdocs"])
def indexed_site(request, tmp_path_factory):
    engine = request.param
    command = engine_command(engine)
    work = tmp_path_factory.mktemp(f"engine-{engine}")
    root = work / "kb"
    ignore = shutil.ignore_patterns(".git", ".venv", "site", "tests", "scripts", "*.egg-info", "__pycache__",
                                    ".pytest_cache", ".hypothesis", ".cache")
    shutil.copytree(REPO, root, ignore=ignore)
    project = work / "engine"
    project.mkdir()
    generated = run_kb("generate", "--root", root, "--out", project / "docs", "--today", TODAY)
    assert generated.code == 0, generated.err
    (project / "mkdocs.yml").write_text(ENGINE_CONFIG, encoding="utf-8")
    built = subprocess.run(command, cwd=project, capture_output=True, text=True, env={
        "PATH": "/usr/bin:/bin", "HOME": str(work), "NO_MKDOCS_2_WARNING": "1"})
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    site = project / "site"
    assert not (site / "pagefind").exists()  # the engine itself writes no Pagefind index
    indexed = run_kb("index", site, "--root", root)
    assert indexed.code == 0, indexed.err
    return engine, root, site, indexed


def test_index_writes_search_similar_and_archive(indexed_site):
    engine, root, site, indexed = indexed_site
    assert (site / "pagefind/pagefind-entry.json").is_file() and (site / "kb-search/config.json").is_file()
    assert (site / "assets/incidentkb/search/kb-search.js").is_file()
    assert (site / "assets/similar/manifest.js").is_file() and (site / "assets/similar/find-similar.js").is_file()
    with zipfile.ZipFile(site / "site.zip") as archive:
        names = set(archive.namelist())
    assert "site/index.html" in names and "site/pagefind/pagefind-entry.json" in names
    assert "record page(s) are not in the site" not in indexed.err
    assert " indexed for search " in indexed.err


def test_index_twice_gives_the_same_search_index(indexed_site):
    engine, root, site, _ = indexed_site
    before = {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted((site / "pagefind").rglob("*"))
              if p.is_file()}
    assert run_kb("index", site, "--root", root, "--no-archive").code == 0
    after = {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted((site / "pagefind").rglob("*"))
             if p.is_file()}
    assert before == after


@pytest.mark.browser
def test_search_an_alert_name_and_find_similar(indexed_site, page):
    engine, root, site, _ = indexed_site
    url, server = serve_directory(site)
    try:
        page.goto(url)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # The home page's own search box (kb-search.js); the engine's header search is its own.
        results = search(page, "KubePodCrashLooping", root="#kb-search-page")
        assert results, f"{engine}: no results"
        assert results[0]["path"] == "/runbooks/k8s-platform/kube-pod-crashlooping/" and results[0]["exact"]
        ranked = search(page, "OOMKilled", root="#kb-search-page")
        assert any(r["type"] == "incident" for r in ranked), ranked
        assert page.request.get(url + results[0]["path"].lstrip("/")).ok

        page.goto(url + "similar/")
        page.fill("#kb-find-similar textarea", "x509: certificate has expired or is not yet valid")
        page.click("#kb-find-similar button")
        page.wait_for_selector("#kb-find-similar[data-state=done]", timeout=10_000)
        links = page.eval_on_selector_all("#kb-find-similar a[href]", "els => els.map(e => e.href)")
        assert links, f"{engine}: Find similar found nothing"
        assert page.request.get(links[0]).ok
        assert page.outside_requests == [] and errors == []
    finally:
        server.shutdown()
        server.server_close()


def test_a_site_of_other_pages_is_refused(tmp_path, sample_copy):
    (tmp_path / "site").mkdir()
    (tmp_path / "site/index.html").write_text("<html><body><article><h1>Hello</h1></article></body></html>")
    result = run_kb("index", tmp_path / "site", "--root", sample_copy)
    assert result.code == 1 and "none of the" in result.err and "record pages" in result.err
    assert not (tmp_path / "site/pagefind").exists()
    missing = run_kb("index", tmp_path / "nowhere", "--root", sample_copy)
    assert missing.code == 2 and "no such folder" in missing.err


# ------------------------------------------------------------------ the pure parts


def test_page_content_is_the_article_and_its_heading():
    html = ('<html><head><title>Disk full - KB</title></head><body><nav>menu</nav><article class="md-content__inner">'
            '<a class="md-content__button">edit</a><h1 id="x">Disk full<a class="headerlink">¶</a></h1>'
            '<article>nested</article><p>text</p></article><footer>f</footer></body></html>')
    content, title = page_content(html)
    assert content.startswith('<a class="md-content__button">') and content.endswith("<p>text</p>")
    assert "<article>nested</article>" in content and "menu" not in content and "footer" not in content
    assert title == "Disk full"
    assert page_content("<html><head><title>Only - KB</title></head><body><p>x</p></body></html>") == ("<p>x</p>", "Only")


@pytest.mark.parametrize("html_path, directory_urls, url", [
    ("index.html", True, ""), ("incidents/index.html", True, "incidents/"), ("runbooks/x/y/index.html", True,
                                                                             "runbooks/x/y/"),
    ("incidents/a.html", False, "incidents/a.html"), ("index.html", False, "index.html"),
])
def test_page_urls(html_path, directory_urls, url):
    assert page_url_of(html_path, directory_urls) == url


def test_sources_come_from_the_known_pages_first():
    known = {"incidents/": "incidents/index.md", "guide/": "guide/index.md"}
    assert source_of("incidents/", known, True) == "incidents/index.md"
    assert source_of("policy/severity/", known, True) == "policy/severity.md"
    assert source_of("", known, True) == "index.md"
    assert source_of("policy/severity.html", {}, False) == "policy/severity.md"
