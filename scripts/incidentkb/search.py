"""Site search: a Pagefind index fed page by page while MkDocs builds, plus exact id and alert lookups.

Why Pagefind: Material's built-in search ships one JSON index (18.6 MB at 5,000 pages,
3.6 s to a first result); Pagefind splits its index into chunks and a search fetches only
the chunks for the words typed (see docs/guide/search.md for the figures at 10,000 incidents).

How it stays cheap at build time: MkDocs renders pages on one core. Each finished page is
handed to a `pagefind --service` subprocess (the JSON-over-stdio protocol the official
Python API speaks) which parses and indexes it on the other core while MkDocs renders the
next page; what is left for the end is Pagefind's write (while this process zips the site
for offline use) and a short pass over its output (canonicalise_bundle). The official async
client is not used: its reader sleeps 100 ms per response, 10 pages a second (measured).

What goes in the index: records and hand-written pages, with filters for record type,
severity and service. Generated lists of records (year, severity and tag pages, the
indexes, reports) and the sections of record pages that list other records are left out:
they repeat the titles of many records and would answer every query. Exact matches on an incident, problem, runbook or service id or an alert name are
answered from small static shards (kb-search/exact/N.json) that the browser checks before
Pagefind's ranked results, so "KubePodCrashLooping" or "INC-2025-014" always puts that
record first whatever the word statistics say.
"""

from __future__ import annotations

import atexit
import base64
import gzip
import hashlib
import json
import math
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

from markupsafe import escape
from mkdocs.exceptions import PluginError
from mkdocs.plugins import get_plugin_logger

from . import urls
from .model import KnowledgeBase
from .offline import BUNDLE_DIR  # Pagefind's output, relative to the site
from .similar import fnv1a  # the hash of the browser index too; kb-search.js computes the same

log = get_plugin_logger(__name__)

DATA_DIR = "kb-search"  # our config and exact-match shards
ASSET_DIR = "assets/incidentkb/search"  # our UI script and stylesheet
ASSETS = ("kb-search.js", "kb-search.css")
THEME_DIR = Path(__file__).resolve().parent / "theme"
# The offline copy goes inside the site (leaving itself out): `kb build` swaps it in with the
# site, `mkdocs serve` cleans it up with its temporary folder, and readers can download it.
ARCHIVE_NAME = "site.zip"

# Elements whose text would only add noise: permalink anchors, the edit button, the labels of
# the facts panel ("Services", "Started": on every record, and glued to their values in snippets)
# and the column headings of tables ("Time", "Since start", "Event" on every incident; Pagefind
# does not separate header cells, so they became one made-up word, "TimeSince startEvent").
EXCLUDE_SELECTORS = [".headerlink", ".md-content__button", ".md-source-file", ".kb-facts dt", "thead"]

# Pagefind writes UIs we do not use (ours lives in assets/search); dropping them keeps the
# site and the offline archive smaller. Everything else in its output is needed.
UNUSED_BUNDLE_FILES = ("pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css",
                       "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js")

# Generated pages in these sections that are not records list, count or retell records (indexes,
# years, severities, tags, reports, drills): left out of the index, or every query would find them
# next to the records themselves. Any page can also opt out with Material's `search: {exclude: true}`.
LISTING_SECTIONS = ("incidents/", "runbooks/", "services/", "vendors/", "problems/", "tags/", "tags.md",
                    "action-items/", "reports/", "drills/")

TYPE_LABELS = {"incident": "Incident", "runbook": "Runbook", "alert": "Alert", "problem": "Problem",
               "service": "Service", "policy": "Policy", "page": "Page"}

# Sections of record pages that list other records (by heading id): their titles would make
# every incident of a service match what its neighbours are about. Left out of the index only.
LIST_SECTIONS = ("related", "used-in-incidents", "runbooks", "incident-history", "open-action-items",
                 "incidents-explained", "incidents-detected-by-this-alert")
# Words on pages that are not records count for less: a responder looks for incidents and
# runbooks first, and a hand-written page that quotes a few incident titles must not outrank them.
PAGE_WEIGHT = "0.5"

EXACT_KEYS_PER_SHARD = 32
MAX_SHARDS = 4096


# ----------------------------------------------------------------------------- pure parts


@dataclass(frozen=True)
class PageFacts:
    """What search knows about one page beyond its text: the filters it can be narrowed by."""

    type: str = "page"
    severity: str = ""
    services: tuple[str, ...] = ()


def page_facts(kb: KnowledgeBase) -> dict[str, PageFacts]:
    """Facts of every record page, by site source path (e.g. incidents/2025/INC-2025-014-x.md)."""
    facts: dict[str, PageFacts] = {}
    for incident in kb.incidents:
        facts[urls.record_page(incident)] = PageFacts("incident", incident.severity or "", tuple(incident.services))
    for runbook in kb.runbooks:
        facts[urls.record_page(runbook)] = PageFacts("runbook", "", tuple(runbook.services))
    for problem in kb.problems:
        facts[urls.record_page(problem)] = PageFacts("problem", "", tuple(problem.services or ()))
    for entry in kb.services + kb.vendors:
        facts[urls.record_page(entry)] = PageFacts("service", "", (entry.id,))
    return facts


