"""One site build, independent of MkDocs: load, check, render. Used by the plugin and by `kb generate`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path

from .check import check_knowledge_base
from .findings import Finding, sort_findings
from .load import Layout, load
from .model import KnowledgeBase
from .render import GeneratedPage, Renderer, RenderOptions, fill_snippets, render_site

ASSETS = {"assets/incidentkb/incidentkb.css": "incidentkb.css"}


@dataclass
class SiteBuild:
    kb: KnowledgeBase
    findings: list[Finding]
    pages: list[GeneratedPage]
    renderer: Renderer
    layout: Layout = field(default_factory=Layout)
    assets: dict[str, bytes] = field(default_factory=dict)
    fatal: str = ""  # set when the site must not be published (e.g. a broken policy file)

    def fill_snippets(self, markdown: str, page: str) -> str:
        return fill_snippets(markdown, page, self.renderer)

    def watched_paths(self, root: Path) -> list[Path]:
        candidates = [root / self.layout.incidents, root / self.layout.runbooks, root / self.layout.problems,
                      root / self.layout.catalog, root / self.layout.policy]
        return [path for path in candidates if path.exists()]

    def default_nav(self, hand_written: list[str]) -> list:
        """A small navigation: hand-written top-level pages, then the generated section indexes."""
        nav: list = []
        if "index.md" in hand_written:
            nav.append({"Home": "index.md"})
        nav += [{"Incidents": "incidents/index.md"}, {"Runbooks": "runbooks/index.md"},
                {"Services": "services/index.md"}]
        if self.kb.problems:
            nav.append({"Known problems": "problems/index.md"})
        nav.append({"Open action items": "action-items/index.md"})
        if self.kb.policy.path:
            nav.append({"Policy": ["policy/index.md", "policy/severity.md", "policy/roles.md", "policy/escalation.md",
                                   "policy/postmortems.md", "policy/communication.md", "policy/checklists.md",
                                   *(["policy/regulatory.md"] if self.kb.policy.section("regulatory_clocks") else []),
                                   "policy/compliance.md"]})
        else:
            nav.append({"Compliance": "policy/compliance.md"})
        nav += [path for path in sorted(hand_written) if path != "index.md"]
        nav.append({"Field reference": "reference/fields.md"})
        return nav


def read_assets() -> dict[str, bytes]:
    package = resources.files("incidentkb") / "assets"
    return {site_path: (package / name).read_bytes() for site_path, name in ASSETS.items()}


def build_site(root: Path, today: date | None = None, directory_urls: bool = True,
               layout: Layout = Layout(), site_url: str = "") -> SiteBuild:
    kb, findings = load(root, layout)
    findings = sort_findings(findings + check_knowledge_base(kb, layout.incidents, layout.runbooks, layout.catalog,
                                                             today=today))
    fatal = ""
    policy_errors = [f for f in findings if f.path == layout.policy and f.is_error]
    if policy_errors:
        fatal = f"{layout.policy} has {len(policy_errors)} error(s); fix them before publishing (run `kb check`)."
    options = RenderOptions(today=today or date.today(), directory_urls=directory_urls, site_url=site_url or "")
    if fatal:
        # Nothing is rendered from a broken policy: the build stops before anything is published.
        return SiteBuild(kb, findings, [], Renderer(kb, options), layout, {}, fatal)
    pages, renderer = render_site(kb, options)
    return SiteBuild(kb, findings, pages, renderer, layout, read_assets(), fatal)
