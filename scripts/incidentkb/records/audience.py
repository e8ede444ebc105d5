"""Audiences: a build for an audience leaves out every record above it.

public < internal < restricted. A build for `internal` (the default) shows
public and internal records; restricted records appear only in a build for
`restricted`. Filtering happens once, on the loaded knowledge base, before
anything is rendered, so every consumer (pages, indexes, tags, reports, the
similar-incident data, search, drills, the sitemap) sees only what the audience
may see. Checks always run on everything.
"""

from __future__ import annotations

from dataclasses import replace

from incidentkb.records.model import KnowledgeBase, Record
from incidentkb.records.urls import record_page

AUDIENCES = ("public", "internal", "restricted")
DEFAULT_AUDIENCE = "internal"
_RANK = {name: rank for rank, name in enumerate(AUDIENCES)}


def visibility_of(record: Record, kb: KnowledgeBase) -> str:
    """Its own visibility, else the policy's default."""
    return record.data.get("visibility") or kb.policy.default_visibility


def visible(record: Record, audience: str) -> bool:
    return _RANK.get(record.data.get("visibility") or "internal", 1) <= _RANK[audience]


def for_audience(kb: KnowledgeBase, audience: str) -> tuple[KnowledgeBase, frozenset[str]]:
    """The part of `kb` the audience may see, and the source paths of the records left out."""
    if audience not in _RANK:
        raise ValueError(f"unknown audience {audience!r}; expected one of {', '.join(AUDIENCES)}")
    hidden: set[str] = set()

    def keep(records: list) -> list:
        shown = []
        for record in records:
            if visible(record, audience):
                shown.append(record)
            elif record.path:
                hidden.add(record.path)
        return shown

    filtered = replace(
        kb,
        incidents=keep(kb.incidents), runbooks=keep(kb.runbooks), problems=keep(kb.problems),
        services=keep(kb.services), vendors=keep(kb.vendors),
        severities_in_use={},  # per-incident ids would name hidden incidents; checks use the unfiltered base
    )
    # Catalog entries share the catalog file's path, so they are tracked by their page instead.
    hidden |= {record_page(e) for e in kb.services + kb.vendors if not visible(e, audience)}
    return filtered, frozenset(hidden)
