"""Search without a browser: what goes into the Pagefind index, the exact-match shards, the bundle on disk."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from incidentkb.analysis.similar import fnv1a
from incidentkb.indexing import pagefind as pagefind_module
from incidentkb.indexing import search_index, search_pages
from incidentkb.indexing.pagefind import PagefindError, PagefindService, pagefind_executable
from incidentkb.indexing.pagefind_bundle import (
    _chunk_words, _read_pagefind, canonicalise_bundle, cbor_dumps, cbor_loads, chunk_ranges, rechunk_index,
)
from incidentkb.indexing.search_pages import (
    PageFacts, classify, cut_sections, exact_entries, exact_shards, listing_pages, pagefind_html, shard_count,
)
from incidentkb.mkdocs_plugin import search
from incidentkb.records.load import load
from incidentkb.site.renderer import GeneratedPage

REPO = Path(__file__).resolve().parent.parent

CONTENT = ('<h1 id="t">INC-2025-014: Title</h1><p>Body with OOMKilled</p>'
           '<h2 id="timeline">Timeline</h2><p>kept</p>'
           '<h2 id="related">Related</h2><ul><li>Other incident title</li></ul>'
           '<h2 id="post-mortem">Post-mortem</h2><p>also kept</p>')


@pytest.fixture(scope="module")
def sample_kb():
    kb, _ = load(REPO)
    return kb


# ------------------------------------------------------------------------------ pure parts


def test_fnv1a_matches_the_published_test_vectors():
    # The browser computes the same hash (kb-search.js) to find the shard of a key.
    assert fnv1a("") == 0x811C9DC5
    assert fnv1a("a") == 0xE40C292C
    assert fnv1a("foobar") == 0xBF9CF968


def test_shard_count_is_a_power_of_two_with_few_keys_each():
    assert shard_count(0) == shard_count(1) == shard_count(32) == 1
    assert shard_count(33) == 2
    assert shard_count(10_100) == 512
    assert shard_count(10**9) == search_pages.MAX_SHARDS


def test_exact_entries_answer_ids_and_alert_names(sample_kb):
    entries = exact_entries(sample_kb)
    runbook = entries["kubepodcrashlooping"][0]
    assert runbook[0] == "runbooks/k8s-platform/kube-pod-crashlooping/" and runbook[2] == "runbook"
    assert "KubePodCrashLooping" in runbook[3]
    incident = entries["inc-2025-014"][0]
    assert incident[0].startswith("incidents/2025/INC-2025-014-") and incident[2] == "incident"
    assert incident[1].startswith("INC-2025-014: ") and incident[4] == "SEV1" and "checkout" in incident[5].split()
    assert entries["prb-001"][0][2] == "problem"
    assert entries["checkout"][0][:3] == ["services/checkout/", "Checkout", "service"]
    # Keys are lower case; every key lands in exactly one shard, the one its hash names.
    shards = exact_shards(entries)
    for number, shard in enumerate(shards):
        for key in shard:
            assert key == key.lower() and fnv1a(key) % len(shards) == number
    assert sum(len(s) for s in shards) == len(entries)


def test_exact_entries_follow_use_directory_urls(sample_kb):
    entries = exact_entries(sample_kb, directory_urls=False)
    assert entries["kubepodcrashlooping"][0][0] == "runbooks/k8s-platform/kube-pod-crashlooping.html"


def test_classify_keeps_record_lists_out_of_the_index():
    facts = {"incidents/2025/INC-2025-014-x.md": PageFacts("incident", "SEV1", ("checkout",))}
    pages = [GeneratedPage("incidents/2025/index.md", ""), GeneratedPage("tags/latency.md", ""),
             GeneratedPage("incidents/2025/INC-2025-014-x.md", "", record=True),
             GeneratedPage("policy/severity.md", ""), GeneratedPage("reference/fields.md", ""),
             GeneratedPage("runbooks/alerts/index.md", ""),
             GeneratedPage("runbooks/alerts/kubepodcrashlooping.md", "", record=True),
             GeneratedPage("drills/INC-2025-014.md", "", record=True)]
    listings = listing_pages(pages, facts)
    assert listings == {"incidents/2025/index.md", "tags/latency.md", "runbooks/alerts/index.md",
                        "drills/INC-2025-014.md"}
    assert classify("incidents/2025/INC-2025-014-x.md", facts, listings).severity == "SEV1"
    assert classify("incidents/2025/index.md", facts, listings) is None
    assert classify("policy/severity.md", facts, listings).type == "policy"
    assert classify("runbooks/alerts/kubepodcrashlooping.md", facts, listings).type == "alert"
    assert classify("reference/fields.md", facts, listings).type == "page"
    assert classify("index.md", facts, listings).type == "page"


def test_pagefind_gets_the_content_with_its_filters_and_without_lists():
    html = pagefind_html(CONTENT, "INC-2025-014: Title", PageFacts("incident", "SEV1", ("checkout", "payments-api")))
    assert "Body with OOMKilled" in html and "kept" in html and "also kept" in html
    assert "Other incident title" not in html
    for tag in ('data-pagefind-filter="type:incident"', 'data-pagefind-filter="severity:SEV1"',
                'data-pagefind-filter="service:checkout"', 'data-pagefind-filter="service:payments-api"'):
        assert tag in html
    assert html.count("data-pagefind-body") == 1 and html.count("<h1") == 1
    # Hand-written pages keep every section; content without a heading gets the title, as Material shows it.
    assert "Other incident title" in pagefind_html(CONTENT, "x", PageFacts("page"))
    assert "<h1>Runbook &lt;one&gt;</h1><p>Steps</p>" in pagefind_html("<p>Steps</p>", "Runbook <one>", PageFacts("page"))


def test_cut_sections_stops_at_the_next_section_or_the_end():
    assert cut_sections("<h2 id=\"a\">A</h2>x<h2 id=\"b\">B</h2>y", ("a",)) == "<h2 id=\"b\">B</h2>y"
    assert cut_sections("<p>keep</p><h2 id=\"b\">B</h2>y", ("b",)) == "<p>keep</p>"
    assert cut_sections("<p>nothing to cut</p>", ("a",)) == "<p>nothing to cut</p>"


def test_cbor_round_trip():
    value = ["1.5.2", [["en_1", 13], ["en_2", 70000]], {"k": [1, -2, 2**40]}, b"\x00\x01", "é", True, None, []]
    assert cbor_loads(cbor_dumps(value)) == value
    assert cbor_dumps(23) == b"\x17" and cbor_dumps(24) == b"\x18\x18" and cbor_dumps(256) == b"\x19\x01\x00"


# -------------------------------------------------------------------------- the service


def test_service_reports_a_bad_request_as_an_error():
    service = PagefindService(pagefind_executable())
    try:
        with pytest.raises(PagefindError):
            service.request({"type": "AddFile", "index_id": 99, "url": "/x/", "file_path": None,
                             "file_contents": "<html></html>"}).result(timeout=30)
    finally:
        service.close()


def _tiny_bundle(out: Path, pages: int = 8) -> Path:
    """Index a few pages with several values per filter (the case Pagefind writes in random order)."""
    indexer = search_index.SearchIndexer(lambda: None, archive=None)
    for number in range(pages):
        facts = PageFacts(("incident", "runbook", "page")[number % 3], f"SEV{number % 4 + 1}",
                          (f"svc-{number % 5}", f"svc-{(number + 2) % 5}"))
        filler = " ".join(f"word{(number * 7 + k) % 97} common common common" for k in range(70))
        html = f"<h1>Page {number}</h1><p>OOMKilled on db-primary-0{number}. {filler}</p>"
        page = SimpleNamespace(url=f"p{number}/", meta={}, title=f"Page {number}",
                               file=SimpleNamespace(src_uri=f"p{number}.md", generated_by=None))
        indexer._facts, indexer._listings = {f"p{number}.md": facts}, frozenset()
        indexer.add_page(html, page)
    indexer.finish(out)
    return out / "pagefind"


def test_two_indexings_write_the_same_bundle(tmp_path):
    first, second = _tiny_bundle(tmp_path / "a"), _tiny_bundle(tmp_path / "b")
    files = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    assert any(f.startswith("filter/") for f in files)
    for unused in search_index.UNUSED_BUNDLE_FILES:
        assert unused not in files
    # Canonicalising again changes nothing.
    before = {f: (first / f).read_bytes() for f in files}
    canonicalise_bundle(first)
    assert {p.relative_to(first).as_posix(): p.read_bytes() for p in first.rglob("*") if p.is_file()} == before


def test_no_pages_still_gives_a_working_empty_bundle(tmp_path):
    indexer = search_index.SearchIndexer(lambda: None, archive=None)
    indexer.finish(tmp_path)
    assert (tmp_path / "pagefind/pagefind.js").is_file()
    config = json.loads((tmp_path / "kb-search/config.json").read_text())
    assert config["shards"] == 1 and config["filters"]["type"] == []


# ---------------------------------------------------------------------- the built sample


def test_sample_site_has_the_search_bundle(sample_site):
    _, site = sample_site
    assert (site / "pagefind/pagefind.js").is_file() and (site / "pagefind/pagefind-entry.json").is_file()
    assert not (site / "search/search_index.json").exists()  # Material's search is off
    config = json.loads((site / "kb-search/config.json").read_text())
    assert [t for t, _ in config["filters"]["type"]] == ["incident", "runbook", "alert", "problem", "service",
                                                        "policy", "page"]
    assert [s for s, _ in config["filters"]["severity"]] == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert ["checkout", "Checkout"] in config["filters"]["service"]
    shard = fnv1a("kubepodcrashlooping") % config["shards"]
    hits = json.loads((site / f"kb-search/exact/{shard}.json").read_text())["kubepodcrashlooping"]
    assert hits[0][0] == "runbooks/k8s-platform/kube-pod-crashlooping/"
    for name in ("kb-search.js", "kb-search.css"):
        assert (site / "assets/incidentkb/search" / name).is_file()
    page = (site / "index.html").read_text()
    assert "data-kb-search" in page and "assets/incidentkb/search/kb-search.js" in page
    assert 'data-md-component="search"' not in page  # Material's own search code must not start
    assert "fonts.googleapis.com" not in page


def test_sample_index_holds_records_not_lists(sample_site):
    _, site = sample_site
    urls = {json.loads(gzip.decompress(p.read_bytes())[len(b"pagefind_dcd"):])["url"]
            for p in (site / "pagefind/fragment").iterdir()}
    assert "/runbooks/k8s-platform/kube-pod-crashlooping/" in urls
    assert any(u.startswith("/incidents/2025/INC-2025-014-") for u in urls)
    assert "/policy/severity/" in urls and "/" in urls
    for listing in ("/incidents/", "/incidents/2025/", "/incidents/severity/sev1/", "/tags/", "/action-items/",
                    "/runbooks/", "/services/", "/runbooks/alerts/"):
        assert listing not in urls


def test_sample_index_leaves_out_labels(sample_site):
    """Column headings and the facts panel's labels are on every record: they stay out of the words and snippets."""
    _, site = sample_site
    fragments = [json.loads(gzip.decompress(p.read_bytes())[len(b"pagefind_dcd"):])
                 for p in (site / "pagefind/fragment").iterdir()]
    incident = next(f for f in fragments if f["url"].startswith("/incidents/2025/INC-2025-014-"))
    content = incident["content"]
    assert "CheckoutLatencyHigh fires (p95 9.8 s)" in content  # the timeline's events are in
    for label in ("TimeSince", "Since start", "IDAction", "Started"):
        assert label not in content, label
    communication = next(f for f in fragments if f["url"] == "/policy/communication/")["content"]
    assert "toldWhen" not in communication and "told When" in communication  # the facts' values stay apart


