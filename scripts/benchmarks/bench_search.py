"""Benchmark: search at scale, in headless chromium, from a cold cache; and what search costs the build.

    .venv/bin/python scripts/benchmarks/bench_search.py [--size 10000] [--runs 3] [--skip-build] [--material]

1. Builds the synthetic knowledge base of --size incidents (bench_build.ours_project, plus the
   synthetic runbooks) twice with the same mkdocs.yml: with search (the default) and with
   KB_SEARCH=0 (no Pagefind, no offline archive). Prints wall and CPU time of each, and what the
   search step itself logged (pages indexed, seconds spent after the last page).
2. Serves the built site on localhost (a plain threading http.server that counts the bytes it
   sends) and, for each query, opens a fresh browser context (an empty cache) on an incident page,
   presses "/" and types the query, once at machine speed (as if pasted) and once at --type-delay
   ms per key (a person typing: a search may run at every pause). It reports:
   - first result: ms from the last key of the query to the first result in the list
     ("from /": from the key that opened search, which includes loading the search engine);
   - all shown: ms from the last key until the first page of results is complete;
   - bytes: everything the server sent from the "/" until then (page load excluded), and requests.
   Each query runs --runs times; the median is printed.
3. With --material, the same measurement of Material's built-in search on the plain build of the
   same incidents (bench_build.plain_project), for comparison.

Numbers go into docs/guide/search.md by hand, with the date and the machine.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import ours_project, plain_project  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
QUERIES = ["KubePodCrashLooping", "kubepodcrashlooping", "OOMKilled", "connection refused", "db-primary-01",
           "x509: certificate has expired", "INC-2025-00014", "checkout latency rollback"]
CONFIG = """site_name: bench
theme:
  name: material
  font: false
  features: [navigation.indexes]
markdown_extensions: [admonition, attr_list, tables, {toc: {permalink: true}}]
plugins: [{incidentkb: {today: '2026-11-28'}}]
nav: [index.md, incidents/index.md, runbooks/index.md, services/index.md]
"""

# Records the first key of the query, the "/" before it, and when the first result is in the list.
PROBE = """
window.__kb = {keys: [], first: null};
addEventListener('keydown', e => __kb.keys.push([e.key, performance.now()]), true);
new MutationObserver(() => {
  if (__kb.first === null && document.querySelector('[data-kb-search] .md-search-result__item, .md-search-result__item'))
    __kb.first = performance.now();
}).observe(document, {subtree: true, childList: true});
"""


# ------------------------------------------------------------------------------ building


def build(project: Path, config: Path, site: Path, search: bool) -> dict:
    shutil.rmtree(site, ignore_errors=True)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "KB_SEARCH": "1" if search else "0"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
                            cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"build failed:\n{result.stderr[-3000:]}")
    line = next((l for l in result.stderr.splitlines() if "incidentkb: search:" in l), "")
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "log": line.split("incidentkb: ", 1)[-1].strip()}


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# ------------------------------------------------------------------------------- serving


class CountingHandler(http.server.SimpleHTTPRequestHandler):
    """Counts every byte and request it sends, in the server's totals."""

    def setup(self):
        super().setup()
        handler, raw = self, self.wfile

        class Counted:
            def write(self, data):
                handler.server.sent += len(data)
                return raw.write(data)

            def __getattr__(self, name):
                return getattr(raw, name)

        self.wfile = Counted()

    def handle_one_request(self):
        super().handle_one_request()
        if self.requestline:
            self.server.requests += 1

    def log_message(self, *args):
        pass


def serve(site: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(CountingHandler, directory=str(site)))
    server.sent = server.requests = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


# ---------------------------------------------------------------------------- measuring


def measure(browser, server, url: str, query: str, material: bool = False, delay: float = 0) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # a new context has an empty cache
    context.add_init_script(PROBE)
    page = context.new_page()
    outside = []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1")
                  else (outside.append(route.request.url), route.abort()))
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    sent, requests = server.sent, server.requests
    page.keyboard.press("/")
    page.keyboard.type(query, delay=delay)
    if material:
        page.wait_for_function("document.querySelector('.md-search-result__item') !== null", timeout=120_000)
        page.wait_for_load_state("networkidle")
    else:
        page.wait_for_selector("[data-kb-search][data-kb-search-state='done']", state="attached", timeout=60_000)
        page.wait_for_function("window.__kb.first !== null", timeout=60_000)
    done = page.evaluate("performance.now()")
    probe = page.evaluate("window.__kb")
    slash = next(t for key, t in probe["keys"] if key == "/")
    last_key = probe["keys"][-1][1]
    count = page.locator(".md-search-result__item").count()
    top = page.locator(".md-search-result__item h1").first.inner_text() if count else ""
    context.close()
    if outside:
        raise SystemExit(f"requests left localhost: {outside[:3]}")
    return {"first": probe["first"] - last_key, "from_slash": probe["first"] - slash, "done": done - last_key,
            "bytes": server.sent - sent, "requests": server.requests - requests, "top": top}


