"""Declarative schemas: each record type is declared once, as a tree of Fields.

From that one declaration come
- validation (`Schema.validate`): typed values plus findings with line numbers,
- the JSON Schema that editors use while people type (`Schema.json_schema`),
- the reference page that lists every field (`docs.render_field_reference`).

Types are small classes with the same three faces: `convert`, `json_schema` and
`label`. Choices whose values come from the policy file (severities, for
example) name a `source`; the values are looked up in `Context.choices`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from incidentkb.core.durations import DURATION_SYNTAX, parse_duration
from incidentkb.core.findings import ERROR, WARNING, Finding
from incidentkb.core.yamlsafe import position_of

INVALID = object()  # a value that failed validation; the field is then treated as missing


def path_text(path: tuple) -> str:
    """('action_items', 2, 'owner') -> 'action_items[2].owner'"""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def did_you_mean(value: str, choices, cutoff: float = 60) -> str | None:
    """The nearest choice to a misspelt value, if any is reasonably close."""
    if not choices or not isinstance(value, str):
        return None
    lowered = value.lower()
    for choice in choices:
        if choice.lower() == lowered:
            return choice
    # Optimal string alignment counts a swapped pair of letters ("ruels") as one edit, like people do.
    match = process.extractOne(value, choices, scorer=OSA.normalized_similarity,
                               processor=str.lower, score_cutoff=cutoff / 100)
    return match[0] if match else None


def describe_value(value: Any) -> str:
    """How a YAML value looks to the person who wrote it, for 'expected X, got Y' messages."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the text {shown!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


class Context:
    """Collects the findings of one document while its fields are validated."""

    def __init__(self, path: str, data, choices: dict[str, list[str]] | None = None, unknown_level: str = WARNING):
        self.path = path
        self.data = data
        self.choices = choices or {}
        # Records tolerate unknown fields (a warning); the policy file does not, as a typo there silently
        # switches a rule off.
        self.unknown_level = unknown_level
        self.findings: list[Finding] = []

    def report(self, where: tuple, code: str, message: str, hint: str = "", level: str = ERROR) -> None:
        line, column = position_of(self.data, where)
        prefix = f"{path_text(where)}: " if where else ""
        self.findings.append(Finding(self.path, line, column, level, code, prefix + message, hint))


class FieldType:
    label = "value"

    def convert(self, value, ctx: Context, where: tuple):
        return value

    def json_schema(self, choices: dict) -> dict:
        return {}

    def wrong_type(self, value, ctx: Context, where: tuple, hint: str = ""):
        # Every finding says how to fix it; types that know better pass their own hint.
        if not hint:
            if isinstance(value, list):
                hint = f"Write {self.label} on the same line as the field name, not a list."
            elif isinstance(value, dict):
                hint = f"Write {self.label} on the same line as the field name, not indented 'key: value' lines."
            else:
                hint = f"Replace it with {self.label}."
        ctx.report(where, "wrong-type", f"expected {self.label}, got {describe_value(value)}", hint)
        return INVALID


class String(FieldType):
    label = "text"

    def __init__(self, pattern: str | None = None, pattern_doc: str = "", label: str = "text", plural: str = ""):
        self.plural = plural
        self.pattern = re.compile(pattern) if pattern else None
        self.pattern_source = pattern
        self.pattern_doc = pattern_doc
        self.label = label

    def convert(self, value, ctx, where):
        if not isinstance(value, str):
            hint = ""
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                hint = f'Put the value in quotes: "{value}".'
            elif isinstance(value, bool):
                hint = "YAML reads yes/no/on/off/true/false as booleans; put the value in quotes."
            return self.wrong_type(value, ctx, where, hint)
        if not value.strip():
            ctx.report(where, "empty-value", f"expected {self.label}, got an empty text", "Fill in the value or remove the field.")
            return INVALID
        if self.pattern and not self.pattern.fullmatch(value):
            ctx.report(where, "bad-format", f"{value!r} is not {self.label} ({self.pattern_doc})",
                       f"Write it as {self.pattern_doc}.")
            return INVALID
        return value

    def json_schema(self, choices):
        schema = {"type": "string", "minLength": 1}
        if self.pattern_source:
            schema["pattern"] = f"^(?:{self.pattern_source})$"
        return schema


