"""Property-based tests: whatever bytes or YAML a contributor commits, loading and checking never raise.

The loader and the checker get arbitrary bytes, arbitrary text after a valid `---` opener, and
arbitrary YAML documents built from the real field names of the schemas (so that validation goes
deep: action items with lists inside, timestamps that are numbers, and so on), and arbitrary
catalog and policy files. For every example:

- `load()` and `check_knowledge_base()` return instead of raising;
- every finding names a path, a level, a code, a message and a hint;
- a finding with a line points inside the file (1 <= line <= the lines an editor shows);
- the files are unchanged.

Once in a while the real `kb check` runs too, and must exit 0 or 1 without a traceback.
Examples are kept small and few enough for the file to run in well under a minute.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import yaml
from conftest import run_kb
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from incidentkb.checks.consistency import check_knowledge_base
from incidentkb.records.load import load
from incidentkb.records.model import INCIDENT_SCHEMA, RUNBOOK_SCHEMA, SERVICE_SCHEMA, TEAM_SCHEMA
from incidentkb.records.policy import POLICY_SCHEMA
from incidentkb.records.schema import flatten

INCIDENT = "incidents/2025/INC-2025-014-checkout-latency.md"
RUNBOOK = "runbooks/checkout/checkout-high-latency.md"

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ------------------------------------------------------------------------------ strategies

# Every field name of the schemas, nested ones included ("action_items[].owner" -> "owner").
FIELD_NAMES = sorted({name.split(".")[-1].removesuffix("[]")
                      for schema in (INCIDENT_SCHEMA, RUNBOOK_SCHEMA, POLICY_SCHEMA, SERVICE_SCHEMA, TEAM_SCHEMA)
                      for name, _ in flatten(schema.fields)})

# Values that are close to valid, so that checks behind the type checks run too.
NEAR_VALID = [
    "INC-2025-014", "INC-2025-001", "INC-2024-013", "INC-25-1", "SEV1", "SEV2", "sev2", "open", "resolved", "closed",
    "mitigated", "checkout", "payments-api", "checkout-high-latency", "team-payments", "AI-1", "done", "in-progress",
    "alert", "capacity", "draft", "reviewed", "internal", "public", "high", "EUR", "6mo", "2w", "72h", "90d",
    "2025-03-14T09:02:00+01:00", "2025-03-14T10:05:00Z", "2025-03-13T10:05:00+01:00", "2025-03-14T09:02:00",
    "2025-02-30T09:02:00+01:00", "2025-03-14T24:30:00+01:00", "2025-04-30", "2025-04-31", "30.04.2025",
    "https://grafana.example.com/d/x", "@example/payments", "", " ", "yes", "no", "~", "10:00",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NEAR_VALID),
    st.text(max_size=30),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=12), st.integers(-5, 5), st.none(), st.booleans())


def _extend(children):
    return st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6)


values = st.recursive(scalars, _extend, max_leaves=25)

# A record whose top level uses the real fields, with values valid, near-valid or anything at all.
def _record(schema):
    fields = {spec.name: st.one_of(st.sampled_from(NEAR_VALID), values) for spec in schema.fields}
    return st.fixed_dictionaries({}, optional=fields)


action_item = st.fixed_dictionaries({}, optional={
    name: values for name in ("id", "title", "owner", "due", "status", "type", "priority", "ticket")})
incident_like = st.builds(
    lambda record, items: {**record, **({"action_items": items} if items is not None else {})},
    _record(INCIDENT_SCHEMA),
    st.none() | st.lists(st.one_of(action_item, values), max_size=4),
)


def _dump(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None)


def front_matter(data) -> str:
    return "---\n" + _dump(data) + "---\n\n## What happened\n\nText.\n"


# Text that looks like YAML: its punctuation, indentation, tabs, and the line breaks YAML and editors disagree on.
yaml_ish = st.lists(
    st.sampled_from(list(":-[]{}&*!|>'\"#%@`,?~ \t\n\r") + ["a", "1", "id: ", "title: ", "  - ", "\u2028", "\x85", "\ufeff"]),
    max_size=80,
).map("".join)

# ------------------------------------------------------------------------------ the property


def _editor_lines(data: bytes) -> int:
    """How many lines an editor shows: LF, CRLF and a lone CR each end a line (as `read_text` treats them)."""
    return len(re.findall(rb"\r\n|\r|\n", data)) + 1


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def check_never_raises(files: dict[str, bytes | str], pure_yaml: bool = False, cli: bool = False) -> list:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
        before = _snapshot(root)

        kb, findings = load(root, pure_yaml=pure_yaml)
        findings = findings + check_knowledge_base(kb)

        for f in findings:
            assert f.path and f.level in ("error", "warning") and f.code and f.message, f
            assert f.hint.strip(), f"finding without a hint: {f}"
            assert (root / f.path).is_file(), f
            if f.line:
                assert 1 <= f.line <= _editor_lines((root / f.path).read_bytes()), f
            assert f.column >= 0, f
        if cli:
            result = run_kb("check", "--root", root, "--format", "json")
            assert result.code in (0, 1), result.out + result.err
            assert "Traceback" not in result.out + result.err and "internal error" not in result.err
        assert _snapshot(root) == before
        return findings


# ------------------------------------------------------------------------------ the tests


@settings(max_examples=300, **SETTINGS)
@given(data=st.binary(max_size=600), pure_yaml=st.booleans())
@example(data=b"", pure_yaml=False)
@example(data=b"---\r---\r", pure_yaml=False)
@example(data=b"\xef\xbb\xbf---\r\nid: [\r\n---\r\n", pure_yaml=True)
@example(data=b"---\n\x00\n---\n", pure_yaml=False)
def test_arbitrary_bytes(data, pure_yaml):
    check_never_raises({INCIDENT: data}, pure_yaml)


@settings(max_examples=300, **SETTINGS)
@given(text=st.one_of(st.text(max_size=300), yaml_ish), closed=st.booleans(), pure_yaml=st.booleans())
@example(text="a: \u2028b\n", closed=True, pure_yaml=False)
@example(text="? !!set {a}\n: x\n", closed=True, pure_yaml=False)
@example(text="a: " + "[" * 5000, closed=True, pure_yaml=True)
@example(text="a: &a [*a]\n", closed=True, pure_yaml=False)
def test_arbitrary_text_after_the_opener(text, closed, pure_yaml):
    check_never_raises({INCIDENT: "---\n" + text + ("\n---\n\nBody.\n" if closed else "")}, pure_yaml)


@settings(max_examples=300, **SETTINGS)
@given(data=values, pure_yaml=st.booleans())
def test_arbitrary_yaml_documents(data, pure_yaml):
    check_never_raises({INCIDENT: front_matter(data)}, pure_yaml)


@settings(max_examples=400, **SETTINGS)
@given(incident=incident_like, runbook=_record(RUNBOOK_SCHEMA), pure_yaml=st.booleans())
def test_records_with_the_real_field_names(incident, runbook, pure_yaml):
    """Mostly-valid incidents and runbooks: type checks pass often enough for the cross-field checks to run."""
    check_never_raises({INCIDENT: front_matter(incident), RUNBOOK: front_matter(runbook)}, pure_yaml)


@settings(max_examples=150, **SETTINGS)
@given(
    incident=incident_like,
    catalog=st.fixed_dictionaries({}, optional={
        "teams": st.lists(_record(TEAM_SCHEMA) | values, max_size=3),
        "services": st.lists(_record(SERVICE_SCHEMA) | values, max_size=3),
        "vendors": values,
    }) | values,
    policy=_record(POLICY_SCHEMA) | values,
)
def test_arbitrary_catalog_and_policy(incident, catalog, policy):
    """The catalog and the policy steer the checks (severities, services, size limit): they may be anything too."""
    check_never_raises({INCIDENT: front_matter(incident), "catalog.yml": _dump(catalog), "policy.yml": _dump(policy)})


@settings(max_examples=40, **SETTINGS)
@given(incident=st.one_of(incident_like.map(front_matter), yaml_ish.map(lambda t: "---\n" + t + "\n---\n"),
                          st.binary(max_size=200)))
def test_kb_check_exits_0_or_1(incident):
    """The real command line, end to end: exit 0 or 1, never a traceback or an internal error (exit 3)."""
    check_never_raises({INCIDENT: incident}, cli=True)


def test_timeline_with_an_invalid_time():
    incident = {"id": "INC-2025-014", "title": "t", "status": "open", "severity": "SEV2", "services": ["checkout"],
                "started_at": "2025-03-14T09:02:00+01:00", "summary": "s",
                "timeline": [{"at": "2025-03-14T09:02:00+01:00", "event": "a"}, {"at": 600, "event": "b"}]}
    check_never_raises({INCIDENT: front_matter(incident)})


def test_field_names_come_from_the_schemas():
    # Guard for the strategies above: if the schemas were renamed, the examples would stop reaching them.
    assert {"action_items", "started_at", "severity", "due", "max_file_bytes", "escalation"} <= set(FIELD_NAMES)
