"""Trust: audiences keep records out of builds, bodies cannot run code, nothing written is lost, loading is bounded."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import resource
import subprocess
import sys
import textwrap
import time
import zipfile
from datetime import date
from pathlib import Path

import pytest
from conftest import REPO, TODAY, minimal_incident, run_kb

from incidentkb.checks.htmlsafety import check_body_html
from incidentkb.records.load import load
from incidentkb.records.model import Incident
from incidentkb.site.mdlinks import fix_links

# ------------------------------------------------------------------------------------------- audiences


def output_texts(site: Path):
    """Every built file as text, with gzip members and zip archives opened: search indexes are compressed."""

    def expand(name: str, data: bytes):
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except OSError:
                pass
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    yield from expand(f"{name}!{member}", archive.read(member))
            return
        text = data.decode("utf-8", "ignore")
        if name.endswith(".pf_fragment"):
            # A search fragment is one page's text: name it after that page.
            try:
                name = "pagefind:" + json.loads(text[text.index("{"):])["url"].lstrip("/")
            except (ValueError, KeyError):
                pass
        yield name, text

    for path in sorted(site.rglob("*")):
        if path.is_file():
            yield from expand(path.relative_to(site).as_posix(), path.read_bytes())


def identifying_strings(record: Incident) -> list[str]:
    strings = {record.id, record.title, Path(record.path).stem}
    for value in (record.summary, record.trigger, *(e["event"] for e in record.timeline),
                  *(a["title"] for a in record.action_items), *(c["description"] for c in record.root_causes)):
        if value and len(value) >= 25:
            strings.add(value[:60])
    strings |= {word for word in re.findall(r"Operation \w+", record.title + " " + (record.summary or ""))}
    return sorted(strings)


@pytest.mark.slow
def test_public_build_leaks_nothing_of_restricted_records_or_internal_titles(sample_site, tmp_path):
    from incidentkb.publish.engine import build

    root, _ = sample_site
    kb, _ = load(root)
    restricted = [i for i in kb.incidents if i.visibility == "restricted"]
    internal = [i for i in kb.incidents if i.visibility == "internal"]
    assert restricted and internal
    site = build(root, site_dir=tmp_path / "public", today=date.fromisoformat(TODAY), audience="public")
    needles = {s: r.id for r in restricted for s in identifying_strings(r)}
    leaks = [(name, needles[needle]) for name, text in output_texts(site) for needle in needles if needle in text]
    assert leaks == []
    # Internal records: no generated output names their titles. (Text people wrote may: the guides quote
    # sample output, and a public post-mortem may mention an internal incident by id.)
    titles = {r.title: r.id for r in internal}
    leaks = [(name, titles[title]) for name, text in output_texts(site)
             if "/guide/" not in "/" + name.replace(":", "/") for title in titles if title in text]
    assert leaks == []
    # Sanity: the public records are there, so the search above looked at a real site.
    public = [i for i in kb.incidents if i.visibility == "public"]
    assert public and all(any(p.title in text for _, text in output_texts(site)) for p in public[:3])


def test_links_to_hidden_records_become_plain_text(kb_root):
    root = kb_root({
        "incidents/2025/INC-2025-001-public.md": minimal_incident(visibility="public").replace(
            "A deploy broke checkout.",
            "See [the other one](INC-2025-002-secret.md#timeline) and [the home page](../../index.md)."),
        "incidents/2025/INC-2025-002-secret.md": minimal_incident("INC-2025-002", visibility="restricted",
                                                                  title='"Project Nightjar"'),
        "docs/index.md": "# Home\n\nWe had [an incident](../incidents/2025/INC-2025-002-secret.md).\n",
        "mkdocs.yml": "site_name: t\ntheme: {name: material, font: false}\nplugins: [incidentkb]\n",
    })
    assert run_kb("build", "--root", root, "--audience", "public").code == 0
    page = (root / "site/incidents/2025/INC-2025-001-public/index.html").read_text()
    assert "See the other one and" in page and "INC-2025-002-secret" not in page
    assert "We had an incident." in (root / "site/index.html").read_text()
    assert not (root / "site/incidents/2025/INC-2025-002-secret").exists()
    assert not any("Nightjar" in text for _, text in output_texts(root / "site"))
    assert run_kb("build", "--root", root, "--audience", "restricted").code == 0
    assert (root / "site/incidents/2025/INC-2025-002-secret/index.html").exists()


def test_unlink_keeps_other_links():
    text = "[a](x.md) [b](https://e.example/x.md) [c](../y/z.md#h) ![img](x.md)"
    assert fix_links(text, "incidents/2025/p.md", frozenset({"incidents/2025/x.md"})) == \
        "a [b](https://e.example/x.md) [c](../y/z.md#h) "


def test_repository_relative_links_from_docs_reach_records():
    records = frozenset({"incidents/2025/x.md"})
    text = "[x](../../incidents/2025/x.md#timeline 'T') [y](../other.md)"
    assert fix_links(text, "guide/a.md", docs_prefix="docs", records=records) == \
        "[x](../incidents/2025/x.md#timeline 'T') [y](../other.md)"


# ------------------------------------------------------------------------------------------- bodies


def body_findings(body: str, mode: str = "safe"):
    record = Incident("incident", "incidents/2025/x.md", {}, None, body, 20)
    return [(f.code, f.line, f.column) for f in check_body_html(record, mode)]


@pytest.mark.parametrize("body, expected", [
    ("<script>alert(1)</script>", [("unsafe-html", 20, 1)]),
    ("Text\n<img src=x onerror=alert(1)>", [("unsafe-html", 21, 1)]),
    ("[click](javascript:alert(1))", [("unsafe-link", 20, 9)]),
    ("[click]( JaVaScRiPt:alert(1))", [("unsafe-link", 20, 10)]),
    ('<a href="jav&#x61;script:alert(1)">x</a>', [("unsafe-link", 20, 1)]),
    ("<iframe src=https://e.example></iframe>", [("unsafe-html", 20, 1)]),
    ('<svg onload="x">', [("unsafe-html", 20, 1), ("unsafe-html", 20, 1)]),
    ("`<script>` in code is fine", []),
    ("```html\n<script>alert(1)</script>\n```", []),
    ("    <script>indented code</script>", []),
    ("<details><summary>More</summary>Text</details> <br> <kbd>Ctrl</kbd>", []),
    ("An autolink <https://example.com/a> and a comparison a < b > c", []),
    ("<!-- a comment with <script> inside\nis not rendered -->", []),
])
def test_unsafe_html_in_bodies(body, expected):
    assert body_findings(body) == expected


def test_policy_can_reject_or_allow_raw_html():
    assert body_findings("<details>x</details>", "reject") == [("raw-html", 20, 1)]
    assert body_findings("<script>alert(1)</script>", "allow") == []


def test_kb_check_rejects_a_script_in_a_body(kb_root):
    root = kb_root({"incidents/2025/INC-2025-001-x.md": minimal_incident().replace(
        "A deploy broke checkout.", "A deploy broke checkout.\n<script>fetch('/steal')</script>")})
    result = run_kb("check", "--root", root, "--format", "json")
    assert result.code == 1
    assert [(p["code"], p["line"]) for p in result.json] == [("unsafe-html", 16)]
    assert run_kb("build", "--root", root).code == 1 and not (root / "site").exists()


# ------------------------------------------------------------------------------------------- nothing lost


def test_interrupted_new_leaves_nothing_behind(kb_root, monkeypatch):
    import incidentkb.core.safe_write

    root = kb_root({"incidents/.keep": ""})

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(incidentkb.core.safe_write.os, "link", interrupted)
    result = run_kb("new", "incident", "--root", root, "--title", "x", "--severity", "SEV3", "--service", "checkout",
                    "--started-at", "2025-01-01T10:00Z")
    assert result.code == 130
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == ["incidents/.keep"]


def test_killed_writer_leaves_no_partial_file(tmp_path):
    # A child process writes a 20 MB file through write_new_file and is killed mid-way.
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO / 'scripts')!r})
        from incidentkb.core import safe_write
        real_fdopen = os.fdopen
        class Slow:
            def __init__(self, handle): self.handle = handle
            def __enter__(self): return self
            def __exit__(self, *a): return self.handle.__exit__(*a)
            def write(self, text):
                self.handle.write(text[: len(text) // 2]); self.handle.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            def __getattr__(self, name): return getattr(self.handle, name)
        safe_write.os.fdopen = lambda *a, **k: Slow(real_fdopen(*a, **k))
        safe_write.write_new_file(__import__('pathlib').Path({str(tmp_path / 'record.md')!r}), 'x' * 20_000_000)
    """)
    result = subprocess.run([sys.executable, "-c", script])
    assert result.returncode == -9
    assert not (tmp_path / "record.md").exists()  # only a hidden temporary file may remain, never the target


