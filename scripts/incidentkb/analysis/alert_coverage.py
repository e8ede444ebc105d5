"""Alert coverage: which alerts have a runbook, and whether each rule's runbook_url leads to it.

Pure functions over rules (alert_rules.py) and a KnowledgeBase; `kb alerts`, the coverage page
and the alert pages are views of the same `Coverage`. The rules, stated once here and in
docs/guide/alerts.md:

- An alert is the distinct `alert:` name; an alert defined by several rules (a warning and a
  critical threshold) counts once. It is *covered* when a runbook lists it in `alerts`,
  compared case-insensitively like the alert pages (a case difference is a warning).
- Its runbook_url *resolves* when it matches the URL pattern (placeholders {alert},
  {alert_lower}, and {service} or its alias {component}) for an alert that a runbook
  answers, under that service when the pattern names one. The match ignores case and a
  trailing slash, and allows a query or fragment.
- The service of an alert, for coverage per service: the rule's `service` label; else its
  group name when that is a service or vendor of the catalog; else the {service} part of
  its runbook_url; else the services of the runbooks answering it; else none.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import unquote

from incidentkb.analysis.alert_rules import AlertRule, RuleSet, site_rules
from incidentkb.analysis.links import newest_first
from incidentkb.core.errors import UsageError
from incidentkb.core.findings import WARNING, Finding, sort_findings
from incidentkb.records.policy_sections import SITE_ALERT_PATH, URL_PATTERN_SYNTAX
from incidentkb.records.urls import has_alert_page

PLACEHOLDER = re.compile(r"\{(alert|alert_lower|service|component)\}")

SEVERITY_ORDER = ("critical", "page", "error", "high", "major", "warning", "medium", "minor", "low", "info", "none")

# ------------------------------------------------------------------------- runbook URLs


def url_matcher(pattern: str) -> re.Pattern:
    """A regular expression for the runbook URLs a pattern produces, with groups `alert` and `service`."""
    parts: list[str] = []
    used: set[str] = set()
    position = 0
    tail = pattern.rstrip("/")
    for match in PLACEHOLDER.finditer(tail):
        parts.append(re.escape(tail[position:match.start()]))
        name = "alert" if match.group(1).startswith("alert") else "service"
        parts.append(f"(?P={name})" if name in used else f"(?P<{name}>[^/?#]+)")
        used.add(name)
        position = match.end()
    parts.append(re.escape(tail[position:]) + r"/?(?:[?#].*)?")
    return re.compile("".join(parts), re.IGNORECASE)


def expand(pattern: str, alert: str, service: str = "") -> str:
    values = {"alert": alert, "alert_lower": alert.lower()}
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), service or "<service>"), pattern)


def site_pattern(base_url: str) -> str:
    return base_url.rstrip("/") + "/" + SITE_ALERT_PATH


def site_url_of(mkdocs_text: str) -> str:
    """The site_url of an mkdocs.yml, read without loading its (possibly !!python-tagged) YAML."""
    match = re.search(r"^site_url:[ \t]*[\"']?([^\"'\s#]+)", mkdocs_text, re.MULTILINE)
    return match.group(1) if match else ""


# ------------------------------------------------------------------------- coverage


@dataclass
class AlertStatus:
    """One alert name: its rules, the runbooks answering it, the incidents it detected."""

    name: str
    rules: list[AlertRule] = field(default_factory=list)
    runbooks: list = field(default_factory=list)  # runbooks listing it, case-insensitively
    incidents: list = field(default_factory=list)
    services: list[str] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return bool(self.runbooks)

    @property
    def severities(self) -> list[str]:
        return sorted({r.severity for r in self.rules if r.severity}, key=_severity_key)

    @property
    def severity(self) -> str:
        return ", ".join(self.severities)


@dataclass(frozen=True)
class UrlProblem:
    rule: AlertRule
    kind: str  # missing, elsewhere, unresolved, templated, other-alert
    message: str


@dataclass(frozen=True)
class Share:
    name: str
    total: int
    covered: int
    file: str = ""  # for groups

    @property
    def ratio(self) -> float:
        return self.covered / self.total if self.total else 1.0


@dataclass
class Coverage:
    alerts: list[AlertStatus]  # alerts defined by rules, by name
    by_group: list[Share]
    by_service: list[Share]
    url_problems: list[UrlProblem]
    undefined: list[tuple[str, list]]  # (alert name as a runbook lists it, runbooks) for alerts no rule defines
    findings: list[Finding]
    rules: RuleSet
    url_pattern: str = ""

    @property
    def total(self) -> int:
        return len(self.alerts)

    @property
    def covered(self) -> int:
        return sum(a.covered for a in self.alerts)

    @property
    def ratio(self) -> float:
        return self.covered / self.total if self.total else 1.0

    @property
    def uncovered(self) -> list[AlertStatus]:
        return [a for a in self.alerts if not a.covered]

    @property
    def unresolved(self) -> list[UrlProblem]:
        """runbook_url values that do not lead to a runbook of this knowledge base."""
        return [p for p in self.url_problems if p.kind != "other-alert"]

    def as_dict(self, min_coverage: float | None = None) -> dict:
        return {
            "alerts": self.total,
            "covered": self.covered,
            "coverage": round(self.ratio, 4),
            "min_coverage": min_coverage,
            "alerting_rules": len(self.rules.alerts),
            "recording_rules": self.rules.recording,
            "rule_files": len(self.rules.files),
            "rule_files_skipped": self.rules.skipped,
            "url_pattern": self.url_pattern or None,
            "uncovered": [_alert_dict(a) for a in self.uncovered],
            "unresolved_urls": [{"alert": p.rule.name, "file": p.rule.file, "line": p.rule.line,
                                 "runbook_url": p.rule.runbook_url or None, "problem": p.kind, "message": p.message}
                                for p in self.url_problems],
            "undefined_alerts": [{"alert": name, "runbooks": [rb.path for rb in runbooks]}
                                 for name, runbooks in self.undefined],
            "by_group": [asdict(s) | {"coverage": round(s.ratio, 4)} for s in self.by_group],
            "by_service": [{"service": s.name, "total": s.total, "covered": s.covered, "coverage": round(s.ratio, 4)}
                           for s in self.by_service],
            "findings": [asdict(f) for f in self.findings],
        }


def _alert_dict(alert: AlertStatus) -> dict:
    first = alert.rules[0] if alert.rules else None
    return {"alert": alert.name, "severity": alert.severity or None, "services": alert.services,
            "groups": sorted({r.group for r in alert.rules}), "file": first.file if first else None,
            "line": first.line if first else None}


def _severity_key(severity: str):
    lowered = severity.lower()
    return (SEVERITY_ORDER.index(lowered) if lowered in SEVERITY_ORDER else len(SEVERITY_ORDER), lowered, severity)


def runbook_index(runbooks) -> dict[str, list[tuple[object, str]]]:
    """lower-case alert name → [(runbook, the name as the runbook writes it)], runbooks in id order."""
    index: dict[str, list] = defaultdict(list)
    for runbook in runbooks:
        for alert in runbook.alerts:
            index[alert.lower()].append((runbook, alert))
    return dict(index)


def _resolve(rule: AlertRule, matcher: re.Pattern | None, pattern: str, index: dict) -> UrlProblem | None:
    url = rule.runbook_url
    expected = expand(pattern, rule.name) if pattern else ""
    if not url:
        return UrlProblem(rule, "missing", f"alert {rule.name} has no runbook_url annotation: the page that fires "
                          "gives the responder no runbook link" + (f"; expected {expected}" if expected else ""))
    if matcher is None:
        return None
    if "{{" in url or "$labels" in url:
        return UrlProblem(rule, "templated", f"the runbook_url of {rule.name} is a template ({url}); it cannot be "
                          "checked before the alert fires")
    match = matcher.fullmatch(url)
    if match is None:
        return UrlProblem(rule, "elsewhere", f"the runbook_url of {rule.name} does not point into this knowledge base: "
                          f"{url} (expected {expected})")
    target = unquote(match.group("alert")) if "alert" in match.groupdict() else ""
    service = unquote(match.groupdict().get("service") or "")
    answering = [rb for rb, _ in index.get(target.lower(), [])]
    if service:
        in_service = [rb for rb in answering if service.lower() in (s.lower() for s in rb.services)]
        if answering and not in_service:
            others = sorted({s for rb in answering for s in rb.services})
            return UrlProblem(rule, "unresolved", f"the runbook_url of {rule.name} names the service {service!r}, but "
                              f"the runbooks for {target} are under {', '.join(others)}: {url}")
        answering = in_service
    if not answering:
        return UrlProblem(rule, "unresolved", f"the runbook_url of {rule.name} leads to no runbook: no runbook lists "
                          f"the alert {target} ({url})")
    if target.lower() != rule.name.lower():
        return UrlProblem(rule, "other-alert", f"the runbook_url of {rule.name} leads to the runbook of another alert, "
                          f"{target} ({url})")
    return None


_URL_FINDINGS = {
    "missing": (WARNING, "runbook-url-missing", "Add annotations: runbook_url: {expected}"),
    "elsewhere": (WARNING, "runbook-url-elsewhere", "Point it at {expected}, where the alert page of this "
                  "knowledge base lists its runbooks."),
    "unresolved": (WARNING, "runbook-url-unresolved", "Write the runbook (kb new runbook --alert {alert} ...) or list "
                   "the alert in the `alerts` of the runbook that answers it."),
    "templated": (WARNING, "runbook-url-templated", "Use a fixed URL with the alert name, e.g. {expected}"),
    "other-alert": (WARNING, "runbook-url-other-alert", "If that runbook answers {alert} too, list {alert} in its "
                    "`alerts` and point runbook_url at {expected}."),
}


def coverage(kb, rules: RuleSet, url_pattern: str = "", root_prefix: str = "") -> Coverage:
    """Which alerts defined by `rules` have a runbook in `kb`, and whether their runbook_url leads there.

    `root_prefix` goes before runbook paths in findings, when they are shown relative to another folder.
    """
    index = runbook_index(kb.runbooks)
    known_services = set(kb.service_by_id) | set(kb.vendor_by_id)
    matcher = url_matcher(url_pattern) if url_pattern else None
    findings: list[Finding] = list(rules.findings)
    by_name: dict[str, AlertStatus] = {}
    url_problems: list[UrlProblem] = []
    services_of_rule: dict[int, set[str]] = {}
    for rule in rules.alerts:
        status = by_name.setdefault(rule.name, AlertStatus(rule.name))
        status.rules.append(rule)
        problem = _resolve(rule, matcher, url_pattern, index)
        if problem:
            url_problems.append(problem)
            # An alert with no runbook has a runbook_url that leads nowhere: one finding says both.
            if not (problem.kind == "unresolved" and rule.name.lower() not in index):
                level, code, hint = _URL_FINDINGS[problem.kind]
                findings.append(Finding(rule.file, rule.line, 0, level, code, problem.message,
                                        hint.format(expected=expand(url_pattern, rule.name) if url_pattern else
                                                    "the URL of the alert's runbook", alert=rule.name)))
        services_of_rule[id(rule)] = _rule_services(rule, matcher, known_services, index)

    dead = {p.rule.name for p in url_problems if p.kind == "unresolved"}
    for name, status in by_name.items():
        answering = index.get(name.lower(), [])
        status.runbooks = _unique([rb for rb, _ in answering])
        services = set().union(*(services_of_rule[id(r)] for r in status.rules))
        status.services = sorted(services)
        first = status.rules[0]
        if not answering:
            hint = ("Write one: kb new runbook --alert " + name + " --service "
                    + (status.services[0] if status.services else "<service>")
                    + " --owner <team> --title '...', or add the alert to the `alerts` of the runbook that answers it.")
            findings.append(Finding(first.file, first.line, 0, WARNING, "alert-no-runbook",
                                    f"no runbook lists the alert {name}"
                                    + (f" (severity {status.severity})" if status.severity else "")
                                    + ("; its runbook_url leads to no runbook" if name in dead else ""), hint))
        else:
            written = sorted({alias for _, alias in answering if alias != name})
            if written and not any(alias == name for _, alias in answering):
                findings.append(Finding(first.file, first.line, 0, WARNING, "alert-name-case",
                                        f"the rule defines {name} but runbooks list {', '.join(written)} "
                                        "(the same name in other letter case)",
                                        "Prometheus alert names are case-sensitive: write the name in the runbook "
                                        "exactly as the rule does."))

    alerts = sorted(by_name.values(), key=lambda a: (a.name.lower(), a.name))
    defined = {name.lower() for name in by_name}
    undefined: list[tuple[str, list]] = []
    for lower, answering in sorted(index.items()):
        if lower in defined:
            continue
        for alias in sorted({alias for _, alias in answering}):
            runbooks = _unique([rb for rb, written in answering if written == alias])
            undefined.append((alias, runbooks))
            for runbook in runbooks:
                if rules.files:
                    line = _runbook_alert_line(runbook, alias)
                    findings.append(Finding(
                        _joined(root_prefix, runbook.path), line, 0, WARNING, "runbook-alert-undefined",
                        f"runbook {runbook.id} lists the alert {alias}, which no rule file defines",
                        "Remove the name if the alert was deleted or renamed; otherwise pass the rule file "
                        "that defines it."))
    return Coverage(alerts, _group_shares(rules, by_name), _service_shares(alerts), url_problems, undefined,
                    sort_findings(findings), rules, url_pattern)


def _joined(prefix: str, path: str) -> str:
    return f"{prefix.rstrip('/')}/{path}" if prefix and prefix != "." else path


def _unique(records: list) -> list:
    seen, out = set(), []
    for record in records:
        if id(record) not in seen:
            seen.add(id(record))
            out.append(record)
    return out


def _runbook_alert_line(runbook, alias: str) -> int:
    try:
        return runbook.line_of("alerts", list(runbook.alerts).index(alias))
    except (ValueError, AttributeError):
        return runbook.line


def _rule_services(rule: AlertRule, matcher, known: set[str], index: dict) -> set[str]:
    if rule.service:
        return {rule.service}
    if rule.group in known:
        return {rule.group}
    if matcher is not None and rule.runbook_url:
        match = matcher.fullmatch(rule.runbook_url)
        if match and match.groupdict().get("service"):
            return {unquote(match.group("service"))}
    return {service for runbook, _ in index.get(rule.name.lower(), []) for service in runbook.services}


def _group_shares(rules: RuleSet, by_name: dict[str, AlertStatus]) -> list[Share]:
    shares = []
    for group in rules.groups:
        names = {rule.name for rule in group.alerts}
        if names:
            shares.append(Share(group.name, len(names), sum(by_name[n].covered for n in names), group.file))
    return sorted(shares, key=lambda s: (s.file, s.name))


def _service_shares(alerts: list[AlertStatus]) -> list[Share]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for alert in alerts:
        for service in alert.services or [""]:
            totals[service][0] += 1
            totals[service][1] += alert.covered
    return sorted((Share(name, total, covered) for name, (total, covered) in totals.items()),
                  key=lambda s: (s.name == "", s.name))


# ------------------------------------------------------------------------- what the site shows


def site_coverage(kb, site_url: str = "") -> Coverage:
    """The coverage the site shows: the policy's rule files, read relative to the knowledge base."""
    rules = site_rules(kb)
    pattern = (kb.policy.section("alerts") or {}).get("runbook_url") or (site_pattern(site_url) if site_url else "")
    return coverage(kb, rules, pattern)


