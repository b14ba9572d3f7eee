"""The model definitions and the report's pure parts, without a database: every view names
exactly the tables it reads and documents every column (docs/models.md is generated from
them); the period runs the models need; the charts' numbers and scales; the page escapes what
visitors sent (paths, referrers)."""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime
from pathlib import Path

from databuddy_source.models import MODELS, PERIOD_QUERY_TYPES, models_markdown, period_sync_options
from databuddy_source.report.data import ReportData, Website
from databuddy_source.report.page import render
from databuddy_source.report.svg import Series, bar_chart, line_chart, nice_ticks

ROOT = Path(__file__).resolve().parents[2]


def test_each_view_reads_exactly_its_declared_tables() -> None:
    for model in MODELS:
        fields = {f for _, f, _, _ in string.Formatter().parse(model.select) if f is not None}
        assert fields == set(model.tables), model.name


def test_each_column_is_documented_once() -> None:
    for model in MODELS:
        names = model.column_names
        assert len(set(names)) == len(names), model.name
        assert all(c.doc and c.type for c in model.columns), model.name
        assert model.summary.endswith("."), model.name
    assert len({m.name for m in MODELS}) == len(MODELS)


def test_period_runs_load_week_and_month_tables_with_the_run_options() -> None:
    runs = period_sync_options({"start_date": "2026-01-01", "queries": ["top_pages"]})
    assert [r["grain"] for r in runs] == ["week", "month"]
    for run in runs:
        assert run["start_date"] == "2026-01-01"
        assert run["queries"] == list(PERIOD_QUERY_TYPES) and run["rpc_collections"] == ["none"]
    assert [r["grain"] for r in period_sync_options({"grain": "week"})] == ["month"]


def test_ticks_are_round_and_cover_the_top() -> None:
    assert nice_ticks(434) == [0, 100, 200, 300, 400, 500]
    assert nice_ticks(0.07) == [0, 0.02, 0.04, 0.06, 0.08]
    assert nice_ticks(0) == [0.0, 1.0]


def test_charts_carry_the_exact_values_they_draw() -> None:
    svg = line_chart(
        "t", "T", ["2026-03-01", "2026-03-02", "2026-03-03"], [Series("a", [1, None, 2.5])]
    )
    assert re.findall(r'data-key="([^"]+)" data-value="([^"]+)"', svg) == [
        ("2026-03-01", "1"),
        ("2026-03-03", "2.5"),
    ]
    bars = bar_chart("b", "B", [("x", 3.0), ("y", 1.0)], "n")
    assert re.findall(r'data-key="([^"]+)" data-value="([^"]+)"', bars) == [
        ("x", "3"),
        ("y", "1"),
    ]


def test_page_escapes_what_visitors_sent() -> None:
    """Page paths, referrers and UTM values come from anyone's browser."""
    evil = '/<img src=x onerror="alert(1)">'
    day = date(2026, 3, 2)
    data = ReportData("databuddy", Website("w1", evil, "acme.example"), day, day)
    data.daily = [
        {
            "date": day,
            "pageviews": 3,
            "visitors": 2,
            "sessions": 2,
            "bounce_rate_pct": 50.0,
            "median_session_seconds": 4.0,
            "pages_per_session": 1.5,
        }
    ]
    period = {"period_start": day, "period_end": day, "pageviews": 3, "visitors": 2}
    data.top_pages = {
        "week": [{**period, "page_rank": 1, "page": evil, "pageviews_share_pct": 100.0}]
    }
    data.channels = [{"channel_type": "referrer", "channel_label": evil, "pageviews": 3}]
    html = render(data, datetime(2026, 3, 3, tzinfo=UTC))
    assert "<img" not in html and "<script" not in html
    assert html.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") >= 3


def test_models_doc_is_generated_from_the_definitions() -> None:
    doc = (ROOT / "docs" / "models.md").read_text()
    assert doc == models_markdown(), (
        "docs/models.md is stale: regenerate it with python -c 'from databuddy_source.models "
        'import models_markdown; print(models_markdown(), end="")\' > docs/models.md'
    )
