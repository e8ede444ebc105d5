"""The renderer: the template environment and what every page shares, knowing no feature.

The sections (site/sections/) turn analysis data into pages through it; the MkDocs plugin and
`kb generate` get the same {site path: Markdown}.

Generated Markdown mixes Markdown headings (for the table of contents) with raw
HTML blocks for panels and tables: Python-Markdown passes raw HTML through
untouched, which keeps large index pages fast, and every value in it is
HTML-escaped by Jinja's autoescaping. Values placed in Markdown text (headings)
go through the `md` filter, which also neutralises Markdown syntax, so a title
such as `[x](javascript:...)` or `<script>` is shown as text.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Protocol

import markdown
from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from incidentkb.analysis.links import Links, build_links
from incidentkb.analysis.similar import Match, reasons_in_words
from incidentkb.core.formats import fmt_date, fmt_duration, fmt_since, fmt_timestamp
from incidentkb.records import urls
from incidentkb.records.model import OPEN_ACTION_STATUSES, CatalogEntry, Incident, KnowledgeBase, Record, Runbook
from incidentkb.site.sanitize import fence_proof

# Generated raw HTML is fenced by these comments. The plugin swaps each fenced block
# for a placeholder before Markdown runs and puts it back after, because
# Python-Markdown re-parses raw HTML with html.parser, which was the largest cost
# of building incident pages (measured). Other builders just see HTML comments.
RAW_START, RAW_END = "<!--kb-raw-->", "<!--/kb-raw-->"
RELATED_MARK = "<!--kb-related-->"  # where an incident page's Related section goes (sections/records.py)
RAW_BLOCK = re.compile(re.escape(RAW_START) + r"\n(.*?)\n" + re.escape(RAW_END), re.DOTALL)


def raw_html(block) -> Markup:
    """Jinja filter: fence a block of generated HTML (see RAW_START)."""
    block = str(block).strip("\n")
    return Markup(f"{RAW_START}\n{block}\n{RAW_END}") if block.strip() else Markup("")


# The characters Python-Markdown un-escapes after a backslash (markdown.Markdown.ESCAPED_CHARS): escaping
# exactly these neutralises links, emphasis and code without leaving stray backslashes in the text.
_MD_SPECIAL = {ord(c): "\\" + c for c in "\\`*_{}[]()>#+-.!"}


def md_text(value) -> Markup:
    """Escape a value for Markdown text: HTML-escape (&, <, >), then backslash Markdown's special characters.

    Quotes are left alone: entities such as &#39; would end up in heading anchors.
    """
    return Markup(html.escape(str(value), quote=False).translate(_MD_SPECIAL))


@lru_cache(maxsize=256)
def heading_anchor(heading: str) -> str:
    """The id a generated page gives a heading it writes as `## {{ text | md }}` (the policy pages do): rendered
    exactly so with Python-Markdown's toc, so that escaping and punctuation come out as they do on the page."""
    rendered = markdown.markdown("## " + str(md_text(heading)), extensions=["toc"])
    match = re.search(r'id="([^"]*)"', rendered)
    return match.group(1) if match else ""


# Compiled templates are kept between builds (in the system's temporary folder): compiling the page
# templates took about half a second of every build, and so did the theme's in each build worker.
BYTECODE_CACHE = FileSystemBytecodeCache()


@dataclass(frozen=True)
class GeneratedPage:
    path: str  # site source path, e.g. incidents/2025/INC-2025-014-x.md
    markdown: str
    source: str | None = None  # repository-relative source file, for the edit link
    record: bool = False  # a record page (kept out of the navigation) rather than an index page


class Neighbours(Protocol):
    """What the pages ask of the similar-incident index (a SimilarityIndex, or site.build.NeighboursLater)."""

    def all_neighbours(self, top: int) -> dict[str, list[Match]]: ...


@dataclass
class RenderOptions:
    today: date = field(default_factory=date.today)
    directory_urls: bool = True
    recent: int = 10  # incidents on the home page and the incidents overview
    similar: Neighbours | None = None  # the similar-incident index, when built
    site_url: str = ""  # the published site's address, for links in filled-in communication templates
    compliance_kb: KnowledgeBase | None = None  # what compliance is judged on, when not what is published (drafts)