def test_build_without_search(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_SEARCH", "0")
    config = SimpleNamespace(plugins={}, theme=SimpleNamespace(dirs=[]), extra_css=[], extra_javascript=[])
    assert search.configure(config, lambda: None) is None
    assert config.extra_css == [] and config.theme.dirs == []


def test_configure_places_the_theme_before_material_and_keeps_custom_dir(tmp_path):
    material = str(Path(search.__file__).parents[0].parent / "x" / "material" / "templates")
    config = SimpleNamespace(plugins={}, theme=SimpleNamespace(dirs=["/custom", material, "/mkdocs/templates"]),
                             extra_css=[], extra_javascript=[], use_directory_urls=True,
                             site_dir=str(tmp_path / "site"), config_file_path=str(tmp_path / "mkdocs.yml"))
    indexer = search.configure(config, lambda: None)
    assert config.theme.dirs == ["/custom", str(search.THEME_DIR), material, "/mkdocs/templates"]
    assert config.extra_css == ["assets/incidentkb/search/kb-search.css"]
    assert indexer.archive == tmp_path / "site" / "site.zip"
    assert search.archive_path(config, "") is None
    assert search.archive_path(config, "out/kb.zip") == (tmp_path / "out/kb.zip").resolve()


def test_no_archive_under_mkdocs_serve(tmp_path):
    import tempfile

    assert search_index.is_serve_dir(Path(tempfile.gettempdir()) / "mkdocs_abc123")
    assert search_index.is_serve_dir(Path(tempfile.gettempdir()) / "properdocs_abc123")  # `properdocs serve` (measured: 1.6.7)
    assert not search_index.is_serve_dir(tmp_path / "site")


def test_material_search_plugin_is_reported(kb_root, tmp_path):
    from conftest import minimal_incident

    root = kb_root({"incidents/2025/INC-2025-001-checkout-errors.md": minimal_incident(),
                    "docs/index.md": "# Home\n",
                    "mkdocs.yml": "site_name: t\ntheme: {name: material, font: false}\n"
                                  "plugins: [search, {incidentkb: {today: '2026-11-28'}}]\n"})
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                            cwd=root, capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin",
                                                                         "HOME": str(tmp_path)})
    assert result.returncode == 1
    assert "remove `search` from `plugins:`" in result.stderr


