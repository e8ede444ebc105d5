"""`kb check --format codequality` (GitLab) and `--format sarif` (GitHub code scanning), as CI runs them.

The SARIF output is validated against the official SARIF 2.1.0 JSON Schema (OASIS standard,
errata 01): tests/data/sarif-schema-2.1.0.json is an unmodified copy of
sarif-2.1/schema/sarif-schema-2.1.0.json from the OASIS TC's repository oasis-tcs/sarif-spec.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import minimal_incident, run_kb

from incidentkb.core.finding_formats import code_quality_report, fingerprints, sarif_log
from incidentkb.core.findings import ERROR, WARNING, Finding

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
BROKEN = minimal_incident(severity="SEV9", sumary="typo")  # an error (severity) and a warning (unknown field)
INCIDENT = "incidents/2025/INC-2025-001-x.md"


def validate_sarif(log: dict) -> None:
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)


def test_the_schema_copy_rejects_what_github_would_reject():
    """The validation is real: a result without a message, or a made-up level, is refused."""
    log = sarif_log([Finding(INCIDENT, 5, 1, ERROR, "unknown-severity", "bad", "fix it")])
    validate_sarif(log)
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(broken)
    del log["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(log)


def test_sarif_from_kb_check_is_valid_and_points_at_the_line(kb_root):
    root = kb_root({INCIDENT: BROKEN})
    result = run_kb("check", "--root", root, "--format", "sarif")
    assert result.code == 1  # the format does not change the verdict
    log = result.json
    validate_sarif(log)
    run = log["runs"][0]
    assert log["version"] == "2.1.0" and run["tool"]["driver"]["name"] == "kb check"
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["unknown-field", "unknown-severity"]
    by_rule = {result["ruleId"]: result for result in run["results"]}
    error = by_rule["unknown-severity"]
    assert error["level"] == "error" and rules[error["ruleIndex"]]["id"] == "unknown-severity"
    location = error["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == INCIDENT
    assert location["region"] == {"startLine": 5, "startColumn": 1}
    assert "SEV9" in error["message"]["text"] and "(hint: " in error["message"]["text"]
    assert by_rule["unknown-field"]["level"] == "warning"


def test_sarif_of_a_clean_knowledge_base_is_an_empty_run(kb_root):
    """CI uploads the file whatever happened: a clean check still writes a valid log (and exits 0)."""
    root = kb_root({INCIDENT: minimal_incident()})
    result = run_kb("check", "--root", root, "--format", "sarif")
    assert result.code == 0
    validate_sarif(result.json)
    assert result.json["runs"][0]["results"] == [] and result.json["runs"][0]["tool"]["driver"]["rules"] == []


def test_a_finding_about_a_whole_file_has_no_region():
    log = sarif_log([Finding("catalog.yml", 0, 0, WARNING, "empty-file", "catalog.yml is empty")])
    validate_sarif(log)
    assert "region" not in log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]


def test_codequality_from_kb_check_has_every_field_gitlab_requires(kb_root):
    root = kb_root({INCIDENT: BROKEN})
    result = run_kb("check", "--root", root, "--format", "codequality")
    assert result.code == 1
    issues = result.json
    assert len(issues) == 2
    for issue in issues:
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str) and issue["check_name"]
        assert len(issue["fingerprint"]) == 64
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert issue["location"]["path"] == INCIDENT and issue["location"]["lines"]["begin"] >= 1
    by_name = {issue["check_name"]: issue for issue in issues}
    assert by_name["unknown-severity"]["severity"] == "major" and by_name["unknown-field"]["severity"] == "minor"
    assert by_name["unknown-severity"]["location"]["lines"]["begin"] == 5
    assert len({issue["fingerprint"] for issue in issues}) == 2


def test_clean_codequality_report_is_an_empty_list(kb_root):
    root = kb_root({INCIDENT: minimal_incident()})
    result = run_kb("check", "--root", root, "--format", "codequality")
    assert result.code == 0 and result.json == []


def test_a_whole_file_finding_points_at_line_one_for_gitlab():
    [issue] = code_quality_report([Finding("catalog.yml", 0, 0, ERROR, "empty-file", "empty")])
    assert issue["location"] == {"path": "catalog.yml", "lines": {"begin": 1}}


def test_fingerprints_survive_a_line_shift_and_tell_repeats_apart():
    before = [Finding(INCIDENT, 5, 1, ERROR, "todo-left", "TODO text"), Finding(INCIDENT, 9, 1, ERROR, "todo-left", "TODO text")]
    after = [Finding(INCIDENT, 7, 1, ERROR, "todo-left", "TODO text"), Finding(INCIDENT, 11, 1, ERROR, "todo-left", "TODO text")]
    assert fingerprints(before) == fingerprints(after)
    assert len(set(fingerprints(before))) == 2
    other = [Finding("incidents/2025/INC-2025-002-y.md", 5, 1, ERROR, "todo-left", "TODO text")]
    assert fingerprints(other)[0] not in fingerprints(before)


def test_paths_are_from_the_repository_when_the_knowledge_base_is_in_a_subfolder(tmp_path, monkeypatch):
    root = tmp_path / "kb"
    (root / "incidents/2025").mkdir(parents=True)
    (root / INCIDENT).write_text(BROKEN, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    sarif = run_kb("check", "--root", "kb", "--format", "sarif").json
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris == {f"kb/{INCIDENT}"}
    quality = run_kb("check", "--root", "kb", "--format", "codequality").json
    assert {issue["location"]["path"] for issue in quality} == {f"kb/{INCIDENT}"}
