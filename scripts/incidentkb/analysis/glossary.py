"""The glossary: the built-in ITIL/SRE terms (glossary.yml, next to this module) and the policy file's own.

The `glossary:` section of the policy file adds terms and replaces built-in ones of the same name.
site/glossary.py explains the terms on the pages; the training path links to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

import yaml

from incidentkb.records.policy import POLICY_SCHEMA
from incidentkb.records.schema import Context


@dataclass(frozen=True)
class Term:
    term: str
    definition: str
    aliases: tuple[str, ...] = ()
    tooltip: bool = True
    source: str = ""

    @property
    def anchor(self) -> str:
        return "term-" + (re.sub(r"[^a-z0-9]+", "-", self.term.lower()).strip("-") or "x")

    @property
    def short(self) -> str:
        """The first sentence of the definition, on one line: the tooltip."""
        text = " ".join(self.definition.split())
        match = re.search(r"(?<=[.!?])\s+(?=[A-Z(\"“])", text)
        return text[: match.start()] if match else text

    def forms(self) -> list[str]:
        """Every spelling that gets the tooltip. Abbreviations match as written; words also in lower
        case and capitalised, and each form also with a plural -s."""
        out: list[str] = []
        for base in (self.term, *self.aliases):
            variants = [base]
            if not _is_abbreviation(base):
                variants += [base.lower(), base[:1].upper() + base[1:].lower()]
            for variant in variants:
                for form in (variant, variant + "s"):
                    if form not in out and not (variant.endswith("s") and form == variant + "s"):
                        out.append(form)
        return out


def _is_abbreviation(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Z0-9&/-]{2,}s?", text))


def _auto_tooltip(term: str) -> bool:
    return _is_abbreviation(term) or len(re.split(r"[\s-]+", term.strip())) > 1


def builtin_terms() -> list[dict]:
    """The built-in glossary (glossary.yml), validated with the policy file's own schema."""
    text = (resources.files("incidentkb.analysis") / "glossary.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or []
    spec = next(f for f in POLICY_SCHEMA.fields if f.name == "glossary")
    ctx = Context("incidentkb/analysis/glossary.yml", data)
    converted = spec.type.convert(data, ctx, ("glossary",))
    if ctx.findings:  # a broken built-in file is our bug, found by the tests
        raise ValueError("; ".join(f"{f.message}" for f in ctx.findings))
    return converted


class Glossary:
    """The terms, sorted by name, with every spelling that gets a tooltip and a pattern that finds them."""

    def __init__(self, entries: list[dict]):
        by_name: dict[str, Term] = {}
        for entry in entries:  # later entries (the policy file) replace earlier ones (built-in) of the same name
            tooltip = entry.get("tooltip")
            by_name[entry["term"].casefold()] = Term(
                term=entry["term"], definition=" ".join(entry["definition"].split()),
                aliases=tuple(entry.get("aliases") or ()), source=entry.get("source") or "",
                tooltip=_auto_tooltip(entry["term"]) if tooltip is None else bool(tooltip))
        self.terms: list[Term] = sorted(by_name.values(), key=lambda t: (t.term.casefold(), t.term))

    @classmethod
    def for_policy(cls, policy) -> Glossary:
        return cls(builtin_terms() + list((policy.data or {}).get("glossary") or []))

    def get(self, name: str) -> Term | None:
        return next((t for t in self.terms if t.term.casefold() == name.casefold()), None)

    @cached_property
    def tooltips(self) -> dict[str, str]:
        """Spelling → tooltip, for the terms explained on every page. The first term to claim a spelling keeps it."""
        out: dict[str, str] = {}
        for term in self.terms:
            if term.tooltip:
                for form in term.forms():
                    out.setdefault(form, term.short)
        return out

    @cached_property
    def pattern(self) -> re.Pattern | None:
        if not self.tooltips:
            return None
        # Longest first, so "incident commander on duty" wins over "incident commander"; \b as in Python-Markdown's abbr.
        forms = sorted(self.tooltips, key=lambda f: (-len(f), f))
        return re.compile(r"\b(?:" + "|".join(re.escape(f) for f in forms) + r")\b")

    def forms_in(self, text: str) -> set[str]:
        return set(self.pattern.findall(text)) if self.pattern else set()


_CACHE: list[tuple[object, Glossary]] = []


def glossary_of(policy) -> Glossary:
    """The glossary of a policy, built once per policy object (a build renders thousands of pages)."""
    for cached_policy, glossary in _CACHE:
        if cached_policy is policy:
            return glossary
    glossary = Glossary.for_policy(policy)
    _CACHE.insert(0, (policy, glossary))
    del _CACHE[4:]  # `mkdocs serve` makes a new policy object on every rebuild
    return glossary