def test_the_pagefind_binary_is_required(monkeypatch):
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", "/nonexistent/pagefind")
    from mkdocs.exceptions import PluginError

    with pytest.raises(PagefindError, match="pip install 'incidentkb\\[site\\]'"):
        pagefind_executable()
    with pytest.raises(PagefindError, match="pip install 'incidentkb\\[site\\]'"):
        search_index.SearchIndexer(lambda: None, archive=None)
    config = SimpleNamespace(plugins={}, theme=SimpleNamespace(dirs=[]), extra_css=[], extra_javascript=[],
                             use_directory_urls=True, site_dir="site", config_file_path="mkdocs.yml")
    with pytest.raises(PluginError, match="pip install 'incidentkb\\[site\\]'"):  # how a build reports it: one line
        search.configure(config, lambda: None)


def _lookup(chunks, term):
    """The chunk the browser loads for a word (pagefind_web's request_indexes)."""
    for start, end, name in chunks:
        if start <= term <= end:
            return name
    for start, end, name in chunks:  # its fallback, with the ends cut to the term's length
        if term[:len(start)] >= start[:len(term)] and term[:len(end)] <= end[:len(term)]:
            return name
    return None


def _index_state(bundle: Path):
    entry = json.loads((bundle / "pagefind-entry.json").read_text())
    meta = _read_pagefind(bundle / f"pagefind.{entry['languages']['en']['hash']}.pf_meta")
    words = {}
    for _, _, name in meta[2]:
        data = gzip.decompress((bundle / "index" / f"{name}.pf_index").read_bytes())[len(b"pagefind_dcd"):]
        words[name] = {word for word, _, _ in _chunk_words(data)}
    return meta, words


