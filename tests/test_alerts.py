"""Alerting rules → runbooks: reading rule files, coverage, `kb alerts`, the alert pages, the real corpus."""

from __future__ import annotations

import glob
import re
import textwrap
from datetime import date
from pathlib import Path

import pytest
import yaml
from conftest import REPO, corpus_dir, minimal_incident, run_kb

from incidentkb.analysis.alert_coverage import coverage, url_matcher
from incidentkb.analysis.alert_rules import MAX_RULE_FILE_BYTES, parse_rules, read_rules, split_documents
from incidentkb.records.load import load

CATALOG = """\
teams:
  - {id: team-a, name: Team A}
services:
  - {id: checkout, name: Checkout, owner: team-a, tier: 1, escalation: checkout on-call via the pager}
  - {id: search, name: Search, owner: team-a, tier: 2, escalation: search on-call}
"""


def runbook(runbook_id: str, alerts: list[str], service: str = "checkout") -> str:
    return f"""\
---
id: {runbook_id}
title: {runbook_id.replace("-", " ").capitalize()}
services: [{service}]
alerts: [{", ".join(alerts)}]
owner: team-a
last_reviewed: 2026-10-01
---

## Symptoms
x
## Impact
x
## Diagnosis
x
## Mitigation
x
## Escalation
x
"""


RULES = """\
groups:
  - name: checkout
    rules:
      - alert: CheckoutLatencyHigh
        expr: latency > 2
        for: 5m
        labels: {severity: critical}
        annotations:
          summary: Checkout is slow
          runbook_url: https://kb.example.com/runbooks/alerts/checkoutlatencyhigh/
      - record: job:latency:p95
        expr: histogram_quantile(0.95, x)
      - alert: CheckoutErrorsHigh
        expr: errors > 1
        labels: {severity: warning}
        annotations:
          runbook_url: https://kb.example.com/runbooks/alerts/checkouterrorshigh/
  - name: search
    rules:
      - alert: SearchDown
        expr: up == 0
        labels: {severity: critical, service: search}
"""

PATTERN = "https://kb.example.com/runbooks/alerts/{alert_lower}/"


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def kb_with_rules(kb_root):
    return kb_root({
        "catalog.yml": CATALOG,
        "runbooks/checkout/checkout-latency.md": runbook("checkout-latency", ["CheckoutLatencyHigh"]),
        "runbooks/checkout/old-alert.md": runbook("old-alert", ["CheckoutGone"]),
        "monitoring/rules.yml": RULES,
        "incidents/2025/INC-2025-001-x.md": minimal_incident(
            "INC-2025-001", detection="{method: alert, alert: CheckoutLatencyHigh}"),
    })


# ------------------------------------------------------------------------- reading rule files


def test_plain_rule_file_alerts_and_recording_rules():
    rules = parse_rules(RULES, "rules.yml")
    assert [(r.name, r.group, r.line, r.severity) for r in rules.alerts] == [
        ("CheckoutLatencyHigh", "checkout", 4, "critical"),
        ("CheckoutErrorsHigh", "checkout", 13, "warning"),
        ("SearchDown", "search", 20, "critical"),
    ]
    assert rules.recording == 1
    assert rules.alerts[0].summary == "Checkout is slow" and rules.alerts[0].duration == "5m"
    assert rules.alerts[2].service == "search"
    assert rules.findings == []


MULTI = """\
# kube manifests
apiVersion: v1
kind: ConfigMap
metadata: {name: x}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: a}
spec:
  groups:
    - name: one
      rules:
        - alert: First
          expr: vector(1)
---
this: [is, broken
---
kind: List
items:
  - kind: PrometheusRule
    spec:
      groups:
        - name: two
          rules:
            - alert: Second
              expr: vector(1)
            - expr: vector(1)
              labels: {severity: critical}
  - kind: Service
    metadata: {name: svc}
...
--- {groups: [{name: three, rules: [{alert: Third, expr: x}]}]}
"""