@dataclass
class AlertPage:
    """One page: the alert names sharing a lower-case name, with what is known about each."""

    key: str  # lower-case name
    names: list[str]
    statuses: list[AlertStatus]  # one per name, rules may be empty

    @property
    def runbooks(self) -> list:
        return _unique([rb for s in self.statuses for rb in s.runbooks])

    @property
    def incidents(self) -> list:
        return _unique([i for s in self.statuses for i in s.incidents])

    @property
    def rules(self) -> list[AlertRule]:
        return [r for s in self.statuses for r in s.rules]


def alert_page_set(kb, cov: Coverage) -> list[AlertPage]:
    """Every alert name with a page: from rules, runbooks and incidents' detection.alert, grouped by lower case."""
    statuses: dict[str, AlertStatus] = {a.name: a for a in cov.alerts}
    index = runbook_index(kb.runbooks)
    for lower, answering in index.items():
        for _, alias in answering:
            statuses.setdefault(alias, AlertStatus(alias, runbooks=_unique([rb for rb, _ in answering])))
    for incident in kb.incidents:
        name = incident.detection["alert"] if incident.detection else None
        if name:
            answering = _unique([rb for rb, _ in index.get(name.lower(), [])])
            statuses.setdefault(name, AlertStatus(name, runbooks=answering))
    incidents_of: dict[str, list] = defaultdict(list)
    for incident in kb.incidents:
        if incident.detection and incident.detection["alert"]:
            incidents_of[incident.detection["alert"].lower()].append(incident)
    for status in statuses.values():
        status.incidents = newest_first(incidents_of.get(status.name.lower(), []))
    pages: dict[str, list[AlertStatus]] = defaultdict(list)
    for name, status in statuses.items():
        if has_alert_page(name):
            pages[name.lower()].append(status)
    return [AlertPage(key, sorted(s.name for s in group), sorted(group, key=lambda s: s.name))
            for key, group in sorted(pages.items())]


def runbook_url_pattern(root: Path, policy, url_pattern: str | None = None, base_url: str | None = None) -> str:
    """What runbook_url values should look like: the pattern given, else one under the --base-url given,
    else the policy's alerts.runbook_url, else one under the site_url of mkdocs.yml; "" when none is known."""
    if url_pattern is None and base_url:
        url_pattern = site_pattern(base_url)
    if url_pattern is None:
        url_pattern = (policy.section("alerts") or {}).get("runbook_url")
    if url_pattern is None and (root / "mkdocs.yml").is_file():
        site_url = site_url_of((root / "mkdocs.yml").read_text(encoding="utf-8", errors="replace"))
        url_pattern = site_pattern(site_url) if site_url else None
    if url_pattern and not re.fullmatch(URL_PATTERN_SYNTAX, url_pattern):
        raise UsageError(f"--url-pattern {url_pattern!r}: expected an http(s):// URL (or a path starting with /) "
                         "with {alert} or {alert_lower}, and no other {...} than {service}")
    return url_pattern or ""
