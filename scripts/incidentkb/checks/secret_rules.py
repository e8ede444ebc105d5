"""The vendor-token rules of the secret scan: gitleaks' rule set, read from secret_rules.yml (next to this module).

gitleaks (https://github.com/gitleaks/gitleaks, MIT licence) keeps a well-maintained list of
about 220 credential formats: a regex per rule, lower-case keywords of which one must occur
for the rule to run, an entropy threshold, and allowlists. scripts/convert_gitleaks_rules.py
turns its config/gitleaks.toml into our data file (Go RE2 rewritten for Python's re); the
file's header names the release and commit. This module loads that file and runs it:

- One scan of the lower-cased text finds every keyword at once, with an Aho-Corasick
  automaton (ahocorasick-rs), or where that package is missing a regex shaped as a trie of
  all keywords; only the rules of the keywords found run. Python's re tries a set of
  alternatives at every position of the text (about 50 ns a character, 0.25 ms for a 5 kB
  record, on a shared machine); the automaton is about seven times faster.
- Each rule's regex is compiled on first use (with re.ASCII: RE2's \\w, \\d, \\s and \\b are
  ASCII-only), so a command that scans nothing pays nothing.
- A match counts as gitleaks counts it: the secret is the rule's secret group, else the
  first non-empty group, else the whole match; its Shannon entropy must be above the
  rule's threshold; and neither the global allowlist nor the rule's allowlists may match
  (regexes on the secret, the match or the line; stopwords in the secret).

A finding's code is `secret-` and the gitleaks rule id (secret-grafana-service-account-token),
so an allow-list entry names exactly one rule; secrets.py gives our own rules precedence when
both find the same text, so their codes stay what they were.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

try:  # Python 3.11+; sre_parse warns that it is deprecated there
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_parse

try:  # Aho-Corasick in Rust: all keywords in one pass, about 7 times faster than the regex below
    import ahocorasick_rs
except ImportError:  # pragma: no cover - a dependency; without it the scan is slower, not different
    ahocorasick_rs = None

RULES_FILE = Path(__file__).resolve().parent / "secret_rules.yml"
CODE_PREFIX = "secret-"


def _entropy(value: str) -> float:
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values()) if n else 0.0


@dataclass(frozen=True)
class Allowlist:
    """gitleaks' allowlist of a rule (or the global one): what makes a match not a secret."""

    target: str = "secret"  # what the regexes look at: secret, match or line
    regexes: tuple[re.Pattern, ...] = ()
    stopwords: tuple[str, ...] = ()
    all_of: bool = False  # condition AND: every kind of check given must match

    def allows(self, secret: str, match: str, line: str) -> bool:
        checks = []
        if self.regexes:
            target = match if self.target == "match" else line if self.target == "line" else secret
            checks.append(any(r.search(target) for r in self.regexes))
        if self.stopwords:
            low = secret.lower()
            checks.append(any(word in low for word in self.stopwords))
        return all(checks) if self.all_of else any(checks)


def _allowlist(data: dict) -> Allowlist:
    return Allowlist(data.get("target", "secret"), tuple(re.compile(r, re.ASCII) for r in data.get("regexes", ())),
                     tuple(data.get("stopwords", ())), data.get("condition") == "and")


