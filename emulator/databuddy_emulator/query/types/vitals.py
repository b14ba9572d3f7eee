"""vitals: Core Web Vitals percentiles (``web_vitals_spans``) per metric, day, page and place,
and the load-time overview (``events``).

``samples`` counts spans, so the samples of ``vitals_overview`` / ``vitals_time_series`` sum to
the ``measurements`` of ``web_vitals_time_series`` over the same range.
"""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..merge import merged_by_country
from ..sql import normalized_path
from .common import pageviews
from .performance import VISITOR_SHARE, geo_columns, vital

# A filter may name the span's own columns or its session's first browser, country, region or
# city (as Databuddy joins them from page views); others fail the parameter.
_FILTERABLE = frozenset(
    {
        "path",
        "anonymous_id",
        "session_id",
        "metric_name",
        "browser_name",
        "country",
        "region",
        "city",
    }
)


def _spans(ctx: QueryContext) -> str:
    return ctx.source("web_vitals_spans", filter_columns=_FILTERABLE)


def _quantiles(*levels: int) -> str:
    return ", ".join(
        f"tdigest_quantile(list(metric_value::FLOAT), {q / 100}) AS p{q}" for q in levels
    )


PERCENTILES = _quantiles(50, 75, 90, 95, 99)


@builder("vitals_overview")
def vitals_overview(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT metric_name, {PERCENTILES}, round_even(avg(metric_value), 4) AS avg_value,
               count(*) AS samples
        FROM {_spans(ctx)} AS wv GROUP BY metric_name
    """,
        "metric_name ASC",
    )


@builder("vitals_time_series")
def vitals_time_series(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {ctx.bucket("timestamp")} AS date, metric_name, {PERCENTILES}, count(*) AS samples
        FROM {_spans(ctx)} AS wv GROUP BY 1, metric_name
    """,
        "date ASC, metric_name ASC",
    )


@builder("vitals_by_page")
def vitals_by_page(ctx: QueryContext) -> Built:
    page = normalized_path("path")
    return Built(
        f"""
        SELECT {page} AS page, metric_name, {PERCENTILES}, count(*) AS samples
        FROM {_spans(ctx)} AS wv
        WHERE coalesce(path, '') != ''
        GROUP BY {page}, metric_name
    """,
        "samples DESC, page ASC, metric_name ASC",
    )


P50S = ", ".join(
    f"{vital('p50', m)} AS p50_{m.lower()}" for m in ("LCP", "FCP", "CLS", "INP", "TTFB")
)


def _place(ctx: QueryContext, name: str, present: str, group: str, geo: str = "") -> Built:
    """Vitals per place; ``geo``: 'country' adds the country's code and name, 'place' names the
    place as its own code (Databuddy finds no country in "Texas, US"); both merge by code."""
    extra = ""
    if geo == "country":
        extra = f", {geo_columns('country')}, {VISITOR_SHARE} AS percentage"
    elif geo == "place":
        extra = f", {name} AS country_code, {name} AS country_name, {VISITOR_SHARE} AS percentage"
    return Built(
        f"""
        SELECT {name} AS name, count(DISTINCT anonymous_id) AS visitors, {P50S},
               count(*) AS samples{extra}
        FROM {_spans(ctx)} AS wv
        WHERE coalesce({present}, '') != ''
        GROUP BY {group}
    """,
        "samples DESC, name ASC",
        post=merged_by_country if geo else None,
    )


@builder("vitals_by_country")
def vitals_by_country(ctx: QueryContext) -> Built:
    return _place(ctx, "country", "country", "country", geo="country")


@builder("vitals_by_browser")
def vitals_by_browser(ctx: QueryContext) -> Built:
    return _place(ctx, "browser_name", "browser_name", "browser_name")


@builder("vitals_by_region")
def vitals_by_region(ctx: QueryContext) -> Built:
    return _place(ctx, "region || ', ' || country", "region", "region, country", geo="place")


@builder("vitals_by_city")
def vitals_by_city(ctx: QueryContext) -> Built:
    return _place(ctx, "city || ', ' || country", "city", "city, country", geo="place")


@builder("performance_overview")
def performance_overview(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT round_even(avg(load_time), 2) AS avg_load_time,
               round_even(avg(dom_ready_time) FILTER (WHERE dom_ready_time > 0), 2)
                   AS avg_dom_ready_time,
               round_even(avg(render_time) FILTER (WHERE render_time > 0), 2) AS avg_render_time
        FROM {pageviews(ctx)} AS pv WHERE load_time > 0
    """,
        "avg_load_time",
        sortable=False,
    )
