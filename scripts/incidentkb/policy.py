"""The policy file (policy.yml): the vocabularies and rules the records are checked against.

A knowledge base without a policy file gets the built-in defaults below, so a
folder holding only incidents/ can be checked at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .durations import Duration
from .frontmatter import DEFAULT_MAX_FILE_BYTES
from .model import DEFAULT_CAUSE_CATEGORIES, DEFAULT_PRIORITIES, DEFAULT_SEVERITIES, VISIBILITIES
from .schema import Choice, DurationType, Field, Integer, ListOf, Object, Schema, String, Text

SEVERITY = Object([
    Field("id", String(r"[A-Za-z0-9-]+", "letters, digits and hyphens, e.g. SEV1", "a severity id"),
          "The value incidents write in `severity`.", "SEV1", required=True),
    Field("name", Text(), "Short name.", "Critical", required=True),
    Field("summary", Text(), "One-line meaning.", "Most customers cannot buy, or data is exposed.", required=True),
], label="a severity level", extra_ok=True)

POLICY_SCHEMA = Schema(
    kind="policy",
    title="Policy file",
    doc="policy.yml: severity levels, vocabularies, defaults and limits.",
    fields=(
        Field("severities", ListOf(SEVERITY, min_items=1), "Severity levels, most severe first."),
        Field("cause_categories", ListOf(String(r"[a-z0-9]+(?:-[a-z0-9]+)*", "lower-case words joined by hyphens",
                                                "a category"), unique=True, min_items=1),
              "Categories for root causes and contributing factors.", ["capacity", "change"]),
        Field("action_item_priorities", ListOf(String(label="a priority"), unique=True, min_items=1),
              "Priorities of action items, most urgent first.", ["high", "medium", "low"]),
        Field("defaults", Object([
            Field("visibility", Choice(VISIBILITIES), "Visibility of a record that does not say.", "internal"),
            Field("runbook_review_every", DurationType(), "Review interval of a runbook that does not say.", "6mo"),
        ], label="the defaults"), "Defaults for fields a record leaves out."),
        Field("limits", Object([
            Field("max_file_bytes", Integer(minimum=1), "Largest record file accepted.", DEFAULT_MAX_FILE_BYTES),
        ], label="the limits"), "Limits that keep loading fast and safe."),
    ),
)


@dataclass
class Policy:
    """The parts of the policy that checks and pages use. Defaults apply when there is no policy file."""

    path: str = ""
    severities: list[dict] = field(default_factory=lambda: [
        {"id": s, "name": s, "summary": ""} for s in DEFAULT_SEVERITIES])
    cause_categories: list[str] = field(default_factory=lambda: list(DEFAULT_CAUSE_CATEGORIES))
    action_item_priorities: list[str] = field(default_factory=lambda: list(DEFAULT_PRIORITIES))
    default_visibility: str = "internal"
    runbook_review_every: Duration = Duration(6, "months")
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    @property
    def severity_ids(self) -> list[str]:
        return [s["id"] for s in self.severities]

    def choices(self) -> dict[str, list[str]]:
        """Values for the schema's policy-driven choices."""
        return {
            "severity": self.severity_ids,
            "cause category": self.cause_categories,
            "priority": self.action_item_priorities,
        }


def policy_from_data(data: dict, path: str) -> Policy:
    """Build a Policy from validated data (see POLICY_SCHEMA); missing parts keep their defaults."""
    policy = Policy(path=path)
    if data.get("severities"):
        policy.severities = data["severities"]
    if data.get("cause_categories"):
        policy.cause_categories = data["cause_categories"]
    if data.get("action_item_priorities"):
        policy.action_item_priorities = data["action_item_priorities"]
    defaults = data.get("defaults") or {}
    policy.default_visibility = defaults.get("visibility") or policy.default_visibility
    policy.runbook_review_every = defaults.get("runbook_review_every") or policy.runbook_review_every
    limits = data.get("limits") or {}
    policy.max_file_bytes = limits.get("max_file_bytes") or policy.max_file_bytes
    return policy
