"""One site build, independent of MkDocs: load, check, render. Used by the plugin and by `kb generate`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from importlib import resources
from pathlib import Path

from incidentkb.analysis.alert_rules import rule_paths
from incidentkb.analysis.similar import SIMILAR_SHOWN, SimilarityIndex
from incidentkb.checks.consistency import check_knowledge_base
from incidentkb.core.background import Deferred, freeze_for_the_build
from incidentkb.core.findings import Finding, sort_findings
from incidentkb.records import urls
from incidentkb.records.audience import DEFAULT_AUDIENCE, for_audience
from incidentkb.records.load import Layout, load
from incidentkb.records.model import KnowledgeBase
from incidentkb.records.policy import check_policy
from incidentkb.site.glossary import add_abbreviations
from incidentkb.site.mdlinks import fix_links
from incidentkb.site.renderer import GeneratedPage, Renderer, RenderOptions
from incidentkb.site.sections import default_nav, render_site
from incidentkb.site.sections.snippets import fill_snippets
from incidentkb.site.similar_index import browser_index_files

ASSETS = {"assets/incidentkb/incidentkb.css": "incidentkb.css", "assets/incidentkb/incidentkb.js": "incidentkb.js"}


@dataclass
class SiteBuild:
    kb: KnowledgeBase
    loaded_findings: list[Finding]  # what loading found; `findings` adds what the checks find
    pages: list[GeneratedPage]
    renderer: Renderer
    layout: Layout = field(default_factory=Layout)
    assets: dict[str, bytes] = field(default_factory=dict)
    fatal: str = ""  # set when the site must not be published (e.g. a broken policy file)
    hidden: frozenset[str] = frozenset()  # source paths of records the audience may not see
    docs_prefix: str = "docs"  # docs_dir relative to the knowledge-base root
    abbreviations: bool = True  # append glossary definitions to pages (see site/glossary.py)
    checks: Deferred | None = None  # the checks' findings, computed in a child while the site is built

    @cached_property
    def findings(self) -> list[Finding]:
        """Everything loading and the checks found (waits for the checks)."""
        return sort_findings(self.loaded_findings + (self.checks.result() if self.checks is not None else []))

    @cached_property
    def record_pages(self) -> frozenset[str]:
        # Computed once: every page's Markdown asks for it (a property here made builds quadratic, measured).
        return frozenset(page.path for page in self.pages if page.record)

    def fill_snippets(self, markdown: str, page: str) -> str:
        return fill_snippets(markdown, page, self.renderer)

    def prepare_markdown(self, markdown: str, page: str, hand_written: bool) -> str:
        """What every page's Markdown goes through: markers filled, links to records fixed (see mdlinks.py)."""
        if hand_written:
            markdown = self.fill_snippets(markdown, page)
        markdown = fix_links(markdown, page, self.hidden, self.docs_prefix if hand_written else None, self.record_pages)
        # Glossary terms become tooltips (abbreviation definitions), where the Markdown extension is on.
        return add_abbreviations(markdown, self.kb.policy) if self.abbreviations else markdown

    def watched_paths(self, root: Path) -> list[Path]:
        rule_files = [root / rel for rel in rule_paths(self.kb.policy)[0]]
        candidates = [root / self.layout.incidents, root / self.layout.runbooks, root / self.layout.problems,
                      root / self.layout.catalog, root / self.layout.policy, *rule_files]
        return [path for path in candidates if path.exists()]

    def default_nav(self, hand_written: list[str]) -> list:
        """A small navigation: hand-written top-level pages, then the generated section indexes."""
        return default_nav(self.kb, hand_written)


class NeighboursLater:
    """Stands in for the similar-incident index while a child process computes it: the pages and the
    reports only ask it for every incident's neighbours."""

    def __init__(self, deferred: Deferred):
        self._deferred = deferred

    def all_neighbours(self, top: int = SIMILAR_SHOWN) -> dict:
        if top != SIMILAR_SHOWN:
            raise ValueError(f"only the {SIMILAR_SHOWN} nearest neighbours are computed for the site")
        return self._deferred.result()[0]


def read_assets() -> dict[str, bytes]:
    package = resources.files("incidentkb.site") / "assets"
    return {site_path: (package / name).read_bytes() for site_path, name in ASSETS.items()}