def test_several_documents_with_line_numbers_and_clear_messages():
    rules = parse_rules(MULTI, "m.yaml")
    assert [(r.name, r.group, r.line) for r in rules.alerts] == [("First", "one", 13), ("Second", "two", 25),
                                                               ("Third", "three", 32)]
    problems = [(f.line, f.level, f.code) for f in rules.findings]
    assert problems == [
        (3, "warning", "unknown-kind"),     # the ConfigMap: named with its kind and line
        (16, "error", "yaml-syntax"),       # the broken document; the documents after it are still read
        (27, "error", "rule-no-name"),      # a rule with neither alert: nor record:
        (29, "warning", "unknown-kind"),    # the Service inside the List
    ]
    messages = {f.code: f.message for f in rules.findings}
    assert "'ConfigMap'" in messages["unknown-kind"] or "'Service'" in messages["unknown-kind"]
    assert "this document was skipped" in messages["yaml-syntax"]
    assert "neither `alert:` nor `record:`" in messages["rule-no-name"]


def test_document_markers_split_like_yaml():
    text = "%YAML 1.1\n---\na: 1\n...\n# only a comment\n--- |\n  block\n---\n---\nb: [2]\n"
    documents = split_documents(text)
    assert [(offset, yaml.safe_load(doc)) for offset, doc in documents] == [(0, {"a": 1}), (5, "block\n"),
                                                                            (8, {"b": [2]})]
    # The same documents as PyYAML's own multi-document loader sees them.
    assert [yaml.safe_load(doc) for _, doc in documents] == [d for d in yaml.safe_load_all(text) if d is not None]


@pytest.mark.parametrize("text, code, level", [
    ("groups: {name: x}\n", "rule-groups-invalid", "error"),
    ("groups:\n  - rules:\n      - alert: A\n        expr: x\n", "rule-group-no-name", "warning"),
    ("groups:\n  - name: g\n    rules:\n      - alert: ''\n        expr: x\n", "rule-no-name", "error"),
    ("groups:\n  - name: g\n    rules:\n      - alert: A\n        record: b\n", "rule-invalid", "error"),
    ("groups:\n  - name: g\n    rules:\n      - alert: Bad Name\n        expr: x\n", "alert-name-invalid", "warning"),
    ("groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n", "rule-group-duplicate", "warning"),
    ("groups:\n  - name: g\n    rules:\n      - alert: A\n        alert: B\n", "duplicate-key", "warning"),
    ("kind: PrometheusRule\nspec: {}\n", "rule-manifest-invalid", "error"),
    ("- just\n- a list\n", "not-a-rule-file", "warning"),
    ("title: Not rules\n", "not-a-rule-file", "warning"),
    ("groups:\n  - name: g\n    rules:\n      - !!python/object:os.system {alert: A}\n", "yaml-tag", "error"),
])
def test_malformed_rules_get_clear_findings(text, code, level):
    findings = parse_rules(text, "r.yml").findings
    assert [(f.code, f.level) for f in findings] == [(code, level)], findings
    assert findings[0].line >= 1 and findings[0].hint


def test_alias_bomb_is_refused_and_the_next_document_read():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8))
    rules = parse_rules(bomb + "---\ngroups: [{name: g, rules: [{alert: Survivor, expr: x}]}]\n", "bomb.yml")
    assert [f.code for f in rules.findings] == ["yaml-too-large"]
    assert [r.name for r in rules.alerts] == ["Survivor"]
    assert rules.alerts[0].line == 11


def test_huge_and_unreadable_files_are_skipped_and_the_rest_read(tmp_path):
    write(tmp_path, "rules/a.yml", RULES)
    (tmp_path / "rules/huge.yml").write_text("#" * 3000, encoding="utf-8")
    (tmp_path / "rules/latin1.yaml").write_bytes(b"groups: [{name: caf\xe9}]\n")
    (tmp_path / "rules/.hidden.yml").write_text("not read", encoding="utf-8")
    (tmp_path / "rules/notes.txt").write_text("not read", encoding="utf-8")
    rules = read_rules(["rules"], base=tmp_path, max_bytes=2000)
    assert rules.files == ["rules/a.yml", "rules/huge.yml", "rules/latin1.yaml"]
    assert rules.skipped == ["rules/huge.yml", "rules/latin1.yaml"]
    assert [(f.path, f.code) for f in rules.findings] == [("rules/huge.yml", "file-too-large"),
                                                          ("rules/latin1.yaml", "not-utf8")]
    assert "3,000 bytes" in rules.findings[0].message and "2,000" in rules.findings[0].message
    assert [r.name for r in rules.alerts] == ["CheckoutLatencyHigh", "CheckoutErrorsHigh", "SearchDown"]


