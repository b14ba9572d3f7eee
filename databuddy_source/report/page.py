"""The report as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched,
so it opens offline from a file, a mail attachment or a CI artifact."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from html import escape
from typing import Any

from ..models.periods import TABLE_SUFFIX
from .data import GRAINS, TOP_CHANNELS, ReportData
from .notes import beyond_range, no_rows, not_created, period_label, section
from .svg import Series, bar_chart, line_chart, number

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2937;
       margin: 0; background: #f8fafc; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p, .note { color: #64748b; margin: 4px 0; }
section { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 16px 20px;
          margin: 16px 0; }
h2 { font-size: 18px; margin: 0 0 8px; } h3 { font-size: 15px; margin: 16px 0 6px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.kpi { border: 1px solid #e2e8f0; border-radius: 8px; padding: 10px 14px; background: #fff; }
.kpi .value { font-size: 22px; font-weight: 600; } .kpi .label { color: #64748b; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; }
figure { margin: 8px 0; } figcaption { font-weight: 600; color: #334155; margin-bottom: 4px; }
svg.chart { width: 100%; height: auto; display: block; }
svg .grid { stroke: #e2e8f0; } svg .tick, svg .legend, svg .label, svg .value {
    font-size: 11px; fill: #475569; }
svg .point:hover, svg .bar:hover { opacity: .7; }
table.data { border-collapse: collapse; width: 100%; font-size: 13px; }
table.data th, table.data td { padding: 4px 8px; border-bottom: 1px solid #f1f5f9;
    text-align: left; }
table.data td.n, table.data th.n { text-align: right; font-variant-numeric: tabular-nums; }
details summary { cursor: pointer; color: #2563eb; margin-top: 8px; }
.empty { background: #f8fafc; border-left: 3px solid #cbd5e1; padding: 6px 10px; }
"""

HALF_WIDTH = 480  # chart units of a chart in one of two columns (its text stays legible)
Cell = tuple[str, Any, int | None]  # (header, value, decimals: None for text)


def _half(chart: str, title: str, labels: list[str], series: list[Series], unit: str = "") -> str:
    """A line chart for one of two columns."""
    return line_chart(chart, title, labels, series, unit, width=HALF_WIDTH)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _by_day(rows: Sequence[dict[str, Any]], column: str, days: list[date]) -> list[float | None]:
    """One value per day of the range (None for a day without a row)."""
    values = {r["date"]: r[column] for r in rows}
    return [None if values.get(d) is None else float(values[d]) for d in days]


