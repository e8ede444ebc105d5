"""incidentkb: an IT incident knowledge base that lives in git and publishes as a static site.

The public API is what this module re-exports; the `kb` command and the MkDocs
plugin are thin shells over it.
"""

from incidentkb.checks.consistency import check_knowledge_base  # noqa: E402
from incidentkb.core.findings import Finding  # noqa: E402
from incidentkb.core.version import VERSION as __version__  # noqa: E402
from incidentkb.records.load import Layout, load  # noqa: E402
from incidentkb.records.model import (Incident, KnowledgeBase,  # noqa: E402
                                      Problem, Runbook)

__all__ = [
    "Finding",
    "Incident",
    "KnowledgeBase",
    "Layout",
    "Problem",
    "Runbook",
    "__version__",
    "check_knowledge_base",
    "load",
]