def test_missing_path_is_a_finding(tmp_path):
    write(tmp_path, "a.yml", RULES)
    rules = read_rules(["missing.yml", "a.yml"], base=tmp_path)
    assert [(f.path, f.code) for f in rules.findings] == [("missing.yml", "rules-not-found")]
    assert len(rules.alerts) == 3


# ------------------------------------------------------------------------- URLs and coverage


@pytest.mark.parametrize("url, alert, service", [
    ("https://kb.example.com/runbooks/alerts/kubepodcrashlooping/", "kubepodcrashlooping", None),
    ("https://KB.example.com/runbooks/alerts/KubePodCrashLooping", "KubePodCrashLooping", None),
    ("https://kb.example.com/runbooks/alerts/x/?from=alertmanager#mitigation", "x", None),
])
def test_url_matcher(url, alert, service):
    match = url_matcher(PATTERN).fullmatch(url)
    assert match and match.group("alert") == alert


def test_url_matcher_with_service_and_no_match():
    matcher = url_matcher("https://runbooks.example.dev/runbooks/{component}/{alert_lower}")
    match = matcher.fullmatch("https://runbooks.example.dev/runbooks/node/nodeclockskewdetected")
    assert match.group("service") == "node" and match.group("alert") == "nodeclockskewdetected"
    assert matcher.fullmatch("https://elsewhere.example/runbooks/node/x") is None
    assert url_matcher(PATTERN).fullmatch("https://kb.example.com/runbooks/alerts/a/b/") is None


def test_coverage_of_a_small_knowledge_base(kb_with_rules):
    kb, _ = load(kb_with_rules)
    rules = read_rules(["monitoring/"], base=kb_with_rules)
    cov = coverage(kb, rules, PATTERN)
    assert (cov.total, cov.covered) == (3, 1)
    assert [a.name for a in cov.uncovered] == ["CheckoutErrorsHigh", "SearchDown"]
    assert [(p.rule.name, p.kind) for p in cov.url_problems] == [("CheckoutErrorsHigh", "unresolved"),
                                                               ("SearchDown", "missing")]
    assert [(name, [rb.id for rb in rbs]) for name, rbs in cov.undefined] == [("CheckoutGone", ["old-alert"])]
    assert [(s.name, s.file, s.total, s.covered) for s in cov.by_group] == [
        ("checkout", "monitoring/rules.yml", 2, 1), ("search", "monitoring/rules.yml", 1, 0)]
    # The group name is a catalog service; SearchDown's `service` label wins over its group.
    assert [(s.name, s.total, s.covered) for s in cov.by_service] == [("checkout", 2, 1), ("search", 1, 0)]
    codes = sorted((f.code, f.path) for f in cov.findings)
    assert codes == [("alert-no-runbook", "monitoring/rules.yml"), ("alert-no-runbook", "monitoring/rules.yml"),
                     ("runbook-alert-undefined", "runbooks/checkout/old-alert.md"),
                     ("runbook-url-missing", "monitoring/rules.yml")]
    undefined = next(f for f in cov.findings if f.code == "runbook-alert-undefined")
    assert undefined.line == 5  # the `alerts:` line of the runbook


def test_case_insensitive_match_warns_and_other_alert_urls(kb_root):
    root = kb_root({
        "catalog.yml": CATALOG,
        "runbooks/checkout/a.md": runbook("a", ["checkoutLatencyHigh"]),
        "runbooks/checkout/b.md": runbook("b", ["CheckoutDown"]),
        "rules.yml": """\
            groups:
              - name: g
                rules:
                  - alert: CheckoutLatencyHigh
                    expr: x
                    annotations: {runbook_url: "https://kb.example.com/runbooks/alerts/checkoutlatencyhigh"}
                  - alert: CheckoutErrors
                    expr: x
                    annotations: {runbook_url: "https://kb.example.com/runbooks/alerts/checkoutdown/"}
                  - alert: CheckoutSlow
                    expr: x
                    annotations: {runbook_url: "https://wiki.example.com/Checkout+slow"}
                  - alert: CheckoutOdd
                    expr: x
                    annotations: {runbook_url: "https://kb.example.com/runbooks/alerts/{{ $labels.alertname }}/"}
            """,
    })
    kb, _ = load(root)
    cov = coverage(kb, read_rules(["rules.yml"], base=root), PATTERN)
    assert [a.name for a in cov.alerts if a.covered] == ["CheckoutLatencyHigh"]
    kinds = {p.rule.name: p.kind for p in cov.url_problems}
    assert kinds == {"CheckoutErrors": "other-alert", "CheckoutSlow": "elsewhere", "CheckoutOdd": "templated"}
    codes = {f.code for f in cov.findings}
    assert {"alert-name-case", "runbook-url-other-alert", "runbook-url-elsewhere", "runbook-url-templated"} <= codes
    elsewhere = next(f for f in cov.findings if f.code == "runbook-url-elsewhere")
    assert "https://kb.example.com/runbooks/alerts/checkoutslow/" in elsewhere.message


