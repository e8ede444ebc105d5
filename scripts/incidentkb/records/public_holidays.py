"""Public holidays by country and subdivision, from the `holidays` package.

The policy names a country (ISO 3166-1 alpha-2) and, optionally, a subdivision
(state, province, region); this module asks the package for one year at a time
(WorkCalendar caches the answer per year, so a knowledge base of any size costs
one call per year its deadlines touch).

Two things keep the output deterministic:
- the language of the names is always passed explicitly: left unset, the package
  picks it from the machine's locale, and two machines would build different pages;
- the package's version is part of what the policy page shows: a new release can
  add a holiday (a one-off public holiday is announced a few months ahead) or
  rename one, and the page then changes with it, visibly, in review.

Nothing here is imported unless a policy names a country.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from incidentkb.records.schema import did_you_mean

# The package reads the language from the environment when none is given; English is our pages' language.
ENGLISH = ("en_US", "en_GB", "en")


def package_version() -> str:
    import holidays  # start-up: importing `holidays` costs 0.15-0.5 s; only a calendar with a country needs it

    return holidays.__version__


@lru_cache(maxsize=1)
def countries() -> dict[str, str]:
    """{alpha-2 code: English name} of every country the installed package knows.

    Read from the package's registry, which is plain data: holidays.list_supported_countries() imports
    every country's module to list subdivisions too (0.3 s, on every `kb` command)."""
    from holidays.registry import COUNTRIES  # start-up: importing `holidays` costs 0.15-0.5 s; only a country needs it

    return dict(sorted((alpha2, module.replace("_", " ").title()) for module, (_, alpha2, *_) in COUNTRIES.items()))


@lru_cache(maxsize=1)
def _country_aliases() -> dict[str, str]:
    """Other ways people write a country (alpha-3 codes, names, the package's aliases such as UK) -> alpha-2."""
    import holidays  # start-up: importing `holidays` costs 0.15-0.5 s; only a calendar with a country needs it
    from holidays.registry import COUNTRIES  # start-up: importing `holidays` costs 0.15-0.5 s; only a country needs it

    out = {}
    for module, (class_name, alpha2, alpha3, *rest) in COUNTRIES.items():
        for alias in (alpha3, class_name, module.replace("_", " "), *rest):
            if not alias.startswith("Holidays"):
                out[alias.lower()] = alpha2
    for alias in holidays.list_supported_countries(include_aliases=True):
        if alias not in countries():
            target = holidays.country_holidays(alias, years=()).country
            out[alias.lower()] = target
    return out


def suggest_country(value: str) -> str | None:
    """The alpha-2 code someone most likely meant: 'de' -> DE, 'DEU' -> DE, 'Germany' -> DE, 'UK' -> GB."""
    codes = countries()
    if value.upper() in codes:
        return value.upper()
    aliased = _country_aliases().get(value.strip().lower())
    if aliased:
        return aliased
    return did_you_mean(value, list(codes), cutoff=50)


@lru_cache(maxsize=None)
def _entity(country: str):
    import holidays  # start-up: importing `holidays` costs 0.15-0.5 s; only a calendar with a country needs it

    return holidays.country_holidays(country, years=())


def subdivisions(country: str) -> dict[str, str]:
    """{code: name} of the country's subdivisions (the name is the code when the package has none)."""
    entity = _entity(country)
    names = {code: name for name, code in (getattr(entity, "subdivisions_aliases", None) or {}).items()}
    return {code: names.get(code, code) for code in entity.subdivisions}


def suggest_subdivision(country: str, value: str) -> str | None:
    """The subdivision code someone most likely meant: 'be' -> BE, 'Berlin' -> BE."""
    known = subdivisions(country)
    for code, name in known.items():
        if value.lower() in (code.lower(), name.lower()):
            return code
    by_name = did_you_mean(value, [name for name in known.values()], cutoff=70)
    if by_name:
        return next(code for code, name in known.items() if name == by_name)
    return did_you_mean(value, list(known), cutoff=50)


def languages(country: str) -> tuple[str, ...]:
    return tuple(_entity(country).supported_languages)


def default_language(country: str) -> str:
    """English when the package has it for this country (the country's own English first), else its own language."""
    entity = _entity(country)
    own = entity.default_language or ""
    if own.startswith("en"):
        return own
    supported = set(entity.supported_languages)
    return next((language for language in ENGLISH if language in supported), own)


@dataclass(frozen=True)
class PublicHolidays:
    """The public holidays of one country (and subdivision), in one language."""

    country: str
    subdivision: str | None = None
    language: str | None = None  # None: default_language(country)

    @property
    def name(self) -> str:
        """'Germany, Berlin (DE-BE)' — how pages and messages name the source."""
        country = countries().get(self.country, self.country)
        if not self.subdivision:
            return f"{country} ({self.country})"
        subdivision = subdivisions(self.country).get(self.subdivision, self.subdivision)
        if subdivision == self.subdivision:
            return f"{country}, {self.subdivision} ({self.country}-{self.subdivision})"
        return f"{country}, {subdivision} ({self.country}-{self.subdivision})"

    @property
    def version(self) -> str:
        return package_version()

    @property
    def years(self) -> tuple[int, int]:
        """The first and last year the package computes holidays for (outside them it returns none)."""
        entity = _entity(self.country)
        return entity.start_year, entity.end_year

    def for_year(self, year: int) -> tuple[dict[date, tuple[str, ...]], str]:
        """({day: names}, problem) for one year; `problem` is why the year is not (fully) known, or ''.

        Some countries compute part of their holidays from tables that end (India's Hindu holidays
        cover 2001-2035); the package says so with a UserWarning, which we turn into the problem text
        instead of letting it escape (the test suite turns warnings into errors, and users would see
        a Python warning with no file or line)."""
        import holidays  # start-up: importing `holidays` costs 0.15-0.5 s; only a calendar with a country needs it

        first, last = self.years
        if not first <= year <= last:
            return {}, (f"the holidays package {package_version()} has holidays for {self.name} from {first} "
                        f"to {last} only")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            days = holidays.country_holidays(self.country, subdiv=self.subdivision, years=year,
                                             language=self.language or default_language(self.country))
            listing = {day: tuple(days.get_list(day)) for day in sorted(days)}
        problems = sorted({str(w.message) for w in caught if issubclass(w.category, UserWarning)})
        problem = ""
        if problems:
            problem = (f"the holidays package {package_version()} warns for {self.name} in {year}: "
                       + " ".join(problems))
        return listing, problem


def observed(name: str, not_observed: frozenset[str]) -> bool:
    """Whether a public holiday of this name is a day off for the company.

    A name listed under calendar.not_observed removes that holiday and its substitutes, which the package
    writes as the name with a note in parentheses ('Independence Day (observed)')."""
    base = re.sub(r"\s*\([^()]*\)\s*$", "", name)
    return name not in not_observed and base not in not_observed


def holiday_names(source: PublicHolidays, years: range) -> set[str]:
    """Every holiday name the package gives over `years`, for checking names in calendar.not_observed."""
    names: set[str] = set()
    for year in years:
        listing, _ = source.for_year(year)
        for day_names in listing.values():
            names.update(day_names)
    return names