def classify(src_uri: str, facts: dict[str, PageFacts], listings: frozenset[str] | set[str]) -> PageFacts | None:
    """The facts of a page, or None when it must stay out of the index."""
    if src_uri in facts:
        return facts[src_uri]
    if src_uri in listings:
        return None
    if src_uri.startswith(("policy/", "policies/")):
        return PageFacts("policy")
    if is_alert_page(src_uri):  # one page per alert name, linked from the alerting rules
        return PageFacts("alert")
    return PageFacts("page")


def is_alert_page(src_uri: str) -> bool:
    return src_uri.startswith("runbooks/alerts/") and not src_uri.endswith("/index.md")


def listing_pages(generated: list, facts: dict[str, PageFacts]) -> frozenset[str]:
    """The generated pages that list or retell records (see LISTING_SECTIONS); records and alert pages stay."""
    return frozenset(p.path for p in generated
                     if p.path.startswith(LISTING_SECTIONS) and p.path not in facts and not is_alert_page(p.path))


def pagefind_html(content: str, title: str, facts: PageFacts) -> str:
    """What Pagefind reads of a page: its content (the HTML of its Markdown), with its filters attached.

    Only the content goes over the pipe (the header, navigation and footer are the same on
    every page and would be indexed as content). It is what Material puts in the page's
    article, as partials/content.html does: the title as a heading when the content has
    none. Filters are inline attributes on empty elements, one element per value, so a
    value never needs escaping for Pagefind's syntax.
    """
    body = content if "<h1" in content else f"<h1>{escape(title)}</h1>{content}"
    # Pagefind separates block elements but not <dd>s: with the <dt> labels left out (EXCLUDE_SELECTORS),
    # the values of a facts list would run into each other ("toldWhen the incident is declared").
    body = body.replace("</dd><", "</dd> <")
    if facts.type in ("incident", "runbook", "problem", "service", "alert"):
        body = cut_sections(body, LIST_SECTIONS)
    elif facts.type == "page":
        body = f'<div data-pagefind-weight="{PAGE_WEIGHT}">{body}</div>'
    tags = [f'<span data-pagefind-filter="type:{facts.type}"></span>']
    if facts.severity:
        tags.append(f'<span data-pagefind-filter="severity:{escape(facts.severity)}"></span>')
    tags += [f'<span data-pagefind-filter="service:{escape(s)}"></span>' for s in facts.services]
    return f'<html lang="en"><body><main data-pagefind-body>{"".join(tags)}{body}</main></body></html>'


def cut_sections(html: str, ids: tuple[str, ...]) -> str:
    """Drop each <h2 id=ID> and what follows it up to the next <h2 (or the end)."""
    for section_id in ids:
        start = html.find(f'<h2 id="{section_id}"')
        if start < 0:
            continue
        end = html.find("<h2", start + 3)
        html = html[:start] + (html[end:] if end >= 0 else "")
    return html


def normalise_key(text: str) -> str:
    return text.strip().lower()


def exact_entries(kb: KnowledgeBase, directory_urls: bool = True) -> dict[str, list[list[str]]]:
    """{lower-case id or alert name: [[url, title, type, snippet, severity, "svc svc"], ...]}.

    URLs are relative to the site root. Several runbooks may answer one alert; they keep
    the order of their ids.
    """
    entries: dict[str, list[list[str]]] = {}

    def add(key: str, record, kind: str, title: str, snippet: str, severity: str = "") -> None:
        url = urls.page_url(urls.record_page(record), directory_urls)
        services = record.services if kind != "service" else [record.id]
        row = [url, title, kind, snippet, severity, " ".join(services or ())]
        if any(ch.isspace() for ch in key.strip()):
            return  # the search box looks up one word only (kb-search.js, exactLookup)
        bucket = entries.setdefault(normalise_key(key), [])
        if row not in bucket:
            bucket.append(row)

    for incident in kb.incidents:
        add(incident.id, incident, "incident", f"{incident.id}: {incident.title}", incident.summary or "",
            incident.severity or "")
    for runbook in kb.runbooks:
        alerts = list(runbook.alerts or ())
        snippet = ("Alerts: " + ", ".join(alerts)) if alerts else ""
        for key in [runbook.id, *alerts]:
            add(key, runbook, "runbook", runbook.title, snippet)
    for problem in kb.problems:
        add(problem.id, problem, "problem", f"{problem.id}: {problem.title}", problem.workaround or "")
    for entry in kb.services + kb.vendors:
        add(entry.id, entry, "service", entry.name, getattr(entry, "description", "") or "")
    return entries


def shard_count(keys: int) -> int:
    """A power of two giving about EXACT_KEYS_PER_SHARD keys per shard (1 for a small site)."""
    wanted = max(1, math.ceil(keys / EXACT_KEYS_PER_SHARD))
    return min(MAX_SHARDS, 1 << (wanted - 1).bit_length())