# ------------------------------------------------------------------------- kb alerts


def test_kb_alerts_on_the_sample_knowledge_base_has_full_coverage():
    result = run_kb("alerts", "--root", REPO, "--json")
    assert result.code == 0, result.out + result.err
    report = result.json
    assert report["alerts"] == report["covered"] == report["alerting_rules"] == 35
    assert report["coverage"] == 1.0 and report["min_coverage"] == 1.0
    assert report["uncovered"] == [] and report["unresolved_urls"] == [] and report["undefined_alerts"] == []
    assert report["findings"] == []
    assert report["url_pattern"] == "https://kb.tidewater.example/runbooks/alerts/{alert_lower}/"
    # One group per service; every group maps to the catalog service of the same name.
    assert sorted(s["service"] for s in report["by_service"]) == sorted(g["name"] for g in report["by_group"])


def test_sample_runbook_urls_are_the_alert_pages():
    """Independent of alerts.py: every runbook_url is the lower-cased alert page and a runbook lists the alert."""
    data = yaml.safe_load((REPO / "monitoring/prometheus-rules.yml").read_text(encoding="utf-8"))
    listed = set()
    for path in (REPO / "runbooks").rglob("*.md"):
        meta = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])
        listed |= set(meta.get("alerts") or [])
    for group in data["groups"]:
        for rule in group["rules"]:
            assert rule["annotations"]["runbook_url"] == \
                f"https://kb.tidewater.example/runbooks/alerts/{rule['alert'].lower()}/"
            assert rule["alert"] in listed


def test_exit_codes_threshold_usage_and_strict(kb_with_rules):
    root = kb_with_rules
    assert run_kb("alerts", "--root", root, "--url-pattern", PATTERN).code == 0  # no threshold set
    below = run_kb("alerts", "--root", root, "--url-pattern", PATTERN, "--min-coverage", "0.5")
    assert below.code == 1 and "1 of 3 alerts have a runbook (33.3%); below the minimum 50%" in below.out
    write(root, "policy.yml", "alerts:\n  min_coverage: 0.3\n  runbook_url: " + PATTERN + "\n")
    assert run_kb("alerts", "--root", root).code == 0
    assert run_kb("alerts", "--root", root, "--strict").code == 1
    write(root, "policy.yml", "alerts:\n  min_coverage: 0.5\n")
    result = run_kb("alerts", "--root", root, "--format", "github")
    assert result.code == 1
    assert result.out.splitlines()[-1] == ("::error title=alert coverage::1 of 3 alerts have a runbook (33.3%); "
                                           "below the minimum 50% (policy.yml)")
    assert "::warning file=monitoring/rules.yml,line=13,title=alert-no-runbook::" in result.out
    missing = run_kb("alerts", "--root", root, "nope.yml")
    assert missing.code == 2 and "nope.yml: no such rule file or folder" in missing.err
    bad = run_kb("alerts", "--root", root, "--url-pattern", "https://kb.example.com/{name}/")
    assert bad.code == 2 and "{alert}" in bad.err


def test_malformed_file_is_reported_and_the_rest_counted(kb_with_rules, tmp_path):
    root = kb_with_rules
    write(root, "monitoring/broken.yaml", "groups:\n  - name: x\n    rules: [\n")
    (root / "monitoring/huge.yml").write_text("#" * (MAX_RULE_FILE_BYTES + 1), encoding="utf-8")
    result = run_kb("alerts", "--root", root, "--url-pattern", PATTERN, "--json")
    assert result.code == 1  # a rule file could not be read: the figure is incomplete
    report = result.json
    assert report["alerts"] == 3 and report["rule_files_skipped"] == ["monitoring/huge.yml"]
    errors = {(f["path"], f["code"]) for f in report["findings"] if f["level"] == "error"}
    assert errors == {("monitoring/broken.yaml", "yaml-syntax"), ("monitoring/huge.yml", "file-too-large")}


