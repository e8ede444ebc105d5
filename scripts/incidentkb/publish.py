"""Publishing: `kb build`, `kb serve` and `kb generate`.

- A knowledge base without mkdocs.yml (a folder holding only incidents/) still
  builds: a default configuration is written to a temporary folder, never into
  the knowledge base.
- `kb build` builds into a temporary folder beside the site and swaps it in only
  when the build succeeded, so a failed build leaves the last good site in place.
- `kb generate` writes the whole Markdown tree (hand-written pages with their
  markers filled, plus every generated page) for builders that cannot run our plugin.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import yaml

from .audience import DEFAULT_AUDIENCE
from .render import RAW_BLOCK
from .sanitize import SAFETY_CODES
from .site import build_site

GENERATED_MARKER = ".kb-generated"

DEFAULT_CONFIG = {
    "site_name": "Incident knowledge base",
    "theme": {"name": "material", "font": False, "features": ["navigation.indexes", "navigation.sections"]},
    "markdown_extensions": ["admonition", "attr_list", "tables", {"toc": {"permalink": True}},
                            {"pymdownx.tasklist": {"custom_checkbox": True}}, "incidentkb.training"],
}
DEFAULT_HOME = "# Incident knowledge base\n\n## Recent incidents\n\n<!-- kb:recent-incidents -->\n"


class PublishError(Exception):
    """A build that could not run or failed; the message says why."""


def mkdocs_env(today: date | None = None, audience: str | None = None, drafts: bool = False) -> dict[str, str]:
    # Material prints a banner about "MkDocs 2.0" on every build; we pin mkdocs<2 on purpose.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
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
          audience: str | None = None, drafts: bool = False) -> Path:
    """Build into a temporary folder, then replace site_dir only if the build succeeded."""
    root = root.resolve()
    site_dir = (site_dir or root / "site").resolve()
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}-building-", dir=site_dir.parent))
    try:
        with config_file(root) as config:
            command = [sys.executable, "-m", "mkdocs", "build", "--clean", "-f", str(config), "-d", str(staging)]
            if strict:
                command.append("--strict")
            result = subprocess.run(command, cwd=root, env=mkdocs_env(today, audience, drafts))
        if result.returncode != 0:
            raise PublishError(f"the site build failed (mkdocs exit code {result.returncode}); "
                               f"{site_dir} was left as it was")
        _swap_in(staging, site_dir)
        staging = None
        return site_dir
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _swap_in(new: Path, target: Path) -> None:
    """Put `new` where `target` is with two renames; the old site is removed only afterwards."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}-old-{os.getpid()}")
        os.rename(target, old)
    os.rename(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def serve(root: Path, dev_addr: str | None = None, audience: str | None = None) -> int:
    root = root.resolve()
    with config_file(root) as config:
        command = [sys.executable, "-m", "mkdocs", "serve", "-f", str(config)]
        if dev_addr:
            command += ["--dev-addr", dev_addr]
        return subprocess.run(command, cwd=root, env=mkdocs_env(audience=audience)).returncode


def generate(root: Path, out: Path, today: date | None = None, directory_urls: bool = True,
             audience: str = DEFAULT_AUDIENCE, drafts: bool = False) -> int:
    """Write the complete Markdown tree into `out` (empty, or made by an earlier generate). Returns files written."""
    root = root.resolve()
    out = out.resolve()
    if out.exists() and any(out.iterdir()) and not (out / GENERATED_MARKER).exists():
        raise PublishError(f"{out} is not empty and was not made by `kb generate`; nothing was written")
    docs_dir = docs_dir_of(root)
    site = build_site(root, today=today, directory_urls=directory_urls, audience=audience,
                      docs_prefix=os.path.relpath(docs_dir, root).replace(os.sep, "/"), include_drafts=drafts)
    if site.fatal:
        raise PublishError(site.fatal)
    unsafe = [f for f in site.findings if f.code in SAFETY_CODES and f.is_error]
    if unsafe:
        # Another builder renders the bodies with its own Markdown and no sanitiser of ours: a body whose
        # markup runs code is refused here, before it is written (see docs/guide/trust.md).
        error = PublishError("nothing was written: these record bodies hold markup that runs code in readers' "
                             "browsers, and the builder you give this tree to would publish it:\n" + "\n".join(
                                 f"  {f.path}:{f.line}: {f.code}: {f.message}" for f in unsafe))
        error.findings = unsafe
        raise error
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent if out.parent.exists() else None))
    count = 0
    try:
        if docs_dir.is_dir():
            for path in sorted(docs_dir.rglob("*")):
                if path.is_file():
                    rel = path.relative_to(docs_dir).as_posix()
                    target = staging / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if path.suffix == ".md":
                        text = site.prepare_markdown(path.read_text(encoding="utf-8"), rel, hand_written=True)
                        target.write_text(_unfence(text), encoding="utf-8")
                    else:
                        shutil.copyfile(path, target)
                    count += 1
        else:
            (staging / "index.md").write_text(_unfence(site.fill_snippets(DEFAULT_HOME, "index.md")), encoding="utf-8")
            count += 1
        for page in site.pages:
            target = staging / page.path
            if target.exists():
                continue  # a hand-written page replaces the generated one, as in the plugin
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_unfence(site.prepare_markdown(page.markdown, page.path, hand_written=False)),
                              encoding="utf-8")
            count += 1
        for rel, content in site.assets.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            count += 1
        (staging / GENERATED_MARKER).write_text("Written by `kb generate`; replaced on the next run.\n")
        if out.exists():
            shutil.rmtree(out)
        os.rename(staging, out)
        staging = None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return count


def _unfence(markdown: str) -> str:
    """Drop the plugin-only fences around generated HTML; other builders need plain raw HTML."""
    return RAW_BLOCK.sub(lambda m: m.group(1), markdown)
