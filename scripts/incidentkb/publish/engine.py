"""Running the site builder: `kb build` and `kb serve`, on MkDocs or ProperDocs.

- The engine: `--engine`, else $KB_ENGINE, else the installed one, ProperDocs first when both
  are (mkdocs-material pulls MkDocs in, so ProperDocs installed means it was chosen; it is the
  maintained continuation of MkDocs 1.x). Both run the same plugin, from the same mkdocs.yml,
  with the same arguments (`python -m ENGINE build|serve`); see docs/guide/engines.md.
- What the build needs beyond the core install (the `site` extra) is checked first: a missing
  package is a usage error that says what to install, not a traceback from the child.
- A knowledge base without mkdocs.yml (a folder holding only incidents/) still
  builds: a default configuration is written to a temporary folder, never into
  the knowledge base.
- `kb build` builds into a staging folder beside the site and swaps it in only
  when the build succeeded, so a failed or stopped build leaves the last good site in place,
  and the staging folder is removed (core/staging.py). The site folder is checked against
  the inputs first (records/outputs.py): `--site-dir incidents` or `--site-dir .` is refused.
- The engine runs as a child that `kb` stops with itself (core/child_process.py): SIGTERM or
  Ctrl-C reach it, and no process outlives `kb serve`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import yaml

from incidentkb.core.child_process import run_child
from incidentkb.core.errors import ProblemsFound, Stopped, UsageError
from incidentkb.core.staging import staging_folder
from incidentkb.indexing.pagefind import find_executable
from incidentkb.records.outputs import check_output

ENGINES = ("properdocs", "mkdocs")  # the order of preference when several are installed
ENGINE_VARIABLE = "KB_ENGINE"  # for CI: choose the engine without changing the command
SITE_EXTRA = "pip install 'incidentkb[site]'"
ENGINE_INSTALL = {"mkdocs": SITE_EXTRA, "properdocs": "pip install 'incidentkb[properdocs]'"}
# What a build imports besides the engine: {module: the package that provides it}.
BUILD_MODULES = {"material": "mkdocs-material", "pymdownx": "pymdown-extensions", "markdown": "markdown"}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def installed_engines() -> list[str]:
    return [name for name in ENGINES if _installed(name)]


def missing_for_build(search: bool = True) -> list[str]:
    """The packages of the `site` extra a build needs and cannot find (names as pip knows them)."""
    missing = [package for module, package in BUILD_MODULES.items() if not _installed(module)]
    if search and find_executable() is None:
        missing.append("pagefind-bin-extended")
    return missing


def choose_engine(name: str | None = None, command: str = "kb build") -> str:
    """The engine to run: `name` (the --engine option), else $KB_ENGINE, else the first installed.

    Raises UsageError, saying what to install, when it (or the rest of the site extra) is missing."""
    source = "--engine"
    if not name and os.environ.get(ENGINE_VARIABLE, "").strip():
        name, source = os.environ[ENGINE_VARIABLE].strip(), ENGINE_VARIABLE
    if name:
        if name not in ENGINES:
            raise UsageError(f"{source} {name!r}: expected one of {', '.join(sorted(ENGINES))}")
        if not _installed(name):
            others = [e for e in installed_engines() if e != name]
            instead = f"; or use the installed one: --engine {others[0]}" if others else ""
            raise UsageError(f"{command}: {source} {name}, but {name} is not installed: {ENGINE_INSTALL[name]}"
                             f"{instead}")
        engine = name
    else:
        found = installed_engines()
        if not found:
            raise UsageError(f"{command} needs a site builder, which the core install leaves out: {SITE_EXTRA} "
                             f"(MkDocs), or {ENGINE_INSTALL['properdocs']} (ProperDocs)")
        engine = found[0]
    missing = missing_for_build(search=os.environ.get("KB_SEARCH", "1").strip() != "0")
    if missing:
        raise UsageError(f"{command} needs {', '.join(missing)}, not installed here: {SITE_EXTRA}")
    return engine


DEFAULT_CONFIG = {
    "site_name": "Incident knowledge base",
    "theme": {"name": "material", "font": False, "features": ["navigation.indexes", "navigation.sections"]},
    "markdown_extensions": ["admonition", "attr_list", "tables", {"toc": {"permalink": True}},
                            {"pymdownx.tasklist": {"custom_checkbox": True}}, "incidentkb.training"],
}
DEFAULT_HOME = "# Incident knowledge base\n\n## Recent incidents\n\n<!-- kb:recent-incidents -->\n"


def mkdocs_env(today: date | None = None, audience: str | None = None, drafts: bool = False) -> dict[str, str]:
    # Material prints a banner about "MkDocs 2.0" on every build, and ProperDocs a notice of its own when run
    # under MkDocs' name; we pin mkdocs<2 on purpose.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    if today is not None:
        env["KB_TODAY"] = today.isoformat()  # read by the plugin when its `today` option is unset
    if audience is not None:
        env["KB_AUDIENCE"] = audience  # likewise for `audience`
    if drafts:
        env["KB_DRAFTS"] = "1"  # and `drafts`
    return env


@contextmanager
def config_file(root: Path):
    """The mkdocs.yml to build `root` with: its own, or a default one written to a temporary folder."""
    own = root / "mkdocs.yml"
    if own.is_file():
        yield own
        return
    with tempfile.TemporaryDirectory(prefix="kb-config-") as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        (docs / "index.md").write_text(DEFAULT_HOME, encoding="utf-8")
        config = dict(DEFAULT_CONFIG, docs_dir=str(docs), plugins=[{"incidentkb": {"root": str(root.resolve())}}])
        path = Path(tmp) / "mkdocs.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        yield path


class _TagTolerantLoader(yaml.SafeLoader):
    """Reads mkdocs.yml files that use tags such as !!python/name: or !ENV, without running them."""


_TagTolerantLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def mkdocs_settings(root: Path) -> dict:
    """The top-level settings of root/mkdocs.yml ({} when there is none)."""
    own = root / "mkdocs.yml"
    if not own.is_file():
        return {}
    config = yaml.load(own.read_text(encoding="utf-8"), Loader=_TagTolerantLoader)
    return config if isinstance(config, dict) else {}


def docs_dir_of(root: Path) -> Path:
    """docs_dir as mkdocs.yml sets it."""
    return root / str(mkdocs_settings(root).get("docs_dir") or "docs")


def build(root: Path, site_dir: Path | None = None, strict: bool = True, today: date | None = None,
          audience: str | None = None, drafts: bool = False, engine: str | None = None) -> Path:
    """Build into a staging folder, then replace site_dir only if the build succeeded."""
    engine = choose_engine(engine, "kb build")
    root = root.resolve()
    given = site_dir
    site_dir = check_output(site_dir or root / "site", root, "--site-dir", docs_dir=docs_dir_of(root))
    with staging_folder(site_dir, "building") as staging:
        with config_file(root) as config:
            command = [sys.executable, "-m", engine, "build", "--clean", "-f", str(config), "-d", str(staging)]
            if strict:
                command.append("--strict")
            outcome = run_child(command, cwd=root, env=mkdocs_env(today, audience, drafts))
        if outcome.signal is not None:
            raise Stopped(f"the site build was stopped; {given or site_dir} was left as it was", outcome.signal)
        if outcome.returncode != 0:
            raise ProblemsFound(f"the site build failed ({engine} exit code {outcome.returncode}); "
                                f"{site_dir} was left as it was")
        _swap_in(staging, site_dir)
    return site_dir


def _swap_in(new: Path, target: Path) -> None:
    """Put `new` where `target` is with two renames; the old site is removed only afterwards."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}-old-{os.getpid()}")
        if old.exists():  # left by a killed earlier run of this same process id
            shutil.rmtree(old, ignore_errors=True)
        os.rename(target, old)
    os.rename(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def serve(root: Path, dev_addr: str | None = None, audience: str | None = None, engine: str | None = None) -> int:
    """Run the engine's live-reloading server until it ends or `kb` is stopped; returns kb's exit code."""
    engine = choose_engine(engine, "kb serve")
    root = root.resolve()
    with config_file(root) as config:
        command = [sys.executable, "-m", engine, "serve", "-f", str(config)]
        if dev_addr:
            command += ["--dev-addr", dev_addr]
        return run_child(command, cwd=root, env=mkdocs_env(audience=audience)).exit_code
