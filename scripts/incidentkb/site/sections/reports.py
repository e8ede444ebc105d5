"""The reports section: an overview for a quarterly review and one page per area, with charts."""

from __future__ import annotations

from incidentkb.analysis.clusters import CLUSTER_MIN_SIZE, CLUSTER_THRESHOLD
from incidentkb.analysis.report import CALENDAR_RULE, MONITORING, PERCENTILE_RULE, build_report, display_name
from incidentkb.analysis.report_stats import METRICS, quarter_label
from incidentkb.core.formats import fmt_duration, fmt_share
from incidentkb.site.charts import report_charts
from incidentkb.site.renderer import GeneratedPage, Renderer

REPORT_PAGES = (
    ("reports/index.md", "reports/index.md.j2", "Quarterly review"),
    ("reports/response-times.md", "reports/response-times.md.j2", "Response times"),
    ("reports/volume.md", "reports/volume.md.j2", "Incident volume"),
    ("reports/causes.md", "reports/causes.md.j2", "Recurring causes"),
    ("reports/follow-up.md", "reports/follow-up.md.j2", "Follow-up work"),
    ("reports/runbooks.md", "reports/runbooks.md.j2", "Runbook usage"),
)


def pages(renderer: Renderer) -> list[GeneratedPage]:
    kb = renderer.kb
    report = build_report(kb, renderer.options.today, similar=renderer.options.similar)
    names = lambda entry_id: display_name(kb, entry_id)  # noqa: E731
    context = {
        "report": report, "charts": report_charts(report, names), "metrics": METRICS, "name": names,
        "span": fmt_duration, "share": fmt_share, "quarter_label": quarter_label, "pages": REPORT_PAGES,
        "calendar_rule": CALENDAR_RULE, "percentile_rule": PERCENTILE_RULE, "monitoring": MONITORING,
        "cluster_threshold": CLUSTER_THRESHOLD, "cluster_min_size": CLUSTER_MIN_SIZE,
    }
    return [GeneratedPage(path, renderer.render(template, path, **context)) for path, template, _ in REPORT_PAGES]


def nav(kb) -> list:
    return [{"Reports": [path for path, _, _ in REPORT_PAGES]}]
