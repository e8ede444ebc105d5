"""`kb generate`: the whole site as a plain Markdown tree, for builders that cannot run our plugin.

Hand-written pages with their markers filled, every generated page, and our assets; the HTML
fences only our plugin understands are removed (plain raw HTML for other builders).
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

from incidentkb.checks.rendered_html import SAFETY_CODES
from incidentkb.core.errors import ProblemsFound, UsageError
from incidentkb.core.staging import staging_folder
from incidentkb.publish.engine import DEFAULT_HOME, docs_dir_of, mkdocs_settings
from incidentkb.records.audience import DEFAULT_AUDIENCE
from incidentkb.records.outputs import check_output
from incidentkb.site.build import build_site
from incidentkb.site.renderer import RAW_BLOCK

GENERATED_MARKER = ".kb-generated"


def generate(root: Path, out: Path, today: date | None = None, directory_urls: bool = True,
             audience: str = DEFAULT_AUDIENCE, drafts: bool = False) -> int:
    """Write the complete Markdown tree into `out` (empty, or made by an earlier generate). Returns files written."""
    root = root.resolve()
    docs_dir = docs_dir_of(root)
    out = check_output(out, root, "--out", docs_dir=docs_dir)
    if out.exists() and any(out.iterdir()) and not (out / GENERATED_MARKER).exists():
        raise UsageError(f"{out} is not empty and was not made by `kb generate`; nothing was written")
    # site_url as the plugin gets it from mkdocs.yml: the communication templates' links are absolute, as there.
    site = build_site(root, today=today, directory_urls=directory_urls, audience=audience,
                      site_url=str(mkdocs_settings(root).get("site_url") or ""),
                      docs_prefix=os.path.relpath(docs_dir, root).replace(os.sep, "/"), include_drafts=drafts)
    if site.fatal:
        raise ProblemsFound(site.fatal)
    unsafe = [f for f in site.findings if f.code in SAFETY_CODES and f.is_error]
    if unsafe:
        # Another builder renders the bodies with its own Markdown and no sanitiser of ours: a body whose
        # markup runs code is refused here, before it is written (see docs/guide/trust.md).
        raise ProblemsFound("nothing was written: these record bodies hold markup that runs code in readers' "
                            "browsers, and the builder you give this tree to would publish it:\n" + "\n".join(
                                f"  {f.path}:{f.line}: {f.code}: {f.message}" for f in unsafe))
    count = 0
    with staging_folder(out, "generating") as staging:
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
    return count


def _unfence(markdown: str) -> str:
    """Drop the plugin-only fences around generated HTML; other builders need plain raw HTML."""
    return RAW_BLOCK.sub(lambda m: m.group(1), markdown)
