"""performance: page load timings (``events``) and Core Web Vitals (``web_vitals_spans``) by page,
browser, country, OS, region and day.

Load timings average only positive values; breakdowns (and ``load_time_performance``) count only
page views that report a load time, ``performance_time_series`` counts every page view.
"""

from __future__ import annotations

from dataclasses import replace

from ..context import QueryContext
from ..engine import Built, builder
from ..merge import merged_by_country
from ..sql import country_name, normalized_path, pct
from .common import pageviews

VISITOR_SHARE = pct("count(DISTINCT anonymous_id)", "sum(count(DISTINCT anonymous_id)) OVER ()")


def geo_columns(code: str) -> str:
    """``country_code, country_name`` for an ISO country code expression, as the normalizeGeo
    plugin adds them (NULL on rows without a country)."""
    known = f"nullif(nullif(coalesce({code}, ''), ''), 'Unknown')"
    return (
        f"upper({known}) AS country_code, "
        f"CASE WHEN {known} IS NULL THEN NULL "
        f"ELSE coalesce(nullif({country_name(f'upper({known})')}, ''), {known}) END "
        f"AS country_name"
    )


# ------------------------------------------------------------------ load timings (events)
def _avg(col: str) -> str:
    return f"round_even(avg({col}) FILTER (WHERE {col} > 0), 2)"


def _p50(col: str) -> str:
    return f"tdigest_quantile(list({col}::FLOAT) FILTER (WHERE {col} > 0), 0.5)"


LOAD_METRICS = (
    f"{_avg('load_time')} AS avg_load_time, {_p50('load_time')} AS p50_load_time, "
    f"{_avg('ttfb')} AS avg_ttfb, {_avg('dom_ready_time')} AS avg_dom_ready_time, "
    f"{_avg('render_time')} AS avg_render_time"
)


def _load_breakdown(
    ctx: QueryContext, name: str, present: str, group: str, extra: str = ""
) -> Built:
    return Built(
        f"""
        SELECT {name} AS name, count(DISTINCT anonymous_id) AS visitors, {LOAD_METRICS},
               count(*) AS pageviews{extra}
        FROM {pageviews(ctx)} AS pv
        WHERE load_time > 0 AND coalesce({present}, '') != ''
        GROUP BY {group}
    """,
        "p50_load_time DESC NULLS LAST, name ASC",
        post=merged_by_country if extra else None,
    )


@builder("slow_pages")
def slow_pages(ctx: QueryContext) -> Built:
    page = normalized_path("path")
    return _load_breakdown(ctx, page, "path", page)


@builder("performance_by_browser")
def performance_by_browser(ctx: QueryContext) -> Built:
    return _load_breakdown(ctx, "browser_name", "browser_name", "browser_name")


@builder("performance_by_os")
def performance_by_os(ctx: QueryContext) -> Built:
    return _load_breakdown(ctx, "os_name", "os_name", "os_name")


@builder("performance_by_country")
def performance_by_country(ctx: QueryContext) -> Built:
    extra = f", {geo_columns('country')}, {VISITOR_SHARE} AS percentage"
    return _load_breakdown(ctx, "country", "country", "country", extra)


@builder("performance_by_region")
def performance_by_region(ctx: QueryContext) -> Built:
    return _load_breakdown(ctx, "region || ', ' || country", "region", "region, country")


@builder("performance_time_series")
def performance_time_series(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {ctx.bucket("time")} AS date, {LOAD_METRICS}, count(*) AS pageviews
        FROM {pageviews(ctx)} AS pv GROUP BY 1
    """,
        "date ASC",
    )


@builder("load_time_performance")
def load_time_performance(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {ctx.bucket("time")} AS date, {_avg("load_time")} AS avg_load_time,
               {_p50("load_time")} AS p50_load_time, count(*) AS pageviews
        FROM {pageviews(ctx)} AS pv WHERE load_time > 0 GROUP BY 1
    """,
        "date ASC",
    )


