"""Benchmark: the secret scan of `kb check`, this version against an earlier one, in the same run.

    .venv/bin/python scripts/benchmarks/bench_secrets.py --baseline REV [--size 10000] [--repeat 5]

REV is a git revision whose secrets module is the "before" (for issue 18: the commit before
gitleaks' rules came in, 2e2f132, whose scripts/incidentkb/secrets.py predates the subpackages).
The script loads that file as a module of the installed package (its imports pointed at where
those modules live now), so both versions run in the same process on the same data, alternating
runs; it prints the best and the median of --repeat runs of each, in CPU seconds of this
process (time.process_time: on a shared machine, waiting for a core is not counted):
- kb check as a whole (load + check_knowledge_base) with either version's scan, over the
  synthetic knowledge base of --size incidents (cached under .cache/bench/, the one
  bench_check.py uses);
- the scan alone, scan_knowledge_base(), on the loaded knowledge base: re-reading every file
  included, as in kb check;
- scan_record_text() over every file of the shared corpora (../shared/corpus), when present:
  real vocabulary, where more of gitleaks' keywords occur than in the synthetic text.
Compare the two columns of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_check import knowledge_base  # noqa: E402

import incidentkb  # noqa: E402
from incidentkb.checks import consistency as check  # noqa: E402
from incidentkb.checks import secrets as current  # noqa: E402
from incidentkb.records.load import load  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"


# Where the modules an older secrets.py imports (relatively, from the flat package) live now.
MOVED = {"findings": "incidentkb.core.findings", "frontmatter": "incidentkb.records.frontmatter",
         "schema": "incidentkb.records.schema", "yamlsafe": "incidentkb.core.yamlsafe"}


def baseline_module(revision: str):
    """The secrets module of an earlier revision, imported as incidentkb._secrets_baseline."""
    source = None
    for path in ("scripts/incidentkb/checks/secrets.py", "scripts/incidentkb/secrets.py"):
        shown = subprocess.run(["git", "-C", str(REPO), "show", f"{revision}:{path}"], capture_output=True, text=True)
        if shown.returncode == 0:
            source = shown.stdout
            break
    if source is None:
        raise SystemExit(f"--baseline {revision}: no secrets module in that revision")
    for old, new in MOVED.items():
        source = source.replace(f"from .{old} import", f"from {new} import")
    folder = Path(tempfile.mkdtemp(prefix="bench-secrets-"))
    path = folder / "_secrets_baseline.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"{incidentkb.__name__}._secrets_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def timings(funcs: dict, repeat: int) -> dict[str, list[float]]:
    """Run each function `repeat` times, alternating between them; the seconds of each run."""
    out = {name: [] for name in funcs}
    for _ in range(repeat):
        for name, func in funcs.items():
            gc.collect()
            start = time.process_time()
            func()
            out[name].append(time.process_time() - start)
    return out


def report(title: str, runs: dict[str, list[float]], count: int) -> None:
    print(title)
    for name, seconds in runs.items():
        best, median = min(seconds), statistics.median(seconds)
        print(f"  {name:<9} best {best:7.3f}s  median {median:7.3f}s  = {best / count * 1e6:6.0f} µs per file")
    before, after = (min(v) for v in runs.values())
    print(f"  after/before (best): {after / before:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision of the 'before' secrets.py")
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    before = baseline_module(args.baseline)

    root = knowledge_base(args.size)

    def full_check(module):
        check.scan_knowledge_base = module.scan_knowledge_base
        try:
            kb, findings = load(root)
            findings += check.check_knowledge_base(kb)
        finally:
            check.scan_knowledge_base = current.scan_knowledge_base
        assert not any(f.is_error for f in findings), findings[:3]

    runs = timings({"before": lambda: full_check(before), "after": lambda: full_check(current)}, max(2, args.repeat // 2))
    report(f"kb check (load + every check), {args.size:,} synthetic incidents:", runs, args.size)

    kb, _ = load(root)
    assert before.scan_knowledge_base(kb) == current.scan_knowledge_base(kb) == []  # also warms the page cache
    runs = timings({"before": lambda: before.scan_knowledge_base(kb),
                    "after": lambda: current.scan_knowledge_base(kb)}, args.repeat)
    report(f"scan_knowledge_base, {len(kb.incidents):,} synthetic incidents:", runs, len(kb.incidents))

    if CORPUS.is_dir():
        files = [(p.relative_to(CORPUS).as_posix(), p.read_text(encoding="utf-8")) for p in sorted(CORPUS.rglob("*"))
                 if p.is_file() and p.suffix in ("", ".md", ".yaml") and p.name != "LICENSE"]
        runs = timings({"before": lambda: [before.scan_record_text(t, r) for r, t in files],
                        "after": lambda: [current.scan_record_text(t, r) for r, t in files]}, args.repeat)
        size = sum(len(t) for _, t in files) / len(files)
        report(f"scan_record_text, {len(files)} files of the shared corpora (mean {size:,.0f} characters):",
               runs, len(files))


if __name__ == "__main__":
    main()
