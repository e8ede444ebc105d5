"""How the similar-incident index scales: time and memory at 1,000 and 10,000 synthetic incidents.

For each size, in a fresh process (so that peak memory is that size's own): load the knowledge base
(not counted), build the SimilarityIndex, compute every incident's neighbours (what the site needs for
"Similar incidents" on each page), write the browser index, and time a few text queries. Then the
ratios t(10k)/t(1k). With --browser, also open the "Find similar" page on the 10,000-incident index in
headless Debian chromium and report the time to the first answer and the bytes it transferred.

    python scripts/benchmarks/bench_similar.py [--sizes 1000 10000] [--full] [--browser] [--json]

--full generates the incidents with fuller front matter (synthetic.py's full=True: impact, roles, several
causes, a long timeline and several action items filled in), as a team that fills in every field writes them.

Times are wall-clock seconds on this machine (and process CPU seconds, which other load disturbs less).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUERIES = [
    "replica lag above 300 s on db-replica-02",
    "pods OOMKiled in CrashLoopBackOff",
    "x509: certificate has expired",
    "connection refused from the internal resolver",
    "KafkaConsumerLagHigh orders topic",
]


def measure(root: Path) -> dict:
    """Runs in the child process: every figure for one knowledge base."""
    from incidentkb.analysis.similar import SimilarityIndex
    from incidentkb.records.load import load
    from incidentkb.site.similar_index import browser_index_files

    out: dict = {}

    def timed(name, func):
        wall, cpu = time.perf_counter(), time.process_time()
        value = func()
        out[name] = round(time.perf_counter() - wall, 2)
        out[name + "_cpu"] = round(time.process_time() - cpu, 2)
        return value

    kb, _ = timed("load", lambda: load(root))
    out["incidents"] = len(kb.incidents)
    out["rss_after_load_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    index = timed("build", lambda: SimilarityIndex.build(kb))
    neighbours = timed("all_neighbours", lambda: index.all_neighbours(top=5))
    out["with_neighbours"] = sum(1 for v in neighbours.values() if v)
    files = timed("browser_files", lambda: browser_index_files(index, kb, lambda r: f"{r.kind}s/{r.id}/"))
    out["browser_file_count"] = len(files)
    out["browser_mb"] = round(sum(len(v) for v in files.values()) / 1e6, 1)
    started = time.perf_counter()
    for text in QUERIES:
        index.query(text)
    out["query_ms"] = round((time.perf_counter() - started) * 1000 / len(QUERIES), 1)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


RUNS = 3  # per query in the browser; the median is reported (the machine is shared: single runs vary)
PROBE = """() => {
  window.__kbDone = null;
  const box = document.querySelector('#kb-find-similar');
  document.querySelector('#kb-find-similar button').addEventListener('click', () => {
    window.__kbClick = performance.now();
  }, {capture: true, once: true});
  new MutationObserver(() => {
    if (window.__kbDone === null && box.getAttribute('data-state') === 'done' && window.__kbClick) {
      window.__kbDone = performance.now();
    }
  }).observe(box, {attributes: true});
}"""
MEASURED = """() => {
  // Everything the page fetched, its own script and the manifest included; not the HTML of the page.
  const fetched = performance.getEntriesByType('resource');
  return [(window.__kbDone - window.__kbClick) / 1000, fetched.reduce((n, e) => n + e.encodedBodySize, 0),
          fetched.length];
}"""


def browser_check(root: Path) -> dict:
    """The "Find similar" page on this knowledge base's index, in headless chromium: time and bytes to the first answer."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    from incidentkb.analysis.similar import SimilarityIndex
    from incidentkb.records.load import load
    from incidentkb.site.similar_index import browser_index_files

    kb, _ = load(root)
    index = SimilarityIndex.build(kb)
    site = Path(tempfile.mkdtemp(prefix="kb-find-similar-"))
    for rel, data in browser_index_files(index, kb, lambda r: f"{r.kind}s/{r.id}/").items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
    (site / "find").mkdir()
    (site / "find" / "index.html").write_text(
        '<!doctype html><meta charset="utf-8"><div id="kb-find-similar" data-index="../assets/similar/" '
        'data-root="../"></div><script src="../assets/similar/find-similar.js"></script>', encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/find/"
    out = {"queries": []}
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
            for text in QUERIES:
                runs = []
                for _ in range(RUNS):
                    page = browser.new_page()  # a fresh page: nothing cached, the first answer every time
                    page.goto(url)
                    page.fill("#kb-find-similar textarea", text)
                    # Timed inside the page, from the click to the answer on screen (a Python-side clock would
                    # also count Playwright's own round trips); bytes are the bodies of everything the page fetched.
                    page.evaluate(PROBE)
                    page.click("#kb-find-similar button")
                    page.wait_for_selector("#kb-find-similar[data-state=done]")
                    page.wait_for_function("window.__kbDone !== null")
                    runs.append(tuple(page.evaluate(MEASURED)))
                    page.close()
                seconds, size, requests = sorted(runs)[len(runs) // 2]  # the median run
                out["queries"].append({"text": text, "seconds": round(seconds, 2), "kb": round(size / 1000),
                                       "requests": requests})
            browser.close()
    finally:
        server.shutdown()
    out["max_seconds"] = max(q["seconds"] for q in out["queries"])
    out["max_kb"] = max(q["kb"] for q in out["queries"])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--browser", action="store_true", help="also time the Find similar page at the largest size")
    parser.add_argument("--full", action="store_true", help="incidents with fuller front matter (see synthetic.py)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-browser", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child)))
        return 0
    if args.child_browser:
        print(json.dumps(browser_check(args.child_browser)))
        return 0

    sys.path.insert(0, str(HERE))
    from synthetic import generate

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            root = generate(Path(tmp) / str(size), size, full=args.full)
            child = subprocess.run([sys.executable, __file__, "--child", str(root)], capture_output=True, text=True,
                                   check=True)
            results[size] = json.loads(child.stdout)
            print(f"{size:>6} incidents: {json.dumps(results[size])}", file=sys.stderr, flush=True)
        if args.browser:
            root = Path(tmp) / str(max(args.sizes))
            child = subprocess.run([sys.executable, __file__, "--child-browser", str(root)], capture_output=True,
                                   text=True, check=True)
            results["browser"] = json.loads(child.stdout)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    sizes = [s for s in args.sizes]
    print("| incidents | build s (cpu) | all neighbours s (cpu) | build + neighbours s | browser files s | browser index MB "
          "| query ms | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for size in sizes:
        r = results[size]
        print(f"| {size:,} | {r['build']} ({r['build_cpu']}) | {r['all_neighbours']} ({r['all_neighbours_cpu']}) | "
              f"{r['build'] + r['all_neighbours']:.2f} | {r['browser_files']} | {r['browser_mb']} | {r['query_ms']} | "
              f"{r['peak_rss_mb']} |")
    if len(sizes) >= 2:
        small, large = results[min(sizes)], results[max(sizes)]
        for name in ("build", "all_neighbours"):
            print(f"t({max(sizes)})/t({min(sizes)}) {name}: {large[name] / max(small[name], 0.01):.1f} "
                  f"(cpu {large[name + '_cpu'] / max(small[name + '_cpu'], 0.01):.1f})")
    if args.browser:
        b = results["browser"]
        print(f"Find similar at {max(sizes):,} incidents: first answer in at most {b['max_seconds']} s, "
              f"at most {b['max_kb']} kB transferred")
        for q in b["queries"]:
            print(f"  {q['text']!r}: {q['seconds']} s, {q['kb']} kB in {q['requests']} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
