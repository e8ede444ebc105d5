"""Alerting rule files: Prometheus rule files and PrometheusRule manifests, read into alerts.

- Prometheus rule files (`groups:` at the top), Kubernetes `PrometheusRule` manifests
  (`spec.groups`) and `kind: List` manifests holding them (`items:`), with any number of
  YAML documents per file. Any other document kind is skipped with a warning naming the
  file, line and kind: a folder of Kubernetes manifests can be passed as it is.
- Each document is parsed by yamlsafe.parse (bounded, no tags, duplicate keys reported).
  Documents are split at `---` / `...` lines in column 0, which YAML reserves for document
  markers even inside block scalars, so one broken document does not hide the others and
  every finding keeps its file line.
- `record:` rules are recording rules, not alerts: counted, never covered or uncovered.

Which files are read: the RULES given to `kb alerts`, else `alerts.rules` of the policy file,
else monitoring/ (rule_files_to_read). alert_coverage.py decides what the rules mean.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from incidentkb.core.errors import UsageError
from incidentkb.core.findings import ERROR, WARNING, Finding
from incidentkb.core.yamlsafe import MarkedDict, MarkedList, YAMLDocumentError, parse, position_of
from incidentkb.records.frontmatter import read_text
from incidentkb.records.policy_sections import DEFAULT_RULE_PATHS

MAX_RULE_FILE_BYTES = 4_000_000  # kube-prometheus's largest rule file is ~100 kB
RULE_SUFFIXES = (".yml", ".yaml")
# What the runbook schema accepts in `alerts`; an alert named otherwise cannot be listed by a runbook.
ALERT_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:.-]*")
# Which names get an alert page: urls.has_alert_page (one clean URL segment; a ':' first would read as a scheme).


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
        except YAMLDocumentError as problem:
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


def rule_paths(policy) -> tuple[list[str], bool]:
    """The rule paths of the policy's alerts section, and whether the policy names them (else the default)."""
    section = policy.section("alerts") or {}
    raw = policy.raw.get("alerts") if isinstance(getattr(policy, "raw", None), dict) else None
    explicit = isinstance(raw, dict) and "rules" in raw
    return list(section.get("rules") or (DEFAULT_RULE_PATHS if not explicit else [])), explicit


def rules_to_read(root: Path, policy, given: list[Path] | tuple[Path, ...] = ()) -> RuleSet:
    """The rules `kb alerts` checks: the files or folders given, else those the policy names (relative to
    the knowledge base), else monitoring/. A path that is not there is a usage error."""
    if given:
        for path in given:
            if not path.exists():
                raise UsageError(f"{path}: no such rule file or folder")
        return read_rules(given)
    paths, explicit = rule_paths(policy)
    present = [p for p in paths if (root / p).exists()]
    if not present or (explicit and len(present) < len(paths)):
        missing = ", ".join(p for p in paths if p not in present) or "none"
        raise UsageError(f"no rule files to read (alerts.rules in the policy: {missing} not found under {root}); "
                         "pass RULES, e.g. kb alerts monitoring/")
    return read_rules(present, base=root)


def site_rules(kb) -> RuleSet:
    """The rules the site shows: the policy's rule files, read relative to the knowledge base (missing
    default paths are skipped: a knowledge base without monitoring/ has no alert rules)."""
    paths, explicit = rule_paths(kb.policy)
    root = Path(kb.root)
    if not explicit:
        paths = [p for p in paths if (root / p).exists()]
    return read_rules(paths, base=root)
