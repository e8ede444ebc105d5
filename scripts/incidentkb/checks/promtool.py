"""Prometheus' own check of rule files (`promtool check rules`), reported as findings.

Our reader (alerts.py) knows what a runbook needs from a rule: the alert name, labels and
runbook_url. It does not parse PromQL nor Go templates; promtool does, exactly as Prometheus
will when it loads the file. So `kb alerts` runs promtool too, when it is installed (Debian and
Ubuntu: `apt-get install prometheus`; or the binary from a Prometheus release), and turns what
it prints into findings with file and line.

- One promtool run for all files; only when it prints a problem is each file run on its own,
  so that every message is attributed to its file (promtool prints them on standard error,
  not always prefixed with the file name).
- promtool reads plain rule files (`groups:` at the top). A PrometheusRule manifest
  (`kind: PrometheusRule`) or a file of several YAML documents is not one: those are left to
  our reader, and the result says how many were left out.
- promtool's messages come in three shapes (2.42): `FILE: LINE:COL: message`,
  `FILE: yaml: unmarshal errors:` followed by `  line N: message` lines, and `FILE: message`.
  Its lint ("duplicate rules") prints `lint error ...` without a file and exits 0: a warning.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from incidentkb.core.findings import ERROR, WARNING, Finding

INSTALL_HINT = ("Install promtool to also check PromQL expressions and templates as Prometheus will: "
                "`apt-get install prometheus` (Debian, Ubuntu) or the promtool binary of a Prometheus release; "
                "or set KB_PROMTOOL to its path.")
TIMEOUT_SECONDS = 120
_POSITION = re.compile(r"(\d+):(\d+): (.*)", re.DOTALL)
_YAML_LINE = re.compile(r"\s*line (\d+): (.*)")
_NAMED_RULE = re.compile(r'group "(.*?)", rule \d+, "(.*?)"')
_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:", re.MULTILINE)
_DOCUMENT_SEPARATOR = re.compile(r"^---\s*$", re.MULTILINE)


@dataclass
class PromtoolResult:
    executable: str | None  # None: promtool is not installed
    version: str = ""
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # the files promtool read
    left_out: list[str] = field(default_factory=list)  # manifests and multi-document files (not promtool's format)
    not_passed: list[str] = field(default_factory=list)  # files with errors found by our reader


def find_promtool() -> str | None:
    """KB_PROMTOOL, else promtool on PATH; None when neither is there."""
    configured = os.environ.get("KB_PROMTOOL", "").strip()
    if configured:
        return configured  # if it is not promtool, running it says so (a finding), rather than a silent skip
    return shutil.which("promtool")


def is_plain_rule_file(text: str) -> bool:
    """One YAML document whose top-level keys include `groups` and not `kind` (a Kubernetes manifest)."""
    documents = [d for d in _DOCUMENT_SEPARATOR.split(text.lstrip("\ufeff")) if _has_content(d)]
    if len(documents) != 1:
        return False
    keys = set(_TOP_LEVEL_KEY.findall(documents[0]))
    return "groups" in keys and "kind" not in keys


def _has_content(document: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in document.splitlines())


def parse_output(stderr: str, shown: str, given: str, rule_lines: dict | None = None) -> list[Finding]:
    """Findings from what promtool printed on standard error for one file (`given` as passed to it).

    `rule_lines` {(file shown, group, rule name): line} places a message that names its rule but no line."""
    findings: list[Finding] = []
    prefix = f"{given}: "
    current: list[str] | None = None
    messages: list[list[str]] = []
    lint: list[str] = []
    in_lint = False
    for line in stderr.splitlines():
        if not line.strip() or line.strip() in ("FAILED:", "SUCCESS:"):
            continue
        if line.startswith(prefix):
            current = [line[len(prefix):]]
            messages.append(current)
            in_lint = False
        elif line.startswith("lint error"):
            lint.append(line.strip())
            in_lint = True
            current = None
        elif in_lint:
            lint.append(line.strip())
        elif current is not None:
            current.append(line)
        else:
            messages.append([line.strip()])
    for parts in messages:
        head, rest = parts[0], parts[1:]
        position = _POSITION.fullmatch(head)
        yaml_lines = [m for m in (_YAML_LINE.fullmatch(part) for part in rest) if m]
        if position:
            findings.append(_finding(shown, int(position.group(1)), int(position.group(2)), ERROR,
                                     " ".join([position.group(3), *[p.strip() for p in rest]])))
        elif head.startswith("yaml:") and yaml_lines:
            for match in yaml_lines:
                findings.append(_finding(shown, int(match.group(1)), 0, ERROR, match.group(2)))
        else:
            named = _NAMED_RULE.match(head)
            line = (rule_lines or {}).get((shown, named.group(1), named.group(2)), 0) if named else 0
            if named and not line:
                line = (rule_lines or {}).get((shown, named.group(1), ""), 0)  # the group, at least
            findings.append(_finding(shown, line, 0, ERROR, " ".join([head, *[p.strip() for p in rest]])))
    if lint:
        findings.append(Finding(shown, 0, 0, WARNING, "promtool-lint", "promtool: " + "; ".join(lint),
                                "Two rules with the same name and labels record or alert twice; remove or rename one."))
    return findings


def _finding(shown: str, line: int, column: int, level: str, message: str) -> Finding:
    return Finding(shown, line, column, level, "promtool",
                   "promtool check rules: " + " ".join(message.split()),
                   "Prometheus would refuse to load this file; fix the rule as promtool says "
                   "(run `promtool check rules FILE` to see it on its own).")


def _run(executable: str, paths: Sequence[str], cwd: Path | None) -> subprocess.CompletedProcess:
    return subprocess.run([executable, "check", "rules", *paths], cwd=cwd, capture_output=True, text=True,
                          errors="replace", timeout=TIMEOUT_SECONDS)


def check_rules(files: Sequence[tuple[str, Path]], executable: str | None = None,
                cwd: Path | None = None, rule_lines: dict | None = None) -> PromtoolResult:
    """Run promtool over the rule files: (path shown in findings, path on disk) pairs.

    Never raises for a broken file or a failing promtool: both come back as findings.
    """
    executable = executable or find_promtool()
    result = PromtoolResult(executable)
    if executable is None:
        return result
    try:
        version = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=30)
        words = (version.stdout or version.stderr).split() if version.returncode == 0 else []
        # "promtool, version 2.42.0+ds (branch: ...)": the number is enough
        result.version = words[words.index("version") + 1] if "version" in words[:-1] else ""
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    plain = []
    for shown, path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # our reader reports unreadable files
        if is_plain_rule_file(text):
            plain.append((shown, str(path)))
        else:
            result.left_out.append(shown)
    result.checked = [shown for shown, _ in plain]
    if not plain:
        return result
    try:
        together = _run(executable, [path for _, path in plain], cwd)
        if together.returncode == 0 and not together.stderr.strip():
            return result
        for shown, path in plain:  # attribute every message (errors, and lint warnings too) to its file
            alone = _run(executable, [path], cwd)
            if alone.returncode != 0 or alone.stderr.strip():
                found = parse_output(alone.stderr, shown, path, rule_lines)
                if alone.returncode != 0 and not any(f.is_error for f in found):
                    found.append(_finding(shown, 0, 0, ERROR, f"failed (exit code {alone.returncode}) "
                                          f"{alone.stderr.strip() or alone.stdout.strip()}"))
                result.findings += found
    except (OSError, subprocess.SubprocessError) as error:
        result.findings.append(Finding(plain[0][0], 0, 0, ERROR, "promtool-failed",
                                       f"promtool ({executable}) could not run: {error}", INSTALL_HINT))
    return result


def check_rule_set(rule_set, base: Path | None = None, executable: str | None = None) -> PromtoolResult:
    """promtool over the files `kb alerts` read (alerts.RuleSet); paths shown are relative to `base`, if given."""
    # A file our reader found errors in (broken YAML, say) is not passed on: promtool would repeat them.
    broken = {f.path for f in rule_set.findings if f.is_error}
    files = [(shown, (base / shown) if base is not None else Path(shown)) for shown in rule_set.files
             if shown not in rule_set.skipped and shown not in broken]
    rule_lines: dict = {}
    for group in rule_set.groups:
        rule_lines.setdefault((group.file, group.name, ""), group.line)
        for rule in group.alerts:
            rule_lines.setdefault((group.file, group.name, rule.name), rule.line)
    result = check_rules(files, executable, rule_lines=rule_lines)
    result.not_passed = sorted(broken & set(rule_set.files))
    return result


def summary(result: PromtoolResult) -> str:
    """One line for `kb alerts`: what promtool checked, or that it could not."""
    if result.executable is None:
        return "promtool is not installed: PromQL expressions and templates were not checked. " + INSTALL_HINT
    problems = sum(1 for f in result.findings if f.is_error)
    text = (f"promtool checked {len(result.checked)} rule file(s): "
            + (f"{problems} problem(s)" if problems else "no problems"))
    if result.left_out:
        text += (f"; {len(result.left_out)} file(s) left out (PrometheusRule manifests or several YAML documents: "
                 "not promtool's format)")
    if result.not_passed:
        text += f"; {len(result.not_passed)} file(s) with the errors above not passed to it"
    return text + (f" (promtool {result.version})" if result.version else "")


def as_dict(result: PromtoolResult) -> dict:
    return {"installed": result.executable is not None, "version": result.version,
            "checked": result.checked, "left_out": result.left_out, "not_passed": result.not_passed}
