"""Possible duplicates: a new or changed incident that looks like one already in the archive."""

from __future__ import annotations

from collections.abc import Iterable

from incidentkb.analysis.similar import DUPLICATE_THRESHOLD, SimilarityIndex, UnknownRecord
from incidentkb.core.findings import WARNING, Finding
from incidentkb.records.model import KnowledgeBase


def check_duplicates(kb: KnowledgeBase, index: SimilarityIndex, incident_ids: Iterable[str]) -> list[Finding]:
    """Warn when a listed incident looks like a duplicate of another (similar.DUPLICATE_THRESHOLD).

    `index` is a similar.SimilarityIndex of kb. A pair is acknowledged, and not reported, when either
    incident lists the other in `distinct_from`.
    """
    out = []
    for incident_id in sorted(set(incident_ids)):
        incident = kb.incident_by_id.get(incident_id)
        if incident is None:
            continue
        try:
            neighbours = index.neighbours(incident_id, top=5, kind="incidents")
        except UnknownRecord:
            continue
        for match in neighbours:
            if match.score < DUPLICATE_THRESHOLD:
                break
            other = kb.incident_by_id.get(match.id)
            if other is None or match.id in (incident.distinct_from or []) or incident_id in (other.distinct_from or []):
                continue
            why = "; ".join(match.reasons[:4])
            out.append(Finding(
                incident.path, incident.line_of("id"), 1 if incident.line_of("id") else 0, WARNING, "possible-duplicate",
                f"looks like a duplicate of {match.id} ({other.path}): similarity {match.score:.2f} "
                f"(duplicates from {DUPLICATE_THRESHOLD:.2f})" + (f"; {why}" if why else ""),
                f"If both describe the same incident, merge them into one file. If they are different incidents, "
                f"say so: add `distinct_from: [{match.id}]` to this incident's front matter."))
            break
    return out
