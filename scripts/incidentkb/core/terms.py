"""Turning text into search terms, the same way in Python and in the browser.

One tokeniser serves the similar-incident index (similar.py), the importers and
the "Find similar" page (assets/similar/find-similar.js mirrors it line for line;
tests/test_similar.py runs the same strings through both). Keep it simple enough
to mirror exactly: ASCII-only case rules, one regular expression per step, no
dictionary-based stemming.

What it does, for pasted alerts and error messages as much as for prose:

- NFKC-normalise, then find *compounds*: runs of letters and digits joined by
  ``- _ . : / @`` (``db-primary-01``, ``kube_pod_status``, ``x509``).
- Split each compound into *words* at the punctuation and, for ASCII parts, at
  case changes (``KubePodCrashLooping`` → kube pod crash looping,
  ``OOMKilled`` → oom killed), lower-cased.
- Keep the *joined* compound as one more term, without its punctuation
  (``db-primary-01`` → ``dbprimary01``, ``CrashLoopBackOff`` → ``crashloopbackoff``),
  so that ``crash-looping``, ``CrashLooping`` and ``crashlooping`` meet.
- Drop stop words and one-character words; strip a plural ``s`` (``pods`` → pod).
- Add *bigrams* of consecutive kept words (``replica lag``, ``connection refused``),
  the key terms that single words miss.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import chain, islice
from operator import itemgetter

# The opening line of a Markdown code block (CommonMark: up to 3 spaces, then 3 or more ` or ~).
# Headings, HTML and links inside code blocks are text, wherever Markdown is read.
FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")

TOKENISER_VERSION = 1

# Letters and digits in any script (Python's \w without "_"), joined by a little punctuation.
_COMPOUND = re.compile(r"[^\W_]+(?:[-_.:/@][^\W_]+)*")
# The same for ASCII text, twice as fast: for ASCII characters [^\W_] is exactly [A-Za-z0-9].
_COMPOUND_ASCII = re.compile(r"[A-Za-z0-9]+(?:[-_.:/@][A-Za-z0-9]+)*")
_PART = re.compile(r"[^\W_]+")
# Case changes, for ASCII parts only: an upper-case run not followed by a lower-case letter
# ("OOM" in OOMKilled), or an optional capital followed by lower-case letters and digits.
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")

MAX_JOINED = 40  # longer joined compounds are URLs and hashes, not terms anyone pastes

STOP_WORDS = frozenset("""
a about after all also am an and any are as at be because been before being between both but by can could did
do does doing during each eg etc for from had has have having he her here hers herself him himself his how i
ie if in into is it its itself just me my myself nor of on only or our ours ourselves she should so some such
than that the their theirs them themselves then there these they this those through to until via was we were
what when where which while who whom why will with would you your yours yourself yourselves
""".split())


def stem(word: str) -> str:
    """A deliberately light stemmer: plural endings only (pods → pod, replicas → replica, retries → retry)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _length(word: str) -> int:
    return len(word)  # code points; the JS counts code points too ([...word].length)


def pieces_of(compound: str) -> list[str]:
    """The lower-cased pieces of a compound, before stop words and stemming: OOMKilled → oom, killed."""
    pieces: list[str] = []
    for part in _PART.findall(compound):
        if part.isascii():
            pieces += _CAMEL.findall(part)
        else:
            pieces.append(part)
    return [p.lower() for p in pieces]


def _written(compound: str) -> tuple[tuple[str, str], ...]:
    """(term, as written) for the words and the joined form of one compound."""
    pieces = pieces_of(compound)
    out = [(stem(p), p) for p in pieces if _length(p) >= 2 and p not in STOP_WORDS]
    if len(pieces) > 1 and _length("".join(pieces)) <= MAX_JOINED:
        out.append((stem("".join(pieces)), compound.lower()))
    return tuple(out)


def surfaces(text: str, into: dict[str, str], seen: set | None = None) -> dict[str, str]:
    """Remember how each term of a text was written (first sighting wins): kubernete → kubernetes,
    dbprimary01 → db-primary-01.

    `seen` (compounds already learnt from) makes learning from many texts cheap: most compounds repeat.
    """
    seen = set() if seen is None else seen
    for compound in compounds(text):
        if compound in seen:
            continue
        seen.add(compound)
        for term, written in _written(compound):
            into.setdefault(term, written)
    return into


def display(term: str, surface: dict[str, str]) -> str:
    """A term as people wrote it, word by word for a bigram."""
    if term in surface:
        return surface[term]
    return " ".join(surface.get(word, word) for word in term.split(" "))


def _analyse(compound: str) -> tuple[tuple[str, ...], str | None]:
    """(kept words, joined term or None) of one compound."""
    pieces = pieces_of(compound)
    words = tuple(stem(p) for p in pieces if _length(p) >= 2 and p not in STOP_WORDS)
    joined = None
    if len(pieces) > 1:
        whole = "".join(pieces)
        if _length(whole) <= MAX_JOINED:
            joined = stem(whole)
    return words, joined


class _Memo(dict):
    """Compound → analysis, computed on first sight: real text repeats its words, so most lookups are hits (in C)."""

    def __missing__(self, compound):
        if len(self) > 500_000:  # bounded: a stream of unique ids must not grow it forever
            self.clear()
        result = self[compound] = _analyse(compound)
        return result


_ANALYSED = _Memo()
_first, _second = itemgetter(0), itemgetter(1)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def compounds(text: str) -> list[str]:
    """The compounds of a text, as written (after NFKC)."""
    if text.isascii():  # NFKC leaves ASCII alone
        return _COMPOUND_ASCII.findall(text)
    return _COMPOUND.findall(normalise(text))


def words_and_joined(text: str) -> tuple[list[str], list[str]]:
    """The kept words in order, and the joined terms, of a text."""
    analysed = list(map(_ANALYSED.__getitem__, compounds(text)))
    return list(chain.from_iterable(map(_first, analysed))), list(filter(None, map(_second, analysed)))


def terms(text: str, bigrams: bool = True) -> list[str]:
    """Every term of a text, with repeats: words, joined compounds, then bigrams of consecutive words."""
    words, joined = words_and_joined(text)
    out = words + joined
    if bigrams and len(words) > 1:
        out += map(" ".join, zip(words, islice(words, 1, None)))
    return out


def camel_words(name: str) -> list[str]:
    """The words of an identifier as written, for display and ids: KubeAPIDown → Kube, API, Down."""
    out: list[str] = []
    for part in _PART.findall(normalise(name)):
        out += _CAMEL.findall(part) if part.isascii() else [part]
    return out


def kebab(name: str) -> str:
    """An identifier as a slug: KubePodCrashLooping → kube-pod-crash-looping, etcdNoLeader → etcd-no-leader."""
    return "-".join(w.lower() for w in camel_words(name) if re.fullmatch(r"[A-Za-z0-9]+", w))
