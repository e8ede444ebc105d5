"""Shared fixtures: run `kb` as a user would, build small knowledge bases in temp folders."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import textwrap
import threading
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


def write_files(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Write {relative path: text or bytes} under folder (text is dedented) and return the folder."""
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return folder


@pytest.fixture
def kb_root(tmp_path):
    """A factory: write {relative path: text} into a fresh knowledge-base folder and return it."""

    def make(files: dict[str, str | bytes] | None = None) -> Path:
        root = tmp_path / "kb"
        root.mkdir(exist_ok=True)
        return write_files(root, files or {})

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


# ------------------------------------------------------------------ built sites and the browser

TODAY = "2026-11-28"  # the sample's overdue flags and review banners are judged against this day

HOSTILE_INCIDENT = """\
---
id: INC-2026-099
title: "<script>alert('title')</script> Checkout <img src=x onerror=alert(1)> [click](javascript:alert(2))"
status: resolved
severity: SEV4
services: [checkout]
started_at: 2026-11-01T10:00:00+01:00
resolved_at: 2026-11-01T11:00:00+01:00
summary: "Summary with <iframe src=javascript:alert(3)></iframe> and <b onmouseover=alert(4)>bold</b> & ampersand."
trigger: "<script>alert('trigger')</script>"
detection:
  method: staff
  source: "\\"><svg onload=alert(5)>"
roles:
  commander: "<script>alert('commander')</script>"
timeline:
  - at: 2026-11-01T10:00:00+01:00
    event: "[open me](javascript:alert(6)) <script>alert('timeline')</script>"
action_items:
  - id: AI-1
    title: "<img src=x onerror=alert(7)>"
    owner: team-checkout
    due: 2026-12-01
visibility: internal
---

## What happened

A test record whose fields hold markup; it must render as text.
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_directory(directory: Path):
    """Serve a folder over HTTP on a free localhost port, in a thread. Returns (base_url, server)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server


SAMPLE_ENGINE = "properdocs"


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory):
    """The sample knowledge base plus one hostile incident, built once with `kb build`: (root, site_dir).

    Built with ProperDocs, so every browser test runs against a ProperDocs build; test_engines.py builds the
    same knowledge base with MkDocs and compares the two sites byte for byte."""
    from datetime import date

    from incidentkb.publish.engine import build

    root = tmp_path_factory.mktemp("sample-site")
    ignore = shutil.ignore_patterns(".git", ".venv", "site", "tests", "scripts", "*.egg-info", "__pycache__",
                                    ".pytest_cache", ".hypothesis", ".cache")
    shutil.copytree(REPO, root, ignore=ignore, dirs_exist_ok=True)
    (root / "incidents/2026/INC-2026-099-hostile-markup.md").write_text(HOSTILE_INCIDENT, encoding="utf-8")
    site = build(root, today=date.fromisoformat(TODAY), engine=SAMPLE_ENGINE)
    return root, site


@pytest.fixture(scope="session")
def sample_url(sample_site):
    url, server = serve_directory(sample_site[1])
    yield url
    server.shutdown()
    server.server_close()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("CI=true but /usr/bin/chromium is missing: .ci/run should have installed it")
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed: apt-get install chromium")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser page that blocks and records every request leaving localhost."""
    width, height = getattr(request, "param", (1280, 900))
    context = browser.new_context(viewport={"width": width, "height": height})
    outside: list[str] = []

    def route(route_):
        url = route_.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:", "about:")):
            route_.continue_()
        else:
            outside.append(url)
            route_.abort()

    context.route("**/*", route)
    tab = context.new_page()
    tab.outside_requests = outside
    dialogs: list[str] = []
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tab.dialogs = dialogs
    yield tab
    context.close()
