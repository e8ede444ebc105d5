"""The Find similar page: the browser ranks past incidents and runbooks against pasted text (its index is
written by site/build.py from analysis/similar.py)."""

from __future__ import annotations

from incidentkb.site.renderer import GeneratedPage, Renderer

PAGE = "similar.md"


def pages(renderer: Renderer) -> list[GeneratedPage]:
    return [GeneratedPage(PAGE, renderer.render("similar.md.j2", PAGE))]


def nav(kb) -> list:
    return [{"Find similar": PAGE}]
