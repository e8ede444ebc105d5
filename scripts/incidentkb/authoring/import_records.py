"""Imported records as files: a Draft rendered as front matter and body, and an update that never touches the body.

The front matter is written in a fixed key order with a digest of the imported facts, so that a later
`--update` can tell whether a person has edited them since the import (importplan.py).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone
from pathlib import Path

import yaml

# ------------------------------------------------------------------ severities and services
from incidentkb.authoring.import_model import UPDATABLE, Draft
from incidentkb.core.findings import Finding
from incidentkb.records.frontmatter import split


class RecordDumper(yaml.SafeDumper):
    """Block style, except lists of plain values, which read best on one line: services: [kubernetes]."""


def _represent_list(dumper, items):
    flow = all(isinstance(item, (str, int, float)) and len(str(item)) < 60 for item in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


RecordDumper.add_representer(list, _represent_list)


def dump(meta: dict, body: str) -> str:
    front = yaml.dump(meta, Dumper=RecordDumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    return f"---\n{front}---\n\n{body.strip()}\n"


def iso(moment: datetime) -> str:
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def digest(meta: dict) -> str:
    facts = {name: meta.get(name) for name in UPDATABLE}
    return "sha256:" + hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]


# The order of the front matter of a new record: as `kb new` writes it, the facts first.
_KEY_ORDER = ("id", "title", "status", "severity", "services", "started_at", "detected_at", "acknowledged_at",
              "mitigated_at", "resolved_at", "summary")


def render(draft: Draft) -> str:
    meta = {"id": draft.record_id} if draft.record_id else {}
    meta.update(draft.meta)
    meta = {k: meta[k] for k in _KEY_ORDER if k in meta} | {k: v for k, v in meta.items() if k not in _KEY_ORDER}
    if draft.source is not None:
        meta["source"] = {**draft.source, "digest": digest(meta)}
    if draft.status == "update":
        return ""  # an update keeps the file's own text; see update_text
    return dump(meta, draft.body)


def update_text(path: Path, draft: Draft) -> tuple[str, list[str], str]:
    """The existing record with the export's facts refreshed, its body untouched; what changed; and why
    nothing changed when a person has edited the imported facts since the import (the stored digest no
    longer matches): then the differences are listed instead."""
    text = path.read_text(encoding="utf-8")
    parts = split(text, draft.rel)
    if isinstance(parts, Finding):
        return text, [], f"{draft.rel} no longer has front matter; not updated"
    yaml_text, body, _ = parts
    current = yaml.safe_load(yaml_text) or {}
    current = {k: _plain_value(v) for k, v in current.items()}
    new_meta = dict(draft.meta)
    differing = [name for name in UPDATABLE if current.get(name) != new_meta.get(name)]
    if not differing:
        return text, [], ""
    stored = (current.get("source") or {}).get("digest")
    if stored != digest(current):
        return text, [], ("edited since the import, so not updated; the export now says: "
                          + "; ".join(f"{n}: {new_meta.get(n)!r}" for n in differing))
    meta = dict(current)
    for name in UPDATABLE:
        if new_meta.get(name) is None:
            meta.pop(name, None)
        else:
            meta[name] = new_meta[name]
    meta["source"] = {**(current.get("source") or {}), **(draft.source or {})}
    meta["source"]["digest"] = digest(meta)
    # The body is kept byte for byte: it is what people wrote after the import.
    front = yaml.dump(meta, Dumper=RecordDumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    return f"---\n{front}---\n{body}", differing, ""


def _plain_value(value):
    """YAML's own types back to the text the importer writes (timestamps as ISO text)."""
    if isinstance(value, datetime):
        return iso(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_value(v) for v in value]
    return value
