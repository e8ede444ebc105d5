"""One declaration per record type: validation, JSON Schema and the field reference agree."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from incidentkb.records.json_schema import DOCUMENTED_SCHEMAS, json_schemas
from incidentkb.records.policy import Policy
from incidentkb.records.schema import Context, flatten
from incidentkb.site.sections.reference import render_field_reference

SCHEMAS = {schema.kind: schema for schema in DOCUMENTED_SCHEMAS}


def validate_ours(schema, document):
    ctx = Context("example.md", document, Policy().choices())
    schema.validate(document, ctx)
    return ctx.findings


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_every_field_has_doc_and_example(kind):
    for name, spec in flatten(SCHEMAS[kind].fields):
        assert spec.doc.strip(), f"{kind}.{name} has no description"


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_example_document_passes_both_validators(kind):
    schema = SCHEMAS[kind]
    document = schema.example()
    assert validate_ours(schema, document) == []
    jsonschema.validate(document, json_schemas()[kind])


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_reference_page_lists_every_field(kind):
    page = render_field_reference()
    for name, _ in flatten(SCHEMAS[kind].fields):
        assert f"| `{name}` |" in page, f"{kind}: {name} missing from the field reference"


def _mutations(document: dict):
    """Broken variants of a valid document, each of which both validators must reject."""
    unknown = copy.deepcopy(document)
    unknown["not_a_field"] = 1
    yield "unknown field", unknown
    for key, value in document.items():
        wrong = copy.deepcopy(document)
        wrong[key] = {"nested": "mapping"} if not isinstance(value, dict) else "text"
        yield f"wrong type for {key}", wrong


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_validators_reject_the_same_mistakes(kind):
    schema = SCHEMAS[kind]
    json_schema = json_schemas()[kind]
    for label, document in _mutations(schema.example()):
        ours = validate_ours(schema, document)
        assert ours, f"{kind}: our validation accepted {label}"
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(document, json_schema)


def test_missing_required_field_rejected_by_both():
    schema = SCHEMAS["incident"]
    for spec in schema.fields:
        if not spec.required:
            continue
        document = schema.example()
        del document[spec.name]
        assert any(f.code == "missing-field" for f in validate_ours(schema, document)), spec.name
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(document, json_schemas()["incident"])


def test_policy_vocabulary_flows_into_json_schema():
    policy = Policy(severities=[{"id": "P1", "name": "Major", "summary": "x"}])
    schema = json_schemas(policy)["incident"]
    assert schema["properties"]["severity"]["enum"] == ["P1"]
