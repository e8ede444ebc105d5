"""Similar incidents and runbooks: candidates from an inverted index, re-ranked on the structured fields.

Why this module is long: the index and its two rankings (neighbours of a record, a pasted text) share
their weights, postings and reasons; the fields it reads are in similar_fields.py, the archive's
template sentences in boilerplate.py, the browser's copy of the index in site/similar_index.py.

Never all pairs. Each record becomes a bag of terms (text.py) from weighted fields: its title and
alert names count twice, everything else (services, tags, summary, symptoms, causes, the narrative)
once. Before that, the template sentences of the archive (boilerplate.py: sentences that at least
√N of the N records repeat) are taken out, so that two write-ups from one template do not look alike
for that reason. Everything learned from the data (idf, templates, value weights) is learned from
the knowledge base being indexed, at build time; no constant was fitted to one corpus
(docs/guide/similar-incidents.md has the measurements and what did not help).

- `query(text)`: BM25 (k1 = 1.2, b = 0.75) of the pasted text's terms over their postings lists,
  normalised to 0..1, blended with whether the text names a record's alert, service or tag and how
  many of its title words it contains. Unknown words are read as the closest known word with the
  same first two letters when rapidfuzz finds one close enough (typos). The browser page
  (assets/similar/find-similar.js) does exactly the same on the static index written by
  site/similar_index.py's browser_index_files.
- `neighbours(id)`: the cosine of two records' term vectors, where a term weighs its BM25 term
  frequency (saturated, length-normalised) times the square root of its idf: in the product of two
  records idf then counts once, as in BM25 itself, instead of twice as in TF-IDF cosine, which let a
  rare name shared by two write-ups outweigh the words that say what kind of incident it was. A
  record's strongest terms are looked up in capped postings lists (the records where each term is
  strongest) until a fixed budget is spent, so the cost per record does not grow with the archive.
  The best candidates are re-ranked with a structured score: idf-weighted overlap of services, tags,
  root-cause categories and runbooks used, the alert (equal, or close by rapidfuzz), and the
  idf-weighted overlap of the titles; each only where both records have the field.

Every reason in a Match is a statement true of both records and a part of what scored it (the tests
check them): shared services, tags, root-cause categories, alert, runbook, or the shared terms that
added most to the cosine. Scores are rounded to 2 decimals and ties go to the smaller id, so two
runs give identical output.

This module is pure: no MkDocs, no file writes.
"""

from __future__ import annotations

import heapq
import math
import sys
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress, islice, repeat
from operator import add, itemgetter, mul, neg, truediv

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel

from incidentkb.analysis import boilerplate
from incidentkb.analysis.similar_fields import STRUCTURED_SETS, IndexedRecord, indexed_record, record_fields
from incidentkb.core.progress import Progress
from incidentkb.core.terms import camel_words, compounds, display, surfaces, terms, words_and_joined
from incidentkb.records.load import paused_gc

# Similarity at or above which `kb check` reports two incidents as possible duplicates.
# Measured (docs/guide/similar-incidents.md): in the DFDS archive the three write-ups of one 503 outage
# (PM2021-005/006/007) score 0.42-0.50 against each other, the two of one Flux failure 0.80, two recurrences
# under the same title 0.41, while every other pair stays at 0.36 or below.
DUPLICATE_THRESHOLD = 0.40

KINDS = ("incidents", "runbooks", "all")

# A field's terms are counted that many times. Titles and alert names say in a few words what happened: they
# count three times. The summary, symptoms and causes count once, like the story: twice was measured to hurt
# where the summary retells the story (icco), and did not help elsewhere.
FIELD_WEIGHTS = {"title": 3, "alerts": 3, "services": 1, "tags": 1, "summary": 1, "symptoms": 1, "causes": 1, "body": 1}
PROSE_FIELDS = ("summary", "symptoms", "causes", "body")  # where template sentences are looked for
K1, B = 1.2, 0.75  # BM25 saturation and length normalisation, the standard values
# A term's weight in a neighbour vector is its BM25 term frequency times idf ** IDF_POWER: with 0.5, idf counts
# once in the product of two vectors, as in BM25 itself (TF-IDF cosine counts it twice).
IDF_POWER = 0.5
# Bigrams ("connection pool", "KubePodCrashLooping" → "crash looping") keep the phrases of short fields whole:
# titles, alert names, services, tags, and every part of a runbook, whose text names components and metrics.
# An incident's prose (summary, symptoms, causes, story) gets none: measured on the post-mortem archives, its
# chance word pairs made write-ups look alike by wording (icco: 0.772 with them in all prose, 0.808 without;
# dfds 0.610 and 0.629), and they were a third of the build time.
_SHORT = ("title", "alerts", "services", "tags")
BIGRAM_FIELDS = {"incident": _SHORT, "runbook": _SHORT + ("summary", "symptoms", "causes", "body")}

