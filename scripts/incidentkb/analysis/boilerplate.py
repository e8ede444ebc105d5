"""Template sentences: what every write-up of one organisation repeats, learned from the archive itself.

Post-mortems written from a template repeat its headings and sentences ("What went well",
"All times in UTC", "We apologise for the inconvenience this caused"). Inverse document frequency
already silences a sentence that *every* record repeats. It does not silence one that a third of
the archive repeats, which is what an archive mixing several organisations' templates (or one
organisation's templates over the years) looks like: there, two write-ups from the same template
look alike, whatever happened in them.

A sentence is a template sentence when at least max(3, √N) of the N records of the knowledge base
contain it, compared by its letters only (case, digits, punctuation and spacing ignored, so a
template with a date or a number filled in still counts). No constant here was fitted to a corpus:
√N grows with the archive, so a sentence that two or three near-duplicate write-ups share is never
a template (the duplicate warning depends on them), while a template used by a tenth of a large
archive is.

Pure; the similar-incident index learns the templates once per build and takes each record's
template sentences out of its terms (docs/guide/similar-incidents.md has the measurements).
"""

from __future__ import annotations

import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence

MIN_RECORDS = 3  # a sentence shared by two records is a duplicate or a quote, never a template

# Sentences: runs of text up to a full stop, question or exclamation mark or the end of the line (a
# negated class: ten times faster than splitting at a look-behind, and as good at finding repeats).
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
# Everything but letters goes: ASCII digits, punctuation and spaces (translate() is twice as fast as re.sub).
_DROP = {code: None for code in range(128) if not chr(code).isalpha()}
_NOTHING = hash("")


def key(sentence: str) -> str:
    """What two copies of a template sentence have in common: their letters, lower-cased."""
    return sentence.lower().translate(_DROP)


def _sentences(texts: Iterable[str]) -> list[str]:
    return [sentence for text in texts if text for sentence in _SENTENCE.findall(text)]


def threshold(records: int) -> float:
    """How many records must contain a sentence for it to be a template."""
    return max(MIN_RECORDS, math.sqrt(records))


class Templates:
    """The template sentences of a knowledge base, and which records hold them."""

    def __init__(self, sentences: dict[int, str], held: list[array]):
        self._sentences = sentences  # hash of a template's key -> the template as first written
        self._held = held  # per record: the hashes of its sentences' keys (only templates, after learning)

    @classmethod
    def learn(cls, texts_per_record: Sequence[Sequence[str]]) -> "Templates":
        """From each record's prose (its fields that hold sentences)."""
        seen: Counter = Counter()
        held: list[array] = []
        for texts in texts_per_record:
            # Hashes, not strings: at 10,000 records this is half a million sentences. A collision of two
            # 64-bit hashes among them is as likely as winning a lottery twice.
            hashes = array("q", map(hash, map(key, _sentences(texts))))
            held.append(hashes)
            seen.update(set(hashes))
        seen.pop(_NOTHING, None)  # sentences without a letter ("| 2021-06-22 |", "---") are never templates
        bar = threshold(len(texts_per_record))
        wanted = {h for h, count in seen.items() if count >= bar}
        if not wanted:
            return cls({}, [array("q") for _ in held])
        # Each template as first written (the first record's first copy): few records need reading again.
        templates: dict[int, str] = {}
        for texts, hashes in zip(texts_per_record, held):
            if len(templates) == len(wanted):
                break
            if not wanted.isdisjoint(hashes):
                for sentence in _sentences(texts):
                    h = hash(key(sentence))
                    if h in wanted and h not in templates:
                        templates[h] = sentence.strip()
        return cls(templates, [array("q", (h for h in hashes if h in wanted)) for hashes in held])

    def __len__(self) -> int:
        return len(self._sentences)

    @property
    def sentences(self) -> list[str]:
        """Every template sentence, as first written, sorted."""
        return sorted(self._sentences.values())

    def of_record(self, position: int) -> list[str]:
        """The template sentences of one record (by its place in the texts learned from), once per occurrence."""
        if position >= len(self._held):
            return []
        return [self._sentences[h] for h in self._held[position]]


NONE = Templates({}, [])