class Text(String):
    def __init__(self):
        super().__init__(label="text")


class Url(String):
    def __init__(self):
        super().__init__(r"(https?://|/|mailto:)\S+", "an http(s):// URL, a site path starting with '/', or mailto:", "a URL")


class Choice(FieldType):
    def __init__(self, values: tuple[str, ...] = (), source: str | None = None):
        self.values = tuple(values)
        self.source = source  # name of a list in Context.choices that overrides `values`

    @property
    def label(self):
        return "one of " + ", ".join(self.values) if self.values else f"a {self.source}"

    def allowed(self, choices: dict) -> tuple[str, ...]:
        if not self.source:
            return self.values
        # Only text values: a policy entry without a valid id (`severities: [{}]`) gives None here, which
        # made the ", ".join of the listing raise a TypeError for every incident.
        return tuple(value for value in choices.get(self.source, self.values) if isinstance(value, str))

    def convert(self, value, ctx, where):
        allowed = self.allowed(ctx.choices)
        if isinstance(value, str) and value in allowed:
            return value
        listing = ", ".join(allowed)
        if not isinstance(value, str):
            return self.wrong_type(value, ctx, where, f"Use one of: {listing}.")
        suggestion = did_you_mean(value, allowed)
        what = self.source or "value"
        hint = f"Did you mean {suggestion!r}? " if suggestion else ""
        # Without a policy-defined source the hint would be empty when nothing is close: list the choices.
        ctx.report(where, f"unknown-{what}", f"{value!r} is not a known {what}; expected one of: {listing}",
                   hint + (f"The {what} levels are defined in the policy file." if self.source else f"Use one of: {listing}."))
        return INVALID

    def json_schema(self, choices):
        return {"type": "string", "enum": list(self.allowed(choices))}


class Integer(FieldType):
    label = "a whole number"

    def __init__(self, minimum: int | None = 0):
        self.minimum = minimum

    accepted: tuple[type, ...] = (int,)
    json_type = "integer"
    hint = "Write digits only, without quotes or units."

    def convert(self, value, ctx, where):
        if isinstance(value, bool) or not isinstance(value, self.accepted):
            return self.wrong_type(value, ctx, where, self.hint if isinstance(value, str) else "")
        if self.minimum is not None and value < self.minimum:
            ctx.report(where, "out-of-range", f"{value} is below the minimum {self.minimum}",
                       f"Use a number of at least {self.minimum}.")
            return INVALID
        return value

    def json_schema(self, choices):
        schema = {"type": self.json_type}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        return schema


class Number(Integer):
    label = "a number"
    accepted = (int, float)
    json_type = "number"
    hint = "Write digits only, without quotes, currency signs or units."


class Boolean(FieldType):
    label = "true or false"

    def convert(self, value, ctx, where):
        return value if isinstance(value, bool) else self.wrong_type(value, ctx, where, "Write true or false, without quotes.")

    def json_schema(self, choices):
        return {"type": "boolean"}


_TIMESTAMP_SHAPE = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})"
TIMESTAMP_EXAMPLE = "2025-03-14T09:12:00+01:00"


class Timestamp(FieldType):
    label = "an ISO 8601 timestamp with a UTC offset"

    def convert(self, value, ctx, where):
        hint = f"Write date, time and offset, e.g. {TIMESTAMP_EXAMPLE} (or ...Z for UTC)."
        if isinstance(value, int) and not isinstance(value, bool):
            return self.wrong_type(value, ctx, where, "YAML read a bare time like 10:00 as a number. " + hint)
        if not isinstance(value, str):
            return self.wrong_type(value, ctx, where, hint)
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError as error:
            reason = str(error)
            if "out of range" in reason or "must be in" in reason:
                ctx.report(where, "impossible-date", f"{value!r} is not a real date or time ({reason})",
                           "Check the day of the month and the hour.")
            else:
                ctx.report(where, "bad-timestamp", f"{value!r} is not {self.label}", hint)
            return INVALID
        if parsed.tzinfo is None:
            ctx.report(where, "timestamp-without-offset", f"{value!r} has no UTC offset",
                       f"Add the offset of the time zone it was written in, e.g. {text}+01:00, or Z for UTC.")
            return INVALID
        return parsed

    def json_schema(self, choices):
        return {"type": "string", "pattern": f"^{_TIMESTAMP_SHAPE}$"}