# Neighbours
NEIGHBOUR_TERMS = 256  # terms in a record's vector (its strongest terms that some other record shares; 128 lost 0.04)
NEIGHBOUR_POSTINGS = 64  # records kept per term for finding neighbours (those where the term is strongest)
# Postings scanned per record when looking for its neighbours (strongest terms first): at least SCAN_BUDGET,
# more in a smaller knowledge base, as long as all records together stay within SCAN_TOTAL.
SCAN_BUDGET = 500
SCAN_TOTAL = 2_000_000
CANDIDATES = 10  # candidates whose whole cosine is computed and re-ranked with the structured score
REASON_CANDIDATES = 12  # shared terms, most added first, that the "both mention" reasons are picked from
SIMILAR_SHOWN = 5  # similar incidents on an incident page; the reports' clusters use the same lists
TEXT_SHARE = 0.7  # final = TEXT_SHARE * text + (1 - TEXT_SHARE) * structured
STRUCTURE_WEIGHTS = {"services": 0.3, "tags": 0.2, "categories": 0.15, "alert": 0.25, "runbooks": 0.15, "title": 0.3}

# Text queries (mirrored by find-similar.js: keep both in step)
MAX_RECORD_TERMS = 128  # postings kept per record for text queries (its strongest terms)
QUERY_POSTINGS = 1000  # postings kept per term for text queries (the records where it is strongest)
MAX_QUERY_TERMS = 64  # distinct terms read from a pasted text; a whole log file is not a query
QUERY_CANDIDATES = 20  # records re-ranked after BM25
QUERY_TEXT_SHARE = 0.7
FUZZY_MIN_LENGTH = 4  # query words shorter than this are never "corrected"
FUZZY_CUTOFF = 0.8  # normalised InDel similarity (rapidfuzz's fuzz.ratio / 100) needed to read a typo as a known word


@dataclass(frozen=True)
class Match:
    id: str  # incident or runbook id
    kind: str  # "incident" | "runbook"
    title: str
    score: float  # 0..1, rounded to 2 decimals
    reasons: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "title": self.title, "score": self.score, "reasons": list(self.reasons)}

    def __reduce__(self):
        # Pickled as a constructor call: every incident's neighbours go from a child process to the site
        # build (50,000 of these at 10,000 incidents), and this unpickles a third faster than the default.
        return Match, (self.id, self.kind, self.title, self.score, self.reasons)


class UnknownRecord(KeyError):
    """An id that is not an incident (or runbook) of the knowledge base; carries a close match if any."""

    def __init__(self, record_id: str, suggestion: str | None):
        super().__init__(record_id)
        self.record_id = record_id
        self.suggestion = suggestion

    def __str__(self) -> str:
        return f"unknown id {self.record_id!r}" + (f"; did you mean {self.suggestion}?" if self.suggestion else "")


def round2(value: float) -> float:
    """Half-up rounding to 2 decimals, the same in Python and JavaScript (Python's round() is half-even)."""
    return math.floor(min(max(value, 0.0), 1.0) * 100 + 0.5) / 100


def fnv1a(text: str) -> int:
    """32-bit FNV-1a of the UTF-8 bytes: which shard of the browser index holds a term."""
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def _idf(n: int, df: int) -> float:
    # BM25's idf (always positive), rounded so that the browser computes with the very same numbers.
    return round(math.log(1 + (n - df + 0.5) / (df + 0.5)), 6)