def test_policy_section_is_validated(kb_root):
    root = kb_root({"policy.yml": "alerts:\n  min_coverage: 90\n  runbook_url: https://kb.example.com/x/\n"})
    result = run_kb("check", "--root", root)
    assert "90 is above 1" in result.out and "Write a fraction: 0.9 for 90%" in result.out
    assert "is not a runbook URL pattern" in result.out
    assert run_kb("alerts", "--root", root, "x.yml").code == 2


def test_default_url_pattern_from_mkdocs_site_url(kb_with_rules):
    root = kb_with_rules
    write(root, "mkdocs.yml", "site_name: x\nsite_url: https://kb.example.com/\nplugins:\n  - incidentkb\n"
                              "markdown_extensions:\n  - pymdownx.emoji:\n      emoji_index: !!python/name:x.y\n")
    report = run_kb("alerts", "--root", root, "--json").json
    assert report["url_pattern"] == PATTERN
    assert report["unresolved_urls"][0]["alert"] == "CheckoutErrorsHigh"
    assert run_kb("alerts", "--root", root, "--base-url", "https://other.example/kb", "--json").json[
        "url_pattern"] == "https://other.example/kb/runbooks/alerts/{alert_lower}/"


# ------------------------------------------------------------------------- site pages


def render_pages(root: Path, only_alerts: bool = False) -> dict[str, str]:
    from incidentkb.site.renderer import Renderer, RenderOptions
    from incidentkb.site.sections import render_site
    from incidentkb.site.sections.alerts import pages as alert_pages

    kb, _ = load(root)
    options = RenderOptions(today=date(2026, 11, 28), site_url="https://kb.example.com/")
    pages = alert_pages(Renderer(kb, options)) if only_alerts else render_site(kb, options)[0]
    return {p.path: p.markdown for p in pages}


def test_alert_pages_and_the_no_runbook_page(kb_with_rules):
    root = kb_with_rules
    write(root, "policy.yml", (REPO / "policy.yml").read_text(encoding="utf-8").replace(
        "rules: [monitoring/]", "rules: [monitoring/rules.yml]").replace(
        "https://kb.tidewater.example/", "https://kb.example.com/"))
    pages = render_pages(root)
    alert_paths = sorted(p for p in pages if p.startswith("runbooks/alerts/"))
    assert alert_paths == ["runbooks/alerts/checkouterrorshigh.md", "runbooks/alerts/checkoutgone.md",
                           "runbooks/alerts/checkoutlatencyhigh.md", "runbooks/alerts/index.md",
                           "runbooks/alerts/searchdown.md"]
    covered = pages["runbooks/alerts/checkoutlatencyhigh.md"]
    assert 'class="md-button md-button--primary kb-runbook-link" href="../../checkout/checkout-latency/"' in covered
    assert "INC-2025-001" in covered and "latency &gt; 2" in covered
    missing = pages["runbooks/alerts/searchdown.md"]
    assert "No runbook yet" in missing
    assert "kb new runbook --alert SearchDown --service search --owner team-a" in missing
    assert 'href="../../../policy/checklists/#new-runbook-checklist"' in missing
    assert "search on-call" in missing  # the escalation of the service, for whoever is paged now
    coverage_page = pages["runbooks/alerts/index.md"]
    assert "1 of 3 alerts" in coverage_page
    assert '<a href="searchdown/"><code>SearchDown</code></a>' in coverage_page
    incident = next(v for k, v in pages.items() if k.startswith("incidents/2025/INC-2025-001"))
    assert '<a class="kb-alert-link" href="../../../runbooks/alerts/checkoutlatencyhigh/">' in incident


def test_names_differing_in_case_share_a_page_and_odd_names_get_none(kb_root):
    root = kb_root({
        "catalog.yml": CATALOG,
        "runbooks/checkout/a.md": runbook("a", ["DiskFull"]),
        "runbooks/checkout/b.md": runbook("b", ["diskfull"]),
        "incidents/2025/INC-2025-001-x.md": minimal_incident(
            "INC-2025-001", detection='{method: alert, alert: "Pingdom / checkout #3"}'),
        "incidents/2025/INC-2025-002-x.md": minimal_incident(
            "INC-2025-002", detection="{method: alert, alert: DISKFULL}"),
    })
    pages = render_pages(root)
    assert sorted(p for p in pages if p.startswith("runbooks/alerts/")) == ["runbooks/alerts/diskfull.md",
                                                                          "runbooks/alerts/index.md"]
    shared = pages["runbooks/alerts/diskfull.md"]
    assert shared.startswith("# DISKFULL / DiskFull / diskfull")
    assert "2 runbooks answer this alert" in shared and "INC-2025-002" in shared
    odd = next(v for k, v in pages.items() if k.startswith("incidents/2025/INC-2025-001"))
    assert "<code>Pingdom / checkout #3</code>" in odd and "kb-alert-link" not in odd


