"""`pip install incidentkb` (the core) in a clean virtual environment: `kb check` and the other everyday
commands run on the sample with no MkDocs, Material, Pagefind or ProperDocs installed, and the commands
that need the site builders say what to install (exit 2, no traceback).

This is what the pre-commit hook installs. Kept cheap: one environment for the module, made without a pip of
its own (the test's pip installs into it with --python), packages from pip's cache (`make` filled it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, TODAY

pytestmark = pytest.mark.slow

SITE_MODULES = ("mkdocs", "material", "properdocs", "pagefind", "pagefind_bin_extended", "pymdownx", "zensical")


def run(*command, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("core-install")
    venv = work / "venv"
    made = run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert made.returncode == 0, made.stderr
    # The outer pip installs into the new environment (--python): no pip of its own to set up there.
    pip = [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "--disable-pip-version-check"]
    installed = run(*pip, "install", "--quiet", REPO, env={"PATH": "/usr/bin:/bin", "HOME": str(work),
                                                          "PIP_CACHE_DIR": str(Path.home() / ".cache" / "pip")})
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return venv


def test_the_core_install_has_no_site_builder(core_venv):
    probe = "import importlib.util, sys; print(*[m for m in sys.argv[1:] if importlib.util.find_spec(m)])"
    found = run(core_venv / "bin" / "python", "-c", probe, *SITE_MODULES)
    assert found.returncode == 0 and found.stdout.split() == [], found.stdout


def test_kb_check_and_the_everyday_commands_run_on_the_core(core_venv, sample_copy, tmp_path):
    kb = core_venv / "bin" / "kb"
    for args in (["check"], ["check", "--format", "sarif"], ["similar", "--all", "--top", "2"], ["report"],
                 ["export", "--format", "json", "--out", "-"], ["alerts"], ["schema"],
                 ["new", "incident", "--help"], ["import", "postmortems", "--help"]):
        root = [] if "--help" in args else ["--root", sample_copy]
        today = ["--today", TODAY] if args[0] in ("check", "report", "export") else []
        result = run(kb, *args, *root, *today, cwd=tmp_path)
        assert result.returncode == 0, (args, result.stdout[-1500:], result.stderr[-1500:])
        assert "Traceback" not in result.stderr


def test_the_site_commands_say_what_to_install(core_venv, sample_copy, tmp_path):
    kb = core_venv / "bin" / "kb"
    (tmp_path / "built").mkdir()
    for args in (["build"], ["serve"], ["index", str(tmp_path / "built")]):
        result = run(kb, *args, "--root", sample_copy, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "pip install 'incidentkb[site]'" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (sample_copy / "site").exists()
    # kb generate writes Markdown only: the core has all it needs.
    generated = run(kb, "generate", "--root", sample_copy, "--out", tmp_path / "tree", "--today", TODAY)
    assert generated.returncode == 0, generated.stderr[-2000:]