def _unit(vector: dict, norm: float | None = None) -> dict:
    """The vector divided by its length (or by `norm`: the length of the whole vector it was cut from)."""
    norm = math.sqrt(math.fsum(w * w for w in vector.values())) if norm is None else norm
    return {t: w / norm for t, w in vector.items()} if norm else {}


def _dot(a: dict, b: dict) -> float:
    """The dot product of two sparse vectors (map() keeps the loop in C)."""
    if len(a) > len(b):
        a, b = b, a
    # In the dict's order, which the build fixed: the same sum every run, whatever the hash seed.
    return sum(map(mul, a.values(), map(b.get, a, repeat(0.0))))


@dataclass
class QueryTerms:
    """A pasted text as the index reads it."""

    counts: dict  # term -> count, in order of first occurrence (words, joined compounds, bigrams)
    surface: dict  # joined term -> the compound as pasted (lower-case), for reasons
    corrected: dict  # typo -> the known word it was read as


class SimilarityIndex:
    """Built once per knowledge base; answers neighbours, text queries and the browser index."""

    def __init__(self):
        self._all: dict[int, dict[str, list[Match]]] = {}
        self.records: list[IndexedRecord] = []  # incidents first, then runbooks (the browser relies on it)
        self.position: dict[str, int] = {}  # "incident:ID" / "runbook:ID" -> index in records
        self.postings: dict[str, list[tuple[float, int]]] = {}  # term -> [(impact, position)], strongest first
        self.candidates: dict[str, dict[str, tuple[array, array]]] = {}  # kind -> term -> (weights, positions)
        self.idf: dict[str, float] = {}
        self.templates = boilerplate.NONE  # template sentences learned from the records (boilerplate.py)
        self.surface: dict[str, str] = {}  # joined term -> how a title or summary wrote it (lower-case)
        self.value_weights: dict[str, dict[str, float]] = {}  # structured field -> value -> idf
        self._buckets: dict[str, list[str]] | None = None
        self._alert_closeness: dict[tuple[frozenset, frozenset], float] = {}
        self._values: dict[str, frozenset] = {}
        self._pairs: dict[tuple[int, int], float | None] = {}  # structured similarity of incident pairs
        self._surface_seen: set[str] = set()

    # -------------------------------------------------------------- build

    @classmethod
    def build(cls, kb) -> "SimilarityIndex":
        """Index every incident and runbook of kb. Linear in the number of records."""
        # Millions of small objects that all stay alive: the cyclic collector would walk them again and again.
        with paused_gc():
            return cls._build(kb)

    @classmethod
    def _build(cls, kb) -> "SimilarityIndex":
        index = cls()
        sources, fields = [], []
        for record in list(kb.incidents) + list(kb.runbooks):
            key = f"{record.kind}:{record.id}"
            if key in index.position:  # a duplicate id: check.py reports it; the first file wins, as in the KnowledgeBase
                continue
            index.position[key] = len(sources)
            sources.append(record)
            fields.append(record_fields(record))
        index.templates = boilerplate.Templates.learn([[f[name] for name in PROSE_FIELDS] for f in fields])
        bags = index._bags(sources, fields)
        del fields
        index._weigh(bags)
        return index

    def _bags(self, sources: list, fields: list) -> list:
        """Each record's terms and counts (title, alerts, services and tags first), and its entry."""
        bags: list = []
        value_df: dict[str, Counter] = {name: Counter() for name in STRUCTURED_SETS}
        template_terms: dict[tuple[str, str], list[str]] = {}
        intern = sys.intern
        for position, record in enumerate(sources):
            entry = indexed_record(record)
            bag: Counter = Counter()
            named = 0  # distinct terms of the title, alerts, services and tags: the first keys of the bag
            for name, text in fields[position].items():
                if text:
                    found = terms(text, bigrams=name in BIGRAM_FIELDS[record.kind])
                    for _ in range(FIELD_WEIGHTS[name]):
                        bag.update(found)
                if name == "tags":
                    named = len(bag)
            fields[position] = None  # free as we go
            first = tuple(islice(bag, named))
            # Template sentences are taken out term by term (cheaper than cutting them out of the text and
            # reading it again): the prose fields count once each, so one occurrence per sentence.
            sentences = self.templates.of_record(position)
            for sentence in sentences:
                found = template_terms.get((sentence, record.kind))
                if found is None:
                    bigrams = set(PROSE_FIELDS) <= set(BIGRAM_FIELDS[record.kind])  # as the prose was read
                    found = template_terms[(sentence, record.kind)] = terms(sentence, bigrams=bigrams)
                for term in found:
                    if bag.get(term, 0) > 0:
                        bag[term] -= 1
            if sentences:
                bag = Counter({t: c for t, c in bag.items() if c > 0})
                named = sum(1 for t in first if t in bag)
            bags.append((tuple(map(intern, bag)), tuple(bag.values()), named))
            entry.length = sum(bag.values())
            for name in STRUCTURED_SETS:
                value_df[name].update(getattr(entry, name))
            entry.position = position
            self.records.append(entry)
            self._learn_surface(record)
        n = len(self.records)
        self.value_weights = weights = {name: {v: math.log((n + 1) / (c + 1)) for v, c in counts.items()}
                                        for name, counts in value_df.items()}
        for entry in self.records:
            entry.mass = {name: math.fsum(weights[name][v] for v in getattr(entry, name)) for name in STRUCTURED_SETS}
        return bags

    def _weigh(self, bags: list) -> None:
        """idf from the bags; then each record's postings (for text queries) and unit vector (for neighbours)."""
        df: Counter = Counter()
        for keys, _, _ in bags:
            df.update(keys)
        n = len(self.records)
        self.idf = idf = {term: _idf(n, count) for term, count in df.items()}
        root = {term: weight ** IDF_POWER for term, weight in idf.items()}
        average = (sum(r.length for r in self.records) / n) if n else 1.0
        in_several = {term for term, count in df.items() if count > 1}  # a term of one record links to nothing
        postings: dict[str, list] = defaultdict(list)
        candidates: dict[str, dict] = {"incident": defaultdict(list), "runbook": defaultdict(list)}
        for position, entry in enumerate(self.records):
            keys, counts, named = bags[position]
            bags[position] = None  # free as we go: the bags are the biggest thing we hold
            saturation = K1 * (1 - B + B * entry.length / average) if average else K1
            # BM25 term frequency: tf * (K1 + 1) / (tf + saturation); map() chains keep this arithmetic in C.
            frequency = list(map(truediv, map(mul, counts, repeat(K1 + 1)), map(add, counts, repeat(saturation))))
            # Text queries: a term's BM25 impact, idf * frequency.
            impacts = list(map(mul, map(idf.__getitem__, keys), frequency))
            order = sorted(range(len(keys)), key=impacts.__getitem__, reverse=True)
            top = order[:MAX_RECORD_TERMS]
            # A record can always be found by the words of its title, alerts, services and tags.
            listed = set(top)
            top += [i for i in range(named) if i not in listed]
            # Rounded: the browser index holds these very numbers, so both compute the same scores.
            for term, impact in zip(map(keys.__getitem__, top), map(round, map(impacts.__getitem__, top), repeat(4))):
                postings[term].append((impact, position))
            # Neighbours: frequency * idf ** IDF_POWER, so that idf counts once in the product of two records.
            weights = list(map(mul, map(root.__getitem__, keys), frequency))
            order = sorted(range(len(keys)), key=weights.__getitem__, reverse=True)
            shared = list(islice(compress(order, map(in_several.__contains__, map(keys.__getitem__, order))),
                                 NEIGHBOUR_TERMS))
            # The length of the whole vector: a record's own words (in no other record) make it less like any other.
            norm = math.sqrt(math.fsum(map(mul, weights, weights))) or 1.0
            entry.vector = vector = dict(zip(map(keys.__getitem__, shared),
                                             map(truediv, map(weights.__getitem__, shared), repeat(norm))))
            entry.title_vector = _unit({t: root[t] for t in dict.fromkeys(terms(entry.title, bigrams=False)) if t in root})
            lists = candidates[entry.kind]
            for term, weight in vector.items():
                lists[term].append((weight, position))
        for term, plist in postings.items():
            plist.sort(key=itemgetter(0), reverse=True)  # stable: equal weights stay in record order
            del plist[QUERY_POSTINGS:]
        for kind, lists in candidates.items():
            for term, plist in lists.items():
                plist.sort(key=itemgetter(0), reverse=True)
                del plist[NEIGHBOUR_POSTINGS:]
                # Two flat arrays: compact, and iterating them touches no scattered Python objects.
                lists[term] = (array("d", map(itemgetter(0), plist)), array("l", map(itemgetter(1), plist)))
            candidates[kind] = dict(lists)
        self.postings = dict(postings)
        self.candidates = candidates
        self._surface_seen = set()

    def _learn_surface(self, record) -> None:
        """How titles and summaries write terms (kubernetes, db-primary-01), to quote them in reasons."""
        surfaces(record.data.get("title") or "", self.surface, self._surface_seen)
        surfaces(record.data.get("summary") or "", self.surface, self._surface_seen)

    # -------------------------------------------------------------- lookups

    def record(self, record_id: str, kind: str = "incident") -> IndexedRecord:
        """The indexed record, or UnknownRecord with the closest id of that kind."""
        position = self.position.get(f"{kind}:{record_id}")
        if position is None:
            choices = sorted(r.id for r in self.records if r.kind == kind)
            match = process.extractOne(record_id, choices, scorer=fuzz.ratio, score_cutoff=60) if choices else None
            raise UnknownRecord(record_id, match[0] if match else None)
        return self.records[position]

    @staticmethod
    def _kinds(kind: str) -> tuple[str, ...]:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        return {"incidents": ("incident",), "runbooks": ("runbook",), "all": ("incident", "runbook")}[kind]

    # -------------------------------------------------------------- neighbours

    def neighbours(self, incident_id: str, top: int = 5, kind: str = "incidents", of: str = "incident") -> list[Match]:
        """The records most like one incident (or, with of="runbook", one runbook), never itself, best first."""
        kinds = self._kinds(kind)
        return self._neighbours(self.record(incident_id, of), top, kinds)

    def all_neighbours(self, top: int = 5, progress: Progress | None = None) -> dict[str, list[Match]]:
        """Every incident's top incident neighbours, in id order. Computed once per `top`: incident pages
        and the reports' clusters ask for the same lists, and at 10,000 incidents each pass costs seconds."""
        if top not in self._all:
            self._all[top] = self.incident_neighbours(top, progress=progress)
        return self._all[top]

    def incident_neighbours(self, top: int, part: int = 0, parts: int = 1,
                            progress: Progress | None = None) -> dict[str, list[Match]]:
        """all_neighbours in pieces: those of every `parts`-th incident from the `part`-th on, in id order."""
        try:
            incidents = [r for r in self.records if r.kind == "incident"][part::parts]
            out = {}
            with paused_gc():  # 50,000 Matches that all stay alive, as in build
                for number, record in enumerate(incidents, 1):
                    out[record.id] = self._neighbours(record, top, ("incident",))
                    if progress:
                        progress("ranking similar incidents", number, len(incidents))
            return out
        finally:
            self._pairs.clear()

    def _neighbours(self, source: IndexedRecord, top: int, kinds: tuple[str, ...]) -> list[Match]:
        me = self.position[f"{source.kind}:{source.id}"]
        # Candidates: the part of the dot product that this record's strongest terms add up, scanning each
        # term's capped postings list (the records where that term is strongest) until the budget is spent.
        # In a small knowledge base that is nearly all of it; at scale it leaves out the weakest terms, which
        # move a cosine least. Only the best candidates get their whole cosine.
        found: dict[int, float] = {}
        get = found.get
        budget = max(SCAN_BUDGET, SCAN_TOTAL // max(len(self.records), 1))
        lists = [self.candidates[kind] for kind in kinds]
        for term, weight in source.vector.items():  # strongest first
            for kind_lists in lists:
                plist = kind_lists.get(term)
                if plist:
                    for other_weight, position in zip(*plist):
                        found[position] = get(position, 0.0) + weight * other_weight
                    budget -= len(plist[1])
            if budget <= 0:
                break
        found.pop(me, None)
        scored = []
        vector = source.vector
        # found's order follows the scan (the vector's order, then each list's), never a hash: ties are stable.
        for position, _ in heapq.nlargest(CANDIDATES, found.items(), key=itemgetter(1)):
            other = self.records[position]
            # The text score is the whole cosine, not the part the scan added up.
            text = _dot(vector, other.vector)
            scored.append((-round2(self._combine(source, other, text)), other.kind, other.id, other))
        scored.sort(key=itemgetter(0, 1, 2))
        return [self._match(source, other, -score) for score, _, _, other in scored[:top] if score < 0]

    def _combine(self, a: IndexedRecord, b: IndexedRecord, text: float) -> float:
        """The final score: the text score and the structured similarity, 0..1."""
        if a.kind == b.kind == "incident":  # symmetric: each pair is met twice in all_neighbours
            key = (a.position, b.position) if a.position < b.position else (b.position, a.position)
            structured = self._pairs.get(key, self)
            if structured is self:
                structured = self._pairs[key] = self._structured(a, b)
        else:
            structured = self._structured(a, b)
        score = text if structured is None else TEXT_SHARE * text + (1 - TEXT_SHARE) * structured
        return min(max(score, 0.0), 1.0)

    def _structured(self, a: IndexedRecord, b: IndexedRecord) -> float | None:
        """The weighted mean of the structured similarities that apply to the pair, or None if none does."""
        total = value = 0.0
        for name in ("services", "tags", "categories", "runbooks"):
            x, y = getattr(a, name), getattr(b, name)
            if not x or not y or (name == "runbooks" and a.kind != b.kind):
                continue
            mass = a.mass[name] + b.mass[name]
            if mass > 0:  # values on every record weigh nothing: a shared placeholder says nothing
                common = x & y
                shared = math.fsum(map(self.value_weights[name].__getitem__, common)) if common else 0.0
                total += STRUCTURE_WEIGHTS[name]
                value += STRUCTURE_WEIGHTS[name] * shared / (mass - shared)
        if a.kind == "incident" and b.kind == "runbook" and b.id in a.runbooks:
            total += STRUCTURE_WEIGHTS["runbooks"]
            value += STRUCTURE_WEIGHTS["runbooks"]
        if a.alerts and b.alerts:
            total += STRUCTURE_WEIGHTS["alert"]
            value += STRUCTURE_WEIGHTS["alert"] * self._alerts_alike(a.alerts, b.alerts)
        if a.title_vector and b.title_vector:
            # The titles' shared words, weighted by idf: a word every title of the archive uses says nothing.
            total += STRUCTURE_WEIGHTS["title"]
            value += STRUCTURE_WEIGHTS["title"] * _dot(a.title_vector, b.title_vector)
        return value / total if total else None

    def _alerts_alike(self, a: frozenset, b: frozenset) -> float:
        """1 for a shared alert; half credit for names rapidfuzz finds close (KafkaLagHigh ~ KafkaLagCritical)."""
        if not a.isdisjoint(b):
            return 1.0
        known = self._alert_closeness.get((a, b))  # the same few alert sets meet again and again
        if known is None:
            known = self._alert_closeness[(a, b)] = self._alert_names_alike(a, b)
        return known

    def _alert_names_alike(self, a: frozenset, b: frozenset) -> float:
        best = 0.0
        for x in sorted(a):
            for y in sorted(b):
                ratio = fuzz.token_set_ratio(" ".join(camel_words(x)).lower(), " ".join(camel_words(y)).lower())
                best = max(best, 0.5 * ratio / 100 if ratio >= 80 else 0.0)
        return best

    def _match(self, a: IndexedRecord, b: IndexedRecord, score: float) -> Match:
        """The Match of b as a neighbour of a, with the reasons: statements true of both records, each a part
        of the score (the structured overlaps that _structured counted, the terms that added most to the cosine)."""
        reasons: list[str] = []
        said: set[str] = set()
        for name, label in (("services", "same service"), ("tags", "same tag"), ("categories", "same root-cause category")):
            common = getattr(a, name) & getattr(b, name)
            if common:
                weights = self.value_weights[name]
                # Values on every record (weight 0, e.g. an `imported` placeholder) are true but say nothing.
                shared = sorted((-weights[x], x) for x in common if weights[x] > 0)
                reasons += [f"{label}: {x}" for _, x in shared[:2]]
                if name != "categories":
                    for x in common:
                        said |= self._value_terms(x)
        same_alerts = a.alerts & b.alerts
        if same_alerts:
            reasons.append(f"same alert: {min(same_alerts)}")
            for x in same_alerts:
                said |= self._value_terms(x)
        if a.kind == "incident" and b.kind == "runbook" and b.id in a.runbooks:
            reasons.append(f"used during {a.id}")
        elif a.kind == b.kind == "incident" and not a.runbooks.isdisjoint(b.runbooks):
            reasons.append(f"both used runbook: {min(a.runbooks & b.runbooks)}")
        va, vb = a.vector, b.vector
        # The shared terms that added most to the cosine (each one's product), most first; ties by term, so
        # that the set's order (which follows the hash seed) never shows. A handful is nearly always enough
        # for three reasons (numbers, fragments and repeats are skipped); then all of them, in the same order.
        common = va.keys() & vb.keys()
        added = list(zip(map(neg, map(mul, map(va.__getitem__, common), map(vb.__getitem__, common))), common))
        ranked = [t for _, t in heapq.nsmallest(REASON_CANDIDATES, added)]
        found = _term_reasons(ranked, said, "both mention", self.surface)
        if len(found) < 3 < len(added):
            found = _term_reasons([t for _, t in sorted(added)], said, "both mention", self.surface)
        reasons += found
        return Match(b.id, b.kind, b.title, score, tuple(reasons))

    def _value_terms(self, value: str) -> frozenset:
        """The terms of a service, tag or alert name (cached: the same few values come up again and again)."""
        found = self._values.get(value)
        if found is None:
            found = self._values[value] = frozenset(terms(value))
        return found

    # -------------------------------------------------------------- text queries

    def _bucket(self, word: str) -> list[str]:
        if self._buckets is None:
            buckets: dict[str, list[str]] = defaultdict(list)
            for term in sorted(self.idf):
                if " " not in term:
                    buckets[term[:2]].append(term)
            self._buckets = dict(buckets)
        return self._buckets.get(word[:2], [])

    def correct(self, word: str) -> str:
        """An unknown query word read as the closest known word with the same first two letters, if close enough."""
        if word in self.idf or len(word) < FUZZY_MIN_LENGTH or word.isdigit():
            return word
        match = process.extractOne(word, self._bucket(word), scorer=Indel.normalized_similarity,
                                   score_cutoff=FUZZY_CUTOFF)
        return match[0] if match else word

    def read_query(self, text: str) -> QueryTerms:
        """The terms of a pasted text: typos corrected, bigrams made from the corrected words."""
        words: list[str] = []
        joined: list[str] = []
        corrected: dict[str, str] = {}
        for compound in compounds(text):
            kept, whole = words_and_joined(compound)
            for word in kept:
                words.append(corrected.setdefault(word, self.correct(word)))
            if whole:
                joined.append(corrected.setdefault(whole[0], self.correct(whole[0])))
        # Quote terms as pasted, except typos, which are quoted as the word they were read as.
        surface = {term: written for term, written in surfaces(text, {}).items() if term not in corrected
                   or corrected[term] == term}
        counts: dict[str, int] = {}
        for term in words + joined + [a + " " + b for a, b in zip(words, words[1:])]:
            counts[term] = counts.get(term, 0) + 1
        return QueryTerms(counts, surface, {k: v for k, v in corrected.items() if k != v})

    def query(self, text: str, top: int = 10, kind: str = "all") -> list[Match]:
        """Records matching a pasted alert name, error message or description, best first."""
        kinds = self._kinds(kind)
        read = self.read_query(text)
        weights: dict[str, float] = {}
        for term in islice(read.counts, MAX_QUERY_TERMS):
            if term in self.postings:  # the terms the browser index holds
                weights[term] = (1 + math.log(read.counts[term])) * self.idf[term]
        best_possible = sum(weights.values()) * (K1 + 1)
        if not best_possible:
            return []
        scores: dict[int, float] = {}
        holders: dict[str, dict] = {}  # term -> {position: what the term added to that record's score}
        for term, weight in weights.items():
            factor = 1 + math.log(read.counts[term])
            held = holders[term] = {}
            for impact, position in self.postings.get(term, ()):
                held[position] = factor * impact
                scores[position] = scores.get(position, 0.0) + factor * impact
        found = []
        for each in kinds:
            wanted = sorted((-value, position) for position, value in scores.items() if self.records[position].kind == each)
            for value, position in wanted[:max(QUERY_CANDIDATES, top * 2)]:
                record = self.records[position]
                score = round2(self._query_score(record, -value / best_possible, read.counts))
                found.append((-score, record.kind, record.id, position))
        found.sort(key=itemgetter(0, 1, 2))
        return [self._query_match(self.records[p], p, -score, read, weights, holders) for score, _, _, p in found[:top]]

    def _query_score(self, record: IndexedRecord, text: float, bag: dict) -> float:
        named = 0.0
        if any(_named(a, bag) for a in record.alerts):
            named = 1.0
        elif any(_named(v, bag) for v in record.services | record.tags):
            named = 0.5
        cover = sum(1 for w in record.title_words if w in bag) / len(record.title_words) if record.title_words else 0.0
        return QUERY_TEXT_SHARE * math.sqrt(min(text, 1.0)) + (1 - QUERY_TEXT_SHARE) * max(named, cover)

    def _query_match(self, record: IndexedRecord, position: int, score: float, read: QueryTerms, weights: dict,
                     holders: dict) -> Match:
        bag = read.counts
        alerts = [a for a in sorted(record.alerts) if _named(a, bag)]
        services = [v for v in sorted(record.services) if _named(v, bag)]
        tags = [v for v in sorted(record.tags - record.services) if _named(v, bag)]
        reasons = [f"names alert {a}" for a in alerts] + [f"mentions service {v}" for v in services]
        reasons += [f"mentions tag {v}" for v in tags]
        said = set()
        for value in alerts + services + tags:
            said.update(terms(value))
        # The terms that added most to this record's BM25 score, most first.
        matched = sorted((t for t in weights if position in holders[t]), key=lambda t: (-holders[t][position], t))
        reasons += _term_reasons(matched, said, "matches", read.surface)
        return Match(record.id, record.kind, record.title, score, tuple(reasons))


def _named(value: str, bag: dict) -> bool:
    """Whether a pasted text names a value (an alert, service or tag): as one word, or its words in a row."""
    words, joined = words_and_joined(value)
    if joined and joined[0] in bag:
        return True
    if len(words) == 1:
        return words[0] in bag
    return bool(words) and all(a + " " + b in bag for a, b in zip(words, words[1:]))


def _term_reasons(ranked: Iterable[str], said: set, verb: str, surface: dict, limit: int = 3) -> list[str]:
    """Up to `limit` key terms, in the order given, skipping numbers, fragments ("gi", "po"), what another
    reason already says, a term with a word already quoted, and a term that holds or is held by one already
    quoted: after 'crash loop', 'loop back', 'crash' and 'crashloopbackoff' say nothing new, and after
    'killed' neither does 'oomkilled'."""
    out: list[str] = []
    quoted: list[str] = []  # the quoted terms, without their spaces
    quoted_words: set[str] = set()
    for term in ranked:
        words = term.split(" ")
        joined = "".join(words)
        if term in said or any(w.isdigit() or len(w) < 3 or w in quoted_words for w in words) or \
                any(joined in q or q in joined for q in quoted):
            continue
        out.append(f"{verb} '{display(term, surface)}'")
        quoted.append(joined)
        quoted_words.update(words)
        if len(out) == limit:
            break
    return out


def reasons_in_words(reasons: Iterable[str]) -> str:
    """The reasons as one line for a page: each kind named once, its values after it.

    ["same tag: dns", "same tag: tls", "both mention 'x509'", "both mention 'expired'"]
    -> "same tag: dns, tls; both mention 'x509', 'expired'". Five similar incidents on every
    page repeat these words thousands of times at 10,000 incidents; said once they also read better.
    """
    grouped: dict[tuple[str, str], list[str]] = {}
    for reason in reasons:
        if ": " in reason:
            label, value = reason.split(": ", 1)
            key = (label, ": ")
        elif reason.startswith("both mention "):
            key, value = ("both mention", " "), reason[len("both mention "):]
        else:
            key, value = (reason, ""), ""
        grouped.setdefault(key, [])
        if value:
            grouped[key].append(value)
    return "; ".join(label + (separator + ", ".join(values) if values else "") for (label, separator), values in grouped.items())