def test_site_without_rule_files_lists_the_alerts_runbooks_name(kb_root):
    root = kb_root({"catalog.yml": CATALOG, "runbooks/checkout/a.md": runbook("a", ["DiskFull"])})
    pages = render_pages(root)
    assert "No alerting rules were read" in pages["runbooks/alerts/index.md"]
    assert "runbooks/alerts/diskfull.md" in pages


# ------------------------------------------------------------------------- the real corpus

RUNBOOK_SITE = "https://runbooks.prometheus-operator.dev/runbooks/{component}/{alert_lower}"

# Verified by hand on 2026-11 with the independent computation in the test below (PyYAML's
# safe_load_all over the manifests, runbook file names from the corpus) and by reading the
# kube-prometheus manifests: 139 alerting rules define 125 distinct alerts (12 alerts have a
# warning and a critical rule, KubeAPIErrorBudgetBurn four); the 2024 runbooks predate 26 of
# them, and the 27 rules of those 26 alerts carry runbook_url values leading nowhere.
REAL_UNCOVERED = [
    "AlertmanagerClusterFailedPeers", "GrafanaRequestsFailing", "KubeAPIInstanceUnreachable",
    "KubeControllerManagerInstanceUnreachable", "KubeDeploymentRolloutStuck", "KubeJobNotCompleted",
    "KubeletInstanceUnreachable", "KubeNodeEviction", "KubeNodePressure", "KubePdbNotEnoughHealthyPods",
    "KubePersistentVolumeInodesFillingUp", "KubeSchedulerInstanceUnreachable", "NodeBondingDegraded",
    "NodeCPUHighUsage", "NodeDiskIOSaturation", "NodeMemoryHighUtilization", "NodeMemoryMajorPagesFaults",
    "NodeSystemdServiceCrashlooping", "NodeSystemdServiceFailed", "NodeSystemSaturation", "PrometheusHighQueryLoad",
    "PrometheusKubernetesListWatchFailures", "PrometheusOperatorStatusUpdateErrors", "PrometheusScrapeBodySizeLimitHit",
    "PrometheusScrapeSampleLimitHit", "PrometheusSDRefreshFailure",
]
REAL_UNDEFINED = [  # runbooks for alerts kube-prometheus no longer (or never) ships
    "etcdBackendQuotaLowSpace", "etcdGRPCRequestsSlow", "etcdHighFsyncDurations", "etcdHighNumberOfFailedGRPCRequests",
    "etcdInsufficientMembers", "etcdMembersDown", "etcdNoLeader", "KubeJobCompletion", "KubeProxyDown",
]


