"""`kb import postmortems` on documents: Markdown read by a real parser, someone else's front matter, --map,
HTML from Confluence and Google Docs, .docx and HTML written by pandoc, and the real icco archive."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import IN_CI, corpus_dir, run_kb, write_files

from incidentkb.authoring.importers import convert_runbook, relink
from incidentkb.core import markdown
from incidentkb.records.load import load

SAMPLE = """\
# Checkout outage after config push

## Summary

A configuration push removed the payment provider's endpoint. Checkout failed for 20 minutes.

## Timeline

All times in CET.

| Time             | Event                              |
| :--------------- | ---------------------------------- |
| 2023-05-02 10:00 | Config pushed                      |
| 2023-05-02 10:04 | Alert `CheckoutErrors` fires       |
| 2023-05-02 10:20 | Config reverted, checkout recovers |

## Root cause

1. The config schema allowed an **empty** endpoint.
   - See [the schema](https://example.com/schema).
2. Nothing validated it.

```sh
kubectl rollout undo deploy/checkout
```

## Impact

About 300 orders failed.
"""


def kb_init(tmp_path: Path) -> Path:
    into = tmp_path / "kb"
    assert run_kb("init", into).code == 0
    return into


def record_of(into: Path, rel: str) -> str:
    return (into / rel).read_text(encoding="utf-8")


# ------------------------------------------------------------------ the Markdown reader (issue 20's bugs)


def test_heading_inside_a_four_backtick_fence_is_not_a_section():
    text = "# Title\n\n## Summary\n\nText.\n\n````md\n```\n## Timeline\n```\n````\n\n## Impact\n\nBad.\n"
    sections = [s.heading.text for s in markdown.outline(text).sections()]
    assert sections == ["Title", "Summary", "Impact"]


def test_setext_headings_are_sections():
    text = "Checkout outage\n===============\n\nSummary\n-------\n\nIt broke.\n\nImpact\n------\n\nOrders failed.\n"
    doc = markdown.outline(text)
    assert [(h.level, h.text, h.setext) for h in doc.headings] == [(1, "Checkout outage", True), (2, "Summary", True),
                                                                   (2, "Impact", True)]
    assert markdown.paragraphs(doc, doc.sections()[1].start, doc.sections()[1].end) == ["It broke."]


def test_setext_runbook_sections_are_renamed_and_fenced_headings_left_alone():
    text = "KubeDown\n========\n\nMeaning\n-------\n\nDown.\n\n````\n## Meaning\n````\n"
    converted = convert_runbook(text, "KubeDown.md", "kubernetes")
    assert "## Symptoms\n\nDown." in converted.text
    assert "````\n## Meaning\n````" in converted.text  # inside the fence: code, not a heading
    assert "KubeDown\n====" not in converted.text


def test_links_inside_code_are_not_rewritten(tmp_path):
    other = tmp_path / "PM2023-002.md"
    other.write_text("x", encoding="utf-8")
    body = ("See [the other](PM2023-002.md) and `[not a link](PM2023-002.md)` and ``[nor](gone.md)``.\n\n"
            "```\n[code](gone.md)\n```\n\n[missing](gone.md)\n")
    new, lost = relink(body, tmp_path / "PM2023-001.md", "incidents/2023/INC-2023-001-a.md",
                       {other.resolve(): "incidents/2023/INC-2023-002-b.md"})
    assert "[the other](INC-2023-002-b.md)" in new
    assert "`[not a link](PM2023-002.md)`" in new and "``[nor](gone.md)``" in new and "[code](gone.md)" in new
    assert "\nmissing\n" in new and lost == ["gone.md"]


# ------------------------------------------------------------------ someone else's front matter and --map


FOREIGN = """\
---
uuid: 6b1e0a44-0000-4000-8000-000000000001
url: https://status.example.com/incidents/42
title: Payments API outage
start_time: 2024-03-05T14:02:00Z
end_time: 2024-03-05T15:10:00Z
categories: [config-change, cloud]
keywords: [payments, dns]
company: Example Corp
product: Payments API
summary: A DNS change made the payments API unreachable for an hour.
---

On March 5, 2024, at 14:02 UTC a DNS change went out. By 14:20 UTC the team had found it, and at 15:10 UTC
service was restored.
"""


def test_foreign_front_matter_maps_known_fields(tmp_path):
    into = kb_init(tmp_path)
    src = write_files(tmp_path / "src", {"6b1e0a44.md": FOREIGN})
    result = run_kb("import", "postmortems", src, "--into", into, "--add-services")
    assert result.code == 0, result.out + result.err
    kb, _ = load(into)
    incident = next(i for i in kb.incidents if i.title == "Payments API outage")
    assert incident.services == ["payments-api"] and incident.tags == ["config-change", "cloud", "payments", "dns"]
    assert incident.started_at.isoformat() == "2024-03-05T14:02:00+00:00"
    assert incident.resolved_at.isoformat() == "2024-03-05T15:10:00+00:00"
    assert incident.source == {"tool": "markdown", "id": "6b1e0a44-0000-4000-8000-000000000001",
                               "url": "https://status.example.com/incidents/42",
                               "imported_at": incident.source["imported_at"], "digest": incident.source["digest"]}
    assert [e["at"].strftime("%H:%M") for e in incident.timeline] == ["14:02", "14:20"]
    assert "payments-api" in (into / "catalog.yml").read_text(encoding="utf-8")
    assert "started_at: 1 from start_time" in result.err and "tags: 1 from categories + keywords" in result.err
    assert run_kb("check", "--root", into).code == 0


def test_map_file_replaces_entries_and_bad_map_files_say_where(tmp_path):
    into = kb_init(tmp_path)
    text = FOREIGN.replace("start_time", "began").replace("product: Payments API", "product: Web")
    src = write_files(tmp_path / "src", {"a.md": text})
    mapping = tmp_path / "map.yml"
    mapping.write_text("fields:\n  started_at: began\n  services: product\n", encoding="utf-8")
    result = run_kb("import", "postmortems", src, "--into", into, "--map", mapping)
    assert result.code == 0, result.out
    assert "started_at: 1 from began" in result.err
    bad = tmp_path / "bad.yml"
    bad.write_text("fields:\n  started: began\n", encoding="utf-8")
    result = run_kb("import", "postmortems", src, "--into", into, "--map", bad)
    assert result.code == 2 and f"{bad}:2: 'started' is not a field the importer fills; did you mean 'started_at'?" \
        in result.err
    bad.write_text("feilds:\n  title: x\n", encoding="utf-8")
    result = run_kb("import", "postmortems", src, "--into", into, "--map", bad)
    assert result.code == 2 and "unknown section 'feilds'; expected 'fields'" in result.err


def test_stated_severity_that_the_policy_lacks_is_reported_not_guessed(tmp_path):
    into = kb_init(tmp_path)
    src = write_files(tmp_path / "src", {"a.md": FOREIGN.replace("company:", "severity: P1\ncompany:")})
    before = sorted(p.relative_to(into).as_posix() for p in into.rglob("*"))
    result = run_kb("import", "postmortems", src, "--into", into, "--add-services")
    assert result.code == 1
    assert "severity 'P1' is not a severity of the policy (SEV1 (Critical)" in result.out
    assert "P1: SEV1" in result.out  # the --map snippet that fixes it
    assert sorted(p.relative_to(into).as_posix() for p in into.rglob("*")) == before  # nothing written


def test_unknown_service_did_you_mean_and_dry_run(tmp_path):
    into = kb_init(tmp_path)
    src = write_files(tmp_path / "src", {"a.md": FOREIGN.replace("product: Payments API", "product: Webb")})
    result = run_kb("import", "postmortems", src, "--into", into)
    assert result.code == 1 and "service 'Webb' is not in the catalog; did you mean 'web'?" in result.out
    catalog = (into / "catalog.yml").read_text(encoding="utf-8")
    result = run_kb("import", "postmortems", src, "--into", into, "--add-services", "--dry-run")
    assert result.code == 0 and "would import a.md -> incidents/2024/INC-2024-001-payments-api-outage.md" in result.out
    assert "    | title: Payments API outage" in result.out and "would add 1 service(s)" in result.out
    assert "  - id: webb" in result.out and "dry run: nothing was written" in result.err
    assert (into / "catalog.yml").read_text(encoding="utf-8") == catalog
    assert not (into / "incidents/2024").exists()


def test_secrets_are_reported_before_anything_is_written(tmp_path):
    into = kb_init(tmp_path)
    leaked = FOREIGN + "\nThe deploy used token ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5" + " by mistake.\n"
    src = write_files(tmp_path / "src", {"a.md": leaked, "b.md": FOREIGN.replace("0001", "0002")})
    result = run_kb("import", "postmortems", src, "--into", into, "--add-services")
    assert result.code == 1
    assert "FAILED   a.md: would not pass kb check: line" in result.out and "possible GitHub" in result.out
    assert "ghp_aB3d" not in result.out.replace("ghp_…", "")  # never the secret itself
    assert "imported b.md" in result.out
    assert not any("ghp_" in p.read_text(encoding="utf-8") for p in (into / "incidents").rglob("*.md"))


def test_reimport_finds_records_by_source_and_ids_never_collide(tmp_path):
    into = kb_init(tmp_path)
    year = time.strftime("%Y")
    existing = next((into / "incidents").rglob("INC-*.md"))
    src = write_files(tmp_path / "src", {
        f"PM{year}-001 - clash.md": SAMPLE.replace("2023-05-02", f"{year}-05-02"),
        "a.md": FOREIGN,
    })
    first = run_kb("import", "postmortems", src, "--into", into, "--add-services")
    assert first.code == 0, first.out
    assert f"INC-{year}-001 is taken: numbered INC-{year}-002" in first.out
    assert existing.read_text(encoding="utf-8") == record_of(into, existing.relative_to(into).as_posix())
    files = sorted(p.name for p in (into / "incidents").rglob("*.md"))
    second = run_kb("import", "postmortems", src, "--into", into, "--add-services")
    assert second.code == 0 and second.out.count("imported before as") == 2 and "0 imported" in second.err
    assert sorted(p.name for p in (into / "incidents").rglob("*.md")) == files


def test_progress_is_not_printed_when_stderr_is_not_a_terminal(tmp_path):
    src = write_files(tmp_path / "src", {f"PM2023-{n:03d}.md": SAMPLE for n in range(1, 25)})
    result = run_kb("import", "postmortems", src, "--into", tmp_path / "kb")
    assert result.code == 0 and "\r" not in result.err and "reading" not in result.err


# ------------------------------------------------------------------ HTML and Word


CONFLUENCE = """\
<html><head><title>Ops : PM-12 Checkout outage</title></head><body>
<div id="page"><div id="main">
<div id="main-header"><div id="breadcrumb-section"><ol id="breadcrumbs"><li><a href="index.html">Ops</a></li></ol></div>
<h1 id="title-heading" class="pagetitle"><span id="title-text"> Ops : PM-12 Checkout outage </span></h1></div>
<div id="content" class="view"><div class="page-metadata">Created by Jane Roe, last modified on Mar 02, 2023</div>
<div id="main-content" class="wiki-content group">
<h2 id="PM12-Summary">Summary</h2><p>A config push broke checkout for <strong>20 minutes</strong>.</p>
<h2 id="PM12-Timeline">Timeline</h2><p>All times in UTC.</p>
<div class="table-wrap"><table class="confluenceTable"><tbody>
<tr><th class="confluenceTh">Time</th><th class="confluenceTh">Event</th></tr>
<tr><td class="confluenceTd">2023-03-01 10:00</td><td class="confluenceTd">Config pushed</td></tr>
<tr><td class="confluenceTd">2023-03-01 10:20</td><td class="confluenceTd">Reverted</td></tr>
</tbody></table></div>
<h2 id="PM12-Rootcause">Root cause</h2><ul><li>The schema allowed an empty endpoint.</li></ul>
<div class="code panel pdl"><div class="codeContent panelContent pdl">
<pre class="syntaxhighlighter-pre" data-syntaxhighlighter-params="brush: bash; gutter: false; theme: Confluence">kubectl rollout undo deploy/checkout</pre>
</div></div>
<div class="confluence-information-macro confluence-information-macro-note"><span class="aui-icon confluence-information-macro-icon"></span>
<div class="confluence-information-macro-body"><p>Validate configs in CI.</p></div></div>
</div></div></div>
<div id="footer"><section class="footer-body"><p>Document generated by Confluence on Mar 02, 2023 10:00</p></section></div>
</div></body></html>
"""

GOOGLE_DOCS = """\
<html><head><meta content="text/html; charset=UTF-8" http-equiv="content-type"><style type="text/css">
.c1{font-weight:700}.c2{font-style:italic}.c3{font-family:"Courier New";font-weight:400}.title{font-size:26pt}
ul.lst-kix_abc-0{list-style-type:none}ul.lst-kix_abc-1{list-style-type:none}</style></head>
<body class="c9 doc-content"><p class="c5 title" id="h.t"><span>DB failover post-mortem</span></p>
<h2 class="c6" id="h.s"><span>Summary</span></h2><p class="c4"><span>The primary </span><span class="c1">failed over</span>
<span> after </span><span class="c3">max_connections</span><span class="c2"> ran out</span><span>.</span></p>
<h2 id="h.tl"><span>Timeline</span></h2>
<table class="c8"><tr class="c7"><td class="c0"><p class="c4"><span class="c1">Time (UTC)</span></p></td><td class="c0"><p><span class="c1">Event</span></p></td></tr>
<tr><td><p><span>2022-11-08 07:15</span></p></td><td><p><span>Alert fires</span></p></td></tr>
<tr><td><p><span>2022-11-08 07:55</span></p></td><td><p><span>Failover done</span></p></td></tr></table>
<h2 id="h.rc"><span>Root cause</span></h2>
<ul class="c10 lst-kix_abc-0 start"><li class="c4 li-bullet-0"><span>Pool too small</span></li></ul>
<ul class="c10 lst-kix_abc-1 start"><li class="c4 li-bullet-0"><span>sized for last year</span></li></ul>
<ul class="c10 lst-kix_abc-0"><li class="c4 li-bullet-0"><span>No alert on saturation; see </span><span><a href="https://www.google.com/url?q=https://grafana.example.com/d/db&amp;sa=D&amp;source=editors&amp;ust=1&amp;usg=x">the dashboard</a></span></li></ul>
</body></html>
"""


def test_confluence_export_loses_its_furniture_and_keeps_structure(tmp_path):
    into = kb_init(tmp_path)
    src = write_files(tmp_path / "src", {"PM-12 Checkout outage.html": CONFLUENCE})
    result = run_kb("import", "postmortems", src, "--into", into, "--service", "web")
    assert result.code == 0, result.out
    text = record_of(into, "incidents/2023/INC-2023-001-pm-12-checkout-outage.md")
    assert "title: PM-12 Checkout outage" in text and "tool: confluence" in text
    assert "started_at: '2023-03-01T10:00:00Z'" in text and "resolved_at: '2023-03-01T10:20:00Z'" in text
    assert "| 2023-03-01 10:00 | Config pushed |" in text and "```bash\nkubectl rollout undo" in text
    assert "> Validate configs in CI." in text and "**20 minutes**" in text
    assert "Jane Roe" not in text and "Document generated" not in text and "breadcrumbs" not in text
    assert "description: The schema allowed an empty endpoint." in text


def test_google_docs_export_styles_lists_and_links(tmp_path):
    into = kb_init(tmp_path)
    src = write_files(tmp_path / "src", {"db.html": GOOGLE_DOCS})
    result = run_kb("import", "postmortems", src, "--into", into, "--service", "web")
    assert result.code == 0, result.out
    text = record_of(into, "incidents/2022/INC-2022-001-db-failover-post-mortem.md")
    assert "tool: google-docs" in text and "**failed over**" in text and "`max_connections`" in text
    assert "*ran out*" in text or "_ran out_" in text
    assert "- Pool too small\n  - sized for last year\n- No alert on saturation" in text
    assert "[the dashboard](https://grafana.example.com/d/db)" in text and "google.com/url" not in text
    assert "| 2022-11-08 07:15 | Alert fires |" in text


def pandoc() -> str:
    found = shutil.which("pandoc")
    if found is None:
        if IN_CI:
            pytest.fail("CI=true but pandoc is missing: .ci/run should have installed it")
        pytest.skip("pandoc is not installed (apt-get install pandoc): it writes the .docx and HTML documents read back")
    return found


@pytest.mark.parametrize("target, suffix", [("docx", ".docx"), ("html", ".html")])
def test_documents_written_by_pandoc_read_back(tmp_path, target, suffix):
    """A sample post-mortem written by pandoc, the converters' counterpart, and imported again."""
    into = kb_init(tmp_path)
    source = tmp_path / "sample.md"
    source.write_text(SAMPLE, encoding="utf-8")
    (tmp_path / "src").mkdir()
    document = tmp_path / "src" / f"PM2023-004 checkout{suffix}"
    args = [pandoc(), "-f", "gfm", "-t", target, "-o", str(document), str(source)]
    subprocess.run(args + (["-s", "--metadata", "title=Checkout outage after config push"] if target == "html" else []),
                   check=True)
    result = run_kb("import", "postmortems", tmp_path / "src", "--into", into, "--service", "web")
    assert result.code == 0, result.out
    text = record_of(into, "incidents/2023/INC-2023-004-checkout-outage-after-config-push.md")
    body = text.split("\n---\n", 1)[1]
    assert "started_at: '2023-05-02T10:00:00+01:00'" in text and "resolved_at: '2023-05-02T10:20:00+01:00'" in text
    assert "## Summary" in body and "## Root cause" in body  # headings
    assert "1. The config schema allowed an **empty** endpoint." in body  # lists and emphasis
    assert "   - See [the schema](https://example.com/schema)." in body  # nesting and links
    assert "| 2023-05-02 10:04 | Alert `CheckoutErrors` fires |" in body  # tables and code spans
    assert "kubectl rollout undo deploy/checkout" in body and "```" in body  # code blocks
    assert run_kb("check", "--root", into).code == 0


def test_broken_documents_are_reported(tmp_path):
    src = write_files(tmp_path / "src", {"a.docx": b"not a zip", "b.docx": b"PK\x03\x04broken", "c.html": "just text",
                                         "d.md": "---\ntitle: [unclosed\n---\n\nOn 2023-01-01 10:00 UTC it broke.\n"})
    result = run_kb("import", "postmortems", src, "--into", tmp_path / "kb")
    assert result.code == 1 and "Traceback" not in result.out + result.err
    assert "a.docx is not a Word .docx file" in result.out and "b.docx cannot be read as a Word document" in result.out
    assert "c.html has no HTML elements" in result.out
    assert "d.md has front matter that is not valid YAML (line 2:" in result.out


# ------------------------------------------------------------------ the real archives


@pytest.mark.corpus
@pytest.mark.slow
def test_icco_archive_into_a_new_knowledge_base(tmp_path):
    """The done-when of issue 24: 242 records, no errors from kb check, a site that builds."""
    from incidentkb.publish.engine import build

    src = corpus_dir("icco-postmortems") / "data"
    into = kb_init(tmp_path)
    result = run_kb("import", "postmortems", src, "--into", into, "--add-services", "--undated", "2000-01-01")
    assert result.code == 0, result.out[-2000:]
    assert "242 imported" in result.err
    kb, _ = load(into)
    imported = [i for i in kb.incidents if i.source]
    assert len(imported) == 242
    undated = [i for i in imported if "date-unknown" in i.tags]
    assert 0 < len(undated) < 60  # only files that state no date anywhere
    check = run_kb("check", "--root", into)
    assert check.code == 0 and " 0 errors" in check.err, check.out[-2000:]
    again = run_kb("import", "postmortems", src, "--into", into, "--add-services", "--undated", "2000-01-01")
    assert "0 imported" in again.err and again.out.count("imported before as") == 242
    site = build(into, tmp_path / "site", strict=False)
    assert (Path(site) / "index.html").is_file()


def test_times_stated_in_prose():
    from datetime import timezone

    from incidentkb.authoring.prosetimes import moments

    found = moments(["On February 28, 2017, at 9:37 AM PST, the incident began. GET recovered by 12:26 PM PST.",
                     "APIs were down from 9:16 PM to 11:16 PM PDT. Errors lasted until 1:30 AM PDT.",
                     "Version 2.17.1 shipped 3 hours later (03/04/2017 is ambiguous), and the fix at 10:00."],
                    timezone.utc)
    assert [m.at.isoformat() for m in found] == ["2017-02-28T09:37:00-08:00", "2017-02-28T12:26:00-08:00",
                                                 "2017-02-28T21:16:00-07:00", "2017-03-01T01:30:00-07:00",
                                                 "2017-03-01T10:00:00+00:00"]
