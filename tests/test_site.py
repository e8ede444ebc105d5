"""Real builds of small and sample knowledge bases: pages, links, determinism, `kb generate`, `kb build`."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TODAY, minimal_incident, run_kb

from incidentkb.core.formats import fmt_duration
from incidentkb.core.markdown import demote_headings
from incidentkb.records.load import load
from incidentkb.records.urls import relative_url
from incidentkb.site.renderer import md_text

pytestmark = pytest.mark.slow


def snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_build_writes_nothing_into_the_sources(sample_site):
    root, site = sample_site
    for folder in ("docs", "incidents", "runbooks", "problems"):
        assert not any(p.name.startswith(".") or p.suffix in (".html", ".json") for p in (root / folder).rglob("*")), folder
    assert (site / "index.html").is_file()


def test_every_record_has_a_page(sample_site):
    root, site = sample_site
    kb, _ = load(root)
    for record in kb.incidents + kb.runbooks:
        rel = Path(record.path).with_suffix("")
        # The default audience is internal, and draft post-mortems are published only when asked for.
        left_out = record.visibility == "restricted" or (record.data.get("postmortem") or {}).get("status") == "draft"
        assert (site / rel / "index.html").is_file() != left_out, rel
    for page in ("incidents/2025/index.html", "incidents/severity/sev1/index.html", "tags/index.html",
                 "action-items/index.html", "services/checkout/index.html", "vendors/kestrelpay/index.html",
                 "runbooks/index.html", "reference/fields/index.html", "problems/index.html"):
        assert (site / page).is_file(), page


def test_drafts_are_published_only_when_asked_for(sample_site, tmp_path):
    from datetime import date

    from incidentkb.publish.engine import build

    root, site = sample_site
    draft = "incidents/2026/INC-2026-008-login-outage-signing-key-rotation"
    assert not (site / draft).exists()
    with_drafts = build(root, site_dir=tmp_path / "drafts", today=date.fromisoformat(TODAY), drafts=True)
    assert "Draft post-mortem" in (with_drafts / draft / "index.html").read_text()


def test_related_incidents_link_both_ways(sample_site):
    root, site = sample_site
    # INC-2025-014 lists INC-2024-004 as related; INC-2024-004's page must link back.
    page = next((site / "incidents/2024").glob("INC-2024-004-*/index.html")).read_text()
    assert "INC-2025-014:" in page


def test_runbook_review_banner_and_overdue_actions(sample_site):
    _, site = sample_site
    overdue_runbook = next(site.glob("runbooks/*/carrier-api-timeouts/index.html")).read_text()
    assert "Review overdue" in overdue_runbook
    assert "kb-overdue" in (site / "action-items/index.html").read_text()


def test_two_builds_are_byte_identical(sample_site, tmp_path):
    from datetime import date

    from incidentkb.publish.engine import build

    root, site = sample_site
    second = build(root, site_dir=tmp_path / "again", today=date.fromisoformat(TODAY))
    first_files, second_files = snapshot(site), snapshot(second)
    assert first_files.keys() == second_files.keys()
    differing = sorted(path for path in first_files if first_files[path] != second_files[path])
    assert differing == []


def build_in_process(root: Path, site_dir: Path, monkeypatch, workers: str) -> tuple[dict[str, str], int]:
    """Build `root` with MkDocs in this process (so a test can patch what the forked workers run).

    Returns the snapshot of the site and how many pages were taken from a worker."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    import incidentkb.mkdocs_plugin.parallel as parallel

    monkeypatch.setenv("KB_WORKERS", workers)
    monkeypatch.setenv("KB_TODAY", TODAY)
    monkeypatch.setenv("NO_MKDOCS_2_WARNING", "1")
    adopted = []
    original = parallel.ParallelConverter.adopt
    monkeypatch.setattr(parallel.ParallelConverter, "adopt",
                        lambda self, page, files: adopted.append(page) or original(self, page, files))
    config = load_config(str(root / "mkdocs.yml"), site_dir=str(site_dir), strict=True)
    config.plugins.on_startup(command="build", dirty=False)
    try:
        build(config)
    finally:
        config.plugins.on_shutdown()
    return snapshot(site_dir), sum(1 for page in adopted if getattr(page, "kb_adopted", False))


