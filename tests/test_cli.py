"""`kb` as a user runs it: output formats, exit codes, `kb new`, usage errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, minimal_incident, run_kb

import incidentkb.cli
import incidentkb.cli.checking
import incidentkb.cli.common

BROKEN = minimal_incident(severity="SEV9", sumary="typo")


def test_clean_folder_with_only_incidents(kb_root):
    root = kb_root({"incidents/2025/INC-2025-001-checkout-errors.md": minimal_incident()})
    result = run_kb("check", "--root", root)
    assert result.code == 0, result.out + result.err
    assert result.out == ""
    assert "1 file checked: 0 errors, 0 warnings" in result.err


def test_text_format_names_file_line_and_hint(kb_root):
    root = kb_root({"incidents/2025/INC-2025-001-x.md": BROKEN})
    result = run_kb("check", "--root", root)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("incidents/2025/INC-2025-001-x.md:5:1: error unknown-severity: severity: 'SEV9'")
    assert lines[1].startswith("    hint: ")
    assert "warning unknown-field" in result.out


def test_json_format(kb_root):
    root = kb_root({"incidents/2025/INC-2025-001-x.md": BROKEN})
    result = run_kb("check", "--root", root, "--format", "json")
    assert result.code == 1
    problems = result.json
    assert {p["code"] for p in problems} == {"unknown-severity", "unknown-field"}
    assert set(problems[0]) == {"path", "line", "column", "level", "code", "message", "hint"}


def test_github_format_is_workflow_annotations(kb_root):
    root = kb_root({"incidents/2025/INC-2025-001-x.md": BROKEN})
    result = run_kb("check", "--root", root, "--format", "github")
    first = result.out.splitlines()[0]
    assert first.startswith("::error file=incidents/2025/INC-2025-001-x.md,line=5,col=1,title=unknown-severity::")


def test_warnings_fail_only_with_strict(kb_root):
    root = kb_root({"incidents/2025/INC-2025-001-x.md": minimal_incident(sumary="typo")})
    assert run_kb("check", "--root", root).code == 0
    assert run_kb("check", "--root", root, "--strict").code == 1


@pytest.mark.parametrize("args, message", [
    (["check", "--format", "xml"], "'xml' is not one of"),
    (["check", "--root", "/no/such/folder"], "no such folder"),
    (["check", "--today", "tomorrow"], "expected a date YYYY-MM-DD"),
    (["no-such-command"], "No such command"),
])
def test_usage_errors_exit_2_without_traceback(args, message):
    result = run_kb(*args)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err + result.out


def test_internal_error_has_no_traceback(kb_root, monkeypatch):
    root = kb_root({"incidents/2025/INC-2025-001-x.md": minimal_incident()})

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(incidentkb.cli.checking, "load", explode)
    result = run_kb("check", "--root", root)
    assert result.code == 3
    assert "internal error: RuntimeError: boom" in result.err and "Traceback" not in result.err


def test_new_incident_takes_the_next_free_id_and_passes_check_once_filled_in(kb_root):
    root = kb_root({"incidents/2025/INC-2025-007-old.md": minimal_incident("INC-2025-007")})
    result = run_kb("new", "incident", "--root", root, "--title", "Checkout: 502 errors", "--severity", "SEV2",
                    "--service", "checkout", "--started-at", "2025-06-01T10:00+02:00")
    assert result.code == 0, result.err
    path = "incidents/2025/INC-2025-008-checkout-502-errors.md"
    assert result.out.strip() == path
    text = (root / path).read_text()
    assert 'title: "Checkout: 502 errors"' in text
    check = run_kb("check", "--root", root, "--format", "json")
    assert check.code == 0 and {p["level"] for p in check.json} == {"warning"}  # TODOs left to fill in
    filled = (text.replace("TODO: one paragraph: what happened, the impact, and what fixed it.", "Checkout failed.")
              .replace("TODO", "Done").replace("  alert:                # the alert's name when method is alert",
                                                   "  alert: CheckoutErrors"))
    (root / path).write_text(filled)
    strict = run_kb("check", "--root", root, "--strict")
    assert strict.code == 0, strict.out


def test_new_never_overwrites(kb_root):
    original = minimal_incident("INC-2025-001")
    root = kb_root({"incidents/2025/INC-2025-001-checkout-errors.md": original})
    result = run_kb("new", "incident", "--root", root, "--id", "INC-2025-001", "--title", "Checkout errors",
                    "--severity", "SEV3", "--service", "checkout", "--started-at", "2025-03-14T09:02+01:00")
    assert result.code == 2 and "already exists; nothing was written" in result.err
    assert (root / "incidents/2025/INC-2025-001-checkout-errors.md").read_text() == original
    assert [p.name for p in (root / "incidents/2025").iterdir()] == ["INC-2025-001-checkout-errors.md"]


def test_new_without_terminal_names_missing_flags(kb_root):
    result = run_kb("new", "incident", "--root", kb_root(), "--title", "x")
    assert result.code == 2 and "missing --severity, --service" in result.err


def test_new_prompts_on_a_terminal(kb_root, monkeypatch):
    monkeypatch.setattr(incidentkb.cli.common, "interactive", lambda: True)
    root = kb_root()
    result = run_kb("new", "incident", "--root", root, "--started-at", "2026-01-05T08:00Z",
                    input="Search is down\nSEV1\ncatalog-search\n")
    assert result.code == 0, result.err
    assert (root / "incidents/2026/INC-2026-001-search-is-down.md").is_file()


def test_new_rejects_unknown_service_with_suggestion(kb_root):
    from test_check import CATALOG

    root = kb_root({"catalog.yml": CATALOG})
    result = run_kb("new", "incident", "--root", root, "--title", "x", "--severity", "SEV3", "--service", "chekout")
    assert result.code == 2 and "did you mean 'checkout'?" in result.err


def test_new_runbook(kb_root):
    from test_check import CATALOG

    root = kb_root({"catalog.yml": CATALOG})
    result = run_kb("new", "runbook", "--root", root, "--title", "Payment errors", "--service", "payments-api",
                    "--owner", "team-payments", "--alert", "PaymentErrorsHigh")
    assert result.code == 0, result.err
    assert result.out.strip() == "runbooks/payments-api/payment-errors.md"
    check = run_kb("check", "--root", root, "--format", "json")
    assert check.code == 0 and {p["code"] for p in check.json} == {"placeholder"}


def test_schema_command_writes_json_schema_files(tmp_path):
    result = run_kb("schema", "--out", tmp_path / "schemas")
    assert result.code == 0
    incident = json.loads((tmp_path / "schemas/incident.schema.json").read_text())
    assert incident["properties"]["severity"]["enum"] == ["SEV1", "SEV2", "SEV3", "SEV4"]


def test_python_dash_m_and_version():
    result = subprocess.run([sys.executable, "-m", "incidentkb", "--version"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0 and result.stdout.startswith("kb, version ")


def all_commands():
    import click

    from incidentkb.cli import cli

    def walk(command, path):
        if isinstance(command, click.Group):
            for name, sub in sorted(command.commands.items()):
                yield from walk(sub, path + [name])
        else:
            yield " ".join(path), command

    return list(walk(cli, []))


@pytest.mark.parametrize("name, command", all_commands(), ids=[name for name, _ in all_commands()])
def test_every_command_has_help_and_is_documented(name, command):
    import click

    assert (command.help or "").strip(), f"kb {name} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), f"kb {name} {param.opts[0]} has no help text"
    page = (REPO / "docs/guide/commands.md").read_text()
    sections = dict(re.findall(r"^## kb (.+?)\n(.*?)(?=^## |\Z)", page, re.S | re.M))
    assert name in sections, f"kb {name} is not documented in docs/guide/commands.md"
    for param in command.params:
        label = param.opts[0] if isinstance(param, click.Option) else param.name.upper()
        assert label in sections[name], f"kb {name}: {label} is not documented"


@pytest.mark.parametrize("shell, expected", [("bash", "complete -o nosort -F _kb_completion kb"),
                                              ("zsh", "#compdef kb"), ("fish", "complete --no-files --command kb")])
def test_shell_completion_script_is_produced(shell, expected):
    """docs/guide/commands.md: `_KB_COMPLETE=bash_source kb` prints a script that completes the real commands."""
    kb = Path(sys.executable).parent / "kb"
    script = subprocess.run([str(kb)], env={"_KB_COMPLETE": f"{shell}_source", "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True)
    assert script.returncode == 0 and expected in script.stdout, script.stderr
    assert f"_KB_COMPLETE={shell}_source kb" in (REPO / "docs/guide/commands.md").read_text()


def test_completion_offers_commands_and_format_choices():
    kb = Path(sys.executable).parent / "kb"

    def complete(words: str) -> list[str]:
        env = {"_KB_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1),
               "PATH": "/usr/bin:/bin"}
        out = subprocess.run([str(kb)], env=env, capture_output=True, text=True).stdout
        return [line.split(",", 1)[1] for line in out.splitlines()]

    assert complete("kb ch") == ["check"]
    assert set(complete("kb check --format ")) == {"text", "json", "github", "codequality", "sarif"}
