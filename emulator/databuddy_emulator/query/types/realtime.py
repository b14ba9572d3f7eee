"""realtime: what happened in the last minutes before virtual now (the date range is ignored).

Windows (query-types.json ``window``): the last 5 minutes, ``realtime_velocity`` the last 60.
Only rows already ingested at virtual now count, so these move with the clock.
"""

from __future__ import annotations

from datetime import timedelta

from ..context import QueryContext
from ..engine import Built, builder
from ..referrers import merged_live_referrers
from ..sql import event_time, normalized_path, pct, referrer_host
from .performance import geo_columns

WINDOW = timedelta(minutes=5)
VELOCITY_WINDOW = timedelta(minutes=60)


def recent(ctx: QueryContext, window: timedelta = WINDOW) -> str:
    """Page views of the website in the window (request filters applied when the type does)."""
    return (
        f"(SELECT * FROM {ctx.source('events', in_range=False)} AS e "
        f"WHERE event_name = 'screen_view' AND time >= {ctx.since(window)})"
    )


@builder("realtime_pages")
def realtime_pages(ctx: QueryContext) -> Built:
    page = normalized_path("path")
    return Built(
        f"""
        SELECT {page} AS path, count(*) AS pageviews, count(DISTINCT anonymous_id) AS visitors
        FROM {recent(ctx)} AS r GROUP BY {page}
    """,
        "pageviews DESC, visitors DESC, path ASC",
    )


@builder("realtime_referrers")
def realtime_referrers(ctx: QueryContext) -> Built:
    """Referrer domains (without www; 'Direct' without one), then parsed and merged by readable
    source as ``top_referrers`` is."""
    ref = (
        f"CASE WHEN coalesce(referrer, '') = '' THEN 'Direct' ELSE {referrer_host('referrer')} END"
    )
    return Built(
        f"""
        SELECT {ref} AS referrer, count(DISTINCT anonymous_id) AS visitors
        FROM {recent(ctx)} AS r GROUP BY 1
    """,
        "visitors DESC, referrer ASC",
        post=merged_live_referrers,
    )


@builder("realtime_countries")
def realtime_countries(ctx: QueryContext) -> Built:
    visitors = "count(DISTINCT anonymous_id)"
    return Built(
        f"""
        SELECT country AS name, {visitors} AS visitors, {geo_columns("country")},
               {pct(visitors, f"sum({visitors}) OVER ()")} AS percentage
        FROM {recent(ctx)} AS r WHERE coalesce(country, '') != '' GROUP BY country
    """,
        "visitors DESC, name ASC",
    )


@builder("realtime_cities")
def realtime_cities(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT city, country, count(DISTINCT anonymous_id) AS visitors
        FROM {recent(ctx)} AS r WHERE coalesce(city, '') != '' GROUP BY city, country
    """,
        "visitors DESC, city ASC, country ASC",
    )


@builder("realtime_feed")
def realtime_feed(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT event_name, {normalized_path("path")} AS path, country, browser_name,
               {event_time("time")} AS timestamp
        FROM {recent(ctx)} AS r
    """,
        "timestamp DESC, path ASC, event_name ASC, country ASC, browser_name ASC",
    )


@builder("realtime_sessions")
def realtime_sessions(ctx: QueryContext) -> Built:
    """Sessions with a page view in the window: their latest page, place, device and the page
    views they made in the window."""
    return Built(
        f"""
        SELECT session_id, arg_max({normalized_path("path")}, time) AS current_page,
               arg_max(country, time) AS country, arg_max(device_type, time) AS device_type,
               count(*) AS pages_viewed, {event_time("max(time)")} AS last_seen
        FROM {recent(ctx)} AS r GROUP BY session_id
    """,
        "last_seen DESC, session_id ASC",
    )


@builder("realtime_velocity")
def realtime_velocity(ctx: QueryContext) -> Built:
    """Per minute of the last hour: page views, all events (page views and custom events) and
    distinct visitors."""
    since = ctx.since(VELOCITY_WINDOW)
    custom = (
        f"(SELECT timestamp AS time, anonymous_id FROM "
        f"{ctx.source('custom_events', in_range=False, filtered=False)} AS c "
        f"WHERE timestamp >= {since})"
    )
    return Built(
        f"""
        WITH ev AS (
            SELECT time, anonymous_id, TRUE AS is_pageview FROM {recent(ctx, VELOCITY_WINDOW)} AS r
            UNION ALL
            SELECT time, anonymous_id, FALSE AS is_pageview FROM {custom} AS c)
        SELECT strftime(date_trunc('minute', time), '%Y-%m-%d %H:%M:00') AS minute,
               count(*) FILTER (WHERE is_pageview) AS pageviews, count(*) AS events,
               count(DISTINCT anonymous_id) AS visitors
        FROM ev GROUP BY 1
    """,
        "minute ASC",
    )