def _independent_figures(rules_dir: Path, runbooks_dir: Path) -> dict:
    """The same figures without incidentkb: PyYAML over the manifests, runbooks by file name and folder."""
    rules = []
    for path in sorted(rules_dir.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            for group in document["spec"]["groups"]:
                rules += [r for r in group["rules"] if "alert" in r]
    runbooks = {}  # alert name → component folder
    for path in runbooks_dir.glob("*/*"):
        if not path.name.startswith("_"):
            runbooks.setdefault(path.name.removesuffix(".md"), path.parent.name)
    names = {r["alert"] for r in rules}
    lowered = {name.lower(): folder for name, folder in runbooks.items()}
    dead = 0
    for rule in rules:
        folder, _, alert = rule["annotations"]["runbook_url"].rpartition("/runbooks/")[2].partition("/")
        dead += lowered.get(alert) != folder
    return {"rules": len(rules), "alerts": len(names), "uncovered": sorted(n for n in names if n not in runbooks),
            "undefined": sorted(n for n in runbooks if n not in names), "dead": dead}


@pytest.mark.corpus
def test_real_kube_prometheus_rules_against_the_imported_runbooks(tmp_path):
    from incidentkb.authoring.importers import import_runbooks

    runbooks_src = corpus_dir("prometheus-operator-runbooks")
    rules_dir = corpus_dir("kube-prometheus-rules") / "manifests"
    import_runbooks(runbooks_src, tmp_path, reviewed=date(2026, 11, 1))
    assert len(list((tmp_path / "runbooks").rglob("*.md"))) == 108

    result = run_kb("alerts", "--root", tmp_path, *sorted(glob.glob(str(rules_dir / "*.yaml"))),
                    "--url-pattern", RUNBOOK_SITE, "--min-coverage", "0.75", "--json")
    assert result.code == 0, result.err
    report = result.json
    assert (report["alerting_rules"], report["recording_rules"], report["rule_files"]) == (139, 95, 8)
    assert (report["alerts"], report["covered"], report["coverage"]) == (125, 99, 0.792)
    assert sorted(a["alert"] for a in report["uncovered"]) == sorted(REAL_UNCOVERED)
    assert len(report["unresolved_urls"]) == 27
    assert {u["alert"] for u in report["unresolved_urls"]} == set(REAL_UNCOVERED)
    assert {u["problem"] for u in report["unresolved_urls"]} == {"unresolved"}
    assert sorted(u["alert"] for u in report["undefined_alerts"]) == sorted(REAL_UNDEFINED)
    assert [f for f in report["findings"] if f["level"] == "error"] == []
    # Per service: the component folder in the runbook_url.
    by_service = {s["service"]: (s["total"], s["covered"]) for s in report["by_service"]}
    assert by_service == {"alertmanager": (8, 7), "general": (4, 4), "grafana": (1, 0), "kube-state-metrics": (4, 4),
                          "kubernetes": (55, 45), "node": (21, 13), "prometheus": (23, 18),
                          "prometheus-operator": (9, 8)}
    uncovered = {a["alert"]: a["severity"] for a in report["uncovered"]}
    assert uncovered["KubeNodeEviction"] == "info" and uncovered["NodeBondingDegraded"] == "warning"

    figures = _independent_figures(rules_dir, runbooks_src / "content/runbooks")
    assert figures == {"rules": 139, "alerts": 125, "uncovered": sorted(REAL_UNCOVERED),
                       "undefined": sorted(REAL_UNDEFINED), "dead": 27}

    below = run_kb("alerts", "--root", tmp_path, rules_dir, "--url-pattern", RUNBOOK_SITE, "--min-coverage", "0.8")
    assert below.code == 1
    assert "99 of 125 alerts have a runbook (79.2%); below the minimum 80%" in below.out


@pytest.mark.corpus
def test_real_rules_render_coverage_and_alert_pages(tmp_path):
    from incidentkb.authoring.importers import import_runbooks

    import_runbooks(corpus_dir("prometheus-operator-runbooks"), tmp_path, reviewed=date(2026, 11, 1))
    rules = corpus_dir("kube-prometheus-rules") / "manifests"
    (tmp_path / "policy.yml").write_text(f"alerts:\n  rules: [{rules}]\n  runbook_url: {RUNBOOK_SITE}\n",
                                         encoding="utf-8")
    pages = render_pages(tmp_path, only_alerts=True)
    alert_pages = [p for p in pages if p.startswith("runbooks/alerts/") and not p.endswith("index.md")]
    assert len(alert_pages) == 125 + 9  # every alert of the rules, and those only runbooks name
    assert "99 of 125 alerts" in pages["runbooks/alerts/index.md"]
    assert "No runbook yet" in pages["runbooks/alerts/nodecpuhighusage.md"]
    assert 'href="../../kubernetes/kube-pod-crash-looping/"' in pages["runbooks/alerts/kubepodcrashlooping.md"]


def test_every_alerts_finding_code_is_documented():
    guide = (REPO / "docs/guide/alerts.md").read_text(encoding="utf-8")
    source = "".join((REPO / "scripts/incidentkb/analysis" / name).read_text(encoding="utf-8")
                     for name in ("alert_rules.py", "alert_coverage.py"))
    codes = set(re.findall(r'(?:ERROR|WARNING), "([a-z-]+)"', source))
    assert len(codes) > 15
    missing = sorted(code for code in codes if f"`{code}`" not in guide)
    assert missing == [], f"undocumented finding codes in docs/guide/alerts.md: {missing}"
