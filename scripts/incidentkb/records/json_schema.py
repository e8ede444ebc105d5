"""JSON Schema files for editors (yaml-language-server), from the one declaration of each file type."""

from __future__ import annotations

from incidentkb.records.model import CATALOG_SCHEMA, RECORD_SCHEMAS
from incidentkb.records.policy import POLICY_SCHEMA, Policy
from incidentkb.records.schema import Schema

DOCUMENTED_SCHEMAS: tuple[Schema, ...] = (*RECORD_SCHEMAS.values(), CATALOG_SCHEMA, POLICY_SCHEMA)


def json_schemas(policy: Policy | None = None) -> dict[str, dict]:
    """{kind: JSON Schema} for every file type, with the policy's vocabularies as enums."""
    choices = (policy or Policy()).choices()
    return {schema.kind: schema.json_schema(choices) for schema in DOCUMENTED_SCHEMAS}
