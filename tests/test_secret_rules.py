"""gitleaks' rules in the secret scan (secret_rules.py, checks/secret_rules.yml), their conversion from
Go RE2 (scripts/convert_gitleaks_rules.py), and the text as rendered (secret_text.py)."""

from __future__ import annotations

import random
import re
import string
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from incidentkb.checks.secret_detect import CODES, RULES, detect
from incidentkb.checks.secret_rules import RULES_FILE, RuleSet, load_rules
from incidentkb.checks.secret_text import normalise
from incidentkb.checks.secret_values import is_dummy, is_template, names_no_secret
from incidentkb.checks.secrets import scan_text

try:  # Python 3.11+; sre_parse warns that it is deprecated there
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_parse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from convert_gitleaks_rules import ConversionError, convert_regex, drop_left_context  # noqa: E402

# ------------------------------------------------------------------------------ conversion


@pytest.mark.parametrize("go, matches, misses", [
    # A flag after some text covers the rest of its group, and RE2 keeps it for later alternatives.
    (r"\b(p8e-(?i)[a-z0-9]{4})\b", ["p8e-AB12", "p8e-ab12"], ["P8E-ab12"]),
    (r"(?:x(?i)a|b)z", ["xAz", "xaz", "Bz"], ["XAz", "bZ"]),
    (r"^/Users/(?i)[a-z0-9]+$", ["/Users/ABC"], ["/users/abc"]),
    (r"\b(pat[[:alnum:]]{3}\.[[:xdigit:]]{2})\b", ["patA1z.f0"], ["pat_1z.f0", "patA1z.g0"]),
    (r"tok[^:]+:end\z", ["tok1:end"], ["tok1:end\n"]),
    (r"[a|b&c~d]+", ["|&~"], ["e"]),
])
def test_go_regexes_keep_their_meaning_in_python(go, matches, misses):
    pattern = re.compile(convert_regex(go), re.ASCII)
    for text in matches:
        assert pattern.fullmatch(text), (go, text)
    for text in misses:
        assert not pattern.fullmatch(text), (go, text)


@pytest.mark.parametrize("go", [r"\pL+", r"[\p{Greek}]", r"[[:^alpha:]]", r"(?<name>x)", r"(?=x)", r"(x"])
def test_a_construct_the_converter_does_not_know_fails_the_conversion(go):
    with pytest.raises(ConversionError):
        convert_regex(go)


def test_the_leading_left_context_is_dropped_and_finds_the_same_secrets():
    go = r"(?i)[\w.-]{0,50}?(?:acme)(?:[ \t\w.-]{0,20})[\s'\"]{0,3}(?:=|:)[\x60'\"\s=]{0,5}([a-z0-9]{12})\b"
    assert drop_left_context(go).startswith("(?i)(?:acme)")
    text = "ACME_TOKEN = 'a1b2c3d4e5f6' and my.acme-key: zz99yy88xx77"
    before = [m.group(1) for m in re.finditer(go, text)]
    after = [m.group(1) for m in re.finditer(drop_left_context(go), text)]
    assert before == after == ["a1b2c3d4e5f6", "zz99yy88xx77"]


# ------------------------------------------------------------------------------- the data file


def test_the_data_file_names_its_source_version_and_licence():
    head = RULES_FILE.read_text(encoding="utf-8").split("\nsource:", 1)[0]
    assert "https://github.com/gitleaks/gitleaks" in head and "config/gitleaks.toml" in head
    assert "MIT License" in head and "Copyright (c) 2019 Zachary Rice" in head
    rules = load_rules()
    assert rules.source["version"] == "v8.30.1" and re.fullmatch(r"[0-9a-f]{40}", rules.source["commit"])
    assert rules.source["licence"] == "MIT"


def test_every_rule_compiles_and_its_code_is_known():
    rules = load_rules()
    assert len(rules.rules) >= 200
    assert len({r.id for r in rules.rules}) == len(rules.rules)
    for rule in rules.rules:
        assert rule.pattern.pattern == rule.source  # compiles, without a warning (filterwarnings = error)
        assert rule.code in CODES
        assert rule.keywords and all(k == k.lower() for k in rule.keywords)
        assert 0 < len(rule.kind) <= 60 and "\n" not in rule.kind
    assert {s["id"] for s in rules.skipped} >= {"generic-api-key", "private-key"}
    assert all(s["reason"] for s in rules.skipped)


