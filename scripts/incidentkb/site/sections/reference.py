"""The field reference page: every field of every file type, from the same declarations as the checks."""

from __future__ import annotations

import json

from incidentkb.records.json_schema import DOCUMENTED_SCHEMAS
from incidentkb.records.policy import Policy
from incidentkb.records.schema import Choice, ListOf, Object, field_example, flatten
from incidentkb.site.renderer import GeneratedPage, Renderer

PAGE = "reference/fields.md"


def _type_text(spec, choices: dict) -> str:
    field_type = spec.type
    if isinstance(field_type, Choice):
        return "one of " + ", ".join(f"`{v}`" for v in field_type.allowed(choices))
    if isinstance(field_type, ListOf) and isinstance(field_type.item, Object):
        return f"list of {field_type.item.plural or 'mappings'}"
    if isinstance(field_type, Object):
        return "mapping"
    return field_type.label


def _example_text(spec) -> str:
    example = field_example(spec)
    if isinstance(spec.type, Object) or (isinstance(spec.type, ListOf) and isinstance(spec.type.item, Object)):
        return ""
    return f"`{json.dumps(example, ensure_ascii=False, default=str)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_field_reference(policy: Policy | None = None) -> str:
    """Markdown listing every field of every file type, nested fields included."""
    choices = (policy or Policy()).choices()
    out = [
        "# Field reference",
        "",
        "Every field of every record type, generated from the schemas the checks use, so this page,",
        "`kb check` and the JSON Schema files (`kb schema --out schemas/`) always agree.",
        "",
    ]
    for schema in DOCUMENTED_SCHEMAS:
        out += [f"## {schema.title}", "", schema.doc, "",
                "| Field | Type | Required | Meaning | Example |", "|---|---|---|---|---|"]
        for name, spec in flatten(schema.fields):
            out.append(f"| `{name}` | {_cell(_type_text(spec, choices))} | {'yes' if spec.required else ''} "
                       f"| {_cell(spec.doc)} | {_cell(_example_text(spec))} |")
        if schema.rules:
            out += ["", "Rules across fields:", ""] + [f"- {rule}" for rule in schema.rules]
        out.append("")
    return "\n".join(out)


def pages(renderer: Renderer) -> list[GeneratedPage]:
    return [GeneratedPage(PAGE, render_field_reference(renderer.kb.policy))]


def nav(kb) -> list:
    return [{"Field reference": PAGE}]
