"""`kb alerts` runs Prometheus' `promtool check rules` too, when it is installed (promtool.py)."""

from __future__ import annotations

import shutil
import textwrap

import pytest
from conftest import IN_CI, REPO, run_kb

from incidentkb.checks.promtool import is_plain_rule_file, parse_output

BROKEN_RULES = """\
groups:
  - name: checkout
    rules:
      - alert: CheckoutLatencyHigh
        expr: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])) > 2
        for: 5m
        annotations:
          summary: "p99 above 2 s"
      - alert: CheckoutErrors
        expr: up == 0
        annotations:
          summary: "{{ $value | nosuchfunction }}"
"""


@pytest.fixture
def promtool():
    path = shutil.which("promtool")
    if path is None:
        if IN_CI:
            pytest.fail("CI=true but promtool is missing: .ci/run should have installed it (apt-get install prometheus)")
        pytest.skip("promtool is not installed: apt-get install prometheus")
    return path


def test_broken_rules_are_findings_at_their_lines(promtool, tmp_path, monkeypatch):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules/checkout.yml").write_text(BROKEN_RULES)
    monkeypatch.chdir(tmp_path)
    result = run_kb("alerts", "rules", "--root", REPO, "--min-coverage", "0", "--format", "json")
    assert result.code == 1, result.out  # promtool's problems are errors: Prometheus would refuse the file
    found = [f for f in result.json["findings"] if f["code"] == "promtool"]
    assert [(f["path"], f["line"]) for f in found] == [("rules/checkout.yml", 5), ("rules/checkout.yml", 9)]
    assert "could not parse expression" in found[0]["message"]
    assert 'function "nosuchfunction" not defined' in found[1]["message"]  # no line from promtool: the rule's
    assert result.json["promtool"]["installed"] and result.json["promtool"]["checked"] == ["rules/checkout.yml"]


def test_the_sample_rules_pass_promtool(promtool):
    result = run_kb("alerts", "--root", REPO)
    assert result.code == 0, result.out
    assert "promtool checked 1 rule file(s): no problems" in result.out


def test_text_output_names_the_file_and_line(promtool, tmp_path):
    (tmp_path / "checkout.yml").write_text(BROKEN_RULES)
    result = run_kb("alerts", tmp_path / "checkout.yml", "--root", REPO, "--min-coverage", "0")
    assert f"{tmp_path}/checkout.yml:5:" in result.out and "error promtool:" in result.out
    assert "promtool checked 1 rule file(s): 2 problem(s)" in result.out


def test_a_manifest_is_left_to_our_reader(promtool, tmp_path):
    (tmp_path / "rule.yaml").write_text(textwrap.dedent("""\
        apiVersion: monitoring.coreos.com/v1
        kind: PrometheusRule
        metadata: {name: checkout}
        spec:
          groups:
            - name: checkout
              rules:
                - alert: CheckoutDown
                  expr: up == 0
        """))
    result = run_kb("alerts", tmp_path, "--root", REPO, "--min-coverage", "0", "--format", "json")
    assert not [f for f in result.json["findings"] if f["code"].startswith("promtool")]
    assert result.json["promtool"]["left_out"] == [f"{tmp_path}/rule.yaml"]


def test_without_promtool_a_note_says_what_was_not_checked(tmp_path):
    result = run_kb("alerts", "--root", REPO, env={"PATH": str(tmp_path), "KB_PROMTOOL": ""})
    assert result.code == 0, result.out
    assert "promtool is not installed: PromQL expressions and templates were not checked" in result.out
    assert "apt-get install prometheus" in result.out
    quiet = run_kb("alerts", "--root", REPO, "--no-promtool", env={"PATH": str(tmp_path), "KB_PROMTOOL": ""})
    assert "promtool" not in quiet.out


def test_a_wrong_kb_promtool_is_an_error_not_a_silent_skip(tmp_path):
    result = run_kb("alerts", "--root", REPO, "--format", "json", env={"KB_PROMTOOL": str(tmp_path / "nothing")})
    assert result.code == 1
    [finding] = [f for f in result.json["findings"] if f["code"] == "promtool-failed"]
    assert str(tmp_path / "nothing") in finding["message"]


# ------------------------------------------------------------------ promtool 2.42's output, parsed


def test_parse_the_three_shapes_of_message():
    stderr = textwrap.dedent("""\
          FAILED:
        r.yml: 6:5: groupname: "a" is repeated in the same file
        r.yml: 9:15: group "a", rule 1, "B": could not parse expression: 1:6: parse error: unclosed left parenthesis
        """)
    found = parse_output(stderr, "rules/r.yml", "r.yml")
    assert [(f.path, f.line, f.column) for f in found] == [("rules/r.yml", 6, 5), ("rules/r.yml", 9, 15)]
    yaml_errors = parse_output("  FAILED:\nr.yml: yaml: unmarshal errors:\n  line 6: field unknownkey not found in "
                               "type rulefmt.RuleNode\n  line 9: field other not found\n", "r.yml", "r.yml")
    assert [(f.line, f.message.split(": ", 1)[1]) for f in yaml_errors] == [
        (6, "field unknownkey not found in type rulefmt.RuleNode"), (9, "field other not found")]
    plain = parse_output('  FAILED:\nr.yml: group "g", rule 2, "Y": annotation "summary": template error\n',
                         "r.yml", "r.yml", rule_lines={("r.yml", "g", "Y"): 14})
    assert [(f.line, f.level) for f in plain] == [(14, "error")]


def test_lint_is_a_warning():
    stderr = "  FAILED:\nlint error 1 duplicate rule(s) found.\nMetric: job:up\nLabel(s):\n"
    [finding] = parse_output(stderr, "r.yml", "r.yml")
    assert finding.level == "warning" and finding.code == "promtool-lint" and "job:up" in finding.message


@pytest.mark.parametrize("text, plain", [
    ("groups:\n  - name: a\n    rules: []\n", True),
    ("# comment\n---\ngroups: []\n", True),
    ("apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nspec:\n  groups: []\n", False),
    ("groups: []\n---\ngroups: []\n", False),
    ("rules: []\n", False),
])
def test_which_files_are_promtools_format(text, plain):
    assert is_plain_rule_file(text) is plain