# ------------------------------------------------------------------ web vitals (spans)
def vital(kind: str, metric: str) -> str:
    """``avg`` or a quantile (``p50``, ``p75``…) of one metric; LCP/FCP/INP/TTFB ignore zeros."""
    cond = f"metric_name = '{metric}'" + ("" if metric == "CLS" else " AND metric_value > 0")
    if kind == "avg":
        return f"round_even(avg(metric_value) FILTER (WHERE {cond}), 4)"
    q = int(kind[1:]) / 100
    return f"round_even(quantile_cont(metric_value, {q}) FILTER (WHERE {cond}), 4)"


def _named(*pairs: tuple[str, str]) -> str:
    return ", ".join(f"{vital(kind, metric)} AS {kind}_{metric.lower()}" for kind, metric in pairs)


WEB_VITALS_BREAKDOWN = (
    "count(DISTINCT anonymous_id) AS visitors, "
    + _named(
        ("avg", "FCP"),
        ("p50", "FCP"),
        ("avg", "LCP"),
        ("p50", "LCP"),
        ("avg", "CLS"),
        ("p50", "CLS"),
        ("avg", "INP"),
        ("avg", "TTFB"),
    )
    + ", count(*) AS measurements"
)


def _vitals_breakdown(
    ctx: QueryContext, name: str, present: str, group: str, extra: str = ""
) -> Built:
    """Vitals per ``name``; with ``extra`` (geo columns) rows are merged by country code."""
    return Built(
        f"""
        SELECT {name} AS name, {WEB_VITALS_BREAKDOWN}{extra}
        FROM {ctx.source("web_vitals_spans")} AS wv
        WHERE coalesce({present}, '') != ''
        GROUP BY {group}
    """,
        "p50_lcp DESC NULLS LAST, name ASC",
        post=merged_by_country if extra else None,
    )


@builder("web_vitals_by_page")
def web_vitals_by_page(ctx: QueryContext) -> Built:
    # grouped by the recorded URL (query string included), named by its decoded path: one
    # page can have several rows
    built = _vitals_breakdown(ctx, f"url_decode({normalized_path('path')})", "path", "path")
    return replace(built, order_by="p50_lcp DESC NULLS LAST, name ASC, visitors DESC")


@builder("web_vitals_by_browser")
def web_vitals_by_browser(ctx: QueryContext) -> Built:
    return _vitals_breakdown(ctx, "browser_name", "browser_name", "browser_name")


@builder("web_vitals_by_os")
def web_vitals_by_os(ctx: QueryContext) -> Built:
    return _vitals_breakdown(ctx, "os_name", "os_name", "os_name")


@builder("web_vitals_by_country")
def web_vitals_by_country(ctx: QueryContext) -> Built:
    extra = f", {geo_columns('country')}, {VISITOR_SHARE} AS percentage"
    return _vitals_breakdown(ctx, "country", "country", "country", extra)


@builder("web_vitals_by_region")
def web_vitals_by_region(ctx: QueryContext) -> Built:
    name = "region || ', ' || country"  # no country is found in "Texas, US": its own code
    extra = f", {name} AS country_code, {name} AS country_name, {VISITOR_SHARE} AS percentage"
    return _vitals_breakdown(ctx, name, "region", "region, country", extra)


@builder("web_vitals_time_series")
def web_vitals_time_series(ctx: QueryContext) -> Built:
    stats = _named(
        ("avg", "FCP"),
        ("p50", "FCP"),
        ("avg", "LCP"),
        ("p50", "LCP"),
        ("avg", "CLS"),
        ("p50", "CLS"),
        ("avg", "INP"),
        ("p50", "INP"),
        ("avg", "TTFB"),
        ("p50", "TTFB"),
    )
    return Built(
        f"""
        SELECT {ctx.bucket("timestamp")} AS date, {stats}, count(*) AS measurements
        FROM {ctx.source("web_vitals_spans")} AS wv GROUP BY 1
    """,
        "date ASC",
    )