def test_chunk_ranges_cover_every_string_in_order():
    ranges = chunk_ranges([("apple", "apricot"), ("banana", "data"), ("databas", "databas"), ("databreach", "zoo")])
    assert ranges[0][0] == "" and ranges[-1][1] == "\U0010ffff"
    assert [r[0] for r in ranges] == ["", "b", "datab", "databr"]
    for (_, end), (start, _) in zip(ranges, ranges[1:]):
        assert end < start
    # Every word, and every half-typed prefix of a later chunk's first word, lands in one chunk.
    for word, expected in (("apricot", 0), ("banana", 1), ("data", 1), ("databas", 2), ("datab", 2),
                           ("databreach", 3), ("zzz", 3), ("0", 0)):
        assert [i for i, (s, e) in enumerate(ranges) if s <= word <= e] == [expected], word


def test_rechunk_splits_common_words_and_every_word_stays_findable(tmp_path):
    bundle = _tiny_bundle(tmp_path / "site", pages=100)  # "common" is 21,000 of the words: it ends a chunk
    entry = json.loads((bundle / "pagefind-entry.json").read_text())
    meta_path = bundle / f"pagefind.{entry['languages']['en']['hash']}.pf_meta"
    meta = _read_pagefind(meta_path)
    before = len(meta[2])
    added = rechunk_index(bundle, meta, "en", big_word=2000)
    assert added >= 1 and len(meta[2]) == before + added
    meta_words = {}
    for _, _, name in meta[2]:
        data = gzip.decompress((bundle / "index" / f"{name}.pf_index").read_bytes())[len(b"pagefind_dcd"):]
        meta_words[name] = {word for word, _, _ in _chunk_words(data)}
    every_word = set().union(*meta_words.values())
    assert {"common", "oomkil", "dbprimary05"} <= every_word
    for word in every_word:
        assert word in meta_words[_lookup(meta[2], word)], word
    # Words looked up next to "common" no longer download its postings.
    common = _lookup(meta[2], "common")
    before_common = [_lookup(meta[2], w) for w in every_word if w < "common"]
    assert all(name != common for name in before_common)


