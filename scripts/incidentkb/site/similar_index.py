"""The static index of the browser's "Find similar" page (assets/similar/find-similar.js reads it).

Written from a built SimilarityIndex: the same idf and postings `SimilarityIndex.query` scores with,
so that the page ranks a pasted text exactly as `kb similar` does (tests/test_similar.py and
tests/test_similar_browser.py check both on the same texts). Pure: returns {site path: bytes}.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources

from incidentkb.analysis.similar import (
    FUZZY_CUTOFF, FUZZY_MIN_LENGTH, K1, MAX_QUERY_TERMS, QUERY_CANDIDATES, QUERY_TEXT_SHARE, SimilarityIndex, fnv1a,
)
from incidentkb.core.terms import MAX_JOINED, STOP_WORDS, TOKENISER_VERSION

BROWSER_DIR = "assets/similar"
SHARD_TARGET_BYTES = 24_000  # average size of a term shard: a query fetches one shard per distinct term
RECORD_CHUNK = 16  # records per record file: a query fetches the files of its ~30 best candidates, 4 kB each


def _shard_count(total_bytes: int, target: int) -> int:
    count = 1
    while count < 4096 and total_bytes / count > target:
        count *= 2
    return count


def _js(kind: str, number: int, payload) -> bytes:
    """A data file: a script that hands its payload to the page (works from file:// too, unlike fetch)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return f"kbSimilarData({json.dumps(kind)},{number},{body});\n".encode()


def browser_index_files(index: SimilarityIndex, kb, url_of: Callable) -> dict[str, bytes]:
    """The static files of the "Find similar" page, keyed by path relative to the site root.

    assets/similar/manifest.js (settings and counts), t-XXXX.js (terms sharded by FNV-1a hash: idf and
    postings), r-XXXX.js (records in chunks: id, kind, title, URL, services, tags, alerts, title words),
    f-XXXX.js (known words by their first two letters, for typos), and find-similar.js itself.
    """
    sources = {f"{r.kind}:{r.id}": r for r in list(kb.incidents) + list(kb.runbooks)}
    files: dict[str, bytes] = {}
    rows = []
    for entry in index.records:
        record = sources.get(f"{entry.kind}:{entry.id}")
        rows.append([entry.id, entry.kind, entry.title, (url_of(record) if record is not None else "") or "",
                     sorted(entry.services), sorted(entry.tags), sorted(entry.alerts), list(entry.title_words)])
    for start in range(0, len(rows), RECORD_CHUNK):
        number = start // RECORD_CHUNK
        files[f"{BROWSER_DIR}/r-{number:04x}.js"] = _js("r", number, rows[start:start + RECORD_CHUNK])

    # Every known term (a typo is only corrected when the word is unknown), with its postings if it has any.
    entries = {term: [idf] + [x for impact, position in index.postings.get(term, ()) for x in (position, impact)]
               for term, idf in index.idf.items()}
    total = sum(len(term) + 8 * len(value) for term, value in entries.items())
    shards = _shard_count(total, SHARD_TARGET_BYTES)
    grouped: list[dict] = [{} for _ in range(shards)]
    for term, value in entries.items():
        grouped[fnv1a(term) % shards][term] = value
    for number, payload in enumerate(grouped):
        files[f"{BROWSER_DIR}/t-{number:04x}.js"] = _js("t", number, payload)

    words = sorted(t for t in index.idf if " " not in t)
    fuzzy_shards = _shard_count(sum(len(w) + 3 for w in words), SHARD_TARGET_BYTES)
    buckets: list[dict] = [{} for _ in range(fuzzy_shards)]
    for word in words:
        buckets[fnv1a(word[:2]) % fuzzy_shards].setdefault(word[:2], []).append(word)
    for number, payload in enumerate(buckets):
        files[f"{BROWSER_DIR}/f-{number:04x}.js"] = _js("f", number, payload)

    manifest = {
        "version": 1, "tokeniser": TOKENISER_VERSION, "stop_words": sorted(STOP_WORDS), "max_joined": MAX_JOINED,
        "records": len(rows), "incidents": sum(1 for r in index.records if r.kind == "incident"),
        "record_chunk": RECORD_CHUNK, "term_shards": shards, "fuzzy_shards": fuzzy_shards,
        "k1": K1, "max_query_terms": MAX_QUERY_TERMS, "candidates": QUERY_CANDIDATES, "text_share": QUERY_TEXT_SHARE,
        "fuzzy_min_length": FUZZY_MIN_LENGTH, "fuzzy_cutoff": FUZZY_CUTOFF,
    }
    files[f"{BROWSER_DIR}/manifest.js"] = _js("manifest", 0, manifest)
    files[f"{BROWSER_DIR}/find-similar.js"] = _asset("find-similar.js")
    return dict(sorted(files.items()))


def _asset(name: str) -> bytes:
    return resources.files("incidentkb.site").joinpath("assets", "similar", name).read_bytes()
