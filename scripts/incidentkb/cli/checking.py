"""`kb check` and `kb schema`: the records checked like code, and the schemas editors validate with."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from incidentkb.analysis.similar import SimilarityIndex
from incidentkb.checks.changed import ChangedError, changed_paths, check_changed
from incidentkb.checks.consistency import check_knowledge_base
from incidentkb.checks.duplicates import check_duplicates
from incidentkb.cli.common import echo_json, parse_today, require_root, root_option
from incidentkb.core.errors import EXIT_OK, EXIT_PROBLEMS, UsageError
from incidentkb.core.finding_formats import REPORT_FORMATTERS
from incidentkb.core.findings import FORMATTERS, sort_findings, summary_line
from incidentkb.publish.engine import docs_dir_of
from incidentkb.records.json_schema import json_schemas
from incidentkb.records.load import Layout, load, load_policy
from incidentkb.records.outputs import check_output
from incidentkb.site.sections.reference import render_field_reference


@click.command()
@root_option
@click.option("--format", "output_format", type=click.Choice(sorted(FORMATTERS | REPORT_FORMATTERS)), default="text",
              show_default=True, help="text for people, json for tools, github for workflow annotations, codequality "
              "for GitLab's Code Quality report, sarif for GitHub code scanning.")
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option("--today", metavar="YYYY-MM-DD", help="Date to judge deadlines against (default: today).")
@click.option("--changed", is_flag=True,
              help="Check only files changed since --base (or uncommitted changes), and the records referring to them.")
@click.option("--base", metavar="REF",
              help="The branch or commit changes are compared with: for --changed, and for the duplicate warning "
                   "about new or changed incidents (default: not yet committed changes).")
def check(root: Path, output_format: str, strict: bool, today: str | None, changed: bool, base: str | None):
    """Check every record, the catalog and the policy file.

    Prints one line per problem (path:line:column: level code: message) and a
    hint on how to fix it. Exit code 0 when clean, 1 when problems were found
    (errors, or warnings with --strict), 2 on a usage error.
    """
    root = require_root(root)
    day = parse_today(today)
    if changed:
        result = check_changed(root, changed_paths(root, base), today=day)
        findings, files_checked = sort_findings(result.findings), result.files_checked
    else:
        kb, findings = load(root)
        findings += check_knowledge_base(kb, today=day)
        findings = sort_findings(findings + _duplicate_warnings(root, kb, base))
        files_checked = kb.files_read
    if output_format in REPORT_FORMATTERS:  # a report file for CI, written even when it is empty
        base = os.path.relpath(root)
        click.echo(REPORT_FORMATTERS[output_format](findings, "" if base.startswith("..") else base))
    elif findings or output_format == "json":
        click.echo(FORMATTERS[output_format](findings))
    if output_format == "text":
        click.echo(summary_line(findings, files_checked), err=True)
    failed = any(f.is_error for f in findings) or (strict and findings)
    sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)


def _duplicate_warnings(root: Path, kb, base: str | None) -> list:
    """Possible duplicates among the incidents that are new or changed (per git: since --base, or not yet
    committed). Comparing needs the similar-incident index of the whole archive, so it is built only then."""
    try:
        paths = set(changed_paths(root, base))
    except ChangedError:
        if base:
            raise UsageError(f"--base {base}: this is not a git repository, or git does not know {base}") from None
        return []  # not a git repository: nothing is "new", so nothing to compare
    ids = [incident.id for incident in kb.incidents if incident.path in paths]
    if not ids:
        return []
    return check_duplicates(kb, SimilarityIndex.build(kb), ids)


@click.command()
@root_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write <kind>.schema.json files here.")
@click.option("--docs", is_flag=True, help="Print the field reference as Markdown instead.")
def schema(root, out, docs):
    """Print or write the JSON Schema of each record type (for yaml-language-server), or the field reference."""
    root = require_root(root)
    policy, findings = load_policy(root, Layout())
    if docs:
        click.echo(render_field_reference(policy), nl=False)
        return
    schemas = json_schemas(policy)
    if out is None:
        echo_json(schemas)
        return
    check_output(out, root, "--out", docs_dir=docs_dir_of(root))
    out.mkdir(parents=True, exist_ok=True)
    for kind, body in schemas.items():
        (out / f"{kind}.schema.json").write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        click.echo(f"{out}/{kind}.schema.json")


COMMANDS = (check, schema)
