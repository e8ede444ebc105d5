"""Charts as inline SVG, built at build time: readable with no JavaScript and no network, printable.

Three builders (horizontal bars, vertical stacked bars, lines) return a `Chart`;
`Chart.html()` is the figure (the SVG, a caption and an HTML legend) followed by
a table holding the same numbers, so no figure exists without its table.

Accessibility and theming:
- `<svg role="img">` labelled by its `<title>`, with a `<desc>` giving the data
  in words; every bar and point also has a `<title>`, which browsers show as a
  tooltip without script.
- Text uses `currentColor` and fills use CSS classes (`kb-f-<tone>`) whose
  colours are CSS variables set for Material's light and dark palettes in
  incidentkb.css; a plain `fill` attribute holds the light colour for pages
  shown without that stylesheet.
- A `viewBox` and `width="100%"` let a chart shrink to a phone; the legend is
  HTML, so it wraps instead of shrinking.

Every value placed in the SVG or the HTML is escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from incidentkb.analysis.report import MONITORING, Report
from incidentkb.analysis.report_stats import quarter_label
from incidentkb.core.formats import fmt_duration, fmt_share

WIDTH = 360  # viewBox width: shown at most 30em wide (text about body size), about 340 px on a phone
FONT = 12.5
HEIGHT = 200  # of column and line charts, plus a line for two-line x-axis labels
CHAR = 0.6 * FONT  # rough advance width of one character, for layout only

# Light-palette colours, used as the fallback `fill` (incidentkb.css sets both palettes; keep them the same).
TONES = {
    "sev-1": "#c62828", "sev-2": "#b45309", "sev-3": "#856404", "sev-4": "#1565c0", "sev-5": "#616161",
    "c1": "#0072b2", "c2": "#e69f00", "c3": "#009e73", "c4": "#cc79a7", "c5": "#56b4e9", "c6": "#d55e00",
    "c7": "#8a8a8a", "c8": "#4d4d4d",
}


def fmt_number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


@dataclass
class Series:
    name: str
    values: Sequence[float | None]
    tone: str = "c1"


@dataclass
class Chart:
    id: str
    title: str
    desc: str
    svg: Markup
    headers: list[str]
    rows: list[list[str]]
    legend: list[tuple[str, str]] = field(default_factory=list)  # (name, tone)
    note: str = ""

    def table(self) -> Markup:
        head = "".join(f"<th>{escape(h)}</th>" for h in self.headers)
        body = "\n".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in self.rows)
        return Markup(f'<div class="kb-table kb-report-table kb-chart-data"><table>\n<caption>{escape(self.title)}: the numbers'
                      f'</caption>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table></div>')

    def html(self) -> Markup:
        legend = ""
        if self.legend:
            items = "".join(f'<li><span class="kb-swatch kb-f-{escape(tone)}" aria-hidden="true"></span>{escape(name)}</li>'
                            for name, tone in self.legend)
            legend = f'\n<ul class="kb-legend">{items}</ul>'
        note = f'\n<p class="kb-chart-note">{escape(self.note)}</p>' if self.note else ""
        return Markup(f'<figure class="kb-chart" id="chart-{escape(self.id)}">\n{self.svg}\n'
                      f'<figcaption>{escape(self.title)}</figcaption>{legend}{note}\n</figure>\n{self.table()}')


# ------------------------------------------------------------------------------ helpers


def _svg(chart_id: str, title: str, desc: str, height: float, body: list[str]) -> Markup:
    cid = escape(chart_id)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kb-svg" role="img" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" aria-labelledby="{cid}-title {cid}-desc" '
        f'font-size="{FONT}" fill="currentColor">\n'
        f'<title id="{cid}-title">{escape(title)}</title>\n<desc id="{cid}-desc">{escape(desc)}</desc>\n'
        + "\n".join(body) + "\n</svg>")


def _n(value: float) -> str:
    """A coordinate, short: at most one decimal."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _rect(x: float, y: float, w: float, h: float, tone: str, tip: str) -> str:
    return (f'<rect class="kb-f-{escape(tone)}" x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" '
            f'fill="{TONES.get(tone, TONES["c1"])}"><title>{escape(tip)}</title></rect>')


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _fit(text: str, width: float) -> str:
    """Shorten text to about `width` units, with an ellipsis."""
    room = max(3, int(width / CHAR))
    return text if len(text) <= room else text[: room - 1] + "…"


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 and round steps (1, 2, 5 × 10^k) up to at least `top`, at most `count` + 1 ticks."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1) if top >= 1 else step
    return [step * i for i in range(int(math.ceil(top / step - 1e-9)) + 1)]


