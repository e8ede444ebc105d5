"""Knowledge bases made of hostile record bodies, built with the real `mkdocs build` (see tests/hostile/).

    root = hostile_kb(tmp_path / "kb", VECTORS, OWASP)
    result = mkdocs_build(root, site_dir, workers=2)      # a plain build: it writes the site, and exits 1 on errors

Each vector is the body of its own incident, so a finding and a page belong to one vector.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from conftest import REPO, TODAY, minimal_incident

from incidentkb.checks.rendered_html import active_parts

HOSTILE = Path(__file__).resolve().parent / "hostile"
VECTORS = yaml.safe_load((HOSTILE / "vectors.yml").read_text(encoding="utf-8"))


def owasp_vectors() -> list[str]:
    text = (HOSTILE / "owasp-xss-filter-evasion.txt").read_text(encoding="utf-8")
    entries = [entry.strip("\n") for entry in re.split(r"^%%$", text, flags=re.MULTILINE)[1:]]
    return [entry for entry in entries if entry.strip()]


OWASP = owasp_vectors()
PLACEHOLDER = "A deploy broke checkout."


@dataclass(frozen=True)
class Case:
    name: str
    path: str  # of the incident, relative to the knowledge base
    page: str  # of its built page, relative to the site
    first_line: int  # the file line where the body vector starts
    body: str
    title_suffix: str = ""  # appended to the incident's title


def cases(vectors: list[dict], owasp: list[str]) -> list[Case]:
    out = []
    bodies = [(v["name"], v["body"], v.get("title_suffix", "")) for v in vectors]
    bodies += [(f"owasp-{n:03d}", body, "") for n, body in enumerate(owasp, 1)]
    first_line = minimal_incident().split("\n").index(PLACEHOLDER) + 1
    for number, (name, body, title_suffix) in enumerate(bodies, 100):
        stem = f"INC-2025-{number:03d}-{name}"
        out.append(Case(name, f"incidents/2025/{stem}.md", f"incidents/2025/{stem}/index.html", first_line, body,
                        title_suffix))
    return out


def hostile_kb(root: Path, all_cases: list[Case]) -> Path:
    """A knowledge base with one incident per case, the sample's Markdown extensions and no policy file."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "catalog.yml").write_bytes((REPO / "tests/badinput/_valid/catalog.yml").read_bytes())
    extensions = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))["markdown_extensions"]
    config = {"site_name": "hostile", "theme": {"name": "material", "font": False},
              "plugins": [{"incidentkb": {"today": TODAY}}], "markdown_extensions": extensions}
    (root / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs/index.md").write_text("# Hostile\n", encoding="utf-8")
    for number, case in enumerate(all_cases, 100):
        title = json.dumps(f"Hostile body {case.name}{case.title_suffix}")
        text = minimal_incident(case.path.split("/")[-1][:12], title=title)
        path = root / case.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace(PLACEHOLDER, case.body), encoding="utf-8")
    return root


def mkdocs_build(root: Path, site: Path, workers: int, strict: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mkdocs", "build", "-f", str(root / "mkdocs.yml"), "-d", str(site)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "KB_WORKERS": str(workers)}
    return subprocess.run(command + (["--strict"] if strict else []), cwd=root, env=env, capture_output=True,
                          text=True, timeout=600)


# What the payloads of the corpora call; a part of a page carrying one of these came from a record.
PAYLOAD = re.compile(r"kbhit|alert|prompt|confirm|msgbox|xss|javascript|vbscript|data:", re.IGNORECASE)
_ARTICLE = re.compile(r"<article\b.*?</article>", re.DOTALL)


def record_active_parts(page_html: str, baseline_scripts: int) -> list:
    """Active parts of a built page that came from a record body: anything active in the article; anywhere
    on the page, an active attribute carrying a payload, or more <script> elements than a clean page has."""
    found = []
    article = _ARTICLE.search(page_html)
    if article:
        found += active_parts(article.group(0))
    found += [part for part in active_parts(page_html) if part.attribute and PAYLOAD.search(part.value)]
    scripts = sum(1 for part in active_parts(page_html) if part.tag == "script" and not part.attribute)
    if scripts != baseline_scripts:
        found.append(f"{scripts} <script> elements, a clean page has {baseline_scripts}")
    return found


ALL_CASES = cases(VECTORS, OWASP)