# ------------------------------------------------------------------------------------------- bounded loading


def limited(memory_bytes: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    return apply


@pytest.mark.parametrize("name, content, code", [
    ("huge", None, "file-too-large"),
    ("bomb", "---\na: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [{','.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) + "---\n", "yaml-too-large"),
    ("deep", "---\nid: " + "[" * 50_000 + "]" * 50_000 + "\n---\n", "yaml-too-deep"),
    ("wide", "---\nid: INC-2025-001\ntags: [" + ", ".join(f"t{i}" for i in range(100_000)) + "]\n---\n", None),
])
def test_hostile_files_are_rejected_quickly_within_memory(kb_root, name, content, code):
    root = kb_root()
    path = root / "incidents/2025" / f"INC-2025-001-{name}.md"
    path.parent.mkdir(parents=True)
    if content is None:
        with open(path, "wb") as handle:  # 50 MB, sparse: the size check must not read it
            handle.truncate(50_000_000)
    else:
        path.write_text(content)
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "incidentkb", "check", "--root", str(root), "--format", "json"],
                            capture_output=True, text=True, timeout=60, preexec_fn=limited(1_500_000_000),
                            env={**os.environ, "KB_DEBUG": ""})
    elapsed = time.monotonic() - start
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    if code:
        assert code in result.stdout
    assert elapsed < 20, f"{name}: {elapsed:.1f} s"
