"""links: outbound link clicks of a website (``outgoing_links``) and short-link clicks
(``link_visits``; the parameter's project is the link).

``link_clicks_by_day`` (daily or hourly) sums to ``link_total_clicks`` for the same range;
``link_referrers_by_day`` / ``link_countries_by_day`` count distinct referrers / countries.
"""

from __future__ import annotations

from ..context import ParameterError, QueryContext, filter_condition
from ..engine import Built, builder
from ..referrers import merged_link_referrers
from ..sql import event_time, pct
from .performance import geo_columns

# Columns of the page events joined to a click (filters may name them or the click's own).
_JOINED = (
    "path",
    "country",
    "device_type",
    "browser_name",
    "os_name",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)
_CLICK_COLUMNS = frozenset({"anonymous_id", "session_id", "href", "text", *_JOINED})


def outbound_clicks(ctx: QueryContext) -> str:
    """Plausible outbound clicks of the website in range, each joined to every event of its
    session less than 60 s away (so a click counts once per such event, or once with empty
    context when there is none), filtered on the joined columns."""
    conds = []
    if ctx.qtype.filters_applied:
        for f in ctx.filters:
            if f.field not in _CLICK_COLUMNS:
                kind = "table expression" if f.op in ("in", "not_in") else "function"
                raise ParameterError(
                    f"Unknown expression or {kind} identifier `{f.field}`. In scope SELECT"
                )
            conds.append(filter_condition(f))
    joined = ", ".join(f"e.{c}" for c in _JOINED)
    return f"""(
        SELECT * FROM (
            SELECT o.href, o.text, o.anonymous_id, o.session_id, o.timestamp, {joined}
            FROM {ctx.source("outgoing_links", filtered=False)} AS o
            LEFT JOIN {ctx.source("events", in_range=False, filtered=False)} AS e
              ON e.session_id = o.session_id
             AND abs(date_diff('second', o.timestamp, e.time)) < 60) AS ol
        WHERE coalesce(href, '') != '' AND href NOT LIKE '%undefined%'
          AND href NOT LIKE '%null%' AND length(href) > 7 AND href LIKE 'http%'
          AND position('.' IN href) > 0
          AND coalesce(text, '') NOT IN ('undefined', 'null')
          {"".join(f" AND {c}" for c in conds)})"""


@builder("outbound_links")
def outbound_links(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT href, text, count(*) AS total_clicks, count(DISTINCT anonymous_id) AS unique_users,
               count(DISTINCT session_id) AS unique_sessions,
               {pct("count(*)", "sum(count(*)) OVER ()")} AS percentage,
               {event_time("max(timestamp)")} AS last_clicked
        FROM {outbound_clicks(ctx)} AS o GROUP BY href, text
    """,
        "total_clicks DESC, href ASC, text ASC",
    )


@builder("outbound_domains")
def outbound_domains(ctx: QueryContext) -> Built:
    domain = "regexp_extract(href, '^[a-zA-Z]+://([^/?#:]+)', 1)"
    return Built(
        f"""
        SELECT {domain} AS domain, count(*) AS total_clicks,
               count(DISTINCT anonymous_id) AS unique_users,
               count(DISTINCT href) AS unique_links,
               {pct("count(*)", "sum(count(*)) OVER ()")} AS percentage
        FROM {outbound_clicks(ctx)} AS o GROUP BY {domain}
    """,
        "total_clicks DESC, domain ASC",
    )


# ------------------------------------------------------------------ short links
def visits(ctx: QueryContext) -> str:
    return f"(SELECT * FROM {ctx.source('link_visits')} AS lv)"


def _bucket(ctx: QueryContext) -> str:
    """A click's day, or its hour written as ClickHouse's ``formatDateTime(.., '%Y-%m-%d
    %H:%M:%S')`` writes it: current ClickHouse reads ``%M`` as the month's name, so an hour
    reads '2026-11-20 13:November:00'."""
    if ctx.hourly:
        return f"strftime(date_trunc('hour', {ctx.local('timestamp')}), '%Y-%m-%d %H:%B:%S')"
    return ctx.bucket("timestamp")


@builder("link_total_clicks")
def link_total_clicks(ctx: QueryContext) -> Built:
    return Built(f"SELECT count(*) AS total FROM {visits(ctx)} AS v", "total", sortable=False)


@builder("link_clicks_by_day")
def link_clicks_by_day(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {_bucket(ctx)} AS date, count(*) AS clicks
        FROM {visits(ctx)} AS v GROUP BY 1
    """,
        "date ASC",
    )


@builder("link_referrers_by_day")
def link_referrers_by_day(ctx: QueryContext) -> Built:
    """Distinct referrers per day or hour ('' for direct counts as one; NULL, as ClickHouse's
    ``uniq`` has it, not at all)."""
    return Built(
        f"""
        SELECT {_bucket(ctx)} AS date, count(DISTINCT referrer) AS value
        FROM {visits(ctx)} AS v GROUP BY 1
    """,
        "date ASC",
    )


@builder("link_countries_by_day")
def link_countries_by_day(ctx: QueryContext) -> Built:
    """Distinct countries per day or hour ('' counts as one; NULL not at all)."""
    return Built(
        f"""
        SELECT {_bucket(ctx)} AS date, count(DISTINCT country) AS value
        FROM {visits(ctx)} AS v GROUP BY 1
    """,
        "date ASC",
    )


def _or(col: str, fallback: str) -> str:
    return f"coalesce(nullif({col}, ''), '{fallback}')"


@builder("link_top_referrers")
def link_top_referrers(ctx: QueryContext) -> Built:
    """Clicks per referrer value (none and '' apart, both 'Direct'), a page of them by clicks,
    then merged by readable source with each source's share of the page's clicks."""
    return Built(
        f"""
        SELECT {_or("referrer", "Direct")} AS referrer, count(*) AS clicks
        FROM {visits(ctx)} AS v GROUP BY v.referrer
    """,
        "clicks DESC, referrer ASC",
        post=merged_link_referrers,
    )


def _place(ctx: QueryContext, col: str) -> Built:
    return Built(
        f"""
        SELECT name, country, count(*) AS clicks, {geo_columns("country")}
        FROM (SELECT {_or(col, "Unknown")} AS name, {_or("country", "Unknown")} AS country
              FROM {visits(ctx)} AS v) AS p
        GROUP BY name, country
    """,
        "clicks DESC, name ASC, country ASC",
    )


@builder("link_top_countries")
def link_top_countries(ctx: QueryContext) -> Built:
    return _place(ctx, "country")


@builder("link_top_regions")
def link_top_regions(ctx: QueryContext) -> Built:
    return _place(ctx, "region")


@builder("link_top_cities")
def link_top_cities(ctx: QueryContext) -> Built:
    return _place(ctx, "city")


@builder("link_top_devices")
def link_top_devices(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {_or("device_type", "Unknown")} AS name, count(*) AS clicks
        FROM {visits(ctx)} AS v GROUP BY 1
    """,
        "clicks DESC, name ASC",
    )


@builder("link_top_browsers")
def link_top_browsers(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {_or("browser_name", "Unknown")} AS name, count(*) AS clicks
        FROM {visits(ctx)} AS v GROUP BY 1
    """,
        "clicks DESC, name ASC",
    )