DURATION_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 432000, 864000,
                  1728000, 3456000)


def duration_ticks(top: float, count: int = 5) -> list[float]:
    """0 and round duration steps (1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1, 2, 5, 10, 20, 40 d) up to `top`."""
    if top <= 0:
        return [0, 60]
    step = next((s for s in DURATION_STEPS if s * count >= top), DURATION_STEPS[-1])
    return [step * i for i in range(int(math.ceil(top / step - 1e-9)) + 1)]


LOG_TICKS = (60, 600, 3600, 36000, 86400, 864000)  # 1 min, 10 min, 1 h, 10 h, 1 d, 10 d


def log_ticks(low: float, high: float) -> list[float]:
    low, high = max(low, 1), max(high, 1)
    below = [t for t in LOG_TICKS if t <= low]
    above = [t for t in LOG_TICKS if t >= high]
    first = below[-1] if below else min(LOG_TICKS[0], low)
    last = above[0] if above else high
    return [first] + [t for t in LOG_TICKS if first < t < last] + [last]


def _describe(labels: Sequence[str], series: Sequence[Series], fmt: Callable) -> str:
    parts = []
    for index, label in enumerate(labels):
        values = [(s.name, s.values[index]) for s in series]
        if len(series) == 1:
            parts.append(f"{label}: {fmt(values[0][1])}")
        else:
            shown = [f"{name} {fmt(v)}" for name, v in values if v]
            parts.append(f"{label}: {', '.join(shown) if shown else 'none'}")
    return "; ".join(parts) + "."


def _data_rows(labels: Sequence[str], series: Sequence[Series], fmt: Callable, total: bool) -> list[list[str]]:
    rows = []
    for index, label in enumerate(labels):
        values = [s.values[index] for s in series]
        row = [label] + [fmt(v) for v in values]
        if total:
            row.append(fmt(sum(v or 0 for v in values)))
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- builders


def bar_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series] | Series, *,
              fmt: Callable = fmt_number, label_header: str = "", note: str = "",
              table: tuple[list[str], list[list[str]]] | None = None) -> Chart:
    """Horizontal bars, one row per label; several series are stacked in order. Readable at any width because
    the labels sit in their own column and each row ends with its total."""
    series = [series] if isinstance(series, Series) else list(series)
    stacked = len(series) > 1
    row_h, bar_h, top = 22, 14, 4
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    label_w = min(max((len(label) for label in labels), default=4) * CHAR + 10, WIDTH * 0.42)
    value_w = max((len(fmt(t)) for t in totals), default=1) * CHAR + 10
    plot_w = WIDTH - label_w - value_w
    peak = max(totals, default=0) or 1
    body = []
    for index, label in enumerate(labels):
        y = top + index * row_h
        body.append(_text(label_w - 8, y + bar_h - 3, _fit(label, label_w - 10), "end"))
        x = label_w
        for s in series:
            value = s.values[index] or 0
            width = plot_w * value / peak
            if width > 0:
                tip = f"{label}: {s.name} {fmt(value)}" if stacked else f"{label}: {fmt(value)}"
                body.append(_rect(x, y, width, bar_h, s.tone, tip))
                x += width
        body.append(_text(x + 5, y + bar_h - 3, fmt(totals[index]), extra=' class="kb-value"'))
    height = top + max(len(labels), 1) * row_h
    if not labels:
        body.append(_text(WIDTH / 2, 16, "No data", "middle"))
    desc = _describe(labels, series, fmt)
    headers = [label_header or "Item"] + [s.name for s in series] + (["Total"] if stacked else [])
    headers, rows = table or (headers, _data_rows(labels, series, fmt, stacked))
    return Chart(chart_id, title, desc, _svg(chart_id, title, desc, height, body), headers, rows,
                 [(s.name, s.tone) for s in series] if stacked else [], note)