class Rule:
    """One converted gitleaks rule; its regex is compiled on first use."""

    __slots__ = ("id", "code", "kind", "keywords", "source", "entropy", "secret_group", "allowlists", "_pattern",
                 "_probe", "_anchors", "_exact")

    def __init__(self, data: dict):
        self.id: str = data["id"]
        self.code = CODE_PREFIX + self.id
        self.kind: str = data["kind"]
        self.keywords: tuple[str, ...] = tuple(data["keywords"])
        self.source: str = data["regex"]
        self.entropy: float = float(data.get("entropy") or 0)
        self.secret_group: int = int(data.get("secret_group") or 0)
        self.allowlists = tuple(_allowlist(a) for a in data.get("allowlists", ()))
        self._pattern: re.Pattern | None = None
        self._probe: re.Pattern | None = None
        self._anchors: tuple[str, ...] | None = None
        self._exact: tuple[str, ...] = ()

    @property
    def pattern(self) -> re.Pattern:
        if self._pattern is None:
            self._pattern = re.compile(self.source, re.ASCII)
        return self._pattern

    @property
    def probe(self) -> re.Pattern | None:
        """A quick first search for a pattern that starts with \\b: the pattern without it. Python's re
        skips to a literal prefix as fast as str.find, but a leading \\b hides the prefix, and the
        engine then tries every position (jwt on a 5 kB record: 25 µs; its keyword `ey` is in most
        records). The probe finds every match of the pattern and a few more; only then does the
        pattern run. None for other patterns."""
        if self._probe is None and self.source.startswith(r"\b"):
            self._probe = re.compile(self.source[2:], re.ASCII)
        return self._probe

    @property
    def anchors(self) -> tuple[str, ...]:
        """The texts every match starts with, lower-cased, or () when a match may start with
        anything. Most rules start with a literal (`glsa_`, `hvs.`, a vendor's name once the left
        context is dropped): those are tried only where it occurs (finditer)."""
        if self._anchors is None:
            parsed = sre_parse.parse(self.source, re.ASCII)
            starts, _, exact = _literal_starts(parsed, bool(parsed.state.flags & re.IGNORECASE))
            self._anchors = tuple(sorted({start.lower() for start in starts}))
            self._exact = tuple(sorted(starts)) if exact else ()
        return self._anchors

    def finditer(self, text: str, low: str):
        """The matches of the pattern in the text, as pattern.finditer(text) gives them; `low` is
        the text lower-cased with the same offsets."""
        anchors = self.anchors
        if not anchors:
            if self.probe is not None and self.probe.search(text) is None:
                return
            yield from self.pattern.finditer(text)
            return
        # Every match starts where an anchor does: try those places only, in order, past the last match.
        starts = set()
        for anchor in anchors:
            at = low.find(anchor)
            while at >= 0:
                starts.add(at)
                at = low.find(anchor, at + 1)
        exact = self._exact  # the starts as written, when the pattern matches them in this case only
        end = 0
        match = self.pattern.match
        for at in sorted(starts):
            if at < end or (exact and not text.startswith(exact, at)):
                continue
            m = match(text, at)
            if m is not None:
                yield m
                end = max(m.end(), at + 1)

    def __repr__(self) -> str:
        return f"Rule({self.id!r})"


def _literal_starts(items, ignorecase: bool) -> tuple[set[str], bool, bool]:
    """The literal texts a match of the parsed pattern must start with (as written); whether the
    whole pattern is that literal text; whether they match only in the case written (no letter
    of them under a case-insensitive flag). An empty set: a match may start with anything."""
    out = {""}
    exact = True

    def stop() -> tuple[set[str], bool, bool]:  # what is known so far: no start at all when some is empty
        return (out if all(out) else set()), False, exact

    for op, av in items:
        if op is sre_parse.AT:
            continue
        if op is sre_parse.LITERAL:
            char = chr(av)
            exact = exact and not (ignorecase and char.lower() != char.upper())
            out = {p + char for p in out}
            continue
        if op is sre_parse.SUBPATTERN or op is sre_parse.BRANCH:
            if op is sre_parse.SUBPATTERN:
                inner = (ignorecase or bool(av[1] & re.IGNORECASE)) and not av[2] & re.IGNORECASE
                parts = [_literal_starts(av[3], inner)]
            else:
                parts = [_literal_starts(alternative, ignorecase) for alternative in av[1]]
            if any(not starts for starts, _, _ in parts):
                return stop()
            out = {p + q for p in out for starts, _, _ in parts for q in starts}
            exact = exact and all(e for _, _, e in parts)
            if all(complete for _, complete, _ in parts):
                continue
            return out, False, exact
        return stop()
    return out, True, exact


@dataclass(frozen=True)
class RuleHit:
    """A secret found by a rule: its span in the text and the secret (never printed)."""

    start: int
    end: int
    rule: Rule
    secret: str
    match_start: int  # where the rule's whole match starts: before the secret for rules that name a vendor


