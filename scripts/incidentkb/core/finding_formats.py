"""Findings in the report formats of CI platforms: GitLab Code Quality and SARIF (GitHub code scanning).

`kb check --format codequality` writes what GitLab shows in a merge request's Code Quality
widget; `kb check --format sarif` writes what GitHub's upload-sarif action turns into code
scanning alerts on the changed lines. Both are JSON documents that the CI job saves to a file.

- Paths: a finding's path is relative to the knowledge-base root; the platforms want paths
  relative to the repository checkout. `base` (the root, relative to the working folder) is put
  in front when the knowledge base is not at the top of the repository.
- Fingerprints: both platforms track a problem across commits by a fingerprint. Ours leaves the
  line out (a line added above a problem must not make it "new" and the old one "fixed") and
  counts repeats, so two identical messages in one file still get two fingerprints.
- The hint is part of the message: it is the part that says how to fix the problem, and the
  platforms show only the message.
- Deterministic: the findings keep the order sort_findings gives them; rules are sorted by id.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable

from incidentkb.core.findings import Finding
from incidentkb.core.version import VERSION

SARIF_VERSION = "2.1.0"
# The schema's published address (OASIS standard, errata 01); tests validate against a copy of it.
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "kb check"
# GitLab's severities are info, minor, major, critical, blocker. An error fails `kb check` (and the
# pipeline), a warning does not: "major" and "minor" keep that order without claiming a security
# severity ("critical", "blocker") that a missing field in a post-mortem does not have.
CODEQUALITY_SEVERITY = {"error": "major", "warning": "minor"}
SARIF_LEVEL = {"error": "error", "warning": "warning"}


def repository_path(finding: Finding, base: str = "") -> str:
    """The finding's path from the repository checkout (forward slashes, never starting with ./)."""
    base = base.replace("\\", "/").strip("/")
    if base in ("", "."):
        return finding.path
    return posixpath.normpath(posixpath.join(base, finding.path)) if finding.path else base


def described(finding: Finding) -> str:
    """The message with its hint, on one line: what the platforms show."""
    text = finding.message
    if finding.hint:
        text += f" (hint: {' '.join(finding.hint.split())})"
    return text


def fingerprints(findings: Iterable[Finding], base: str = "") -> list[str]:
    """A stable id per finding: sha256 of path, code, message and the number of earlier identical ones."""
    seen: dict[tuple[str, str, str], int] = {}
    out = []
    for finding in findings:
        key = (repository_path(finding, base), finding.code, finding.message)
        repeat = seen.get(key, 0)
        seen[key] = repeat + 1
        out.append(hashlib.sha256("\0".join([*key, str(repeat)]).encode("utf-8")).hexdigest())
    return out


def code_quality_report(findings: list[Finding], base: str = "") -> list[dict]:
    """GitLab Code Quality: a list of issues (description, check_name, fingerprint, severity, location)."""
    report = []
    for finding, fingerprint in zip(findings, fingerprints(findings, base)):
        report.append({
            "type": "issue",  # the Code Climate spec GitLab's format comes from requires it; GitLab ignores it
            "description": described(finding),
            "check_name": finding.code,
            "fingerprint": fingerprint,
            "severity": CODEQUALITY_SEVERITY.get(finding.level, "minor"),
            # GitLab requires a line; a finding about a whole file (line 0) points at its first line.
            "location": {"path": repository_path(finding, base) or ".", "lines": {"begin": max(finding.line, 1)}},
        })
    return report


def _rule_name(code: str) -> str:
    # SARIF's rule name is an identifier shown next to the id: unknown-severity -> UnknownSeverity.
    return "".join(part.capitalize() for part in code.replace("_", "-").split("-") if part)


def sarif_log(findings: list[Finding], base: str = "") -> dict:
    """A SARIF 2.1.0 log with one run: rules (one per code found) and one result per finding."""
    codes = sorted({f.code for f in findings})
    rule_index = {code: number for number, code in enumerate(codes)}
    levels: dict[str, str] = {}
    for finding in findings:
        # A code's default level is the most severe one it was reported with (codes rarely have both).
        if levels.get(finding.code) != "error":
            levels[finding.code] = SARIF_LEVEL.get(finding.level, "warning")
    rules = [{
        "id": code,
        "name": _rule_name(code),
        "shortDescription": {"text": code.replace("-", " ").capitalize()},
        "defaultConfiguration": {"level": levels[code]},
    } for code in codes]
    results = []
    for finding, fingerprint in zip(findings, fingerprints(findings, base)):
        location: dict = {"artifactLocation": {"uri": repository_path(finding, base) or ".",
                                               "uriBaseId": "%SRCROOT%"}}
        if finding.line:
            region = {"startLine": finding.line}
            if finding.column:
                region["startColumn"] = finding.column
            location["region"] = region
        results.append({
            "ruleId": finding.code,
            "ruleIndex": rule_index[finding.code],
            "level": SARIF_LEVEL.get(finding.level, "warning"),
            "message": {"text": described(finding)},
            "locations": [{"physicalLocation": location}],
            "partialFingerprints": {"incidentkbFinding/v1": fingerprint},
        })
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": TOOL_NAME, "version": VERSION,
                                "rules": rules}},
            "results": results,
        }],
    }


def format_codequality(findings: list[Finding], base: str = "") -> str:
    return json.dumps(code_quality_report(findings, base), indent=2, ensure_ascii=False)


def format_sarif(findings: list[Finding], base: str = "") -> str:
    return json.dumps(sarif_log(findings, base), indent=2, ensure_ascii=False)


REPORT_FORMATTERS = {"codequality": format_codequality, "sarif": format_sarif}