def column_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series] | Series, *,
                 ticks: Sequence[str] | None = None, fmt: Callable = fmt_number, label_header: str = "",
                 note: str = "", table: tuple[list[str], list[list[str]]] | None = None) -> Chart:
    """Vertical bars over time (stacked when several series). `ticks` gives the x-axis text per label
    ('' for none, 'a\\nb' for two lines); by default every label is shown."""
    series = [series] if isinstance(series, Series) else list(series)
    stacked = len(series) > 1
    ticks = list(labels) if ticks is None else list(ticks)
    two_lines = any("\n" in t for t in ticks)
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    grid = nice_ticks(max(totals, default=0))
    left = max(len(fmt(t)) for t in grid) * CHAR + 10
    top, bottom = 10, 22 + (16 if two_lines else 0)
    height = HEIGHT + (16 if two_lines else 0)
    plot_w, plot_h = WIDTH - left - 6, height - top - bottom
    peak = grid[-1] or 1
    body = []
    for tick in grid:
        y = top + plot_h - plot_h * tick / peak
        body.append(f'<line class="kb-grid" x1="{_n(left)}" x2="{_n(WIDTH - 6)}" y1="{_n(y)}" y2="{_n(y)}" '
                     f'stroke="currentColor" stroke-opacity="0.2"/>')
        body.append(_text(left - 5, y + 4, fmt(tick), "end"))
    slot = plot_w / max(len(labels), 1)
    bar_w = max(slot * 0.72, 1)
    for index, label in enumerate(labels):
        x = left + index * slot + (slot - bar_w) / 2
        y = top + plot_h
        for s in series:
            value = s.values[index] or 0
            h = plot_h * value / peak
            if h > 0:
                y -= h
                tip = f"{label}: {s.name} {fmt(value)}" if stacked else f"{label}: {fmt(value)}"
                body.append(_rect(x, y, bar_w, h, s.tone, tip))
        for line, text in enumerate(ticks[index].split("\n") if ticks[index] else []):
            body.append(_text(left + index * slot + slot / 2, top + plot_h + 16 + 15 * line, text, "middle"))
    body.append(f'<line x1="{_n(left)}" x2="{_n(WIDTH - 6)}" y1="{_n(top + plot_h)}" y2="{_n(top + plot_h)}" '
                f'stroke="currentColor"/>')
    desc = _describe(labels, series, fmt)
    headers = [label_header or "Period"] + [s.name for s in series] + (["Total"] if stacked else [])
    headers, rows = table or (headers, _data_rows(labels, series, fmt, stacked))
    return Chart(chart_id, title, desc, _svg(chart_id, title, desc, height, body), headers, rows,
                 [(s.name, s.tone) for s in series] if stacked else [], note)


