"""What the search index holds: which pages, which parts of them, with which filters, and exact matches.

Records and hand-written pages go in, with filters for record type, severity and service.
Generated lists of records (year, severity and tag pages, the indexes, reports) and the sections
of record pages that list other records are left out: they repeat the titles of many records and
would answer every query. Exact matches on an incident, problem, runbook or service id or an
alert name are answered from small static shards (kb-search/exact/N.json) that the browser
checks before Pagefind's ranked results, so "KubePodCrashLooping" or "INC-2025-014" always puts
that record first whatever the word statistics say.

Pure functions over a KnowledgeBase and page HTML; nothing here knows the site builder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import escape

from incidentkb.analysis.similar import fnv1a  # the hash of the browser index too; kb-search.js computes the same
from incidentkb.records import urls
from incidentkb.records.model import KnowledgeBase

EXCLUDE_SELECTORS = [".headerlink", ".md-content__button", ".md-source-file", ".kb-facts dt", "thead"]
LISTING_SECTIONS = ("incidents/", "runbooks/", "services/", "vendors/", "problems/", "tags/", "tags.md",
                    "action-items/", "reports/", "drills/")
TYPE_LABELS = {"incident": "Incident", "runbook": "Runbook", "alert": "Alert", "problem": "Problem",
               "service": "Service", "policy": "Policy", "page": "Page"}
LIST_SECTIONS = ("related", "used-in-incidents", "runbooks", "incident-history", "open-action-items",
                 "incidents-explained", "incidents-detected-by-this-alert")
PAGE_WEIGHT = "0.5"
EXACT_KEYS_PER_SHARD = 32
MAX_SHARDS = 4096


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
