"""`kb alerts`: every alert has a runbook, and every rule's runbook_url leads to it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from incidentkb.analysis.alert_coverage import coverage, runbook_url_pattern
from incidentkb.analysis.alert_rules import rules_to_read
from incidentkb.checks.promtool import as_dict as promtool_dict
from incidentkb.checks.promtool import check_rule_set
from incidentkb.checks.promtool import summary as promtool_summary
from incidentkb.cli.common import echo_json, format_option, require_root, root_option
from incidentkb.core.errors import EXIT_OK, EXIT_PROBLEMS, UsageError
from incidentkb.core.findings import FORMATTERS, sort_findings
from incidentkb.records.load import Layout, load


@click.command()
@click.argument("rules", nargs=-1, type=click.Path(path_type=Path))
@root_option
@format_option
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--url-pattern", metavar="URL",
              help="What runbook_url should be: a URL with {alert} or {alert_lower}, and optionally {service}. "
                   "Default: alerts.runbook_url in the policy, else the site_url of mkdocs.yml followed by "
                   "runbooks/alerts/{alert_lower}/.")
@click.option("--base-url", metavar="URL", help="The site's address; runbook_url should be <it>/runbooks/alerts/<alert lower>/.")
@click.option("--min-coverage", type=click.FloatRange(0, 1), metavar="0..1",
              help="Fail below this share of alerts with a runbook (default: alerts.min_coverage in the policy).")
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too: unresolved runbook_url values and the like.")
@click.option("--promtool/--no-promtool", default=True, show_default=True,
              help="Also run Prometheus' `promtool check rules` on the rule files, when promtool is installed.")
def alerts(rules, root, output_format, as_json, url_pattern, base_url, min_coverage, strict, promtool):
    """Check that every alert in RULES has a runbook, and that its runbook_url leads to it.

    RULES are Prometheus rule files, PrometheusRule manifests or folders of them (default:
    alerts.rules in the policy file, else monitoring/). Prints alerts with no runbook,
    runbook_url values that lead to no runbook, runbooks naming alerts no rule defines,
    and the coverage. Malformed files are reported and skipped. Exit code 1 when coverage
    is below alerts.min_coverage, when a rule file is malformed, or (--strict) on any
    warning; 2 on a usage error.
    """
    root = require_root(root)
    output_format = "json" if as_json else output_format
    layout = Layout()
    kb, findings = load(root, layout, kinds=("runbook",))  # coverage needs no incidents, most of the loading work
    policy_errors = [f for f in findings if f.path == layout.policy and f.is_error]
    if policy_errors:
        click.echo(FORMATTERS["text"](sort_findings(policy_errors)), err=True)
        raise UsageError(f"{kb.policy.path} has errors (above); fix them first (kb check lists them all)")
    loaded = {runbook.path for runbook in kb.runbooks}
    broken = len({f.path for f in findings if f.is_error and f.path.startswith(layout.runbooks + "/")} - loaded)
    rule_set = rules_to_read(root, kb.policy, rules)
    checked = None
    if promtool:  # Prometheus' own check of the same files, when promtool is installed (checks/promtool.py)
        checked = check_rule_set(rule_set, base=None if rules else root)
        rule_set.findings += checked.findings
    url_pattern = runbook_url_pattern(root, kb.policy, url_pattern, base_url)
    threshold = min_coverage if min_coverage is not None else (kb.policy.section("alerts") or {}).get("min_coverage")
    # Runbook paths in findings are shown from the working folder, like the rule files.
    prefix = os.path.relpath(root)
    result = coverage(kb, rule_set, url_pattern, Path(prefix if not prefix.startswith("..") else
                                                      root.resolve()).as_posix())
    below = threshold is not None and result.ratio < threshold
    failed = below or any(f.is_error for f in result.findings) or (strict and bool(result.findings))

    percent = f"{result.ratio:.1%}" if result.total else "—"
    where = "--min-coverage" if min_coverage is not None else kb.policy.path or "policy"
    verdict = (f"; below the minimum {threshold:.0%} ({where})" if below else
               f"; minimum {threshold:.0%} ({where})" if threshold is not None else "")
    headline = (f"{result.covered} of {result.total} alerts have a runbook ({percent}){verdict}" if result.total
                else "no alerting rules found")
    if output_format == "json":
        echo_json(result.as_dict(threshold) | {"below_minimum": below}
                  | ({"promtool": promtool_dict(checked)} if checked is not None else {}))
    elif output_format == "github":
        if result.findings:
            click.echo(FORMATTERS["github"](result.findings))
        if checked is not None:
            click.echo(f"::notice title=promtool::{promtool_summary(checked)}")
        click.echo(f"::{'error' if below else 'notice'} title=alert coverage::{headline}")
    else:
        if result.findings:
            click.echo(FORMATTERS["text"](result.findings) + "\n")
        click.echo(f"Alert coverage: {headline}")
        click.echo(f"  read {len(rule_set.files)} rule file(s): {len(rule_set.alerts)} alerting rules, "
                   f"{rule_set.recording} recording rules" + (f"; {len(rule_set.skipped)} file(s) skipped"
                                                              if rule_set.skipped else ""))
        click.echo(f"  {len(result.uncovered)} alert(s) with no runbook")
        click.echo(f"  {len(result.unresolved)} runbook_url value(s) leading to no runbook" +
                   (f" (expected {url_pattern})" if url_pattern else " (URLs not checked: pass --url-pattern or "
                    "--base-url, or set alerts.runbook_url in the policy)"))
        click.echo(f"  {len(result.undefined)} alert(s) named by runbooks but defined by no rule")
        if checked is not None:
            click.echo("  " + promtool_summary(checked))
    if broken:
        click.echo(f"note: {broken} runbook(s) could not be loaded and were not counted (run kb check)", err=True)
    sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)


COMMANDS = (alerts,)