def line_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series] | Series, *,
               ticks: Sequence[str] | None = None, fmt: Callable = fmt_number, label_header: str = "",
               log: bool = False, note: str = "",
               table: tuple[list[str], list[list[str]]] | None = None) -> Chart:
    """Lines over time; a None value leaves a gap. With log=True the y axis is logarithmic (for durations
    that span minutes to days) and only positive values are drawn."""
    series = [series] if isinstance(series, Series) else list(series)
    ticks = list(labels) if ticks is None else list(ticks)
    two_lines = any("\n" in t for t in ticks)
    present = [v for s in series for v in s.values if v is not None and (v > 0 or not log)]
    if log:
        grid = log_ticks(min(present, default=60), max(present, default=60))
        low, high = math.log10(grid[0]), math.log10(grid[-1])
        position = lambda v: (math.log10(max(v, grid[0])) - low) / ((high - low) or 1)  # noqa: E731
    else:
        grid = nice_ticks(max(present, default=0))
        position = lambda v: v / (grid[-1] or 1)  # noqa: E731
    left = max(len(fmt(t)) for t in grid) * CHAR + 10
    top, bottom = 10, 22 + (16 if two_lines else 0)
    height = HEIGHT + (16 if two_lines else 0)
    plot_w, plot_h = WIDTH - left - 10, height - top - bottom
    body = []
    for tick in grid:
        y = top + plot_h - plot_h * position(tick)
        body.append(f'<line class="kb-grid" x1="{_n(left)}" x2="{_n(WIDTH - 6)}" y1="{_n(y)}" y2="{_n(y)}" '
                    f'stroke="currentColor" stroke-opacity="0.2"/>')
        body.append(_text(left - 5, y + 4, fmt(tick), "end"))
    slot = plot_w / max(len(labels), 1)
    xs = [left + slot * (i + 0.5) for i in range(len(labels))]
    for index, text in enumerate(ticks):
        for line, part in enumerate(text.split("\n") if text else []):
            body.append(_text(xs[index], top + plot_h + 16 + 15 * line, part, "middle"))
    dashes = ("", ' stroke-dasharray="6 4"', ' stroke-dasharray="2 3"')
    for number, s in enumerate(series):
        points = [(xs[i], top + plot_h - plot_h * position(v)) if v is not None and (v > 0 or not log) else None
                  for i, v in enumerate(s.values)]
        runs, run = [], []
        for point in points + [None]:
            if point is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(point)
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{_n(x)},{_n(y)}" for x, y in run)
                body.append(f'<polyline class="kb-s-{escape(s.tone)}" points="{path}" fill="none" '
                            f'stroke="{TONES.get(s.tone, TONES["c1"])}" stroke-width="2.5"{dashes[number % 3]}/>')
        for index, point in enumerate(points):
            if point is not None:
                body.append(f'<circle class="kb-f-{escape(s.tone)}" cx="{_n(point[0])}" cy="{_n(point[1])}" r="3.5" '
                            f'fill="{TONES.get(s.tone, TONES["c1"])}"><title>{escape(labels[index])}: {escape(s.name)} '
                            f'{escape(fmt(s.values[index]))}</title></circle>')
    body.append(f'<line x1="{_n(left)}" x2="{_n(WIDTH - 6)}" y1="{_n(top + plot_h)}" y2="{_n(top + plot_h)}" '
                f'stroke="currentColor"/>')
    desc = _describe(labels, series, fmt)
    headers = [label_header or "Period"] + [s.name for s in series]
    headers, rows = table or (headers, _data_rows(labels, series, fmt, False))
    return Chart(chart_id, title, desc, _svg(chart_id, title, desc, height, body), headers, rows,
                 [(s.name, s.tone) for s in series] if len(series) > 1 else [], note)


# ---------------------------------------------------------------- the charts of the reports pages

SEVERITY_TONES = ("sev-1", "sev-2", "sev-3", "sev-4", "sev-5")
DETECTION_TONES = {"alert": "c1", "automated-check": "c5", "customer-report": "c6", "staff": "c2", "vendor": "c4",
                   "other": "c7", "not recorded": "c8"}
STATE_TONES = {"overdue": "sev-1", "open": "c2", "done": "c3", "wont-do": "c7"}
STATE_NAMES = {"overdue": "Overdue", "open": "Open, not overdue", "done": "Done", "wont-do": "Won't do"}