class Date(FieldType):
    label = "a date (YYYY-MM-DD)"

    def convert(self, value, ctx, where):
        if not isinstance(value, str):
            return self.wrong_type(value, ctx, where, "Write the date as YYYY-MM-DD, e.g. 2025-04-30.")
        try:
            return date.fromisoformat(value.strip())
        except ValueError as error:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
                ctx.report(where, "impossible-date", f"{value!r} is not a real date ({error})", "Check the day and month.")
            else:
                ctx.report(where, "bad-date", f"{value!r} is not {self.label}", "Write the date as YYYY-MM-DD, e.g. 2025-04-30.")
            return INVALID

    def json_schema(self, choices):
        return {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}


class DurationType(FieldType):
    label = "a duration"

    def convert(self, value, ctx, where):
        duration = parse_duration(value) if isinstance(value, str) else None
        if duration is None:
            if isinstance(value, str):
                ctx.report(where, "bad-duration", f"{value!r} is not a duration", f"Write {DURATION_SYNTAX}.")
                return INVALID
            return self.wrong_type(value, ctx, where, f"Write {DURATION_SYNTAX}, in quotes if YAML misreads it.")
        return duration

    def json_schema(self, choices):
        return {"type": "string", "pattern": r"^\s*\d+\s*[a-zA-Z ]+$"}


class Ref(String):
    """The id of another record. Existence is checked across the knowledge base (check.py)."""

    def __init__(self, kind: str, pattern: str, pattern_doc: str):
        super().__init__(pattern, pattern_doc, label=f"the id of a {kind}")
        self.kind = kind
        self.plural = f"{kind} ids"


class ListOf(FieldType):
    def __init__(self, item: FieldType, unique: bool = False, min_items: int = 0):
        self.item = item
        self.unique = unique
        self.min_items = min_items

    @property
    def label(self):
        return f"a list of {getattr(self.item, 'plural', None) or self.item.label}"

    def convert(self, value, ctx, where):
        if value is None:
            return []
        if not isinstance(value, list):
            hint = "Write a list: one '- item' per line, or [a, b] on one line."
            if isinstance(value, str):
                hint = f"Write a list even for one item: [{value}]"
            return self.wrong_type(value, ctx, where, hint)
        out = []
        seen = set()
        for index, item in enumerate(value):
            converted = self.item.convert(item, ctx, where + (index,))
            if converted is INVALID:
                continue
            if isinstance(self.item, Object) and not self.item.complete(converted):
                # Already reported; dropping the item lets every consumer rely on its required fields.
                continue
            if self.unique and isinstance(converted, str):
                if converted in seen:
                    ctx.report(where + (index,), "duplicate-item", f"{converted!r} is listed twice", "Remove one of them.",
                               WARNING)
                    continue
                seen.add(converted)
            out.append(converted)
        if len(value) < self.min_items:
            ctx.report(where, "too-few-items", f"expected at least {self.min_items} item(s)",
                       f"The list needs at least {self.min_items} item{'s' if self.min_items > 1 else ''}: "
                       "write one '- item' per line, or [a, b] on one line.")
        return out

    def json_schema(self, choices):
        schema = {"type": "array", "items": self.item.json_schema(choices)}
        if self.unique:
            schema["uniqueItems"] = True
        if self.min_items:
            schema["minItems"] = self.min_items
        return schema


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    doc: str
    example: Any = None
    required: bool = False
    default: Any = None

    def missing_value(self):
        if isinstance(self.type, ListOf):
            return list(self.default or [])  # a fresh list: callers may append to it
        return self.default


