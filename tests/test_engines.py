"""The engines (docs/guide/engines.md): MkDocs and ProperDocs build the same site with our plugin; `kb build`
chooses one, or says what to install; the plugin is registered for both.

The browser tests run against the ProperDocs build (conftest.sample_site); here the same knowledge base is
built with MkDocs and the two sites are compared byte for byte.
"""

from __future__ import annotations

import re
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from conftest import TODAY, run_kb

from incidentkb.cli import site as cli_site
from incidentkb.core.errors import UsageError
from incidentkb.publish import engine as engine_module
from incidentkb.publish.engine import build, choose_engine

GENERATOR = re.compile(rb'<meta name="generator" content="([^"]*)">')


def normalised(site: Path) -> dict[str, bytes]:
    """Every file of a site, the generator tag (which names the engine) emptied; site.zip holds the same HTML."""
    files = {}
    for path in sorted(site.rglob("*")):
        if path.is_file() and path.name != "site.zip":
            data = path.read_bytes()
            files[path.relative_to(site).as_posix()] = GENERATOR.sub(b"", data) if path.suffix == ".html" else data
    return files


@pytest.mark.slow
def test_mkdocs_and_properdocs_build_the_same_site(sample_site, tmp_path):
    root, proper = sample_site
    mkdocs_site = build(root, tmp_path / "site", today=date.fromisoformat(TODAY), engine="mkdocs")
    assert b"ProperDocs 1.6" in GENERATOR.search((proper / "index.html").read_bytes()).group(1)
    assert GENERATOR.search((mkdocs_site / "index.html").read_bytes()).group(1).startswith(b"mkdocs-1.6")
    ours, theirs = normalised(proper), normalised(mkdocs_site)
    assert ours.keys() == theirs.keys()
    assert len(ours) > 300
    assert sorted(path for path in ours if ours[path] != theirs[path]) == []


def test_the_plugin_is_registered_for_both_engines():
    for group in ("mkdocs.plugins", "properdocs.plugins"):
        plugins = {ep.name: ep for ep in entry_points(group=group)}
        assert plugins["incidentkb"].value == "incidentkb.mkdocs_plugin.plugin:IncidentKBPlugin", group
    from properdocs.plugins import get_plugins

    # ProperDocs reads both groups; its own wins, so the plugin does not depend on the legacy fallback.
    assert get_plugins()["incidentkb"].group == "properdocs.plugins"


@pytest.fixture
def installed(monkeypatch):
    """Pretend that only the given modules are installed (engines and the rest of the site extra)."""
    def pretend(*modules: str, pagefind: bool = True):
        monkeypatch.setattr(engine_module, "_installed", lambda module: module in modules)
        monkeypatch.setattr(engine_module, "find_executable", lambda: Path("/bin/true") if pagefind else None)
    monkeypatch.delenv("KB_ENGINE", raising=False)
    return pretend


SITE_EXTRA = ("material", "pymdownx", "markdown")


def test_the_installed_engine_is_used_properdocs_first(installed, monkeypatch):
    installed("mkdocs", *SITE_EXTRA)
    assert choose_engine() == "mkdocs"
    installed("properdocs", "mkdocs", *SITE_EXTRA)
    assert choose_engine() == "properdocs"  # mkdocs-material brings MkDocs: ProperDocs there was chosen
    assert choose_engine("mkdocs") == "mkdocs"
    monkeypatch.setenv("KB_ENGINE", "mkdocs")  # CI chooses without changing the command
    assert choose_engine() == "mkdocs"
    assert choose_engine("properdocs") == "properdocs"  # the option wins over the variable


def test_a_missing_engine_says_what_to_install(installed, monkeypatch):
    installed("mkdocs", *SITE_EXTRA)
    with pytest.raises(UsageError, match=r"--engine properdocs, but properdocs is not installed: pip install "
                                         r"'incidentkb\[properdocs\]'; or use the installed one: --engine mkdocs"):
        choose_engine("properdocs")
    monkeypatch.setenv("KB_ENGINE", "zensical")
    with pytest.raises(UsageError, match="KB_ENGINE 'zensical': expected one of mkdocs, properdocs"):
        choose_engine()
    monkeypatch.delenv("KB_ENGINE")
    installed()
    with pytest.raises(UsageError, match=r"kb build needs a site builder, which the core install leaves out: "
                                         r"pip install 'incidentkb\[site\]'"):
        choose_engine()
    installed("mkdocs", "markdown", pagefind=False)
    with pytest.raises(UsageError, match=r"needs mkdocs-material, pymdown-extensions, pagefind-bin-extended, not "
                                         r"installed here: pip install 'incidentkb\[site\]'"):
        choose_engine()


def test_kb_build_and_serve_without_the_engine_exit_2_with_the_message(installed, sample_copy):
    installed()
    for command in ("build", "serve"):
        result = run_kb(command, "--root", sample_copy)
        assert result.code == 2, result.err
        assert f"kb {command} needs a site builder" in result.err and "incidentkb[site]" in result.err
        assert "Traceback" not in result.err
    assert not (sample_copy / "site").exists()
    result = run_kb("build", "--root", sample_copy, "--engine", "zensical")
    assert result.code == 2 and "'zensical' is not one of" in result.err


def test_kb_index_without_pagefind_exits_2_with_the_message(sample_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(cli_site, "find_executable", lambda: None)
    (tmp_path / "built").mkdir()
    result = run_kb("index", tmp_path / "built", "--root", sample_copy)
    assert result.code == 2
    assert "kb index needs the Pagefind binary" in result.err and "incidentkb[site]" in result.err