@pytest.fixture(scope="module")
def serial_build(sample_site, tmp_path_factory):
    """The sample site built with KB_WORKERS=1: every page by MkDocs itself, as MkDocs alone would."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        return build_in_process(sample_site[0], tmp_path_factory.mktemp("serial"), monkeypatch, "1")[0]


def test_pages_built_in_worker_processes_are_the_pages_mkdocs_builds(sample_site, serial_build, tmp_path, monkeypatch):
    """By default the generated pages are converted and templated in forked workers (parallel.py)."""
    built, from_workers = build_in_process(sample_site[0], tmp_path / "site", monkeypatch, "2")
    assert from_workers > 200, "the workers did not build the generated pages"
    assert built.keys() == serial_build.keys()
    assert sorted(path for path in built if built[path] != serial_build[path]) == []


def test_workers_convert_every_page_with_one_markdown_instance(sample_site):
    """The byte-identical test above covers the output; this one that the faster path is the one taken."""
    from mkdocs.config import load_config

    from incidentkb.mkdocs_plugin.parallel import _MarkdownToHtml, _plain_settings

    assert _MarkdownToHtml(load_config(str(sample_site[0] / "mkdocs.yml")))._reuse
    # `!relative` and the like are resolved for each page: such settings keep one instance per page.
    assert not _plain_settings({"pymdownx.snippets": {"base_path": [object()]}})
    assert _plain_settings({"toc": {"permalink": True, "toc_depth": "2-3"}, "abbr": None})


def test_an_engine_the_parallel_build_does_not_know_takes_the_plain_path_to_the_same_site(
        sample_site, tmp_path, monkeypatch, caplog):
    """The private MkDocs API of parallel.py is used only under MkDocs and ProperDocs 1.6. Forced off (as an
    unknown engine or version is), the build has no workers and MkDocs renders every page itself: the site is
    byte for byte the one of the fast path, with workers and one Markdown instance per worker."""
    import incidentkb.mkdocs_plugin.parallel as parallel

    fast, from_workers = build_in_process(sample_site[0], tmp_path / "fast", monkeypatch, "2")
    assert from_workers > 200
    monkeypatch.setattr(parallel, "MIRRORED", frozenset())  # what MkDocs 1.7 or ProperDocs 2 would meet
    parallel._known.cache_clear()
    caplog.set_level("INFO")
    try:
        plain, from_workers = build_in_process(sample_site[0], tmp_path / "plain", monkeypatch, "2")
    finally:
        parallel._known.cache_clear()
    assert from_workers == 0, "workers ran under an engine the parallel build does not know"
    assert "the plugin builds pages the engine's own way" in caplog.text
    assert plain.keys() == fast.keys()
    assert sorted(path for path in plain if plain[path] != fast[path]) == []


def test_the_engine_guard_knows_the_engines_and_versions_it_mirrors(monkeypatch):
    import incidentkb.mkdocs_plugin.parallel as parallel

    assert parallel.running_engine()[0] == "mkdocs" and parallel.engine_is_mirrored()
    for name, version, known in (("mkdocs", "1.6.1", True), ("properdocs", "1.6.7", True), ("mkdocs", "1.7.0", False),
                                 ("properdocs", "2.0.0", False), ("mkdocs", "2.0", False), ("other", "1.6.1", False)):
        assert parallel._known(name, version) is known, (name, version)
    monkeypatch.setenv("KB_PLAIN_BUILD", "1")
    assert not parallel.engine_is_mirrored()


def test_a_worker_that_fails_costs_time_not_correctness(sample_site, serial_build, tmp_path, monkeypatch, caplog):
    import incidentkb.mkdocs_plugin.parallel as parallel

    def broken(*args, **kwargs):  # runs only in the forked workers
        raise RuntimeError("worker broke")

    monkeypatch.setattr(parallel, "_build", broken)
    caplog.set_level("INFO")
    built, from_workers = build_in_process(sample_site[0], tmp_path / "site", monkeypatch, "2")
    assert from_workers == 0
    assert "a build worker stopped without a result" in caplog.text
    assert sorted(path for path in built if built.get(path) != serial_build.get(path)) == []
    assert built.keys() == serial_build.keys()


def test_one_worker_that_fails_leaves_the_whole_site_the_same(sample_site, serial_build, tmp_path, monkeypatch):
    """The other worker's pages are adopted; the failed one's are built here, and their search records
    still reach Pagefind in page order: the index and the archive are byte-identical too."""
    import incidentkb.mkdocs_plugin.parallel as parallel

    original = parallel._build

    def fails_for_one_share(config, files, nav, share, *args, **kwargs):  # runs in the forked workers
        if "incidents/index.md" in share:
            raise RuntimeError("worker broke")
        return original(config, files, nav, share, *args, **kwargs)

    monkeypatch.setattr(parallel, "_build", fails_for_one_share)
    built, from_workers = build_in_process(sample_site[0], tmp_path / "site", monkeypatch, "2")
    assert from_workers > 100, "the other worker's pages were not adopted"
    assert built.keys() == serial_build.keys()
    assert sorted(path for path in built if built[path] != serial_build[path]) == []


def test_a_worker_that_stops_half_way_leaves_no_page_out_of_the_search_index_or_in_it_twice(
        sample_site, serial_build, tmp_path, monkeypatch, caplog):
    """The pages a worker sent to the search index before it stopped are rebuilt by MkDocs, and sent once."""
    import json

    import incidentkb.mkdocs_plugin.parallel as parallel

    original = parallel._write
    written = []

    def stops_after_a_few(html, page):  # runs in the forked workers: each counts its own pages
        if len(written) >= 20 and page.file.src_uri.startswith("incidents/"):
            raise RuntimeError("worker stopped")
        written.append(page.file.src_uri)
        original(html, page)

    monkeypatch.setattr(parallel, "_write", stops_after_a_few)
    caplog.set_level("INFO")
    built, from_workers = build_in_process(sample_site[0], tmp_path / "site", monkeypatch, "2")
    assert "a build worker stopped without a result" in caplog.text
    pages = [path for path in serial_build if path.endswith(".html")]
    assert sorted(path for path in pages if built.get(path) != serial_build[path]) == []

    def indexed(site: Path) -> int:
        entry = json.loads((site / "pagefind/pagefind-entry.json").read_text())
        return entry["languages"]["en"]["page_count"]

    assert indexed(tmp_path / "site") == indexed(sample_site[1])
    # Pagefind itself keeps one page per URL: the count of pages sent tells whether any went twice.
    sent = re.search(r"search: (\d+) pages indexed", caplog.text)
    assert sent and int(sent.group(1)) == indexed(sample_site[1])


def test_similar_incidents_without_their_child_process_are_the_same(sample_site, serial_build, tmp_path, monkeypatch):
    """The similar-incident index is computed by a forked child; when that child fails, the MkDocs process
    computes it itself, and the site is the same."""
    import incidentkb.site.build as site_module

    parent, original = os.getpid(), site_module.similar_work

    def fails_in_a_child(*args, **kwargs):
        if os.getpid() != parent:
            raise RuntimeError("child broke")
        return original(*args, **kwargs)

    monkeypatch.setattr(site_module, "similar_work", fails_in_a_child)
    built, _ = build_in_process(sample_site[0], tmp_path / "site", monkeypatch, "1")
    assert built.keys() == serial_build.keys()
    assert sorted(path for path in built if built[path] != serial_build[path]) == []


def test_generated_tree_builds_with_plain_mkdocs(sample_site, tmp_path):
    root, _ = sample_site
    out = tmp_path / "tree"
    result = run_kb("generate", "--root", root, "--out", out, "--today", TODAY)
    assert result.code == 0, result.err
    assert (out / "incidents/2025").is_dir() and (out / "index.md").is_file()
    config = tmp_path / "mkdocs.yml"
    config.write_text(f"site_name: plain\ndocs_dir: {out}\nsite_dir: {tmp_path / 'plain-site'}\n"
                      "theme: {name: material, font: false}\nextra_css: [assets/incidentkb/incidentkb.css]\n"
                      "markdown_extensions: [admonition, attr_list, tables, toc]\n")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config)],
                           capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin"})
    assert build.returncode == 0, build.stderr
    page = next((tmp_path / "plain-site/incidents/2025").glob("INC-2025-014-*/index.html")).read_text()
    assert "kb-panel" in page and "<!--kb-raw-->" not in page
    # Running generate again replaces its own output; a foreign non-empty folder is refused.
    assert run_kb("generate", "--root", root, "--out", out).code == 0
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.md").write_text("mine")
    refused = run_kb("generate", "--root", root, "--out", foreign)
    assert refused.code == 2 and "not made by `kb generate`" in refused.err
    assert (foreign / "notes.md").read_text() == "mine"


def test_failed_build_keeps_the_last_good_site(kb_root):
    root = kb_root({"incidents/2025/INC-2025-001-checkout-errors.md": minimal_incident()})
    assert run_kb("build", "--root", root).code == 0
    before = snapshot(root / "site")
    (root / "incidents/2025/INC-2025-002-broken.md").write_text(minimal_incident("INC-2025-002", severity="SEV9"))
    result = run_kb("build", "--root", root)
    assert result.code == 1 and "Not built" in result.err
    assert snapshot(root / "site") == before
    assert not [p for p in root.iterdir() if p.name.startswith(".site")]


def test_folder_with_only_incidents_builds_with_defaults(kb_root):
    root = kb_root({"incidents/2025/INC-2025-001-checkout-errors.md": minimal_incident()})
    assert run_kb("build", "--root", root).code == 0
    assert (root / "site/incidents/2025/INC-2025-001-checkout-errors/index.html").is_file()
    assert sorted(p.name for p in root.iterdir()) == ["incidents", "site"]


def test_a_check_finding_fails_a_strict_mkdocs_build_and_names_the_file(kb_root):
    """The checks run in a child while the pages are built; what they find is reported at the end, and counts."""
    root = kb_root({"incidents/2025/INC-2025-001-checkout-errors.md": minimal_incident(runbooks="[no-such-runbook]"),
                    "docs/index.md": "# Home\n",
                    "mkdocs.yml": "site_name: t\ntheme: {name: material, font: false}\nplugins: [incidentkb]\n"})
    env = {"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin", "KB_TODAY": TODAY}
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=root, capture_output=True,
                           text=True, env=env)
    assert build.returncode != 0
    assert "incidents/2025/INC-2025-001-checkout-errors.md:" in build.stderr and "unknown-runbook" in build.stderr
    # Without --strict the site is built from what can be built, and the exit code still says there are errors.
    lenient = subprocess.run([sys.executable, "-m", "mkdocs", "build"], cwd=root, capture_output=True, text=True,
                             env=env)
    assert lenient.returncode == 1 and "unknown-runbook" in lenient.stderr and "Traceback" not in lenient.stderr
    assert (root / "site/incidents/2025/INC-2025-001-checkout-errors/index.html").is_file()


@pytest.mark.parametrize("source, target, directory_urls, expected", [
    ("incidents/2025/INC-1-x.md", "runbooks/checkout/a.md", True, "../../../runbooks/checkout/a/"),
    ("index.md", "incidents/index.md", True, "incidents/"),
    ("incidents/index.md", "index.md", True, "../"),
    ("incidents/2025/index.md", "incidents/2025/INC-1-x.md", True, "INC-1-x/"),
    ("services/checkout.md", "services/checkout.md", True, "./"),
    ("tags/x.md", "tags.md", True, "../"),
    ("incidents/2025/INC-1-x.md", "runbooks/checkout/a.md", False, "../../runbooks/checkout/a.html"),
    ("incidents/index.md", "index.md", False, "../index.html"),
])
def test_relative_urls(source, target, directory_urls, expected):
    assert relative_url(source, target, directory_urls) == expected


def test_markdown_escaping_neutralises_syntax_and_html():
    assert str(md_text("[x](javascript:alert(1)) <b> 'q'")) == "\\[x\\]\\(javascript:alert\\(1\\)\\) &lt;b&gt; 'q'"


def test_demote_headings_skips_code_fences():
    body = "## A\n```\n## not a heading\n```\n###### deep\n"
    assert demote_headings(body) == "### A\n```\n## not a heading\n```\n###### deep\n"


@pytest.mark.parametrize("minutes, text", [(0, "0 min"), (59, "59 min"), (61, "1 h 1 min"), (1500, "1 d 1 h"), (-5, "−5 min")])
def test_durations_read_well(minutes, text):
    from datetime import timedelta

    assert fmt_duration(timedelta(minutes=minutes)) == text


def test_a_warning_on_a_navigation_page_is_reported_once(sample_copy):
    """Workers also convert the navigation's pages (for their titles); their warnings are the parent's to report."""
    index = sample_copy / "docs" / "index.md"
    index.write_text(index.read_text(encoding="utf-8") + "\n[broken](no-such-page.md)\n", encoding="utf-8")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "KB_WORKERS": "2", "KB_TODAY": TODAY}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-d", str(sample_copy / "out")],
                            cwd=sample_copy, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("no-such-page.md") == 1, result.stderr


def test_a_bad_worker_count_is_refused_with_a_clear_message(sample_copy):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "KB_WORKERS": "many", "KB_TODAY": TODAY}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-d", str(sample_copy / "out")],
                            cwd=sample_copy, capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert "KB_WORKERS: expected a whole number of at least 1" in result.stderr and "'many'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_build_keeps_its_objects_frozen_through_its_forks_and_serve_thaws_them():
    """The plugin freezes what a build holds (background.freeze_for_the_build): the forks of the build must
    not thaw it, and a fork outside a build must leave nothing frozen behind."""
    import gc

    from incidentkb.core.background import Deferred, freeze_for_the_build, thaw

    thaw()  # builds run earlier in this process keep theirs frozen (`mkdocs build` ends with its build)
    Deferred(lambda: 1).result()
    assert gc.get_freeze_count() == 0
    try:
        freeze_for_the_build()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert Deferred(lambda: 41 + 1).result() == 42
        assert gc.get_freeze_count() >= frozen
    finally:
        thaw()
    assert gc.get_freeze_count() == 0
