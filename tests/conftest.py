"""Shared fixtures: run `kb` as a user would, build small knowledge bases in temp folders."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from incidentkb.cli import main

REPO = Path(__file__).resolve().parent.parent
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


def run_kb(*args: str, input: str | None = None, env: dict | None = None) -> Result:
    """Run the real `kb` entry point in-process (the same code path as the console script)."""
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as (out, err, _):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        return Result(code, out.getvalue().decode(), err.getvalue().decode())


@pytest.fixture
def kb_root(tmp_path):
    """A factory: write {relative path: text} into a fresh knowledge-base folder and return it."""

    def make(files: dict[str, str | bytes] | None = None) -> Path:
        root = tmp_path / "kb"
        root.mkdir(exist_ok=True)
        for rel, content in (files or {}).items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return root

    return make


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    """A private copy of the repository's sample knowledge base (tests must not touch the real one)."""
    target = tmp_path / "sample"
    ignore = shutil.ignore_patterns(".git", ".venv", "site", "tests", "scripts", "*.egg-info", "__pycache__",
                                    ".pytest_cache", ".hypothesis")
    shutil.copytree(REPO, target, ignore=ignore)
    return target


def corpus_dir(name: str) -> Path:
    """A folder of the shared real-world corpus, or a skip with the reason when this clone has none."""
    path = SHARED_CORPUS / name
    if not path.is_dir():
        pytest.skip(f"the shared corpus ({path}) is not present next to this clone")
    return path


MINIMAL_INCIDENT = """\
---
id: {id}
title: Checkout errors
status: resolved
severity: SEV3
services: [checkout]
started_at: 2025-03-14T09:02:00+01:00
detected_at: 2025-03-14T09:12:00+01:00
resolved_at: 2025-03-14T10:40:00+01:00
summary: Checkout failed for some customers until the deploy was rolled back.
---

## What happened

A deploy broke checkout.
"""


def minimal_incident(incident_id: str = "INC-2025-001", **replace: str | None) -> str:
    """The minimal valid incident, with fields replaced in place (None removes one; new ones go before the closing ---)."""
    lines = MINIMAL_INCIDENT.format(id=incident_id).splitlines()
    closing = lines.index("---", 1)
    for key, value in replace.items():
        index = next((i for i, line in enumerate(lines[:closing]) if line.startswith(f"{key}:")), None)
        if index is None:
            if value is not None:
                lines.insert(closing, f"{key}: {value}")
                closing += 1
        elif value is None:
            del lines[index]
            closing -= 1
        else:
            lines[index] = f"{key}: {value}"
    return "\n".join(lines) + "\n"
