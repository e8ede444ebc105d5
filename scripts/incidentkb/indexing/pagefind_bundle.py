"""Finishing Pagefind's output: its index chunks re-cut and made byte-identical from build to build.

Pagefind 1.5 writes CBOR-encoded, gzip'd files with random-ish names; this reads and rewrites them
(PAGEFIND_FORMAT names the version whose layout it knows), so that two builds of the same site are
identical and no chunk grows too big for a fast first query.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

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


def canonicalise_bundle(bundle: Path) -> list[str]:
    """Finish Pagefind's output: index chunks split by rechunk_index, filters and meta in a stable order.
    Returns warnings for the build's log (an unknown Pagefind version or index layout)."""
    warnings: list[str] = []
    entry_path = bundle / "pagefind-entry.json"
    entry = json.loads(entry_path.read_text(encoding="utf-8"))
    if not str(entry.get("version", "")).startswith(PAGEFIND_FORMAT):
        return [f"search: Pagefind {entry.get('version')} is installed; its output is used as it is written "
                f"(not reproducible, larger downloads). Install pagefind-bin-extended {PAGEFIND_FORMAT}x."]
    for language in entry["languages"].values():
        old_meta = bundle / f"pagefind.{language['hash']}.pf_meta"
        meta = _read_pagefind(old_meta)
        prefix = language["hash"].split("_", 1)[0]
        try:
            rechunk_index(bundle, meta, prefix)
        except (ValueError, IndexError, UnicodeDecodeError) as error:  # a layout this does not know
            warnings.append(f"search: kept Pagefind's index chunks as they are: {error}")
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
    return warnings
