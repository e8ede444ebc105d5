"""Findings: what `kb check` reports about a file, and how it is printed.

A finding always names a file and, when we know it, the line and column, so a
contributor can jump straight to the problem. Every finding also carries a hint
that says how to fix it, because the people who read these messages write one
post-mortem a year and should not need to learn YAML to fix one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Finding:
    path: str  # relative to the knowledge-base root, with forward slashes
    line: int  # 1-based; 0 when the finding is about the whole file
    column: int  # 1-based; 0 when unknown
    level: str  # ERROR or WARNING
    code: str  # stable, kebab-case: tools and allow-lists rely on it
    message: str
    hint: str = ""

    @property
    def is_error(self) -> bool:
        return self.level == ERROR


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Order by file, then position, then code: stable across runs and machines."""
    return sorted(set(findings), key=lambda f: (f.path, f.line, f.column, f.code, f.message))


def format_text(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{f.path}:{f.line}:{f.column}: {f.level} {f.code}: {f.message}")
        if f.hint:
            # Continuation lines are indented too, so every line not starting with a path belongs to a hint.
            lines.append("    hint: " + f.hint.replace("\n", "\n          "))
    return "\n".join(lines)


def format_json(findings: list[Finding]) -> str:
    return json.dumps([asdict(f) for f in findings], indent=2, ensure_ascii=False)


def _github_escape(text: str, property_value: bool = False) -> str:
    # The workflow-command grammar: %, CR and LF always; ':' and ',' inside properties.
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(findings: list[Finding]) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on its line."""
    lines = []
    for f in findings:
        props = [f"file={_github_escape(f.path, True)}"]
        if f.line:
            props.append(f"line={f.line}")
        if f.column:
            props.append(f"col={f.column}")
        props.append(f"title={_github_escape(f.code, True)}")
        body = f.message + (f" (hint: {f.hint})" if f.hint else "")
        kind = "error" if f.is_error else "warning"
        lines.append(f"::{kind} {','.join(props)}::{_github_escape(body)}")
    return "\n".join(lines)


FORMATTERS = {"text": format_text, "json": format_json, "github": format_github}


def summary_line(findings: list[Finding], files_checked: int) -> str:
    errors = sum(f.is_error for f in findings)
    warnings = len(findings) - errors
    return (
        f"{files_checked} file{'s' if files_checked != 1 else ''} checked: "
        f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
    )