class Object(FieldType):
    """A mapping with declared fields. Unknown keys are warnings with a did-you-mean."""

    def __init__(self, fields: list[Field], label: str = "a mapping", extra_ok: bool = False, plural: str = ""):
        self.fields = tuple(fields)
        self.plural = plural
        self.by_name = {f.name: f for f in self.fields}
        self.label = label
        self.extra_ok = extra_ok

    def convert(self, value, ctx, where):
        if not isinstance(value, dict):
            names = ", ".join(f.name for f in self.fields[:4])
            return self.wrong_type(value, ctx, where, f"Write it as indented 'key: value' lines ({names}, ...).")
        out = {}
        for key, raw in value.items():
            spec = self.by_name.get(key)
            if spec is None:
                if not self.extra_ok:
                    self.unknown_key(key, ctx, where)
                continue
            converted = spec.type.convert(raw, ctx, where + (key,)) if raw is not None or isinstance(spec.type, ListOf) else None
            if raw is None and spec.required:
                ctx.report(where + (key,), "missing-field", f"the required field {spec.name!r} is empty",
                           f"Fill it in, e.g. {spec.name}: {example_text(spec.example)}")
            out[key] = None if converted is INVALID else converted
        for spec in self.fields:
            if spec.name not in value:
                if spec.required:
                    ctx.report(where, "missing-field", f"the required field {path_text(where + (spec.name,))!r} is missing",
                               f"Add it, e.g. {spec.name}: {example_text(spec.example)}")
                out[spec.name] = spec.missing_value()
            elif out[spec.name] is None:
                out[spec.name] = spec.missing_value()
        return out

    def complete(self, converted: dict) -> bool:
        """Whether every required field survived validation."""
        return all(converted.get(f.name) is not None for f in self.fields if f.required)

    def unknown_key(self, key, ctx, where):
        suggestion = did_you_mean(str(key), list(self.by_name), cutoff=70)
        hint = f"Did you mean {suggestion!r}?" if suggestion else "Known fields: " + ", ".join(self.by_name) + "."
        ctx.report(where + (key,), "unknown-field", f"unknown field {path_text(where + (key,))!r}", hint,
                   ctx.unknown_level)

    def json_schema(self, choices):
        return {
            "type": "object",
            "properties": {f.name: field_json_schema(f, choices) for f in self.fields},
            "required": [f.name for f in self.fields if f.required],
            "additionalProperties": self.extra_ok,
        }

    def example(self) -> dict:
        return {f.name: field_example(f) for f in self.fields}


def example_text(value) -> str:
    if isinstance(value, (list, dict)):
        return "..."
    return str(value)


def field_example(spec: Field):
    if spec.example is not None:
        return spec.example
    if isinstance(spec.type, Object):
        return spec.type.example()
    if isinstance(spec.type, ListOf) and isinstance(spec.type.item, Object):
        return [spec.type.item.example()]
    raise ValueError(f"field {spec.name!r} declares no example")


def field_json_schema(spec: Field, choices: dict) -> dict:
    schema = {"description": spec.doc, **spec.type.json_schema(choices)}
    example = field_example(spec)
    schema["examples"] = [example]
    return schema


@dataclass(frozen=True)
class Schema:
    """One record type: its fields, and the cross-field rules stated in words for the docs."""

    kind: str
    title: str
    doc: str
    fields: tuple[Field, ...]
    rules: tuple[str, ...] = field(default=())

    @property
    def root(self) -> Object:
        return Object(list(self.fields), label=f"the fields of a {self.kind}")

    def validate(self, data, ctx: Context) -> dict:
        return self.root.convert(data, ctx, ())

    def json_schema(self, choices: dict | None = None) -> dict:
        schema = self.root.json_schema(choices or {})
        return {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$id": f"https://incidentkb.invalid/schema/{self.kind}.json",
            "title": self.title,
            "description": self.doc,
            **schema,
        }

    def example(self) -> dict:
        return self.root.example()


def flatten(fields, prefix: str = ""):
    """Yield (dotted name, Field) for every field, nested ones included: action_items[].owner."""
    for spec in fields:
        name = prefix + spec.name
        yield name, spec
        inner = spec.type.item if isinstance(spec.type, ListOf) else spec.type
        if isinstance(inner, Object):
            suffix = "[]." if isinstance(spec.type, ListOf) else "."
            yield from flatten(inner.fields, name + suffix)
