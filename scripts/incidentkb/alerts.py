"""Alerting rules and runbooks: which alerts a responder can be pointed at a runbook for.

Pure functions over text and a KnowledgeBase (no MkDocs); `kb alerts`, the coverage
page and the alert pages are views of the same `Coverage`.

Reading rule files
- Prometheus rule files (`groups:` at the top), Kubernetes `PrometheusRule` manifests
  (`spec.groups`) and `kind: List` manifests holding them (`items:`), with any number of
  YAML documents per file. Any other document kind is skipped with a warning naming the
  file, line and kind: a folder of Kubernetes manifests can be passed as it is.
- Each document is parsed by yamlsafe.parse (bounded, no tags, duplicate keys reported).
  Documents are split at `---` / `...` lines in column 0, which YAML reserves for document
  markers even inside block scalars, so one broken document does not hide the others and
  every finding keeps its file line.
- `record:` rules are recording rules, not alerts: counted, never covered or uncovered.

Rules, stated once here and in docs/guide/alerts.md
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

import os
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import unquote

from .findings import ERROR, WARNING, Finding, sort_findings
from .frontmatter import read_text
from .links import newest_first
from .urls import has_alert_page
from .schema import INVALID, Field, ListOf, Number, Object, String
from .yamlsafe import MarkedDict, MarkedList, YAMLProblem, parse, position_of

MAX_RULE_FILE_BYTES = 4_000_000  # kube-prometheus's largest rule file is ~100 kB
RULE_SUFFIXES = (".yml", ".yaml")
DEFAULT_RULE_PATHS = ["monitoring/"]
SITE_ALERT_PATH = "runbooks/alerts/{alert_lower}/"

# What the runbook schema accepts in `alerts`; an alert named otherwise cannot be listed by a runbook.
ALERT_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:.-]*")
# Which names get an alert page: urls.has_alert_page (one clean URL segment; a ':' first would read as a scheme).

PLACEHOLDER = re.compile(r"\{(alert|alert_lower|service|component)\}")
URL_PATTERN_SYNTAX = (r"(?:https?://|/)(?:[^\s{}]|\{(?:alert|alert_lower|service|component)\})*"
                      r"\{alert(?:_lower)?\}(?:[^\s{}]|\{(?:alert|alert_lower|service|component)\})*")

SEVERITY_ORDER = ("critical", "page", "error", "high", "major", "warning", "medium", "minor", "low", "info", "none")


# ------------------------------------------------------------------------- policy section


class Fraction(Number):
    label = "a fraction from 0 to 1, e.g. 0.9 for 90%"

    def convert(self, value, ctx, where):
        value = super().convert(value, ctx, where)
        if isinstance(value, (int, float)) and value > 1:
            hint = f"Write a fraction: {value / 100:g} for {value:g}%." if value <= 100 else "Write a fraction, 0 to 1."
            ctx.report(where, "out-of-range", f"{value} is above 1", hint)
            return INVALID
        return value

    def json_schema(self, choices):
        return {"type": "number", "minimum": 0, "maximum": 1}


POLICY_ALERTS = Object([
    Field("min_coverage", Fraction(minimum=0), "`kb alerts` exits with 1 when fewer of the alerts have a runbook.",
          0.9),
    Field("rules", ListOf(String(label="a path", plural="paths"), unique=True),
          "Rule files or folders (of .yml/.yaml files), relative to the knowledge base; read by `kb alerts` "
          "and by the site's alert pages.", ["monitoring/"], default=list(DEFAULT_RULE_PATHS)),
    Field("runbook_url", String(URL_PATTERN_SYNTAX, "a URL with {alert} or {alert_lower} where the alert name goes "
                                "(and optionally {service})", "a runbook URL pattern"),
          "What each rule's runbook_url should look like (default: the site_url of mkdocs.yml followed by "
          + SITE_ALERT_PATH + ").", "https://kb.example.com/" + SITE_ALERT_PATH),
], label="the alert coverage settings")


# ------------------------------------------------------------------------- reading rules


@dataclass(frozen=True)
class AlertRule:
    name: str
    file: str
    line: int
    group: str
    severity: str = ""
    summary: str = ""
    expr: str = ""
    duration: str = ""  # the rule's `for`
    runbook_url: str = ""
    service: str = ""  # the `service` label


@dataclass
class RuleGroup:
    file: str
    name: str
    line: int
    alerts: list[AlertRule] = field(default_factory=list)
    recording: int = 0


@dataclass
class RuleSet:
    groups: list[RuleGroup] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every rule file looked at
    skipped: list[str] = field(default_factory=list)  # files that could not be read at all

    @property
    def alerts(self) -> list[AlertRule]:
        return [rule for group in self.groups for rule in group.alerts]

    @property
    def recording(self) -> int:
        return sum(group.recording for group in self.groups)

    def extend(self, other: RuleSet) -> None:
        self.groups += other.groups
        self.findings += other.findings
        self.files += other.files
        self.skipped += other.skipped


_DOC_START = re.compile(r"---(?=[ \t]|$)")
_DOC_END = re.compile(r"\.\.\.(?=[ \t]|$)")


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def split_documents(text: str) -> list[tuple[int, str]]:
    """The YAML documents of a stream as (line offset, text), empty ones left out.

    A `---` line starts a document (its content may follow on the same line), a `...`
    line ends one. Directives (`%YAML`) belong to the document after them.
    """
    documents: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0

    def flush(lines: list[str], offset: int) -> None:
        if any(_is_content(line) and not _DOC_START.match(line) and not _DOC_END.match(line)
               and not line.startswith("%") for line in lines) or any(
                _DOC_START.match(line) and _is_content(line[3:]) for line in lines):
            documents.append((offset, "\n".join(lines) + "\n"))

    for index, line in enumerate(text.split("\n")):
        if _DOC_START.match(line):
            carried: list[str] = []
            if any(previous.startswith("%") for previous in current):
                # Keep the directives (and the comments between them) with the document they announce.
                first = next(i for i, previous in enumerate(current) if previous.startswith("%"))
                carried, current = current[first:], current[:first]
            flush(current, start)
            current, start = carried + [line], index - len(carried)
        elif _DOC_END.match(line):
            flush(current + [line], start)
            current, start = [], index + 1
        else:
            current.append(line)
    flush(current, start)
    return documents


class _Reader:
    """Walks the documents of one file, collecting groups and findings."""

    def __init__(self, file: str):
        self.file = file
        self.groups: list[RuleGroup] = []
        self.findings: list[Finding] = []

    def report(self, line: int, level: str, code: str, message: str, hint: str, column: int = 0) -> None:
        self.findings.append(Finding(self.file, line, column, level, code, message, hint))

    def document(self, data, line: int) -> None:
        if data is None:
            return
        if not isinstance(data, MarkedDict):
            self.report(line, WARNING, "not-a-rule-file", f"a YAML document that is {_describe(data)}, not a mapping: "
                        "skipped", "A rule file is a mapping with `groups:`; a manifest has `kind: PrometheusRule`.")
            return
        kind = data.get("kind")
        if kind is None:
            if "groups" in data:
                self.rule_groups(data["groups"], _line(data, "groups"))
            else:
                keys = ", ".join(str(k) for k in list(data)[:5]) or "none"
                self.report(data.line, WARNING, "not-a-rule-file",
                            f"a YAML document without `groups:` or `kind:` (keys: {keys}): skipped",
                            "A Prometheus rule file starts with `groups:`; a Kubernetes manifest names its `kind:`.")
        elif kind == "PrometheusRule":
            spec = data.get("spec")
            if not isinstance(spec, MarkedDict) or "groups" not in spec:
                line = _line(data, "spec") if isinstance(spec, dict) else data.line
                self.report(line, ERROR, "rule-manifest-invalid",
                            "a PrometheusRule without spec.groups: no rules read from it",
                            "A PrometheusRule holds its rule groups under spec: groups:.")
                return
            self.rule_groups(spec["groups"], _line(spec, "groups"))
        elif isinstance(kind, str) and kind.endswith("List"):
            items = data.get("items")
            if not isinstance(items, MarkedList):
                self.report(data.line, WARNING, "not-a-rule-file", f"a {kind} without a list of `items:`: skipped",
                            "A List manifest holds its documents under items:.")
                return
            for index, item in enumerate(items):
                self.document(item, items.marks[index][0])
        else:
            self.report(_line(data, "kind"), WARNING, "unknown-kind",
                        f"a document of kind {kind!r} holds no alerting rules: skipped",
                        "Only PrometheusRule manifests (or a List of them) and Prometheus rule files "
                        "(`groups:`) are read; rules inside a ConfigMap or a Helm template are not.")

    def rule_groups(self, groups, line: int) -> None:
        if not isinstance(groups, MarkedList):
            self.report(line, ERROR, "rule-groups-invalid", f"`groups` is {_describe(groups)}, not a list of groups",
                        "Write groups as a list: `groups:` then `- name: ...` and `rules:` under each.")
            return
        seen: dict[str, int] = {}
        for index, group in enumerate(groups):
            group_line = groups.marks[index][0]
            if not isinstance(group, MarkedDict):
                self.report(group_line, ERROR, "rule-group-invalid", f"a rule group that is {_describe(group)}",
                            "Each group is a mapping with `name:` and `rules:`.")
                continue
            name = group.get("name")
            if not isinstance(name, str) or not name.strip():
                self.report(group_line, WARNING, "rule-group-no-name", "a rule group without a name",
                            "Prometheus refuses a group without `name:`; name it after the service it watches.")
                name = f"(unnamed group, line {group_line})"
            elif name in seen:
                self.report(_line(group, "name"), WARNING, "rule-group-duplicate",
                            f"the group name {name!r} is used twice in this file (first on line {seen[name]})",
                            "Prometheus requires group names to be unique within a file; rename one of them.")
            seen.setdefault(name, group_line)
            result = RuleGroup(self.file, name, group_line)
            rules = group.get("rules")
            if rules is None:
                rules = MarkedList()
            if not isinstance(rules, MarkedList):
                self.report(_line(group, "rules"), ERROR, "rule-group-invalid",
                            f"the rules of group {name!r} are {_describe(rules)}, not a list",
                            "Write rules as a list of `- alert: ...` (or `- record: ...`) entries.")
                continue
            for rule_index, rule in enumerate(rules):
                self.rule(rule, rules.marks[rule_index][0], result)
            self.groups.append(result)

    def rule(self, rule, line: int, group: RuleGroup) -> None:
        if not isinstance(rule, MarkedDict):
            self.report(line, ERROR, "rule-invalid", f"a rule in group {group.name!r} that is {_describe(rule)}",
                        "Each rule is a mapping starting with `alert:` or `record:`.")
            return
        alert = rule.get("alert")
        if "alert" in rule and "record" in rule:
            self.report(line, ERROR, "rule-invalid", f"a rule in group {group.name!r} has both `alert:` and `record:`",
                        "A rule is either an alert or a recording rule; split it in two.")
            return
        if "record" in rule:
            group.recording += 1
            return
        if "alert" not in rule:
            self.report(line, ERROR, "rule-no-name",
                        f"a rule in group {group.name!r} has neither `alert:` nor `record:`",
                        "Name the alert (`- alert: CheckoutLatencyHigh`), or `record:` for a recording rule.")
            return
        if isinstance(alert, (int, float)) and not isinstance(alert, bool):
            alert = str(alert)
        if not isinstance(alert, str) or not alert.strip():
            self.report(_line(rule, "alert"), ERROR, "rule-no-name",
                        f"a rule in group {group.name!r} has an empty or non-text alert name ({_describe(alert)})",
                        "Write the alert's name after `alert:`, e.g. `alert: CheckoutLatencyHigh`.")
            return
        alert = alert.strip()
        if not ALERT_NAME.fullmatch(alert):
            self.report(_line(rule, "alert"), WARNING, "alert-name-invalid",
                        f"the alert name {alert!r} is not one a runbook can list",
                        "Alert names are letters, digits, '_' and ':' (Prometheus metric-name style), "
                        "e.g. CheckoutLatencyHigh.")
        labels = rule.get("labels") if isinstance(rule.get("labels"), dict) else {}
        annotations = rule.get("annotations") if isinstance(rule.get("annotations"), dict) else {}
        group.alerts.append(AlertRule(
            name=alert, file=self.file, line=line, group=group.name,
            severity=_text(labels.get("severity")), service=_text(labels.get("service")),
            summary=_text(annotations.get("summary") or annotations.get("message")),
            expr=_text(rule.get("expr")).strip(), duration=_text(rule.get("for")),
            runbook_url=_text(annotations.get("runbook_url")).strip(),
        ))


def _text(value) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)


def _line(data, key) -> int:
    return position_of(data, (key,))[0]


def _describe(value) -> str:
    if value is None:
        return "empty"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return f"the text {str(value)[:40]!r}"


def parse_rules(text: str, file: str) -> RuleSet:
    """Every rule group in the text of one rule file (any number of documents)."""
    reader = _Reader(file)
    for offset, document in split_documents(text):
        try:
            parsed = parse(document, line_offset=offset)
        except YAMLProblem as problem:
            reader.report(problem.line, ERROR, problem.code, problem.message + "; this document was skipped",
                          problem.hint, problem.column)
            continue
        for duplicate in parsed.duplicates:
            reader.report(duplicate.line, WARNING, "duplicate-key",
                          f"the key {duplicate.key!r} appears twice (first on line {duplicate.first_line})",
                          "YAML keeps only the last value; merge the two into one.", duplicate.column)
        reader.document(parsed.data, offset + 1)
    return RuleSet(reader.groups, reader.findings, [file])


def rule_files(path: Path) -> list[Path]:
    """A rule file, or every .yml/.yaml file under a folder (sorted, hidden files skipped)."""
    if not path.is_dir():
        return [path]
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out += [Path(dirpath) / name for name in filenames
                if not name.startswith(".") and name.lower().endswith(RULE_SUFFIXES)]
    return sorted(out)


def read_rules(paths, *, base: Path | None = None, max_bytes: int = MAX_RULE_FILE_BYTES) -> RuleSet:
    """Read rule files and folders. Never raises for bad content: problems come back as findings.

    Relative paths are taken from `base` (default: the working folder) and shown as given.
    """
    result = RuleSet()
    for given in paths:
        path = Path(given)
        full = path if path.is_absolute() or base is None else base / path
        if not full.exists():
            result.findings.append(Finding(str(given), 0, 0, ERROR, "rules-not-found", "no such rule file or folder",
                                           "Check the path (alerts.rules in the policy file is relative to the "
                                           "knowledge base)."))
            continue
        for file in rule_files(full):
            shown = _shown(given, full, file)
            result.files.append(shown)
            size = file.stat().st_size
            if size > max_bytes:
                result.skipped.append(shown)
                result.findings.append(Finding(shown, 0, 0, ERROR, "file-too-large",
                                               f"the file is {size:,} bytes; rule files are read up to {max_bytes:,}: "
                                               "skipped", "Split the rules into one file per team or service."))
                continue
            text, findings = read_text(file, shown, max_bytes)
            result.findings += findings
            if text is None:
                result.skipped.append(shown)
                continue
            parsed = parse_rules(text, shown)
            result.groups += parsed.groups
            result.findings += parsed.findings
    return result


def _shown(given, full: Path, file: Path) -> str:
    if file == full:
        return Path(given).as_posix()
    return (Path(given) / file.relative_to(full)).as_posix()


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


# ------------------------------------------------------------------------- the site


def rule_paths(policy) -> tuple[list[str], bool]:
    """The rule paths of the policy's alerts section, and whether the policy names them (else the default)."""
    section = policy.section("alerts") or {}
    raw = policy.raw.get("alerts") if isinstance(getattr(policy, "raw", None), dict) else None
    explicit = isinstance(raw, dict) and "rules" in raw
    return list(section.get("rules") or (DEFAULT_RULE_PATHS if not explicit else [])), explicit


