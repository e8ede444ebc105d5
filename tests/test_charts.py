"""Charts: valid, accessible SVG with the numbers in a table; and the charts of the sample's reports."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from html.parser import HTMLParser

import pytest
from conftest import REPO

from incidentkb.analysis.report import build_report, display_name
from incidentkb.core.formats import fmt_duration
from incidentkb.records.load import load
from incidentkb.site.charts import (
    TONES, Series, bar_chart, column_chart, duration_ticks, line_chart, log_ticks, month_ticks, nice_ticks,
    quarter_ticks, report_charts,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(chart) -> ET.Element:
    return ET.fromstring(str(chart.svg))


def assert_accessible(chart) -> ET.Element:
    root = parse(chart)
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img"
    assert root.get("width") == "100%" and re.fullmatch(r"0 0 \d+(\.\d)? \d+(\.\d)?", root.get("viewBox"))
    title, desc = root.find(SVG + "title"), root.find(SVG + "desc")
    assert title is not None and title.text == chart.title
    assert desc is not None and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert root.find(f".//{SVG}script") is None and "javascript" not in str(chart.svg).lower()
    assert not any(name.startswith("on") for element in root.iter() for name in element.attrib)
    return root


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th") and self.rows:
            self.rows[-1].append("")

    def handle_data(self, data):
        if self.rows and self.rows[-1] and self.tags and self.tags[-1] in ("td", "th"):
            self.rows[-1][-1] += data

    def handle_endtag(self, tag):
        if self.tags and self.tags[-1] == tag:
            self.tags.pop()


def table_rows(chart) -> list[list[str]]:
    parser = _Cells()
    parser.feed(str(chart.table()))
    return parser.rows


def test_bar_chart_is_accessible_and_has_its_numbers_in_a_table():
    chart = bar_chart("causes", "Root causes", ["capacity", "change", "network"], Series("Incidents", [5, 3, 0]))
    root = assert_accessible(chart)
    assert root.find(SVG + "desc").text == "capacity: 5; change: 3; network: 0."
    rects = root.findall(f".//{SVG}rect")
    assert len(rects) == 2  # a zero draws no bar
    assert [r.find(SVG + "title").text for r in rects] == ["capacity: 5", "change: 3"]
    widths = [float(r.get("width")) for r in rects]
    assert widths[0] / widths[1] == pytest.approx(5 / 3, rel=0.01)
    assert table_rows(chart) == [["Item", "Incidents"], ["capacity", "5"], ["change", "3"], ["network", "0"]]
    html = str(chart.html())
    assert html.index("<svg") < html.index("<figcaption>") < html.index("<table>")


def test_stacked_bars_total_each_row_and_name_each_part():
    chart = bar_chart("owners", "Action items", ["team-a", "team-b"],
                      [Series("Overdue", [2, 0], "sev-1"), Series("Open", [1, 4], "c2")], label_header="Owner")
    root = assert_accessible(chart)
    assert root.find(SVG + "desc").text == "team-a: Overdue 2, Open 1; team-b: Open 4."
    values = [t.text for t in root.iter(SVG + "text") if t.get("class") == "kb-value"]
    assert values == ["3", "4"]
    assert table_rows(chart) == [["Owner", "Overdue", "Open", "Total"], ["team-a", "2", "1", "3"], ["team-b", "0", "4", "4"]]
    assert chart.legend == [("Overdue", "sev-1"), ("Open", "c2")]
    assert 'class="kb-swatch kb-f-sev-1"' in str(chart.html())
    # colours come from CSS classes, with a light-palette fallback for pages shown without our stylesheet
    rect = root.find(f".//{SVG}rect")
    assert rect.get("class") == "kb-f-sev-1" and rect.get("fill").startswith("#")


def test_column_chart_axis_ticks_and_two_line_labels():
    months = ["2024-11", "2024-12", "2025-01", "2025-02"]
    chart = column_chart("months", "Per month", months,
                         [Series("SEV1", [1, 0, 2, 0], "sev-1"), Series("SEV2", [0, 3, 1, 0], "sev-2")],
                         ticks=month_ticks(months))
    root = assert_accessible(chart)
    texts = [t.text for t in root.iter(SVG + "text")]
    assert {"0", "1", "2", "3"} <= set(texts)  # y axis
    assert "2025" in texts and "Jan" in texts
    assert len(root.findall(f".//{SVG}rect")) == 4
    assert table_rows(chart)[1:] == [["2024-11", "1", "0", "1"], ["2024-12", "0", "3", "3"], ["2025-01", "2", "1", "3"],
                                     ["2025-02", "0", "0", "0"]]
    assert root.find(SVG + "desc").text.endswith("2025-02: none.")


def test_line_chart_leaves_gaps_and_supports_a_log_scale():
    chart = line_chart("trend", "Median time to detect", ["Q1", "Q2", "Q3", "Q4"],
                       [Series("Detect", [3600, None, 300, 120], "c1"), Series("Resolve", [7200, 7000, None, 3600], "c6")],
                       fmt=fmt_duration, log=True)
    root = assert_accessible(chart)
    assert len(root.findall(f".//{SVG}circle")) == 6
    polylines = root.findall(f".//{SVG}polyline")
    assert len(polylines) == 2  # detect Q3-Q4 and resolve Q1-Q2; a point alone (detect Q1, resolve Q4) has no line
    assert root.find(SVG + "desc").text == ("Q1: Detect 1 h, Resolve 2 h; Q2: Resolve 1 h 57 min; "
                                            "Q3: Detect 5 min; Q4: Detect 2 min, Resolve 1 h.")
    assert "10 min" in [t.text for t in root.iter(SVG + "text")]
    assert table_rows(chart)[2] == ["Q2", "—", "1 h 57 min"]


def test_markup_in_labels_is_escaped_everywhere():
    label = "<script>alert(1)</script> & \"q\""
    for chart in (bar_chart("x", label, [label], Series(label, [1])),
                  column_chart("y", label, [label], [Series(label, [1]), Series("b", [2])]),
                  line_chart("z", label, [label], Series(label, [1]))):
        root = assert_accessible(chart)
        assert root.find(SVG + "title").text == label
        html = str(chart.html())
        assert "<script>" not in html and "&lt;script&gt;" in html


def test_empty_charts_still_render():
    for chart in (bar_chart("a", "Nothing", [], Series("n", [])), column_chart("b", "Nothing", [], Series("n", [])),
                  line_chart("c", "Nothing", [], Series("n", []), log=True)):
        assert_accessible(chart)
        assert table_rows(chart)[1:] == []


@pytest.mark.parametrize("top, ticks", [(0, [0, 1]), (1, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8]),
                                        (15, [0, 5, 10, 15]), (43, [0, 10, 20, 30, 40, 50])])
def test_nice_ticks(top, ticks):
    assert nice_ticks(top) == ticks


def test_duration_and_log_ticks():
    assert duration_ticks(250) == [0, 60, 120, 180, 240, 300]
    assert duration_ticks(5 * 3600)[-1] >= 5 * 3600 and len(duration_ticks(5 * 3600)) <= 7
    assert log_ticks(120, 30000) == [60, 600, 3600, 36000]
    assert log_ticks(60, 60) == [60, 60]


def test_axis_text_for_months_and_quarters():
    assert quarter_ticks(["2024-Q3", "2024-Q4", "2025-Q1"]) == ["Q3\n2024", "Q4", "Q1\n2025"]
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    assert month_ticks(months) == ["Jan\n2024", "", "", "Apr", "", "", "Jul", "", "", "Oct", "", ""]


def test_every_chart_of_the_sample_reports_is_valid():
    kb, _ = load(REPO)
    report = build_report(kb, date(2026, 11, 28))
    charts = report_charts(report, lambda entry_id: display_name(kb, entry_id))
    assert len(charts) >= 10
    for chart in charts.values():
        assert_accessible(chart)
        rows = table_rows(chart)
        assert len(rows) >= 2, chart.id
    assert len({chart.id for chart in charts.values()}) == len(charts)
    trend = parse(charts["times_trend"]).find(SVG + "desc").text
    assert trend.startswith("Q1 2024: Median time to detect ")


def test_fallback_fills_are_the_stylesheets_light_colours():
    """A chart shown without incidentkb.css (another builder) keeps the colours of the light palette."""
    from importlib import resources

    css = (resources.files("incidentkb.site") / "assets" / "incidentkb.css").read_text(encoding="utf-8")
    light = {}
    for block in re.findall(r"^:root \{(.*?)\}", css, re.MULTILINE | re.DOTALL):
        light.update(re.findall(r"--kb-([\w-]+): (#[0-9a-f]{6})", block))
    assert {name: light[name] for name in TONES} == TONES