def exact_shards(entries: dict[str, list[list[str]]]) -> list[dict[str, list[list[str]]]]:
    shards: list[dict[str, list[list[str]]]] = [{} for _ in range(shard_count(len(entries)))]
    for key in sorted(entries):
        shards[fnv1a(key) % len(shards)][key] = entries[key]
    return shards


def search_config(kb: KnowledgeBase, shards: int, types_indexed: set[str]) -> dict:
    """What the search UI needs before its first query: filter choices and the shard count."""
    types = [[t, label] for t, label in TYPE_LABELS.items() if t in types_indexed]
    names = {s["id"]: s.get("name", s["id"]) for s in kb.policy.severities} if kb.policy else {}
    severities = [[s, f"{s} · {names[s]}" if names.get(s, s) != s else s] for s in names]
    services = sorted(([e.id, e.name] for e in kb.services + kb.vendors), key=lambda pair: (pair[1].lower(), pair[0]))
    return {"version": 1, "shards": shards,
            "filters": {"type": types, "severity": severities, "service": services},
            "labels": TYPE_LABELS}


# ------------------------------------------------------------------------ Pagefind service


class PagefindError(Exception):
    pass


class PagefindService:
    """A synchronous client for `pagefind --service`: base64 JSON messages, each followed by a comma.

    Requests are queued and written by a thread, so the caller never blocks on the pipe;
    responses are read by another thread and resolve a Future per request.
    """

    def __init__(self, executable: str | os.PathLike):
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen([str(executable), "--service"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr)
        self._next_id = 0
        self._futures: dict[int, Future] = {}
        self._lock = threading.Lock()
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name="pagefind-writer", daemon=True)
        self._reader = threading.Thread(target=self._read_loop, name="pagefind-reader", daemon=True)
        self._writer.start()
        self._reader.start()
        _LIVE.add(self)

    def request(self, payload: dict) -> Future:
        future: Future = Future()
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
            self._futures[message_id] = future
        self._outbox.put((message_id, payload))
        return future

    def cpu_seconds(self) -> float | None:
        """CPU time the service has used so far (Linux; None elsewhere)."""
        try:
            fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, AttributeError):
            return None

    def close(self) -> None:
        _LIVE.discard(self)
        self._outbox.put(None)
        self._writer.join(timeout=10)
        if self._proc.poll() is None:
            self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a wedged binary
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=10)
        for stream in (self._proc.stdin, self._proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()

    def stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            return self._stderr.read()[-2000:].decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def _write_loop(self) -> None:
        stdin = self._proc.stdin
        while True:
            item = self._outbox.get()
            if item is None:
                break
            message_id, payload = item
            data = base64.b64encode(json.dumps({"message_id": message_id, "payload": payload}).encode("utf-8"))
            try:
                stdin.write(data + b",")
                stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                self._fail_all("the Pagefind service stopped")
                break
        try:
            stdin.close()
        except OSError:
            pass

    def _read_loop(self) -> None:
        fd = self._proc.stdout.fileno()
        buffer = b""
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            buffer += chunk
            *messages, buffer = buffer.split(b",")
            for message in messages:
                if message.strip():
                    self._deliver(message)
        self._fail_all("the Pagefind service exited")

    def _deliver(self, message: bytes) -> None:
        try:
            response = json.loads(base64.b64decode(message))
        except (ValueError, TypeError):
            return  # not a protocol message (stray output); requests still get their answers
        message_id = response.get("message_id")
        payload = response.get("payload") or {}
        if message_id is None and payload.get("original_message"):
            try:
                message_id = json.loads(payload["original_message"]).get("message_id")
            except ValueError:
                pass
        with self._lock:
            future = self._futures.pop(message_id, None)
        if future is None:
            return
        if payload.get("type") == "Error":
            future.set_exception(PagefindError(payload.get("message", "unknown error")))
        else:
            future.set_result(payload)

    def _fail_all(self, reason: str) -> None:
        with self._lock:
            pending, self._futures = self._futures, {}
        detail = self.stderr_tail()
        for future in pending.values():
            if not future.done():
                future.set_exception(PagefindError(reason + (f": {detail}" if detail else "")))


# Services not closed yet: a build that failed before finish() leaves one behind; the next
# configure() (mkdocs serve rebuilds in the same process) and the end of the process close it.
_LIVE: set[PagefindService] = set()


@atexit.register
def _close_leftovers() -> None:
    for service in list(_LIVE):
        service.close()


def pagefind_executable() -> Path:
    from pagefind.service import get_executable  # the wheel's binary, PAGEFIND_BINARY_PATH, or PATH

    executable = get_executable()
    if executable is None or not Path(executable).exists():
        raise PluginError("incidentkb: search needs the Pagefind binary: install `pagefind[extended]` "
                          "(pip install 'pagefind[extended]') or set PAGEFIND_BINARY_PATH")
    return Path(executable)


# ------------------------------------------------------------- finishing Pagefind's output
#
# Two fixes to what Pagefind 1.5 writes, both after it has written:
# - reproducible: filters live in hash maps whose order changes from run to run, so the filter
#   chunks and the meta file (which lists them) differed between two builds of the same pages;
#   they are sorted, and renamed after their new content;
# - smaller downloads: rechunk_index (below).
# The files are gzip("pagefind_dcd" + CBOR), with the few CBOR types handled here.

_SIGNATURE = b"pagefind_dcd"
PAGEFIND_FORMAT = "1.5."  # the version whose file layout this reads


def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes([major << 5 | info]) + value.to_bytes(size, "big")
    raise ValueError(f"integer too large for CBOR: {value}")


def cbor_dumps(value) -> bytes:
    """Encode ints, str, bytes, lists and dicts with the shortest heads (as Pagefind's minicbor does)."""
    if isinstance(value, bool) or value is None:
        return {False: b"\xf4", True: b"\xf5", None: b"\xf6"}[value]
    if isinstance(value, int):
        return _cbor_head(0, value) if value >= 0 else _cbor_head(1, -1 - value)
    if isinstance(value, bytes):
        return _cbor_head(2, len(value)) + value
    if isinstance(value, str):
        data = value.encode("utf-8")
        return _cbor_head(3, len(data)) + data
    if isinstance(value, list):
        return _cbor_head(4, len(value)) + b"".join(cbor_dumps(item) for item in value)
    if isinstance(value, dict):
        return _cbor_head(5, len(value)) + b"".join(cbor_dumps(k) + cbor_dumps(v) for k, v in value.items())
    raise TypeError(f"cannot encode {type(value).__name__} as CBOR")


def cbor_loads(data: bytes):
    value, end = _cbor_item(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes after the CBOR value")
    return value


def _cbor_item(data: bytes, at: int):
    major, info = data[at] >> 5, data[at] & 31
    at += 1
    if info < 24:
        arg = info
    elif info <= 27:
        size = 1 << (info - 24)
        arg = int.from_bytes(data[at:at + size], "big")
        at += size
    else:
        raise ValueError(f"unsupported CBOR head {data[at - 1]:#x}")
    if major == 0:
        return arg, at
    if major == 1:
        return -1 - arg, at
    if major in (2, 3):
        raw = data[at:at + arg]
        return (bytes(raw) if major == 2 else raw.decode("utf-8")), at + arg
    if major in (4, 5):
        items = []
        for _ in range(arg * (2 if major == 5 else 1)):
            item, at = _cbor_item(data, at)
            items.append(item)
        return (items if major == 4 else dict(zip(items[::2], items[1::2]))), at
    if major == 7 and info in (20, 21, 22):
        return {20: False, 21: True, 22: None}[info], at
    raise ValueError(f"unsupported CBOR item {data[at - 1]:#x}")


def _read_pagefind(path: Path):
    raw = gzip.decompress(path.read_bytes())
    if not raw.startswith(_SIGNATURE):
        raise ValueError(f"{path.name}: not a Pagefind data file")
    return cbor_loads(raw[len(_SIGNATURE):])


def _write_pagefind(folder: Path, prefix: str, suffix: str, value, digits: int, body: bytes | None = None) -> str:
    """Write gzip(signature + CBOR) named after its content; returns the name without the suffix."""
    data = _SIGNATURE + (body if body is not None else cbor_dumps(value))
    name = f"{prefix}_{hashlib.sha256(data).hexdigest()[:digits]}"
    (folder / f"{name}{suffix}").write_bytes(gzip.compress(data, compresslevel=6, mtime=0))
    return name


def _cbor_skip(data: bytes, at: int) -> int:
    """The offset just after the CBOR item at `at`, without building it (index chunks hold millions of ints)."""
    remaining = 1
    while remaining:
        head = data[at]
        info = head & 31
        at += 1
        remaining -= 1
        if info < 24:
            arg = info
        elif info == 24:
            arg = data[at]
            at += 1
        elif info == 25:
            arg = data[at] << 8 | data[at + 1]
            at += 2
        elif info in (26, 27):
            size = 4 if info == 26 else 8
            arg = int.from_bytes(data[at:at + size], "big")
            at += size
        else:
            raise ValueError(f"unsupported CBOR head {head:#x}")
        major = head >> 5
        if major == 4:
            remaining += arg
        elif major == 5:
            remaining += 2 * arg
        elif major in (2, 3):
            at += arg
    return at


def _cbor_array_head(data: bytes, at: int) -> tuple[int, int]:
    head = data[at]
    if head >> 5 != 4 or head & 31 > 27:
        raise ValueError("expected a CBOR array")
    info = head & 31
    if info < 24:
        return info, at + 1
    size = 1 << (info - 24)
    return int.from_bytes(data[at + 1:at + 1 + size], "big"), at + 1 + size


# One word's postings in Pagefind 1.5: [[page, [locations], [weights]], ...], ints only inside.
# Matching them with a regular expression walks the bytes in C, several times faster than
# _cbor_skip; _chunk_words checks where it stopped and walks the slow way if it looks wrong.
_INT = rb"(?:[\x00-\x17\x20-\x37]|[\x18\x38].|[\x19\x39]..|[\x1a\x3a]....|[\x1b\x3b]........)"
_INTS = rb"(?:[\x80-\x97]|\x98.|\x99..)" + _INT + rb"*"
_POSTINGS = re.compile(rb"(?:\x83" + _INT + _INTS + _INTS + rb")*", re.DOTALL)


def _chunk_words(data: bytes) -> list[tuple[str, int, int]]:
    """(word, start, end) of each word entry of an index chunk: [[[word, postings, ...], ...]].

    The last entry is not walked: it runs to the end of the chunk, and it is where Pagefind
    puts the word that filled the chunk, often the biggest by far.
    """
    outer, at = _cbor_array_head(data, 0)
    count, at = _cbor_array_head(data, at)
    if outer != 1 or count == 0:
        raise ValueError("unexpected index chunk layout")
    words = []
    for number in range(count):
        fields, inner = _cbor_array_head(data, at)
        word, after_word = _cbor_item(data, inner)
        if not isinstance(word, str) or fields < 2:
            raise ValueError("unexpected index chunk layout")
        if number == count - 1:
            end = len(data)
        else:
            end = _entry_end(data, at, after_word, fields)
        words.append((word, at, end))
        at = end
    return words


def _entry_end(data: bytes, start: int, after_word: int, fields: int) -> int:
    try:
        _, postings = _cbor_array_head(data, after_word)
        end = _POSTINGS.match(data, postings).end()
        for _ in range(fields - 2):
            end = _cbor_skip(data, end)
        if data[end] >> 5 == 4 and data[end + 1] >> 5 == 3:  # the next entry: [word, ...]
            return end
    except (ValueError, IndexError):
        pass
    return _cbor_skip(data, start)


_LAST_CHAR = "\U0010ffff"


def _just_below(text: str) -> str:
    """The greatest string (as good as) that sorts before `text`."""
    last = ord(text[-1])
    if last == 0:
        return text[:-1]
    below = last - 1 if not 0xD800 <= last - 1 <= 0xDFFF else 0xD7FF  # no surrogates in UTF-8
    return text[:-1] + chr(below) + _LAST_CHAR


def chunk_ranges(bounds: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """[from, to] of each chunk, given its (first word, last word), in word order.

    The browser loads, for each word of a query, the first chunk with from <= word <= to (and
    guesses with shortened prefixes when none matches). Pagefind's own ranges are prefixes that
    sometimes leave out a chunk's own last word ("timeout", "databas" at 10,000 incidents), so
    the lookup fell back to guessing. These ranges cover every string, next to each other: each
    chunk starts at the shortest prefix of its first word that sorts after the previous chunk
    (so a half-typed word still lands where its completions are) and ends just before the next.
    """
    starts = [""]
    for (_, previous_last), (first, _) in zip(bounds, bounds[1:]):
        common = 0
        for x, y in zip(previous_last, first):
            if x != y:
                break
            common += 1
        starts.append(first[:common + 1])
    ends = [_just_below(start) for start in starts[1:]] + [_LAST_CHAR]
    return list(zip(starts, ends))


# A word whose postings exceed this (CBOR bytes) is looked up in a chunk of its own; see rechunk_index.
BIG_WORD_BYTES = 16_000


def rechunk_index(bundle: Path, meta: list, prefix: str, big_word: int = BIG_WORD_BYTES) -> int:
    """Keep very common words out of the chunks that rarer words are looked up in. Returns chunks added.

    Pagefind fills a chunk with words in alphabetical order until it holds 20,000 locations, so
    a common word ends the chunk of the rarer words before it: "refused" was looked up in a chunk
    that also held "renewal" (in almost every synthetic incident), 100 kB for 10 kB of postings.
    Here the words before such a last word get a chunk of their own, and the original file stays
    as the chunk of the last word alone (it still holds the others, which nobody looks up there).
    The word ranges of all chunks are recomputed (chunk_ranges).
    """
    index = bundle / "index"
    chunks: list[tuple[tuple[str, str], str]] = []  # ((first word, last word), file name)
    added = 0
    for start, end, chunk_hash in meta[2]:
        path = index / f"{chunk_hash}.pf_index"
        raw = gzip.decompress(path.read_bytes())
        if not raw.startswith(_SIGNATURE):
            raise ValueError(f"{path.name}: not a Pagefind index chunk")
        data = raw[len(_SIGNATURE):]
        words = _chunk_words(data)
        if len(words) < 2 or words[-1][2] - words[-1][1] < big_word:
            chunks.append(((words[0][0], words[-1][0]), chunk_hash))
            continue
        rest = words[:-1]
        body = _cbor_head(4, 1) + _cbor_head(4, len(rest)) + data[rest[0][1]:rest[-1][2]]
        chunks.append(((rest[0][0], rest[-1][0]), _write_pagefind(index, prefix, ".pf_index", None, 7, body=body)))
        chunks.append(((words[-1][0], words[-1][0]), chunk_hash))
        added += 1
    ranges = chunk_ranges([first_last for first_last, _ in chunks])
    meta[2] = [[start, end, name] for (start, end), (_, name) in zip(ranges, chunks)]
    return added


def canonicalise_bundle(bundle: Path) -> None:
    """Finish Pagefind's output: index chunks split by rechunk_index, filters and meta in a stable order."""
    entry_path = bundle / "pagefind-entry.json"
    entry = json.loads(entry_path.read_text(encoding="utf-8"))
    if not str(entry.get("version", "")).startswith(PAGEFIND_FORMAT):
        log.warning(f"search: Pagefind {entry.get('version')} is installed; its output is used as it is written "
                    f"(not reproducible, larger downloads). Install pagefind[extended] {PAGEFIND_FORMAT}x.")
        return
    for language in entry["languages"].values():
        old_meta = bundle / f"pagefind.{language['hash']}.pf_meta"
        meta = _read_pagefind(old_meta)
        prefix = language["hash"].split("_", 1)[0]
        try:
            rechunk_index(bundle, meta, prefix)
        except (ValueError, IndexError, UnicodeDecodeError) as error:  # a layout this does not know
            log.warning(f"search: kept Pagefind's index chunks as they are: {error}")
        filters = []
        for name, chunk_hash in meta[3]:
            old_chunk = bundle / "filter" / f"{chunk_hash}.pf_filter"
            filter_name, values = _read_pagefind(old_chunk)
            values = sorted([value, sorted(pages)] for value, pages in values)
            old_chunk.unlink()
            filters.append([name, _write_pagefind(bundle / "filter", prefix, ".pf_filter", [filter_name, values], 7)])
        meta[3] = sorted(filters)
        old_meta.unlink()
        language["hash"] = _write_pagefind(bundle, f"pagefind.{prefix}", ".pf_meta", meta, 10)[len("pagefind."):]
    entry_path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


# ------------------------------------------------------------------------------ indexer


def is_serve_dir(site_dir: str | os.PathLike) -> bool:
    """`mkdocs serve` builds into tempfile.mkdtemp(prefix="mkdocs_"), `properdocs serve` into prefix="properdocs_";
    no archive is made there."""
    path = Path(site_dir)
    return path.name.startswith(("mkdocs_", "properdocs_")) and path.parent == Path(tempfile.gettempdir())


@dataclass
class IndexStats:
    pages: int = 0
    skipped: int = 0
    sent_bytes: int = 0
    started: float = field(default_factory=time.perf_counter)


class SearchIndexer:
    """Fed every page of a build: by the plugin (add_page), or described by the build workers and
    handed over in page order (describe, then submit). Pagefind writes the bundle as soon as every
    expected page is in (expect), or at the latest in finish, which adds our files and the archive.

    `site` returns the plugin's SiteBuild (or None before on_files has run); it is read when the
    facts are loaded (load_facts: before the workers fork, or at the first page). One indexer
    serves one build: `mkdocs serve` makes a new plugin, and so a new indexer, for every rebuild.
    """

    def __init__(self, site: Callable[[], object], *, directory_urls: bool = True,
                 archive: Path | None = None, executable: Path | None = None):
        self._site = site
        self._directory_urls = directory_urls
        self.archive = archive
        self._executable = executable or pagefind_executable()
        self._service: PagefindService | None = None
        self._index_id: int | None = None
        self._pending: list[tuple[str, Future]] = []
        self._facts: dict[str, PageFacts] | None = None
        self._listings: frozenset[str] = frozenset()
        self.stats = IndexStats()
        self.types_indexed: set[str] = set()
        self._held: list[tuple[str, tuple | None]] = []  # hand-written pages, sent last
        self._submitted: set[str] = set()
        self._lock = threading.RLock()
        self._expected: set[str] | None = None  # pages not described yet, once the plugin has said which will be
        self._site_dir: Path | None = None
        self._written: Future | None = None  # Pagefind's WriteFiles, once asked for
        self._writing_since = 0.0
        self._late: list[str] = []  # pages described after the write began (a bug: they are not searchable)
        self._archive = None  # the offline archive, once begun (prepare_archive)

    # -- page by page
    #
    # Pagefind's output depends on the order pages are added, and builds must be byte-identical:
    # generated pages go in as they are converted (in the order MkDocs builds them, whether by
    # MkDocs itself or by the build workers, see parallel.py), hand-written pages at the end.
    # Pages are described from their content, not the finished page, so that the whole index is
    # known before the theme's templates have run: Pagefind writes while the pages are finished.

    def add_page(self, content: str, page) -> None:
        """A page converted in this process (the build workers' pages come through describe and submit)."""
        self.submit(page.file.src_uri, self.describe(content, page), hold=page.file.generated_by is None)

    def describe(self, content: str, page) -> tuple[str, str, str] | None:
        """What Pagefind is sent for a page: (url, content, record type); None for a page left out.

        `content` is the page's HTML as the theme will show it (page.content). Needs only the page
        and the facts loaded before the workers fork: they call it.
        """
        if self._facts is None:
            self.load_facts()
        meta = getattr(page, "meta", None) or {}
        search_meta = meta.get("search") if isinstance(meta, dict) else None
        if isinstance(search_meta, dict) and search_meta.get("exclude"):  # Material's `search: {exclude: true}`
            return None
        facts = classify(page.file.src_uri, self._facts, self._listings)
        if facts is None:
            return None
        return "/" + page.url, pagefind_html(content, page.title or "", facts), facts.type

    def submit(self, src_uri: str, described: tuple[str, str, str] | None, hold: bool = False) -> None:
        """Send a described page to Pagefind; with `hold` (hand-written pages), only when it starts writing."""
        with self._lock:  # the build workers' pages arrive on another thread (parallel.py)
            self._submitted.add(src_uri)
            if self._written is not None:
                self._late.append(src_uri)
                return
            if hold:
                self._held.append((src_uri, described))
            else:
                self._send(src_uri, described)
            self._note_described(src_uri)

    def expect(self, src_uris, site_dir: Path) -> None:
        """Every page this build will describe: once the last one is, Pagefind starts writing (into site_dir)."""
        with self._lock:
            self._site_dir = Path(site_dir)
            self._expected = set(src_uris) - self._submitted
            self._note_described(None)

    def _note_described(self, src_uri: str | None) -> None:
        # Called with the lock held.
        if self._expected is None or self._written is not None:
            return
        self._expected.discard(src_uri)
        if not self._expected:
            self._start_writing()

    def _start_writing(self) -> None:
        # Called with the lock held, so no page slips in between the held pages and the write.
        for src_uri, described in self._held:
            self._send(src_uri, described)
        self._held = []
        bundle = self._site_dir / BUNDLE_DIR
        shutil.rmtree(bundle, ignore_errors=True)
        self._writing_since = time.perf_counter()
        self._written = self._ensure_service().request({"type": "WriteFiles", "index_id": self._index_id,
                                                        "output_path": str(bundle.resolve())})

    def _send(self, src_uri: str, described: tuple[str, str, str] | None) -> None:
        if described is None:
            self.stats.skipped += 1
            return
        url, content, kind = described
        self.types_indexed.add(kind)
        self.stats.pages += 1
        self.stats.sent_bytes += len(content)
        future = self._ensure_service().request({"type": "AddFile", "index_id": self._index_id, "url": url,
                                                 "file_path": None, "file_contents": content})
        self._pending.append((src_uri, future))

    def load_facts(self) -> None:
        site = self._site()
        if site is None:
            self._facts = {}
            return
        self._facts = page_facts(site.kb)
        self._listings = listing_pages(site.pages, self._facts)

    def _ensure_service(self) -> PagefindService:
        if self._service is None:
            self._service = PagefindService(self._executable)
            config = {"exclude_selectors": EXCLUDE_SELECTORS, "force_language": "en"}
            created = self._service.request({"type": "NewIndex", "config": config})
            try:
                self._index_id = created.result(timeout=60)["index_id"]
            except Exception as error:  # noqa: BLE001 - any failure here means no search at all
                self._service.close()
                self._service = None
                raise PluginError(f"incidentkb: could not start the Pagefind service: {error}") from error
        return self._service

    # -- at the end

    def finish(self, site_dir: Path) -> None:
        site_dir = Path(site_dir)
        started = time.perf_counter()
        service = self._ensure_service()
        with self._lock:
            archive, self._archive = self._archive, None  # begun by prepare_archive, or None
        try:
            with self._lock:
                if self._written is None:  # not every expected page came (a --dirty build), or none was expected
                    self._site_dir = site_dir
                    self._start_writing()
                written, late = self._written, self._late
            if late:
                log.warning(f"search: {len(late)} page(s) were built after the search index was written and cannot "
                            f"be found by search: {', '.join(late[:5])}")
            self._collect_page_errors()
            # Pagefind writes on its core; meanwhile this thread writes our files and archives the rest.
            self._write_data(site_dir)
            if self.archive is not None:
                archive = archive or self._new_archive()
                archive.add_site(site_dir, skip_bundle=True)
            zipped = time.perf_counter()
            try:
                written.result()
            except PagefindError as error:
                raise PluginError(f"incidentkb: Pagefind could not write the search index: {error}") from error
            index_written = time.perf_counter()
            pagefind_cpu = service.cpu_seconds()
            bundle = site_dir / BUNDLE_DIR
            for name in UNUSED_BUNDLE_FILES:
                (bundle / name).unlink(missing_ok=True)
            canonicalise_bundle(bundle)
            if archive is not None:
                archive.add_site(site_dir, only_bundle=True)
                archive.close()
                archive = None
        finally:
            if archive is not None:
                archive.abort()
            service.close()
            self._service = None
        done = time.perf_counter()
        cpu = f"; {pagefind_cpu:.1f} s of CPU in all" if pagefind_cpu is not None else ""
        log.info(f"search: {self.stats.pages} pages indexed ({self.stats.skipped} lists left out, "
                 f"{self.stats.sent_bytes / 1e6:.1f} MB sent); Pagefind wrote the index in "
                 f"{index_written - self._writing_since:.1f} s, starting {max(0.0, started - self._writing_since):.1f} s "
                 f"before the pages were finished{cpu}; after the pages: {zipped - started:.1f} s for our files and "
                 f"the archive, {index_written - zipped:.1f} s waiting for Pagefind, {done - index_written:.1f} s to "
                 "finish" + (f"; offline copy: {self.archive}" if self.archive else ""))

    def abort(self) -> None:
        """A build that failed: stop Pagefind, whatever it was doing, and drop the archive begun."""
        with self._lock:
            service, self._service = self._service, None
            archive, self._archive = self._archive, None
            self._held = []
        if service is not None:
            service.close()
        if archive is not None:
            archive.abort()

    def prepare_archive(self, relatives: list[str]) -> None:
        """Files of the site that are final before the end of the build (the pages the build workers wrote):
        the archive compresses them now, in a child, on the core the MkDocs process leaves idle while it
        finishes."""
        with self._lock:
            if self.archive is None or self._archive is not None or self._site_dir is None:
                return
            self._archive = self._new_archive()
            self._archive.prepare(self._site_dir, relatives)

    def _new_archive(self):
        from .offline import ArchiveWriter

        return ArchiveWriter(self.archive)

    def _collect_page_errors(self) -> None:
        failures = []
        for src_uri, future in self._pending:
            try:
                future.result()
            except PagefindError as error:
                failures.append(f"{src_uri}: {error}")
        self._pending = []
        if failures:
            shown = "; ".join(failures[:5]) + (f" (and {len(failures) - 5} more)" if len(failures) > 5 else "")
            log.warning(f"search: Pagefind could not index {len(failures)} page(s): {shown}")

    def _write_data(self, site_dir: Path) -> None:
        site = self._site()
        kb = site.kb if site is not None else KnowledgeBase(root="")
        shards = exact_shards(exact_entries(kb, self._directory_urls))
        data = site_dir / DATA_DIR
        shutil.rmtree(data, ignore_errors=True)
        (data / "exact").mkdir(parents=True)
        for number, shard in enumerate(shards):
            (data / "exact" / f"{number}.json").write_text(_json(shard), encoding="utf-8")
        (data / "config.json").write_text(_json(search_config(kb, len(shards), self.types_indexed)), encoding="utf-8")
        assets = site_dir / ASSET_DIR
        assets.mkdir(parents=True, exist_ok=True)
        package = resources.files("incidentkb") / "assets" / "search"
        for name in ASSETS:
            (assets / name).write_bytes((package / name).read_bytes())


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# --------------------------------------------------------------------- plugin wiring


def configure(config, site: Callable[[], object], *, archive: str | None = None) -> SearchIndexer | None:
    """Called from the plugin's on_config: swap Material's search for ours and return the indexer.

    - theme: our partials (header with the search box) go just before Material's own, so a
      project's custom_dir can still override them;
    - assets: our stylesheet and script on every page;
    - archive: None for the default (site.zip inside the site folder; none under `mkdocs serve`),
      "" for none, or a path relative to mkdocs.yml.

    Returns None when KB_SEARCH=0 is set (to measure a build without search).
    """
    _close_leftovers()
    if os.environ.get("KB_SEARCH", "1").strip() == "0":
        return None
    if any(name in config.plugins for name in ("search", "material/search")):
        log.warning("search: remove `search` from `plugins:` in mkdocs.yml; the knowledge base has its own search, "
                    "and Material's would build a second, much larger index nobody uses")
    dirs = config.theme.dirs
    if str(THEME_DIR) not in dirs:
        material = next((i for i, d in enumerate(dirs) if Path(d).parts[-2:] == ("material", "templates")), 0)
        dirs.insert(material, str(THEME_DIR))
    css, script = f"{ASSET_DIR}/kb-search.css", f"{ASSET_DIR}/kb-search.js"
    if css not in config.extra_css:
        config.extra_css.append(css)
    if script not in [str(s) for s in config.extra_javascript]:
        config.extra_javascript.append(script)
    return SearchIndexer(site, directory_urls=config.use_directory_urls,
                         archive=archive_path(config, archive))


def archive_path(config, setting: str | None) -> Path | None:
    site_dir = Path(config.site_dir)
    if setting == "":
        return None
    if setting is None:
        return None if is_serve_dir(site_dir) else site_dir / ARCHIVE_NAME
    base = Path(config.config_file_path).parent if config.config_file_path else Path.cwd()
    return (base / setting).resolve()
