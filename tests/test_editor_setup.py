"""What `kb init` writes for editors and for dependency updates, and how `kb sync` keeps the schemas current."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml
from conftest import REPO, run_kb

from incidentkb import __version__
from incidentkb.authoring.editor_setup import MARKER

KINDS = ("incident", "runbook", "problem", "catalog", "policy")


@pytest.fixture
def new_kb(tmp_path):
    target = tmp_path / "acme-kb"
    result = run_kb("init", target, "--name", "Acme")
    assert result.code == 0, result.err
    return target


def test_init_writes_the_schemas_and_editors_find_them(new_kb):
    for kind in KINDS:
        schema = json.loads((new_kb / f".schemas/{kind}.schema.json").read_text())
        jsonschema.Draft7Validator.check_schema(schema)
        assert MARKER in schema["$comment"]
    settings = json.loads((new_kb / ".vscode/settings.json").read_text())
    assert settings["yaml.schemas"] == {".schemas/catalog.schema.json": "catalog.yml",
                                        ".schemas/policy.schema.json": "policy.yml"}
    for schema_file, target in settings["yaml.schemas"].items():
        assert (new_kb / schema_file).is_file() and (new_kb / target).is_file()
        # Other editors with yaml-language-server read the modeline on the first line.
        assert (new_kb / target).read_text().splitlines()[0] == f"# yaml-language-server: $schema={schema_file}"
    assert json.loads((new_kb / ".vscode/extensions.json").read_text())["recommendations"] == ["redhat.vscode-yaml"]


@pytest.mark.parametrize("kind", ["catalog", "policy"])
def test_the_starter_files_validate_against_their_schema(new_kb, kind):
    """An editor shows no false alarm on the files kb init wrote, and does flag a wrong value."""
    schema = json.loads((new_kb / f".schemas/{kind}.schema.json").read_text())
    data = yaml.safe_load((new_kb / f"{kind}.yml").read_text())
    jsonschema.validate(json.loads(json.dumps(data, default=str)), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "no_such_field_anywhere": 1} if kind == "policy" else {"teams": "not a list"},
                            schema)


def test_the_task_problem_matcher_reads_kb_check_output(new_kb):
    tasks = json.loads((new_kb / ".vscode/tasks.json").read_text())
    [task] = tasks["tasks"]
    pattern = task["problemMatcher"]["pattern"]
    line = ("incidents/2025/INC-2025-001-x.md:5:1: error unknown-severity: severity: 'SEV9' is not a known severity; "
            "expected one of: SEV1, SEV2")
    match = re.match(pattern["regexp"], line)
    assert match and match.group(pattern["file"]) == "incidents/2025/INC-2025-001-x.md"
    assert (match.group(pattern["line"]), match.group(pattern["severity"]), match.group(pattern["code"])) == \
        ("5", "error", "unknown-severity")


def test_sync_updates_the_schemas_when_the_policy_changes(new_kb):
    assert run_kb("sync", "--root", new_kb).code == 0  # the PR template and CODEOWNERS, which init leaves to sync
    assert run_kb("sync", "--root", new_kb, "--check").code == 0
    policy = new_kb / "policy.yml"
    policy.write_text(policy.read_text().replace("  - id: SEV1\n", "  - id: SEV0\n    name: Everything is down\n"
                                                 "    summary: The whole company is offline.\n  - id: SEV1\n", 1))
    assert "SEV0" in policy.read_text()
    stale = run_kb("sync", "--root", new_kb, "--check")
    assert stale.code == 1 and "stale: .schemas/incident.schema.json" in stale.out
    assert run_kb("sync", "--root", new_kb).code == 0
    assert "SEV0" in (new_kb / ".schemas/incident.schema.json").read_text()


def test_init_pins_incidentkb_for_dependabot(new_kb):
    assert (new_kb / "requirements.txt").read_text().splitlines()[-1] == f"incidentkb[site]=={__version__}"
    config = yaml.safe_load((new_kb / ".github/dependabot.yml").read_text())
    assert {u["package-ecosystem"] for u in config["updates"]} == {"pip", "github-actions"}
    for rel in ("Makefile", ".github/workflows/kb.yml", ".gitlab-ci.yml"):
        assert "pip install" in (new_kb / rel).read_text() and "-r requirements.txt" in (new_kb / rel).read_text(), rel


def test_the_repository_has_dependabot_for_pip_and_actions():
    config = yaml.safe_load((REPO / ".github/dependabot.yml").read_text())
    assert config["version"] == 2
    assert {(u["package-ecosystem"], u["directory"]) for u in config["updates"]} == {("pip", "/"), ("github-actions", "/")}
