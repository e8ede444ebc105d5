"""Rendering: KnowledgeBase → {site path: Markdown}, the same for the MkDocs plugin and `kb generate`.

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
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from . import urls
from .background import Deferred
from .fieldref import render_field_reference
from .links import Links, build_links
from .sanitize import fence_proof
from .model import OPEN_ACTION_STATUSES, CatalogEntry, Incident, KnowledgeBase, Record, Runbook
from .similar import SIMILAR_SHOWN, reasons_in_words
from .text import FENCE

# Generated raw HTML is fenced by these comments. The plugin swaps each fenced block
# for a placeholder before Markdown runs and puts it back after, because
# Python-Markdown re-parses raw HTML with html.parser, which was the largest cost
# of building incident pages (measured). Other builders just see HTML comments.
RAW_START, RAW_END = "<!--kb-raw-->", "<!--/kb-raw-->"
RELATED_MARK = "<!--kb-related-->"  # where an incident page's Related section goes (Renderer.with_related)
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


def fmt_duration(span: timedelta | None) -> str:
    if span is None:
        return "—"
    minutes = int(span.total_seconds() // 60)
    sign = "−" if minutes < 0 else ""
    minutes = abs(minutes)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {mins} min"
    return f"{sign}{mins} min"


def fmt_since(moment: datetime, start: datetime) -> str:
    span = moment - start
    return ("+" if span >= timedelta(0) else "") + fmt_duration(span)


def fmt_timestamp(moment: datetime | None) -> str:
    """As written, with its offset: responders think in the time zone the incident was handled in."""
    if moment is None:
        return "—"
    offset = moment.strftime("%z")
    zone = "UTC" if offset in ("+0000", "-0000") else f"{offset[:3]}:{offset[3:]}"
    return f"{moment:%Y-%m-%d %H:%M} {zone}"


def fmt_date(day) -> str:
    if day is None:
        return "—"
    return (day.date() if isinstance(day, datetime) else day).isoformat()


_ATX = re.compile(r"^(#{1,6})(?=[ \t]|$)")


def demote_headings(markdown: str, levels: int = 1) -> str:
    """Push every ATX heading down `levels` (max h6), outside fenced code, so a body nests under our sections."""
    out = []
    fence = None
    for line in markdown.split("\n"):
        match = FENCE.match(line)
        if match:
            marker = match.group(1)[0] * 3
            if fence is None:
                fence = marker
            elif match.group(1).startswith(fence):
                fence = None
        elif fence is None:
            line = _ATX.sub(lambda m: "#" * min(6, len(m.group(1)) + levels), line)
        out.append(line)
    return "\n".join(out)


# Compiled templates are kept between builds (in the system's temporary folder): compiling the page
# templates took about half a second of every build, and so did the theme's in each build worker.
BYTECODE_CACHE = FileSystemBytecodeCache()


@dataclass(frozen=True)
class GeneratedPage:
    path: str  # site source path, e.g. incidents/2025/INC-2025-014-x.md
    markdown: str
    source: str | None = None  # repository-relative source file, for the edit link
    record: bool = False  # a record page (kept out of the navigation) rather than an index page


@dataclass
class RenderOptions:
    today: date = field(default_factory=date.today)
    directory_urls: bool = True
    recent: int = 10  # incidents on the home page and the incidents overview
    similar: object = None  # a SimilarityIndex, when built
    site_url: str = ""  # the published site's address, for links in filled-in communication templates
    compliance_kb: object = None  # what compliance is judged on, when it differs from what is published (drafts)


class Renderer:
    """Holds what every page needs (links, policy, options) and renders pages one at a time."""

    def __init__(self, kb: KnowledgeBase, options: RenderOptions | None = None, links: Links | None = None):
        self.kb = kb
        self.options = options or RenderOptions()
        self.links = links or build_links(kb)
        self.severity_rank = {s["id"]: i for i, s in enumerate(kb.policy.severities)}
        self.severity_by_id = {s["id"]: s for s in kb.policy.severities}
        self.env = Environment(loader=PackageLoader("incidentkb", "templates/pages"), autoescape=True,
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=True, bytecode_cache=BYTECODE_CACHE, auto_reload=False)
        self.env.filters.update(md=md_text, dur=fmt_duration, ts=fmt_timestamp, day=fmt_date, since=fmt_since,
                                raw=raw_html, body=lambda text: Markup(fence_proof(text)))
        self.env.globals.update(kb=kb, links=links or self.links, r=self, today=self.options.today, policy=kb.policy,
                                reasons_in_words=reasons_in_words)

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

    def runbooks_without_service(self) -> list[Runbook]:
        known = set(self.kb.service_by_id) | set(self.kb.vendor_by_id)
        return [rb for rb in self.kb.runbooks if not known.intersection(rb.services)]

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

    # ------------------------------------------------------------- policy pages

    def policy_review_due(self) -> date | None:
        data = self.kb.policy.data
        if data.get("last_reviewed") and data.get("review_every"):
            return self.kb.policy.calendar.date_deadline(data["last_reviewed"], data["review_every"])
        return None

    def services_of_tier(self, tier: int) -> list[str]:
        return [s.id for s in self.kb.services if s.tier == tier]

    def checklist(self, checklist_id: str) -> dict | None:
        return self.kb.policy.checklist(checklist_id)

    def template_example(self) -> Incident | None:
        wanted = self.kb.policy.section("template_example")
        if wanted in self.kb.incident_by_id:
            return self.kb.incident_by_id[wanted]
        return max(self.kb.incidents, key=lambda i: (i.started_at, i.id), default=None)

    def fill_template(self, body: str, incident: Incident) -> str:
        """A communication template filled in with an incident's fields (plain text, escaped by the page)."""
        from .communicate import fill_template

        return fill_template(body, incident, self.kb, self.options.today, self.options.site_url)

    @staticmethod
    def clock_conditions(clock: dict) -> str:
        conditions = clock["applies_when"] or {}
        parts = []
        if conditions.get("personal_data") is not None:
            parts.append("personal data involved" if conditions["personal_data"] else "no personal data")
        if conditions.get("data_exposed") is not None:
            parts.append("data exposed" if conditions["data_exposed"] else "no data exposed")
        if conditions.get("tags_any"):
            parts.append("tagged " + " or ".join(conditions["tags_any"]))
        if conditions.get("severities"):
            parts.append("severity " + " or ".join(conditions["severities"]))
        return "; ".join(parts) or "never (no conditions)"

    def policy_pages(self) -> list[GeneratedPage]:
        from .compliance import evaluate

        judged = self.options.compliance_kb or self.kb
        pages = [GeneratedPage("policy/compliance.md", self.render(
            "policy/compliance.md.j2", "policy/compliance.md", results=evaluate(judged, self.options.today)))]
        if not self.kb.policy.path:
            return pages
        names = ["index", "severity", "roles", "escalation", "postmortems", "communication", "checklists"]
        if self.kb.policy.section("regulatory_clocks"):
            names.append("regulatory")
        for name in names:
            path = f"policy/{name}.md"
            pages.append(GeneratedPage(path, self.render(f"policy/{name}.md.j2", path)))
        return pages

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

    def similar_to(self, incident: Incident) -> list:
        """The SIMILAR_SHOWN most similar incidents, with score and reasons (from the index built once per site)."""
        index = self.options.similar
        return index.all_neighbours(SIMILAR_SHOWN).get(incident.id, []) if index is not None else []

    # ------------------------------------------------------------------------ pages

    def incident(self, incident: Incident, related: bool = True) -> GeneratedPage:
        """The incident's page. With related=False its Related section, which shows similar incidents, is
        left as RELATED_MARK for with_related() to fill in: the rest of the page does not wait for the
        similar-incident index."""
        page = urls.record_page(incident)
        section = self.related_section(page, incident) if related else RELATED_MARK
        body = demote_headings(fence_proof(incident.body))
        markdown = self.render("incident.md.j2", page, incident=incident, body=body, related=Markup(section))
        return GeneratedPage(page, markdown, incident.path, record=True)

    def related_section(self, page: str, incident: Incident) -> str:
        return self.render("incident_related.md.j2", page, incident=incident)

    def with_related(self, generated: GeneratedPage, incident: Incident) -> GeneratedPage:
        # The first mark is ours: it comes before the post-mortem, and text above it is escaped.
        section = self.related_section(generated.path, incident)
        return replace(generated, markdown=generated.markdown.replace(RELATED_MARK, section, 1))

    def runbook(self, runbook: Runbook) -> GeneratedPage:
        page = urls.record_page(runbook)
        return GeneratedPage(page, self.render("runbook.md.j2", page, runbook=runbook), runbook.path, record=True)

    def catalog_entry(self, entry: CatalogEntry) -> GeneratedPage:
        page = urls.record_page(entry)
        incidents = self.links.get("incidents_of_service", entry.id)
        markdown = self.render("service.md.j2", page, entry=entry, incidents=incidents,
                               runbooks=self.links.get("runbooks_of_service", entry.id),
                               dependents=self.links.get("dependents_of", entry.id),
                               open_items=self.open_items(incidents))
        return GeneratedPage(page, markdown, None, record=True)

    def problem(self, problem: Record) -> GeneratedPage:
        page = urls.record_page(problem)
        incidents = [self.kb.incident_by_id[i] for i in problem.incidents if i in self.kb.incident_by_id]
        return GeneratedPage(page, self.render("problem.md.j2", page, problem=problem, incidents=incidents),
                             problem.path, record=True)

    def index_pages(self) -> list[GeneratedPage]:
        kb, links = self.kb, self.links
        pages = []

        def add(path: str, template: str, **context):
            pages.append(GeneratedPage(path, self.render(template, path, **context)))

        add("incidents/index.md", "incidents_index.md.j2", recent=kb.incidents and
            sorted(kb.incidents, key=lambda i: (i.started_at, i.id), reverse=True)[: self.options.recent])
        for year, incidents in links.incidents_by_year.items():
            add(urls.year_page(year), "incident_list.md.j2", title=f"Incidents of {year}", incidents=incidents,
                intro=f"{len(incidents)} incidents, newest first.")
        for severity, incidents in links.incidents_by_severity.items():
            add(urls.severity_page(severity), "incident_list.md.j2",
                title=f"{severity} incidents: {self.severity_name(severity)}", incidents=incidents,
                intro=f"{len(incidents)} incidents, newest first.")
        tags = sorted(set(links.incidents_of_tag) | set(links.runbooks_of_tag))
        add("tags.md", "tags_index.md.j2", tags=tags)
        for tag in tags:
            add(urls.tag_page(tag), "tag.md.j2", tag=tag, incidents=links.get("incidents_of_tag", tag),
                runbooks=links.get("runbooks_of_tag", tag))
        add("action-items/index.md", "action_items.md.j2", rows=self.open_items(kb.incidents))
        add("runbooks/index.md", "runbooks_index.md.j2")
        add("services/index.md", "services_index.md.j2")
        if kb.problems:
            add("problems/index.md", "problems_index.md.j2")
        pages.append(GeneratedPage("reference/fields.md", render_field_reference(kb.policy)))
        return pages

    def snippet(self, name: str, page: str) -> str:
        """A block for a hand-written page, e.g. <!-- kb:recent-incidents --> on the home page."""
        recent = sorted(self.kb.incidents, key=lambda i: (i.started_at, i.id), reverse=True)[: self.options.recent]
        return self.render(f"snippets/{name}.md.j2", page, recent=recent)