def test_sample_index_finds_every_word_in_its_chunk(sample_site):
    _, site = sample_site
    meta, words = _index_state(site / "pagefind")
    every_word = set().union(*words.values())
    assert len(every_word) > 1000
    missing = [w for w in every_word if w not in words[_lookup(meta[2], w)]]
    assert missing == []


def test_a_failed_build_leaves_no_pagefind_process(tmp_path):
    # mkdocs serve rebuilds in one process: a build that failed before finish() must not leave
    # its Pagefind service running; the next configure() (and the end of the process) closes it.
    indexer = search_index.SearchIndexer(lambda: None, archive=None)
    indexer.add_page("<h1>x</h1>", SimpleNamespace(url="x/", meta={}, title="x",
                                                   file=SimpleNamespace(src_uri="x.md", generated_by="incidentkb")))
    process = indexer._service._proc
    assert process.poll() is None
    config = SimpleNamespace(plugins={}, theme=SimpleNamespace(dirs=[]), extra_css=[], extra_javascript=[],
                             use_directory_urls=True, site_dir=str(tmp_path / "site"),
                             config_file_path=str(tmp_path / "mkdocs.yml"))
    search.configure(config, lambda: None)
    assert process.wait(timeout=10) is not None and not pagefind_module._LIVE


def test_another_pagefind_version_is_left_as_written(tmp_path):
    bundle = tmp_path / "pagefind"
    (bundle / "index").mkdir(parents=True)
    entry = {"version": "1.6.0", "languages": {"en": {"hash": "en_1", "wasm": "en", "page_count": 1}}}
    (bundle / "pagefind-entry.json").write_text(json.dumps(entry))
    (bundle / "pagefind.en_1.pf_meta").write_bytes(b"not read")
    warnings = canonicalise_bundle(bundle)
    assert (bundle / "pagefind.en_1.pf_meta").read_bytes() == b"not read"
    assert any("Pagefind 1.6.0 is installed" in warning for warning in warnings)