def example_for(pattern: re.Pattern, rng: random.Random) -> str:
    """A random text matching the pattern (a positive example), built from its parse tree."""
    groups: dict[int, str] = {}
    pool = string.ascii_letters + string.digits

    def chars_of(items) -> list[str]:
        negate = any(op is sre_parse.NEGATE for op, _ in items)
        allowed = set()
        for op, av in items:
            if op is sre_parse.LITERAL:
                allowed.add(chr(av))
            elif op is sre_parse.RANGE:
                allowed.update(chr(c) for c in range(av[0], av[1] + 1))
            elif op is sre_parse.CATEGORY:
                allowed.update({sre_parse.CATEGORY_DIGIT: string.digits, sre_parse.CATEGORY_WORD: pool + "_",
                                sre_parse.CATEGORY_SPACE: " ", sre_parse.CATEGORY_NOT_SPACE: pool}.get(av, ""))
        if negate:
            return [c for c in pool + "-_." if c not in allowed]
        return sorted(c for c in allowed if c.isprintable() or c == " ") or sorted(allowed)

    def gen(tree) -> str:
        out = []
        for op, av in tree:
            if op is sre_parse.LITERAL:
                out.append(chr(av))
            elif op is sre_parse.NOT_LITERAL:
                out.append(rng.choice([c for c in pool if c != chr(av)]))
            elif op is sre_parse.ANY:  # mostly an unescaped dot of a host name (hooks.slack.com)
                out.append(".")
            elif op is sre_parse.IN:
                out.append(rng.choice(chars_of(av)))
            elif op is sre_parse.BRANCH:
                out.append(gen(rng.choice(av[1])))
            elif op is sre_parse.SUBPATTERN:
                text = gen(av[3])
                if av[0]:
                    groups[av[0]] = text
                out.append(text)
            elif op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT", None)):
                low, high, sub = av
                high = low + 3 if high == sre_parse.MAXREPEAT else high
                # Separators ({0,5}) stay short; secrets get their minimum length and a little more.
                count = low if low else min(high, rng.choice([0, 1]))
                count = min(high, count + (rng.randint(0, min(3, high - count)) if low else 0))
                out.append("".join(gen(sub) for _ in range(count)))
            elif op is sre_parse.GROUPREF:
                out.append(groups.get(av, ""))
            elif op in (sre_parse.AT, sre_parse.ASSERT, sre_parse.ASSERT_NOT):
                continue
            else:  # pragma: no cover - a construct to teach this generator
                raise AssertionError(f"cannot generate {op}")
        return "".join(out)

    return gen(sre_parse.parse(pattern.pattern, pattern.flags))


RULE_IDS = [rule.id for rule in load_rules().rules]


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_rule_finds_a_positive_example(rule_id):
    """A random example of the rule's regex, in a line of its own, is found by the rule through the
    keyword scan, the secret group, the entropy threshold, the allowlists and our dummy and
    template checks; and the whole scan reports a secret there. The line before names the
    rule's first keyword, as gitleaks needs one (a Facebook token is digits|letters)."""
    rule = next(r for r in RULES.rules if r.id == rule_id)
    rng = random.Random(rule_id)
    tried = []
    for _ in range(60):
        example = example_for(rule.pattern, rng)
        text = f"From the {rule.keywords[0]} job log:\n{example}\nEnd of log.\n"
        start = text.index(example)
        hits = [h for h in RULES.find(text) if h.rule is rule and start <= h.start < start + len(example) + 1
                and not is_dummy(h.secret) and not is_template(h.secret) and not names_no_secret(h, text.lower())]
        if hits:
            assert any(h.start < start + len(example) and start < h.end for h in detect(text, personal=False))
            # Rules tried only where a keyword starts (Rule.anchors) find what the whole regex finds.
            assert [m.span() for m in rule.finditer(text, text.lower())] == [
                m.span() for m in rule.pattern.finditer(text)]
            return
        tried.append(example)
    pytest.fail(f"no example of {rule_id} was found; tried e.g. {tried[:2]!r}")


# ------------------------------------------------------------------------------ keyword scan

KEYWORDS = sorted(load_rules().by_keyword)


def test_the_keyword_scan_uses_the_automaton():
    assert load_rules()._automaton is not None  # ahocorasick-rs is a dependency; the regex is the fallback


REGEX_SCAN = RuleSet(yaml.safe_load(RULES_FILE.read_text(encoding="utf-8")), automaton=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(KEYWORDS) | st.sampled_from(["", " ", "x", "_", "-", ".", "e", "s", "ol", "xo"]),
                max_size=12).map("".join))
def test_the_keyword_scan_finds_exactly_the_keywords_in_the_text(text):
    expected = {k for k in KEYWORDS if k in text}
    assert load_rules().keywords_in(text) == expected
    assert REGEX_SCAN.keywords_in(text) == expected