class RuleSet:
    """The rules, and the keyword scan that picks the ones to run. `words`: more words for the scan
    to look for, without rules (the caller's own triggers, found in the same pass)."""

    def __init__(self, data: dict, automaton: bool = True, words: tuple[str, ...] = ()):
        self.source: dict = data.get("source", {})
        self.rules: tuple[Rule, ...] = tuple(Rule(r) for r in data["rules"])
        self.skipped: tuple[dict, ...] = tuple(data.get("skipped", ()))
        self.allowlist = _allowlist(data.get("allowlist") or {})
        by_keyword: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for keyword in rule.keywords:
                by_keyword.setdefault(keyword, []).append(rule)
        self.by_keyword = by_keyword
        by_keyword = {**{word.lower(): [] for word in words}, **by_keyword}
        # The scan reports the longest keyword at each position and moves on past it. So a keyword
        # found also stands for the keywords inside it ("xoxe.xoxb-" holds "xoxb"), and the keywords
        # that could start inside it and go on beyond ("olive_": "ol" then "live_") are looked up.
        self._inside, self._overlap_at = _keyword_relations(by_keyword)
        self._overlapping = {k: tuple(sorted({j for j, _, _ in at})) for k, at in self._overlap_at.items()}
        self._keyword_list = sorted(by_keyword)
        self._automaton = None
        if automaton and ahocorasick_rs is not None:
            # A DFA over bytes: 11 µs for a 5 kB record, against 32 µs for the default automaton over str.
            self._automaton = ahocorasick_rs.BytesAhoCorasick(
                [k.encode() for k in self._keyword_list], matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
                implementation=ahocorasick_rs.Implementation.DFA)
        self._keywords = None if self._automaton else re.compile(_trie_pattern(self._keyword_list))
        self._order = {rule.id: index for index, rule in enumerate(self.rules)}

    def keywords_in(self, low: str) -> set[str]:
        """The keywords that occur in a lower-cased text. Exact: a test compares the result with a
        search for every keyword, for both ways of scanning."""
        found: set[str] = set()
        if self._automaton is not None:
            listed, overlaps = self._keyword_list, self._overlap_at
            data = low.encode("utf-8", "surrogatepass")
            for index, start, _ in self._automaton.find_matches_as_indexes(data):
                keyword = listed[index]
                found.update(self._inside[keyword])
                # A keyword starting inside this one and going on beyond: look at that very place.
                found.update(j for j, encoded, offset in overlaps[keyword] if data.startswith(encoded, start + offset))
            return found
        for keyword in set(self._keywords.findall(low)):
            found.update(self._inside[keyword])
            found.update(j for j in self._overlapping[keyword] if j in low)
        return found

    def rules_for(self, low: str, keywords: set[str] | None = None) -> list[Rule]:
        """The rules whose keywords occur in the lower-cased text (or are given), in the order of the file."""
        found = self.keywords_in(low) if keywords is None else keywords
        rules = {rule.id: rule for k in found for rule in self.by_keyword.get(k, ())}
        return sorted(rules.values(), key=lambda r: self._order[r.id])

    def find(self, text: str, low: str | None = None, keywords: set[str] | None = None) -> list[RuleHit]:
        """Every secret the rules find in a text. `low` is the text lower-cased (ASCII letters only
        are enough: every keyword is ASCII), `keywords` what keywords_in() found, when the caller
        has them already."""
        if low is None:
            low = ascii_lower(text)
        hits = []
        for rule in self.rules_for(low, keywords):
            for m in rule.finditer(text, low):
                hit = self._hit(rule, m, text)
                if hit is not None:
                    hits.append(hit)
        return hits

    def _hit(self, rule: Rule, m: re.Match, text: str) -> RuleHit | None:
        group = rule.secret_group
        if not group and m.re.groups:
            group = next((g for g in range(1, m.re.groups + 1) if m.group(g)), 0)
        start, end = m.span(group)
        secret = text[start:end].strip("\n")  # gitleaks trims newlines that a pattern took along
        if not secret:
            return None
        start = text.index(secret, start)
        end = start + len(secret)
        if rule.entropy and _entropy(secret) <= rule.entropy:
            return None
        match = m.group().strip("\n")
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        line = text[line_start:line_end if line_end >= 0 else len(text)]
        if self.allowlist.allows(secret, match, line):
            return None
        if any(a.allows(secret, match, line) for a in rule.allowlists):
            return None
        return RuleHit(start, end, rule, secret, m.start())


def _keyword_relations(keywords) -> tuple[dict, dict]:
    """For each keyword, the keywords inside it (itself included), and those that can start inside
    it and go on beyond it, with the offset where they would start: (keyword, its bytes, offset).
    Through a table of prefixes: comparing every pair cost a third of a second at each start."""
    keywords = set(keywords)
    by_prefix: dict[str, list[str]] = {}
    for j in keywords:
        for n in range(1, len(j)):
            by_prefix.setdefault(j[:n], []).append(j)
    inside, overlap_at = {}, {}
    for k in keywords:
        pieces = {k[a:b] for a in range(len(k)) for b in range(a + 1, len(k) + 1)}
        inside[k] = tuple(sorted(pieces & keywords))
        overlap_at[k] = tuple(sorted((j, j.encode(), offset) for offset in range(1, len(k))
                                     for j in by_prefix.get(k[offset:], ()) if j not in k))
    return inside, overlap_at


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def ascii_lower(text: str) -> str:
    """The text lower-cased, with the same offsets: a few characters lower-case to two (İ), so
    then only ASCII letters are lowered (every keyword is ASCII)."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


def _trie_pattern(words: list[str]) -> str:
    """One regex matching any of the words, factored by common prefixes (a trie): at each text
    position the engine compares one character per branch instead of trying every word."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # A word ending here may go on into a longer one: try the longer first. An empty
        # alternative costs the engine less than an optional group.
        return f"(?:{body}|)" if "" in node else body

    return build(trie)


@lru_cache(maxsize=None)
def load_rules(path: Path = RULES_FILE, words: tuple[str, ...] = ()) -> RuleSet:
    """The rule set of the data file (read once per process), its keyword scan also looking for `words`."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return RuleSet(data, words=words)