class Renderer:
    """Holds what every page needs (links, policy, options) and renders pages one at a time."""

    def __init__(self, kb: KnowledgeBase, options: RenderOptions | None = None, links: Links | None = None):
        self.kb = kb
        self.options = options or RenderOptions()
        self.links = links or build_links(kb)
        self.severity_rank = {s["id"]: i for i, s in enumerate(kb.policy.severities)}
        self.severity_by_id = {s["id"]: s for s in kb.policy.severities}
        self.env = Environment(loader=PackageLoader("incidentkb.site", "templates"), autoescape=True,
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=True, bytecode_cache=BYTECODE_CACHE, auto_reload=False)
        self.env.filters.update(md=md_text, dur=fmt_duration, ts=fmt_timestamp, day=fmt_date, since=fmt_since,
                                raw=raw_html, body=lambda text: Markup(fence_proof(text)))
        self.env.globals.update(kb=kb, links=links or self.links, r=self, today=self.options.today, policy=kb.policy,
                                reasons_in_words=reasons_in_words, anchor=heading_anchor)

    # -------------------------------------------------------------- helpers for templates

    def render(self, template: str, page: str, **context) -> str:
        def url(target) -> str:
            return self.url(page, target)

        return self.env.get_template(template).render(url=url, page=page, urls=urls, **context)

    def published(self, record: Record) -> bool:
        """Whether the record has a page in this build (drafts and hidden records do not)."""
        by_id = {"incident": self.kb.incident_by_id, "runbook": self.kb.runbook_by_id,
                 "problem": self.kb.problem_by_id}.get(record.kind)
        return by_id is None or by_id.get(record.id) is record

    def url(self, page: str, target) -> str:
        target_path = target if isinstance(target, str) else urls.record_page(target)
        return urls.relative_url(page, target_path, self.options.directory_urls)

    def service_links(self, page: str, ids: list[str]) -> Markup:
        parts = []
        for entry_id in ids:
            entry = self.entry(entry_id)
            parts.append(f'<a href="{self.url(page, entry)}">{escape(entry.name)}</a>' if entry else str(escape(entry_id)))
        return Markup(", ".join(parts))

    def incident_table(self, page: str, incidents: list[Incident], show_services: bool = True) -> Markup:
        """The incident list used by every index page. Written in Python, not Jinja: index pages at
        10,000 incidents hold tens of thousands of rows, and this is several times faster (measured)."""
        if not incidents:
            return Markup('<p class="kb-none">No incidents.</p>')
        head = "<th>Incident</th><th>Started</th><th>Title</th><th>Severity</th>"
        head += "<th>Services</th>" if show_services else ""
        rows = [f'<div class="kb-table"><table>\n<thead><tr>{head}<th>Status</th><th>Duration</th></tr></thead>\n<tbody>']
        for i in incidents:
            services = f"<td>{self.service_links(page, i.services)}</td>" if show_services else ""
            rows.append(
                f'<tr><td class="kb-nowrap"><a href="{self.url(page, i)}">{i.id}</a></td>'
                f'<td class="kb-nowrap">{fmt_date(i.started_at)}</td>'
                f'<td class="kb-wide">{escape(i.title)}</td><td><span class="{self.sev_class(i.severity)}">{escape(i.severity)}</span></td>'
                f"{services}<td>{i.status}</td><td>{fmt_duration(i.time_to_resolve)}</td></tr>")
        rows.append("</tbody>\n</table></div>")
        return Markup("\n".join(rows))

    @staticmethod
    def impact_text(impact: dict) -> str:
        parts = []
        if impact["customers_affected"] is not None:
            parts.append(f"{impact['customers_affected']:,} customers")
        if impact["users_affected"]:
            parts.append(f"{impact['users_affected']:,} internal users")
        if impact["sla_breached"] is not None:
            parts.append("SLA breached" if impact["sla_breached"] else "SLA kept")
        if impact["revenue_loss"] is not None:
            parts.append(f"about {impact['revenue_loss']:,} {impact['currency'] or ''}".rstrip())
        if impact["data_exposed"]:
            parts.append("data exposed")
        if impact["description"]:
            parts.append(impact["description"])
        return " · ".join(parts)

    @staticmethod
    def roles_text(roles: dict) -> str:
        labels = (("commander", "commander"), ("communications_lead", "communications"), ("scribe", "scribe"))
        parts = [f"{label}: {roles[key]}" for key, label in labels if roles[key]]
        if roles["responders"]:
            parts.append("responders: " + ", ".join(roles["responders"]))
        return " · ".join(parts)

    def sev_class(self, severity: str) -> str:
        return f"kb-sev kb-sev-{min(self.severity_rank.get(severity, 4), 4) + 1}"

    def severity_name(self, severity: str) -> str:
        return self.severity_by_id.get(severity, {}).get("name", severity)

    def entry(self, entry_id: str) -> CatalogEntry | None:
        return self.kb.service_by_id.get(entry_id) or self.kb.vendor_by_id.get(entry_id)

    def overdue(self, item: dict) -> bool:
        return item["status"] in OPEN_ACTION_STATUSES and item["due"] is not None and item["due"] < self.options.today

    def review_due(self, runbook: Runbook) -> date:
        every = runbook.review_every or self.kb.policy.runbook_review_every
        return self.kb.policy.calendar.date_deadline(runbook.last_reviewed, every)

    def severity_counts(self, incidents: list[Incident]) -> list[tuple[str, int]]:
        counts = Counter(i.severity for i in incidents)
        return [(s, counts.get(s, 0)) for s in self.kb.policy.severity_ids]

    def item_rows(self, incident: Incident) -> list[tuple[Incident, dict]]:
        return [(incident, item) for item in incident.action_items]

    @staticmethod
    def records(ids: list[str], by_id: dict) -> list:
        """The records for the ids that exist (dangling ids are reported by kb check, and skipped here)."""
        return [by_id[i] for i in ids if i in by_id]

    def open_items(self, incidents: list[Incident]) -> list[tuple[Incident, dict]]:
        rows = [(i, a) for i in incidents for a in i.open_action_items]
        return sorted(rows, key=lambda row: (row[1]["due"] is None, row[1]["due"] or date.max, row[0].id, row[1]["id"]))

    def overdue_count(self, rows: list[tuple[Incident, dict]]) -> int:
        return sum(self.overdue(item) for _, item in rows)