def test_keywords_that_overlap_are_all_found():
    """"adafruit" + "est_" holds test_ as well: the scan moves on past adafruit, the lookup finds it."""
    rules = load_rules()
    for keyword, others in rules._overlapping.items():
        for other in others:
            overlap = max(n for n in range(1, min(len(keyword), len(other))) if keyword.endswith(other[:n]))
            text = keyword + other[overlap:]
            expected = {k for k in KEYWORDS if k in text}
            assert rules.keywords_in(text) == expected == REGEX_SCAN.keywords_in(text), text


def test_rules_tried_where_their_keywords_start_find_what_their_regex_finds():
    """On text that holds every keyword several times, around examples of every rule."""
    rng = random.Random(7)
    examples = [example_for(rule.pattern, rng) for rule in RULES.rules]
    text = "\n".join(f"{k} {examples[i % len(examples)]} x{k.upper()}{examples[-1 - i % len(examples)]}"
                     for i, k in enumerate(KEYWORDS * 2))
    low = text.lower()
    anchored = [rule for rule in RULES.rules if rule.anchors]
    assert len(anchored) > 150
    for rule in anchored:
        assert [m.span() for m in rule.finditer(text, low)] == [m.span() for m in rule.pattern.finditer(text)], rule


def test_clean_text_runs_no_rule():
    text = "The checkout pods restarted after the deploy; we rolled back at 09:40 and latency recovered.\n"
    assert load_rules().rules_for(text.lower()) == []


# ------------------------------------------------------------------------------ rendered text


def test_normalise_decodes_entities_drops_invisible_characters_and_markers_with_positions():
    text = "a ghp&#95;Ab\u200bCd**Ef** `x` &copy &amp; snake_case &bogus;"
    rendered = normalise(text)
    assert rendered.text == "a ghp_AbCdEf** `x` &copy & snake_case &bogus;"
    start = rendered.text.index("ghp_")
    assert rendered.source_start(start) == text.index("ghp&#95;")
    end = rendered.text.index("Ef") + 2
    assert text[rendered.source_start(start):rendered.source_end(end)] == "ghp&#95;Ab\u200bCd**Ef"
    entity = rendered.text.index("_")
    assert (rendered.source_start(entity), rendered.source_end(entity + 1)) == (text.index("&#95;"),
                                                                              text.index("&#95;") + 5)


@pytest.mark.parametrize("text", ["plain text, no change", "snake_case and __init__ files", "a & b, AT&T",
                                  "rate(x[5m]) * 100", "**bold** and *it*"])
def test_normalise_leaves_ordinary_text_alone(text):
    assert normalise(text) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("ab1_*`&#;x5f95 \n\u200b\u00ad") + [
    "&#95;", "&lowbar;", "&#x5F;", "&amp;", "&#8203;", "**", "__"]), max_size=40).map("".join))
def test_normalised_positions_map_back_into_the_source(text):
    rendered = normalise(text)
    if rendered is None:
        return
    for index, char in enumerate(rendered.text):
        source = rendered.source_start(index)
        assert 0 <= source < len(text)
        assert rendered.source_start(index) < rendered.source_end(index + 1) <= len(text)
        if text[source] != "&":
            assert text[source] == char


def test_a_disguised_secret_is_reported_at_its_source_line_without_showing_it():
    token = "ghp_" + "1Vhokv0PUDnesQ" + "pEi2JIbS1gzyDEKCZHyVwW"
    text = "first line\n\nthe log showed ghp&#95;" + token[4:] + "\n"
    [finding] = scan_text(text, "notes.md", personal=False)
    assert (finding.line, finding.column, finding.code) == (3, 16, "secret-github-token")
    assert "HTML entities" in finding.message
    assert token not in finding.message + finding.hint and token[4:] not in finding.message + finding.hint


def test_the_guide_names_the_source_every_rule_and_every_code():
    guide = (Path(__file__).resolve().parent.parent / "docs" / "guide" / "secrets.md").read_text(encoding="utf-8")
    rules = load_rules()
    assert rules.source["version"] in guide and rules.source["commit"] in guide and "MIT" in guide
    assert f"{len(rules.rules)} of its" in guide
    missing = [r.id for r in rules.rules if f"`{r.id}`" not in guide]
    assert missing == [], "docs/guide/secrets.md: list these rules under 'All rules run'"
    from incidentkb.checks.secret_detect import OWN_SECRET_CODES, PERSONAL_CODES

    assert [c for c in OWN_SECRET_CODES + PERSONAL_CODES if f"`{c}`" not in guide] == []
