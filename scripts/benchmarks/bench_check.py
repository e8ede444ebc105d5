"""Benchmark: `kb check` against the bare cost of parsing the same front matter with libyaml.

    .venv/bin/python scripts/benchmarks/bench_check.py [--sizes 1000 10000] [--repeat 3]

For each size it generates a synthetic knowledge base (cached under
.cache/bench/), then times, in the same process and alternating runs:
- bare: read every incident file, cut out the front matter, yaml.load(CSafeLoader);
- check: the whole `kb check` pipeline (load + validate + every check).
It prints the best of --repeat runs and the ratios the issue sets bars for:
check/bare at each size (bar: ≤ 2.5 at 10,000) and check(10k)/check(1k) (bar: ≤ 12).

With --changed it also times `kb check --changed` after editing one incident of the
largest knowledge base (made a git repository for it), against the full check
(bar: at most a tenth).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import generate  # noqa: E402

from incidentkb.checks.consistency import check_knowledge_base  # noqa: E402
from incidentkb.records.load import load  # noqa: E402

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "bench"


def knowledge_base(n: int) -> Path:
    root = CACHE / f"kb-{n}"
    if not (root / ".complete").exists():
        import shutil

        shutil.rmtree(root, ignore_errors=True)
        generate(root, n)
        (root / ".complete").write_text("ok")
    return root


def bare_parse(root: Path) -> int:
    count = 0
    for path in sorted((root / "incidents").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        end = text.index("\n---", 4)
        yaml.load(text[4:end], Loader=yaml.CSafeLoader)
        count += 1
    return count


def full_check(root: Path) -> int:
    kb, findings = load(root)
    findings += check_knowledge_base(kb)
    assert not any(f.is_error for f in findings), findings[:3]
    return len(kb.incidents)


def best_of(func, root: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        func(root)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--changed", action="store_true", help="also time kb check --changed on the largest size")
    args = parser.parse_args()
    results = {}
    print(f"{'incidents':>10} {'bare parse':>11} {'kb check':>10} {'check/bare':>11}")
    for n in args.sizes:
        root = knowledge_base(n)
        bare_parse(root)  # warm the page cache so both sides read from memory
        bare = best_of(bare_parse, root, args.repeat)
        check = best_of(full_check, root, args.repeat)
        results[n] = (bare, check)
        print(f"{n:>10,} {bare:>10.2f}s {check:>9.2f}s {check / bare:>11.2f}")
    if len(args.sizes) >= 2:
        small, large = min(args.sizes), max(args.sizes)
        print(f"check({large:,}) / check({small:,}) = {results[large][1] / results[small][1]:.1f} "
              f"(size ratio {large / small:.0f})")
    if args.changed:
        changed_benchmark(max(args.sizes), results[max(args.sizes)][1], args.repeat)


def changed_benchmark(n: int, full: float, repeat: int) -> None:
    import shutil
    import subprocess

    from incidentkb.checks.changed import changed_paths, check_changed

    repo = CACHE / f"git-{n}"
    if not (repo / ".git").exists():
        shutil.rmtree(repo, ignore_errors=True)
        shutil.copytree(knowledge_base(n), repo)
        git = ["git", "-C", str(repo), "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "synthetic"], check=True)
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "--", "."], check=True)
    target = sorted((repo / "incidents").rglob("*.md"))[n // 2]
    target.write_text(target.read_text(encoding="utf-8").replace("status: closed", "status: resolved"), encoding="utf-8")

    def run(root: Path) -> int:
        return len(check_changed(root, changed_paths(root)).findings)

    changed = best_of(run, repo, repeat)
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "--", "."], check=True)
    print(f"kb check --changed, one incident edited in {n:,}: {changed:.2f}s = {changed / full:.3f} of the full check")


if __name__ == "__main__":
    main()
