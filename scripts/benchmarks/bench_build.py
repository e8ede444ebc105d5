"""Benchmark: our site build against a plain mkdocs-material build of the same Markdown bodies.

    .venv/bin/python scripts/benchmarks/bench_build.py [--sizes 1000 10000] [--repeat N]

For each size, in the same run:
- ours:  `mkdocs build` of a synthetic knowledge base with the incidentkb plugin
         (load + check + every generated page + search index);
- plain: `mkdocs build` of a docs/ folder holding the same incident bodies as
         plain pages, Material theme, the same plugins minus ours, a one-page nav.
It prints wall times, their ratio (bar: ≤ 1.5), t(10k)/t(1k) for ours (bar: ≤ 12),
built bytes per incident page (bar: ours ≤ 1.3 × plain) and the CPU time of every process
of each build. `KB_SEARCH=0` in the environment builds ours without the search index and
the offline archive.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_check import CACHE, knowledge_base  # noqa: E402

THEME = """theme:
  name: material
  font: false
  features: [navigation.indexes]
markdown_extensions: [admonition, attr_list, tables, {toc: {permalink: true}}]
"""


def ours_project(n: int) -> Path:
    root = knowledge_base(n)
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "index.md").write_text("# Knowledge base\n\n<!-- kb:recent-incidents -->\n", encoding="utf-8")
    (root / "mkdocs.yml").write_text(
        f"site_name: ours\n{THEME}plugins: [{{incidentkb: {{today: '2026-11-28'}}}}]\n"
        "nav: [index.md]\n", encoding="utf-8")  # the same one-page nav as the plain build
    return root


def plain_project(n: int) -> Path:
    """The same incident bodies as plain Markdown pages at the same paths."""
    root = CACHE / f"plain-{n}"
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        source = knowledge_base(n)
        for path in sorted((source / "incidents").rglob("*.md")):
            text = path.read_text(encoding="utf-8")
            body = text[text.index("\n---", 4) + 4:]
            target = root / "docs" / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
        (root / "docs" / "index.md").write_text("# Knowledge base\n", encoding="utf-8")
        (root / "mkdocs.yml").write_text(f"site_name: plain\n{THEME}plugins: [search]\nnav: [index.md]\n", encoding="utf-8")
        (root / ".complete").write_text("ok")
    return root


def build(project: Path, python: str = sys.executable) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one build. The CPU is user + system of every process of the build:
    the kernel adds a process's reaped children (our forked workers, Pagefind) to its own when it is reaped."""
    site = project / "site"
    shutil.rmtree(site, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([python, "-m", "mkdocs", "build", "--quiet", "--strict"], cwd=project, check=True,
                   env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})  # Material's banner on every build
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def incident_page_bytes(project: Path) -> float:
    pages = list((project / "site" / "incidents").glob("*/INC-*/index.html"))
    return sum(p.stat().st_size for p in pages) / max(1, len(pages))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=1,
                        help="build plain and ours this many times, alternately, and report the medians: on a "
                             "machine shared with other jobs one pair of builds can mislead")
    parser.add_argument("--baseline-python", metavar="PYTHON",
                        help="also build ours with this interpreter (a virtual environment holding another version of "
                             "incidentkb), alternately with the others, and print ours / baseline: a change measured "
                             "against the code before it, in the same run")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat: expected a whole number of at least 1, got {args.repeat}")
    ours_times = {}
    print(f"{'incidents':>10} {'plain':>9} {'ours':>9} {'ours/plain':>11} {'bytes/page plain':>17} {'ours':>9} {'ratio':>6}"
          f" {'CPU plain':>10} {'ours':>9}")
    baseline_lines = []
    for n in args.sizes:
        plain, ours = plain_project(n), ours_project(n)
        runs, baseline_runs = [], []
        for _ in range(args.repeat):  # alternated: all see the same load
            runs.append((build(plain), build(ours)))
            if args.baseline_python:
                baseline_runs.append(build(ours, args.baseline_python))
        plain_runs, ours_runs = zip(*runs)  # each a (wall, CPU) per run
        t_plain, cpu_plain = (median(values) for values in zip(*plain_runs))
        t_ours, cpu_ours = (median(values) for values in zip(*ours_runs))
        ours_times[n] = t_ours
        b_plain, b_ours = incident_page_bytes(plain), incident_page_bytes(ours)
        print(f"{n:>10,} {t_plain:>8.1f}s {t_ours:>8.1f}s {t_ours / t_plain:>11.2f} {b_plain:>17,.0f} {b_ours:>9,.0f} "
              f"{b_ours / b_plain:>6.2f} {cpu_plain:>9.1f}s {cpu_ours:>8.1f}s")
        if args.repeat > 1:
            ratios = sorted(ours_run[0] / plain_run[0] for plain_run, ours_run in zip(plain_runs, ours_runs))
            print(f"{'':>10} ours/plain of each pair: {', '.join(f'{r:.2f}' for r in ratios)}")
        if baseline_runs:
            t_base, cpu_base = (median(values) for values in zip(*baseline_runs))
            baseline_lines.append(f"{n:>10,} baseline {t_base:.1f} s (CPU {cpu_base:.1f} s), ours {t_ours:.1f} s "
                                  f"(CPU {cpu_ours:.1f} s): ours / baseline = {t_ours / t_base:.2f}")
    for line in baseline_lines:
        print(line)
    if len(args.sizes) >= 2:
        small, large = min(args.sizes), max(args.sizes)
        print(f"ours({large:,}) / ours({small:,}) = {ours_times[large] / ours_times[small]:.1f}")


if __name__ == "__main__":
    main()