def site_coverage(kb, site_url: str = "") -> Coverage:
    """The coverage the site shows: the policy's rule files, read relative to the knowledge base."""
    paths, explicit = rule_paths(kb.policy)
    root = Path(kb.root)
    if not explicit:
        paths = [p for p in paths if (root / p).exists()]
    rules = read_rules(paths, base=root)
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


def checklist_link(policy) -> tuple[str, str] | None:
    """(name, anchor) of the policy's checklist for writing a runbook, when it has one."""
    chosen = policy.checklist("new-runbook") or next(
        (c for c in policy.section("checklists", []) or [] if "runbook" in c["id"] and "review" not in c["id"]), None)
    if chosen is None or not policy.path:
        return None
    from .training import anchor  # the id the checklists page gives the heading, apostrophes and all

    return chosen["name"], anchor(chosen["name"])


def alert_pages(renderer) -> list:
    """The coverage page (runbooks/alerts/index.md) and one page per alert name (runbooks/alerts/<name lower>.md)."""
    from . import urls
    from .render import GeneratedPage

    kb = renderer.kb
    cov = site_coverage(kb, renderer.options.site_url)
    pages = alert_page_set(kb, cov)
    min_coverage = (kb.policy.section("alerts") or {}).get("min_coverage")
    context = {"checklist": checklist_link(kb.policy), "pattern": cov.url_pattern, "alert_page": urls.alert_page,
               "paths": rule_paths(kb.policy)[0], "min_coverage": min_coverage}
    out = [GeneratedPage("runbooks/alerts/index.md", renderer.render(
        "alerts/coverage.md.j2", "runbooks/alerts/index.md", cov=cov, alert_pages=pages,
        has_page={p.key for p in pages}, **context))]
    for page in pages:
        path = urls.alert_page(page.key)
        # An alert page with a runbook stays out of the search index like the other listings (search finds the
        # runbook itself); one without is indexed, so that searching for the alert finds "No runbook yet".
        out.append(GeneratedPage(path, renderer.render("alerts/alert.md.j2", path, alert=page, cov=cov, **context),
                                 record=not page.runbooks))
    return out
