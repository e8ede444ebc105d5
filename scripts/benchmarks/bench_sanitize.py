"""Benchmark: what making record text safe costs, at 10,000 incidents (sanitize.py).

    .venv/bin/python scripts/benchmarks/bench_sanitize.py [--size 10000] [--repeat 2]

The synthetic knowledge base of bench_check.py, with a line of links and inline HTML added to
every body (`[dashboard](https://...)`, `<kbd>`, a reference link): synthetic bodies are
plain prose, which the check's prefilter skips, and real post-mortems link to dashboards.
Then, in the same run and alternating, with the policy's `bodies.raw_html` set to
- `allow`: no sanitiser on the pages, no rendered check (what the site cost before), and
- `safe` (the default): every generated page sanitised, every body with markup rendered by the check.
It prints, for each: the `mkdocs build` wall and CPU time (medians), the `kb check` time
(load + every check, in this process), and the sanitiser's own CPU time over the article HTML of
every incident page (nh3 on the finished pages, one core).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_check import CACHE, knowledge_base  # noqa: E402

from incidentkb.checks.consistency import check_knowledge_base  # noqa: E402
from incidentkb.checks.rendered_html import render_body  # noqa: E402
from incidentkb.records.load import load  # noqa: E402
from incidentkb.site.sanitize import sanitize  # noqa: E402

EXTRA = ("\n\nSee [the dashboard](https://grafana.example.com/d/checkout) and the [vendor note][vendor]; "
         "press <kbd>Ctrl</kbd>+<kbd>R</kbd> to reload.\n\n[vendor]: https://status.example.com/incidents/1\n")
THEME = """theme:
  name: material
  font: false
  features: [navigation.indexes]
markdown_extensions: [admonition, attr_list, md_in_html, tables, {toc: {permalink: true}}]
"""


def project(n: int) -> Path:
    root = CACHE / f"sanitize-{n}"
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        source = knowledge_base(n)
        shutil.copytree(source, root, ignore=shutil.ignore_patterns("site", ".complete"))
        for path in sorted((root / "incidents").rglob("*.md")):
            path.write_text(path.read_text(encoding="utf-8") + EXTRA, encoding="utf-8")
        (root / "docs").mkdir(exist_ok=True)
        (root / "docs" / "index.md").write_text("# Knowledge base\n", encoding="utf-8")
        (root / "mkdocs.yml").write_text(
            f"site_name: sanitize\n{THEME}plugins: [{{incidentkb: {{today: '2026-11-28'}}}}]\nnav: [index.md]\n",
            encoding="utf-8")
        (root / ".complete").write_text("ok")
    return root


def set_mode(root: Path, mode: str) -> None:
    (root / "policy.yml").write_text(f"bodies:\n  raw_html: {mode}\n", encoding="utf-8")


def build(root: Path) -> tuple[float, float]:
    shutil.rmtree(root / "site", ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--quiet"], cwd=root, check=True,
                   env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def check(root: Path) -> float:
    start = time.perf_counter()
    kb, findings = load(root)
    check_knowledge_base(kb)
    return time.perf_counter() - start


_ARTICLE = re.compile(r"<article\b.*?</article>", re.DOTALL)


def sanitiser_alone(root: Path) -> tuple[int, float, float]:
    """(pages, CPU seconds of nh3 over their articles, CPU seconds of the check's Markdown over every body)."""
    articles = [_ARTICLE.search(p.read_text(encoding="utf-8")).group(0)
                for p in sorted((root / "site" / "incidents").glob("*/INC-*/index.html"))]
    start = time.process_time()
    for article in articles:
        sanitize(article)
    nh3_time = time.process_time() - start
    kb, _ = load(root)
    start = time.process_time()
    for incident in kb.incidents:
        render_body(incident.body)
    return len(articles), nh3_time, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=2, help="builds of each mode, alternated (medians reported)")
    args = parser.parse_args()
    root = project(args.size)
    results: dict[str, dict[str, list[float]]] = {mode: {"wall": [], "cpu": [], "check": []}
                                                   for mode in ("allow", "safe")}
    for _ in range(args.repeat):
        for mode in ("allow", "safe"):  # alternated: both see the same load on a shared machine
            set_mode(root, mode)
            wall, cpu = build(root)
            results[mode]["wall"].append(wall)
            results[mode]["cpu"].append(cpu)
            results[mode]["check"].append(check(root))
    print(f"{args.size:,} incidents, each body with links and inline HTML; medians of {args.repeat} alternated runs")
    print(f"{'raw_html':>9} {'build wall':>11} {'build CPU':>10} {'kb check':>9}")
    for mode, figures in results.items():
        wall, cpu, check_time = (median(figures[key]) for key in ("wall", "cpu", "check"))
        print(f"{mode:>9} {wall:>10.1f}s {cpu:>9.1f}s {check_time:>8.1f}s")
    allow, safe = results["allow"], results["safe"]
    print(f"safe/allow: build wall {median(safe['wall']) / median(allow['wall']):.3f}, "
          f"build CPU {median(safe['cpu']) / median(allow['cpu']):.3f}, "
          f"kb check {median(safe['check']) / median(allow['check']):.3f}")
    pages, nh3_time, markdown_time = sanitiser_alone(root)  # the site of the last build: safe
    print(f"nh3 alone over the articles of {pages:,} incident pages: {nh3_time:.2f} s CPU "
          f"({nh3_time / pages * 1000:.3f} ms a page); the check's Markdown over every body: {markdown_time:.2f} s CPU")


if __name__ == "__main__":
    main()
