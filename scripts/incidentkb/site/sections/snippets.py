"""Blocks for hand-written pages: `<!-- kb:recent-incidents -->` on the home page, and the like."""

from __future__ import annotations

import re
from pathlib import Path

from incidentkb.site.renderer import Renderer
from incidentkb.site.sections.indexes import recent_incidents

SNIPPET_MARKER = re.compile(r"<!--\s*kb:([a-z-]+)(?:\s+([A-Za-z0-9_-]+\.md))?\s*-->")
SNIPPETS = ("recent-incidents", "runbooks-by-service", "open-action-items")


def snippet(renderer: Renderer, name: str, page: str) -> str:
    return renderer.render(f"snippets/{name}.md.j2", page, recent=recent_incidents(renderer))


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
        return snippet(renderer, name, page) if name in SNIPPETS else match.group(0)

    return SNIPPET_MARKER.sub(replace, markdown)