def run_queries(site: Path, page_path: str, queries: list[str], runs: int, material: bool = False,
                delay: float = 0) -> None:
    from playwright.sync_api import sync_playwright

    server, url = serve(site)
    typing = f"{delay:.0f} ms between keys" if delay else "at machine speed"
    print(f"\nTyped {typing}; times from the last key of the query (\"from /\": from opening search)")
    print(f"{'query':<32} {'first result':>13} {'from /':>8} {'all shown':>10} {'bytes':>10} {'requests':>9}  top result")
    worst_first, worst_bytes = 0.0, 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        measure(browser, server, url + page_path, queries[0], material)  # warm the OS file cache, not the browser's
        for query in queries:
            samples = [measure(browser, server, url + page_path, query, material, delay) for _ in range(runs)]
            med = {key: statistics.median(s[key] for s in samples) for key in ("first", "from_slash", "done", "bytes",
                                                                                "requests")}
            worst_first, worst_bytes = max(worst_first, med["first"]), max(worst_bytes, med["bytes"])
            print(f"{query:<32} {med['first']:>10.0f} ms {med['from_slash']:>5.0f} ms {med['done']:>7.0f} ms "
                  f"{med['bytes'] / 1000:>7.1f} kB {med['requests']:>9.0f}  {samples[0]['top'][:60]}")
        browser.close()
    server.shutdown()
    print(f"worst median: first result {worst_first:.0f} ms (bar 1000 ms), {worst_bytes / 1000:.1f} kB (bar 500 kB); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="measurements per query (median shown)")
    parser.add_argument("--skip-build", action="store_true", help="reuse the site of the previous run")
    parser.add_argument("--skip-queries", action="store_true", help="only build (and time the builds)")
    parser.add_argument("--material", action="store_true", help="also measure Material's built-in search")
    parser.add_argument("--queries", nargs="+", default=QUERIES)
    parser.add_argument("--type-delay", type=float, default=150,
                        help="ms between keys for the second, human-speed pass (0: skip it)")
    args = parser.parse_args()

    project = ours_project(args.size)
    config = project / "mkdocs.bench-search.yml"
    config.write_text(CONFIG, encoding="utf-8")
    site = project / "site-search"
    if not args.skip_build:
        print(f"{args.size:,} incidents: building without search, then with it (same mkdocs.yml); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        without = build(project, config, project / "site-nosearch", search=False)
        with_search = build(project, config, site, search=True)
        for name, run in (("without search", without), ("with search", with_search)):
            print(f"  {name:<15} wall {run['wall']:6.1f} s   cpu {run['cpu']:6.1f} s   {run['log']}")
        print(f"  search adds {with_search['wall'] - without['wall']:.1f} s wall "
              f"({with_search['wall'] / without['wall']:.2f}x), {with_search['cpu'] - without['cpu']:.1f} s cpu")
        pagefind = site / "pagefind"
        print(f"  pagefind bundle {tree_bytes(pagefind) / 1e6:.1f} MB in {sum(1 for _ in pagefind.rglob('*'))} files; "
              f"site.zip {(site / 'site.zip').stat().st_size / 1e6:.1f} MB; site {tree_bytes(site) / 1e6:.0f} MB")
    if args.skip_queries:
        return
    incident = next((site / "incidents/2025").glob("INC-2025-00014-*/index.html")).parent.relative_to(site).as_posix()
    run_queries(site, incident + "/", args.queries, args.runs)
    if args.type_delay:
        run_queries(site, incident + "/", args.queries, args.runs, delay=args.type_delay)
    if args.material:
        plain = plain_project(args.size)
        plain_site = plain / "site"
        if not (plain_site / "search/search_index.json").exists():
            subprocess.run([sys.executable, "-m", "mkdocs", "build", "--quiet"], cwd=plain, check=True,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
        size = (plain_site / "search/search_index.json").stat().st_size
        print(f"\nMaterial's built-in search on the plain build (search_index.json {size / 1e6:.1f} MB):")
        page_path = re.sub(r"index\.html$", "", incident) + "/"
        run_queries(plain_site, page_path, args.queries[:3], 1, material=True)


if __name__ == "__main__":
    main()
