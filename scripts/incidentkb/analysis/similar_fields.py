"""What the similar-incident index reads of a record: the text of its weighted fields, and its structured
fields as sets (services, tags, root-cause categories, alerts, runbooks). See similar.py."""

from __future__ import annotations

from dataclasses import dataclass, field

from incidentkb.core.markdown import section_text, sections
from incidentkb.core.terms import camel_words, words_and_joined

MAX_BODY_CHARS = 20_000  # a very long narrative adds little after this and would dominate the cost


def _sections(body: str) -> dict[str, str]:
    """Body text by lower-cased heading (text before the first heading under ''), read by the one Markdown
    reader: a heading inside a code block is code."""
    out: dict[str, str] = {}
    for section in sections(body):
        name = section.title.lower()
        out[name] = (out[name] + "\n" if name in out else "") + section_text(body, section)
    return out


def _alert_text(name: str) -> str:
    return f"{name} {' '.join(camel_words(name))}"


def record_fields(record) -> dict[str, str]:
    """The text of each weighted field of an incident or runbook."""
    data = record.data
    body = (record.body or "")[:MAX_BODY_CHARS]
    services = " ".join(data.get("services") or [])
    tags = " ".join(data.get("tags") or [])
    if record.kind == "incident":
        detection = data.get("detection") or {}
        impact = data.get("impact") or {}
        causes = [c.get("description") or ""
                  for c in (data.get("root_causes") or []) + (data.get("contributing_factors") or [])]
        alert = detection.get("alert") or ""
        return {
            "title": data.get("title") or "",
            "alerts": _alert_text(alert) if alert else "",
            "services": services,
            "tags": tags,
            "summary": data.get("summary") or "",
            "symptoms": " ".join(filter(None, [data.get("trigger"), impact.get("description"), detection.get("source")])),
            "causes": " ".join(causes),
            "body": body,
        }
    sections = _sections(body)
    symptoms = " ".join(text for name, text in sections.items() if name.startswith(("symptom", "meaning")))
    rest = " ".join(text for name, text in sections.items() if not name.startswith(("symptom", "meaning")))
    return {
        "title": data.get("title") or "",
        "alerts": " ".join(_alert_text(a) for a in data.get("alerts") or []),
        "services": services,
        "tags": tags,
        "summary": "",
        "symptoms": symptoms,
        "causes": "",
        "body": rest,
    }


STRUCTURED_SETS = ("services", "tags", "categories", "alerts", "runbooks")


@dataclass(eq=False)
class IndexedRecord:
    """What the index keeps of a record: display fields, structured fields as sets, and its term vectors."""

    id: str
    kind: str  # "incident" | "runbook"
    title: str
    path: str
    services: frozenset
    tags: frozenset
    categories: frozenset  # root-cause categories, "unknown" left out
    alerts: frozenset  # incident: detection.alert; runbook: its alerts
    runbooks: frozenset  # incident: runbooks used; runbook: itself
    title_words: tuple  # the title's kept words
    vector: dict = field(default_factory=dict)  # term -> weight: strongest first, unit length
    title_vector: dict = field(default_factory=dict)  # the title's terms (words, joined compounds), unit length
    length: int = 0
    mass: dict = field(default_factory=dict)  # structured field -> summed idf of its values
    position: int = 0  # in SimilarityIndex.records


def indexed_record(record) -> IndexedRecord:
    data = record.data
    if record.kind == "incident":
        detection = data.get("detection") or {}
        alerts = {detection["alert"]} if detection.get("alert") else set()
        categories = {c["category"] for c in data.get("root_causes") or [] if c.get("category") not in (None, "unknown")}
        runbooks = data.get("runbooks") or ()
    else:
        alerts, categories, runbooks = set(data.get("alerts") or ()), set(), (record.id,)
    title = data.get("title") or ""
    return IndexedRecord(record.id, record.kind, title, record.path, frozenset(data.get("services") or ()),
                   frozenset(data.get("tags") or ()), frozenset(categories), frozenset(alerts), frozenset(runbooks),
                   tuple(dict.fromkeys(words_and_joined(title)[0])))