SNIPPET_MARKER = re.compile(r"<!--\s*kb:([a-z-]+)(?:\s+([A-Za-z0-9_-]+\.md))?\s*-->")
SNIPPETS = ("recent-incidents", "runbooks-by-service", "open-action-items")


def fill_snippets(markdown: str, page: str, renderer: Renderer) -> str:
    """Replace <!-- kb:NAME --> markers in a hand-written page with generated blocks.

    <!-- kb:include FILE.md --> inserts a Markdown file from the top of the knowledge base (such as
    CONTRIBUTING.md), so one text serves both the repository and the site. Only plain file names are
    accepted: no folders, so no path can reach outside the knowledge base.
    """

    def replace(match: re.Match) -> str:
        name, argument = match.groups()
        if name == "include" and argument:
            path = Path(renderer.kb.root) / argument
            return path.read_text(encoding="utf-8") if path.is_file() else match.group(0)
        return renderer.snippet(name, page) if name in SNIPPETS else match.group(0)

    return SNIPPET_MARKER.sub(replace, markdown)


def render_site(kb: KnowledgeBase, options: RenderOptions | None = None) -> tuple[list[GeneratedPage], Renderer]:
    """Every generated page of the site, in a deterministic order.

    What shows similar incidents (the Related section of incident pages, the reports) is rendered
    last: the similar-incident index may still be computing in a background process (see site.py).
    """
    from .alerts import alert_pages
    from .report import report_pages
    from .training import training_pages

    renderer = Renderer(kb, options)
    runbooks = [renderer.runbook(r) for r in kb.runbooks]
    catalog = [renderer.catalog_entry(e) for e in kb.services + kb.vendors]
    problems = [renderer.problem(p) for p in kb.problems]
    indexes = renderer.index_pages()
    policy = renderer.policy_pages()
    alerts = alert_pages(renderer)
    training = training_pages(renderer)
    incidents = [renderer.incident(i, related=False) for i in kb.incidents]
    if renderer.options.similar is not None:
        renderer.options.similar.all_neighbours(SIMILAR_SHOWN)  # waits for the index here: a child must not read its pipe
    # The reports are rendered in a forked child while this process fills in the Related sections: at 10,000
    # incidents both take seconds, and the other core would otherwise wait (see background.py).
    reports = Deferred(lambda: report_pages(renderer))
    incidents = [renderer.with_related(page, i) for page, i in zip(incidents, kb.incidents)]
    reports = reports.result()
    pages = incidents + runbooks + catalog + problems + indexes + policy + reports + alerts + training
    return pages, renderer