def month_ticks(months: Sequence[str]) -> list[str]:
    """x-axis text for a run of YYYY-MM months: the year under January (and under the first month), else none."""
    names = {"01": "Jan", "04": "Apr", "07": "Jul", "10": "Oct"}
    every = 3 if len(months) <= 24 else 6
    out = []
    for index, month in enumerate(months):
        year, number = month.split("-")
        if number == "01" or index == 0:
            out.append(f"{names.get(number, number)}\n{year}" if number in names or index == 0 else "")
        elif (int(number) - 1) % every == 0:
            out.append(names[number])
        else:
            out.append("")
    return out


def quarter_ticks(quarters: Sequence[str]) -> list[str]:
    """x-axis text for YYYY-Qn quarters: 'Q1' with the year under it on the first quarter of a year."""
    out = []
    for index, key in enumerate(quarters):
        year, quarter = key.split("-")
        out.append(f"{quarter}\n{year}" if quarter == "Q1" or index == 0 else quarter)
    return out


def report_charts(report: Report, names: Callable[[str], str]) -> dict[str, Chart]:
    """Every chart of the reports pages, keyed by name. `names` turns a service or team id into a display name."""
    charts: dict[str, Chart] = {}
    volume, response, follow = report.volume, report.response, report.follow_up
    severities = report.severities
    sev_tones = {s: SEVERITY_TONES[min(i, 4)] for i, s in enumerate(severities)}

    def stat_row(label, stats):
        return [label, fmt_duration(stats.median), fmt_duration(stats.p90), fmt_duration(stats.mean), str(stats.n),
                str(stats.open + stats.missing + stats.invalid)]

    stat_headers = ["Median", "90th pct.", "Mean", "Measured", "Not measured"]

    years = list(response["detect"]["by_year"])
    detect_years = response["detect"]["by_year"]
    charts["detect_by_year"] = bar_chart(
        "detect-by-year", "Median time to detect, by year", years,
        Series("Median time to detect", [detect_years[y].median for y in years], "c1"), fmt=fmt_duration,
        table=(["Year"] + stat_headers, [stat_row(y, detect_years[y]) for y in years]))

    monitoring = volume["by_year_monitoring"]
    shown = [y for y in volume["years"] if monitoring[y]["incidents"]]
    charts["monitoring_by_year"] = bar_chart(
        "monitoring-by-year", "Share of incidents found by our monitoring, by year", shown,
        Series("Found by monitoring", [round(100 * monitoring[y]["monitoring"] / monitoring[y]["incidents"])
                                       for y in shown], "c3"),
        fmt=lambda v: "—" if v is None else f"{v:.0f}%",
        table=(["Year", "Found by monitoring", "Incidents", "Share"],
               [[y, str(monitoring[y]["monitoring"]), str(monitoring[y]["incidents"]),
                 fmt_share(monitoring[y]["monitoring"], monitoring[y]["incidents"])] for y in shown]),
        note="Monitoring: detection method " + " or ".join(MONITORING) + ".")

    quarters = volume["quarters"]
    trend = {k: response[k]["trailing_year"] for k in ("detect", "resolve")}
    by_quarter = {k: response[k]["by_quarter"] for k in ("detect", "resolve")}

    def cell(stats) -> str:
        return f"{fmt_duration(stats.median)} (n={stats.n})" if stats is not None and stats.n else "—"

    charts["times_trend"] = line_chart(
        "times-trend", "Median time to detect and to resolve over the past year, quarter by quarter",
        [quarter_label(q) for q in quarters],
        [Series("Median time to detect", [trend["detect"][q].median for q in quarters], "c1"),
         Series("Median time to resolve", [trend["resolve"][q].median for q in quarters], "c6")],
        ticks=quarter_ticks(quarters), fmt=fmt_duration, log=True,
        note="Each point is the median over the incidents started in that quarter and the three before it, which "
             "steadies quarters with few incidents. Logarithmic scale: equal steps up are equal factors.",
        table=(["Quarter", "Detect: past year", "Detect: that quarter", "Resolve: past year", "Resolve: that quarter"],
               [[quarter_label(q), cell(trend["detect"][q]), cell(by_quarter["detect"].get(q)),
                 cell(trend["resolve"][q]), cell(by_quarter["resolve"].get(q))] for q in quarters]))

    resolve = response["resolve"]["by_severity"]
    sevs = list(resolve)
    charts["resolve_by_severity"] = bar_chart(
        "resolve-by-severity", "Median time to resolve, by severity", sevs,
        Series("Median time to resolve", [resolve[s].median for s in sevs], "c6"), fmt=fmt_duration,
        table=(["Severity"] + stat_headers, [stat_row(s, resolve[s]) for s in sevs]))

    months = volume["months"]
    charts["by_month_severity"] = column_chart(
        "by-month-severity", "Incidents per month, by severity", months,
        [Series(s, [volume["by_month_severity"][m][s] for m in months], sev_tones[s]) for s in severities],
        ticks=month_ticks(months), label_header="Month")

    methods = volume["detection_methods"]
    charts["by_quarter_detection"] = column_chart(
        "by-quarter-detection", "Incidents per quarter, by how they were detected", [quarter_label(q) for q in quarters],
        [Series(m, [volume["by_quarter_detection"][q][m] for q in quarters], DETECTION_TONES.get(m, "c7"))
         for m in methods], ticks=quarter_ticks(quarters), label_header="Quarter")

    services = volume["by_service"]
    charts["by_service"] = bar_chart(
        "by-service", "Incidents per service", [names(row["service"]) for row in services],
        Series("Incidents", [row["incidents"] for row in services], "c1"),
        table=(["Service"] + volume["years"] + ["Total"],
               [[names(row["service"])] + [str(row["by_year"][y]) for y in volume["years"]] + [str(row["incidents"])]
                for row in services]),
        note="An incident that affected several services counts once for each.")

    for key, title in (("root_causes", "Root-cause categories"), ("contributing_factors", "Contributing-factor categories")):
        rows = report.causes[key]
        charts[key] = bar_chart(
            key.replace("_", "-"), f"{title}: incidents with at least one", [row["category"] for row in rows],
            Series("Incidents", [row["incidents"] for row in rows], "c4" if key == "root_causes" else "c5"),
            label_header="Category")

    states = list(STATE_TONES)

    def state_series(table: dict, keys: list[str]) -> list[Series]:
        return [Series(STATE_NAMES[s], [table[k][s] for k in keys], STATE_TONES[s]) for s in states]

    raised = list(follow["by_quarter_raised"])
    charts["items_by_quarter"] = column_chart(
        "items-by-quarter", "Action items by the quarter they were raised, and where they stand today",
        [quarter_label(q) for q in raised], state_series(follow["by_quarter_raised"], raised),
        ticks=quarter_ticks(raised), label_header="Quarter raised")

    owners = list(follow["by_owner"])
    charts["items_by_owner"] = bar_chart(
        "items-by-owner", "Action items by owner", [names(o) for o in owners], state_series(follow["by_owner"], owners),
        label_header="Owner")

    types = list(follow["by_type"])
    charts["items_by_type"] = bar_chart(
        "items-by-type", "Action items by type", types, state_series(follow["by_type"], types), label_header="Type")

    backlog = [o for o in owners if follow["by_owner"][o]["open"] + follow["by_owner"][o]["overdue"]]
    charts["backlog_by_owner"] = bar_chart(
        "backlog-by-owner", "Open action items by owner", [names(o) for o in backlog],
        [Series(STATE_NAMES[s], [follow["by_owner"][o][s] for o in backlog], STATE_TONES[s]) for s in ("overdue", "open")],
        label_header="Owner")

    used = report.runbooks["used"]
    charts["runbook_use"] = bar_chart(
        "runbook-use", "Runbooks by the number of incidents that used them", [row["runbook"] for row in used],
        Series("Incidents", [row["incidents"] for row in used], "c3"), label_header="Runbook",
        table=(["Runbook", "Incidents", "Last used"], [[row["runbook"], str(row["incidents"]), row["last_used"].isoformat()]
                                                        for row in used]))
    return charts