def published(kb: KnowledgeBase, audience: str, include_drafts: bool) -> tuple[KnowledgeBase, set[str],
                                                                               KnowledgeBase | None]:
    """(what the site shows, the paths left out, the knowledge base compliance is judged on when drafts are
    left out, else None)."""
    shown, hidden = for_audience(kb, audience)
    if include_drafts:
        return shown, hidden, None
    # Draft post-mortems are previewed with `mkdocs serve` but not published; they still count for compliance.
    drafts = {i.path for i in shown.incidents if (i.postmortem or {}).get("status") == "draft"}
    if not drafts:
        return shown, hidden, None
    without = replace(shown, incidents=[i for i in shown.incidents if i.path not in drafts], severities_in_use={})
    return without, hidden | drafts, shown


SPLIT_NEIGHBOURS_FROM = 1000  # incidents: below this, a second process for half the neighbours is not worth a fork


def similar_work(shown: KnowledgeBase, directory_urls: bool) -> tuple[dict, dict[str, bytes]]:
    """Every incident's nearest neighbours, and the files of the browser's similar-incident index."""
    index = SimilarityIndex.build(shown)
    url_of = lambda record: urls.page_url(urls.record_page(record), directory_urls)  # noqa: E731
    if len(shown.incidents) >= SPLIT_NEIGHBOURS_FROM:
        # The incident pages wait for this while the MkDocs process has nothing else to do (at 10,000
        # incidents, seconds): half of the neighbours, and the browser's index, are computed in more
        # children, so that both cores are busy until the end.
        other_half = Deferred(lambda: index.incident_neighbours(SIMILAR_SHOWN, 1, 2))
        browser_files = Deferred(lambda: browser_index_files(index, shown, url_of))
        halves = index.incident_neighbours(SIMILAR_SHOWN, 0, 2) | other_half.result()
        neighbours = {r.id: halves[r.id] for r in index.records if r.kind == "incident"}  # in id order again
        return neighbours, browser_files.result()
    return index.all_neighbours(SIMILAR_SHOWN), browser_index_files(index, shown, url_of)


def build_site(root: Path, today: date | None = None, directory_urls: bool = True, layout: Layout = Layout(),
               site_url: str = "", audience: str = DEFAULT_AUDIENCE, docs_prefix: str = "docs",
               include_drafts: bool = True, freeze: bool = False) -> SiteBuild:
    """Load and check everything, then render what `audience` may see (and drafts, if asked).

    `freeze`: the loaded records are kept out of the garbage collector's sight for the rest of the
    process or until background.thaw (see freeze_for_the_build); the MkDocs plugin asks for it."""
    kb, findings = load(root, layout)
    if freeze:
        freeze_for_the_build()
    # The checks run in a forked child; only the policy's own problems are needed at once, to stop a build
    # with a broken policy file before anything is rendered. The plugin reports the checks' findings at the
    # end of the build, so the child runs at low priority: it takes the time the other processes leave.
    checks = Deferred(lambda: check_knowledge_base(kb, layout.incidents, layout.runbooks, layout.catalog, today=today),
                      low_priority=True)
    policy_errors = [f for f in findings + check_policy(kb.policy, kb.severities_in_use)
                     if f.path == layout.policy and f.is_error]
    options = RenderOptions(today=today or date.today(), directory_urls=directory_urls, site_url=site_url or "")
    if policy_errors:
        # Nothing is rendered from a broken policy: the build stops before anything is published.
        fatal = f"{layout.policy} has {len(policy_errors)} error(s); fix them before publishing (run `kb check`)."
        return SiteBuild(kb, findings, [], Renderer(kb, options), layout, {}, fatal, checks=checks)
    shown, hidden, compliance_kb = published(kb, audience, include_drafts)
    if compliance_kb is not None:
        options.compliance_kb = compliance_kb
    # The similar-incident index is computed in a forked child while this process renders everything that
    # does not need it (see background.py); the Related sections of incident pages and the reports wait for it.
    similar = Deferred(lambda: similar_work(shown, directory_urls))
    options.similar = NeighboursLater(similar)
    pages, renderer = render_site(shown, options)
    assets = read_assets()
    assets.update(similar.result()[1])
    return SiteBuild(shown, findings, pages, renderer, layout, assets, "", hidden, docs_prefix, checks=checks)