def table(name: str, rows: Sequence[Sequence[Cell]]) -> str:
    """A data table; ``name`` goes to ``data-table``."""
    if not rows:
        return '<p class="note">No data in this range.</p>'
    head = "".join(
        f'<th class="{"t" if digits is None else "n"}">{escape(h)}</th>' for h, _, digits in rows[0]
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="t">{escape(str(v if v is not None else "–"))}</td>'
            if digits is None
            else f'<td class="n">{number(None if v is None else float(v), digits)}</td>'
            for _, v, digits in row
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<table class="data" data-table="{escape(name)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _kpis(data: ReportData) -> str:
    pageviews = sum(r["pageviews"] for r in data.daily)
    busiest = max(data.daily, key=lambda r: r["pageviews"], default=None)
    visitors = [r["visitors"] for r in data.daily]
    tiles = [
        ("pageviews", "Page views", number(pageviews)),
        (
            "daily-visitors",
            "Visitors per day (average)",
            number(sum(visitors) / len(visitors) if visitors else None),
        ),
        (
            "busiest-day",
            f"Busiest day ({number(busiest['pageviews'])} page views)"
            if busiest
            else "Busiest day",
            busiest["date"].strftime("%a %d %b") if busiest else "–",
        ),
    ]
    if "mart_errors_daily" not in data.missing:
        tiles.append(("errors", "Errors", number(sum(r["errors"] for r in data.errors))))
    if "mart_link_clicks_daily" not in data.missing:
        tiles.append(
            ("link-clicks", "Short-link clicks", number(sum(r["clicks"] for r in data.links)))
        )
    return (
        '<section class="kpis" id="summary">'
        + "".join(
            f'<div class="kpi" data-kpi="{key}"><div class="value">{escape(value)}</div>'
            f'<div class="label">{escape(label)}</div></div>'
            for key, label, value in tiles
        )
        + "</section>"
    )


def _traffic(data: ReportData, days: list[date]) -> str:
    labels = [d.isoformat() for d in days]
    daily_rows = [
        [
            ("Day", r["date"].isoformat(), None),
            ("Page views", r["pageviews"], 0),
            ("Visitors", r["visitors"], 0),
            ("Sessions", r["sessions"], 0),
            ("Bounce rate %", r["bounce_rate_pct"], 1),
            ("Median session (s)", r["median_session_seconds"], 0),
            ("Pages / session", r["pages_per_session"], 2),
        ]
        for r in data.daily
    ]
    series = [
        Series(name, _by_day(data.daily, column, days))
        for name, column in (
            ("pageviews", "pageviews"),
            ("visitors", "visitors"),
            ("sessions", "sessions"),
        )
    ]
    return (
        '<section id="traffic"><h2>Daily traffic</h2>'
        + line_chart("daily-traffic", "Page views, visitors and sessions per day", labels, series)
        + '<div class="grid2">'
        + _half(
            "bounce-rate",
            "Bounce rate per day (%)",
            labels,
            [Series("bounce rate %", _by_day(data.daily, "bounce_rate_pct", days))],
            "%",
        )
        + _half(
            "session-duration",
            "Median session duration per day (seconds)",
            labels,
            [Series("median session s", _by_day(data.daily, "median_session_seconds", days))],
            " s",
        )
        + "</div><details><summary>Every day</summary>"
        + table("daily-traffic", daily_rows)
        + "</details></section>"
    )


def _periods(data: ReportData) -> str:
    parts = [
        '<section id="periods"><h2>Weeks and months</h2><p class="note">Unique visitors '
        "counted over each whole week or month by Databuddy (a visitor who came on several days "
        "counts once). The week or month in progress holds the days synced so far.</p>"
    ]
    for grain in GRAINS:
        view = f"mart_traffic_{TABLE_SUFFIX[grain]}"
        rows = data.traffic.get(grain)
        if rows is None:
            parts.append(f"<h3>Per {grain}</h3>" + not_created(data, view))
            continue
        if not rows:
            parts.append(f"<h3>Per {grain}</h3>" + no_rows(data, view, f"{grain}ly traffic"))
            continue
        parts.append(beyond_range(data, grain, rows))
        parts.append(
            bar_chart(
                f"{grain}ly-visitors",
                f"Unique visitors per {grain}",
                [
                    (period_label(grain, r["period_start"]), float(r["unique_visitors"]))
                    for r in rows
                ],
                "unique visitors",
            )
        )
        parts.append(
            table(
                f"traffic-{grain}",
                [
                    [
                        (grain.title(), period_label(grain, r["period_start"]), None),
                        ("Page views", r["pageviews"], 0),
                        ("Unique visitors", r["unique_visitors"], 0),
                        ("Sessions", r["sessions"], 0),
                        ("Bounce rate %", r["bounce_rate_pct"], 1),
                        ("Pages / session", r["pages_per_session"], 2),
                    ]
                    for r in rows
                ],
            )
        )
    return "".join(parts) + "</section>"


def _ranked(data: ReportData, kind: str) -> str:
    """Top pages or countries, one table per week and month of the range."""
    title = {"pages": "Top pages", "countries": "Top countries"}[kind]
    source = data.top_pages if kind == "pages" else data.top_countries
    parts = [f'<section id="{kind}"><h2>{title}</h2>']
    for grain in GRAINS:
        view = f"mart_top_{kind}_{TABLE_SUFFIX[grain]}"
        rows = source.get(grain)
        if rows is None or not rows:
            what = f"top {kind} per {grain}"
            note = not_created(data, view) if rows is None else no_rows(data, view, what)
            parts.append(f"<h3>By {grain}</h3>{note}")
            continue
        starts = sorted({r["period_start"] for r in rows})
        parts.append(f"<h3>By {grain}</h3>" + beyond_range(data, grain, rows))
        parts.append('<div class="grid2">')
        for start in starts:
            period = [r for r in rows if r["period_start"] == start]
            cells = [
                [
                    ("#", r["page_rank"] if kind == "pages" else r["country_rank"], 0),
                    (
                        ("Page", r["page"], None)
                        if kind == "pages"
                        else ("Country", r["country_name"] or r["country_code"], None)
                    ),
                    ("Page views", r["pageviews"], 0),
                    ("Visitors", r["visitors"], 0),
                    ("Share %", r["pageviews_share_pct"], 1),
                ]
                for r in period
            ]
            parts.append(
                f"<div><h3>{escape(period_label(grain, start))}</h3>"
                + table(f"top-{kind}-{grain}-{start.isoformat()}", cells)
                + "</div>"
            )
        parts.append("</div>")
    return "".join(parts) + "</section>"


def _channels(data: ReportData) -> str:
    view = "mart_channel_mix_daily"
    if view in data.missing or not data.channels:
        body = (
            not_created(data, view)
            if view in data.missing
            else no_rows(data, view, "referrers or UTM tags")
        )
        return section("channels", "Where visits came from", view, data, body)
    referrers = [r for r in data.channels if r["channel_type"] == "referrer"][:TOP_CHANNELS]
    parts = [
        '<section id="channels"><h2>Where visits came from</h2><p class="note">Page views '
        "in the range, by referrer and by UTM tag.</p>",
        bar_chart(
            "referrers",
            "Page views by referrer",
            [(r["channel_label"], float(r["pageviews"])) for r in referrers],
            "page views",
        ),
        '<div class="grid2">',
    ]
    for kind, title, header in (
        ("utm_source", "UTM sources", "Source"),
        ("utm_medium", "UTM mediums", "Medium"),
        ("utm_campaign", "UTM campaigns", "Campaign"),
    ):
        rows = [r for r in data.channels if r["channel_type"] == kind][:TOP_CHANNELS]
        cells = [
            [(header, r["channel_label"], None), ("Page views", r["pageviews"], 0)] for r in rows
        ]
        parts.append(f"<div><h3>{title}</h3>{table(kind, cells)}</div>")
    return "".join(parts) + "</div></section>"


def _errors(data: ReportData, days: list[date]) -> str:
    view = "mart_errors_daily"
    if view in data.missing or not data.errors:
        return section("errors", "Errors", view, data, no_rows(data, view, "errors"))
    labels = [d.isoformat() for d in days]
    rate = _by_day(data.errors, "errors_per_1000_pageviews", days)
    return (
        '<section id="errors"><h2>Errors</h2><div class="grid2">'
        + _half(
            "errors",
            "Errors per day",
            labels,
            [Series("errors", _by_day(data.errors, "errors", days))],
        )
        + _half(
            "error-rate",
            "Errors per 1,000 page views",
            labels,
            [Series("errors per 1,000 page views", rate)],
        )
        + "</div></section>"
    )


def _vitals(data: ReportData, days: list[date]) -> str:
    view = "mart_web_vitals_daily"
    if view in data.missing or not data.vitals:
        return section("vitals", "Web vitals", view, data, no_rows(data, view, "web vitals"))
    labels = [d.isoformat() for d in days]
    timings = [
        Series(f"{metric} p50", _by_day(data.vitals, f"{metric.lower()}_p50_ms", days))
        for metric in ("LCP", "FCP", "INP", "TTFB")
    ]
    cls = [Series("CLS p50", _by_day(data.vitals, "cls_p50", days))]
    return (
        '<section id="vitals"><h2>Web vitals</h2>'
        '<p class="note">Medians (p50) of what real visitors measured each day.</p>'
        '<div class="grid2">'
        + _half("web-vitals", "LCP, FCP, INP and TTFB, median per day (ms)", labels, timings, " ms")
        + _half("cls", "Cumulative Layout Shift, median per day", labels, cls)
        + "</div></section>"
    )


def _links(data: ReportData) -> str:
    view = "mart_link_clicks_daily"
    if view in data.missing or not data.links:
        what = "short-link clicks"
        return section("links", "Short-link clicks", view, data, no_rows(data, view, what))
    return (
        '<section id="links"><h2>Short-link clicks</h2>'
        + bar_chart(
            "link-clicks",
            "Clicks per short link in the range",
            [(r["link"], float(r["clicks"])) for r in data.links],
            "clicks",
        )
        + "</section>"
    )


def render(data: ReportData, generated_at: datetime) -> str:
    """The whole page."""
    days = _days(data.start, data.end)
    site = data.website
    subtitle = " · ".join(
        x
        for x in (
            site.domain if site.domain != site.title else None,
            f"{data.start.isoformat()} to {data.end.isoformat()}",
            f"dataset {data.dataset}",
            f"generated {generated_at:%Y-%m-%d %H:%M} UTC",
        )
        if x
    )
    sections = [_kpis(data), _traffic(data, days), _periods(data)]
    sections += [_ranked(data, "pages"), _ranked(data, "countries"), _channels(data)]
    sections += [_errors(data, days), _vitals(data, days), _links(data)]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Databuddy report: {escape(site.title)}</title><style>{STYLE}</style></head>"
        f"<body><main><header><h1>Databuddy report: {escape(site.title)}</h1>"
        f"<p>{escape(subtitle)}</p></header>" + "".join(sections) + "</main></body></html>\n"
    )
