"""sessions: session_metrics, session_duration_distribution, sessions_by_device,
sessions_by_browser, sessions_time_series, session_flow, session_list, session_events.

A session's duration is the seconds between its first and last page view in the range (as in
summary_metrics); its device, browser, country and referrer are those of its first page view.
"""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..sql import country_name, event_time
from .common import pageviews
from .pages import PATH, not_empty

DURATION_BUCKETS = (
    ("0-30s", 30),
    ("30s-1m", 60),
    ("1m-5m", 300),
    ("5m-15m", 900),
    ("15m-1h", 3600),
    ("1h+", None),
)
MAX_LISTED_DURATION = 28_800  # session_list / profile types cap a session at 8 hours


@builder("session_metrics")
def session_metrics(ctx: QueryContext) -> Built:
    # Per-session rollups of every event in range (filters do not apply): duration is the sum
    # of the page exits' time on page; a bounce has at most one page view, under 10 s and no
    # engagement event.
    return Built(
        f"""
        WITH r AS (
            SELECT session_id, count(*) AS total_events,
                   count(*) FILTER (WHERE event_name = 'screen_view') AS page_views,
                   count(*) FILTER (WHERE event_name NOT IN ('screen_view', 'page_exit'))
                       AS engagement_events,
                   coalesce(sum(time_on_page) FILTER (
                       WHERE event_name = 'page_exit' AND time_on_page > 0), 0) AS duration
            FROM {ctx.source("events", filtered=False)} AS e
            WHERE session_id != '' GROUP BY session_id)
        SELECT count(*) AS total_sessions,
               round_even(avg(duration) FILTER (WHERE duration > 0), 2) AS avg_session_duration,
               round_even(100.0 * count(*) FILTER (
                   WHERE page_views <= 1 AND duration < 10 AND engagement_events = 0)
                   / nullif(count(*), 0), 2) AS bounce_rate,
               coalesce(sum(total_events), 0) AS total_events
        FROM r""",
        "total_sessions",
        sortable=False,
    )


def _bucket_case() -> str:
    whens = " ".join(
        f"WHEN time_on_page < {limit} THEN '{label}'"
        for label, limit in DURATION_BUCKETS
        if limit is not None
    )
    return f"(CASE {whens} ELSE '{DURATION_BUCKETS[-1][0]}' END)"


@builder("session_duration_distribution")
def session_duration_distribution(ctx: QueryContext) -> Built:
    # Buckets of the page views' own time on page (a page view row carries none, so only rows
    # that do are counted).
    return Built(
        f"""
        SELECT {_bucket_case()} AS duration_range, count(DISTINCT session_id) AS sessions,
               count(DISTINCT anonymous_id) AS visitors
        FROM {pageviews(ctx)} AS pv WHERE time_on_page > 0 GROUP BY 1""",
        "sessions DESC, duration_range ASC",
    )


# A page view's own time on page in seconds, averaged (page view rows usually carry none).
_VIEW_SECONDS = "round_even(avg(time_on_page / 1000) FILTER (WHERE time_on_page > 0), 2)"


def _sessions_by(ctx: QueryContext, column: str) -> Built:
    return Built(
        f"""
        SELECT {column} AS name, count(DISTINCT session_id) AS sessions,
               count(DISTINCT anonymous_id) AS visitors, {_VIEW_SECONDS} AS avg_session_duration
        FROM {pageviews(ctx)} AS pv WHERE {not_empty(column)}
        GROUP BY {column}""",
        "sessions DESC, visitors DESC, name ASC",
    )


@builder("sessions_by_device")
def sessions_by_device(ctx: QueryContext) -> Built:
    return _sessions_by(ctx, "device_type")


@builder("sessions_by_browser")
def sessions_by_browser(ctx: QueryContext) -> Built:
    return _sessions_by(ctx, "browser_name")


@builder("sessions_time_series")
def sessions_time_series(ctx: QueryContext) -> Built:
    # sessions / visitors with a page view on each UTC day
    return Built(
        f"""
        SELECT strftime(time, '%Y-%m-%d') AS date, count(DISTINCT session_id) AS sessions,
               count(DISTINCT anonymous_id) AS visitors, {_VIEW_SECONDS} AS avg_session_duration
        FROM {pageviews(ctx)} AS pv GROUP BY 1""",
        "date ASC",
    )


@builder("session_flow")
def session_flow(ctx: QueryContext) -> Built:
    # Page-to-next-page transitions within sessions (full URLs), filters not applied; the
    # 100 most frequent. A catalogue still describing the older shape (name, sessions,
    # visitors per page) gets that shape.
    if "transitions" not in ctx.qtype.field_names:
        return _session_pages(ctx)
    return Built(
        f"""
        WITH steps AS (
            SELECT session_id, path AS from_path,
                   coalesce(lead(path) OVER (PARTITION BY session_id ORDER BY time), '')
                       AS to_path
            FROM {ctx.source("events", filtered=False)} AS e
            WHERE event_name = 'screen_view' AND session_id != '' AND path != '')
        SELECT from_path, to_path, from_path || ' → ' || to_path AS name,
               count(*) AS transitions, count(DISTINCT session_id) AS sessions
        FROM steps WHERE to_path != '' AND to_path != from_path
        GROUP BY from_path, to_path
        ORDER BY transitions DESC, name ASC LIMIT 100""",
        "transitions DESC, name ASC",
        sortable=False,
    )


def _session_pages(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {PATH} AS name, count(DISTINCT session_id) AS sessions,
               count(DISTINCT anonymous_id) AS visitors
        FROM {pageviews(ctx)} AS pv
        WHERE {not_empty("path")}
        GROUP BY {PATH}""",
        "sessions DESC, visitors DESC, name ASC",
    )


def event_tuples(alias: str = "e", properties: str = "NULL::VARCHAR") -> str:
    """SQL aggregate: a session's events as ``[id, time, event_name, path, properties]`` lists,
    oldest first (page views carry no properties)."""
    return (
        f"list([{alias}.id, {event_time(f'{alias}.time')}, {alias}.event_name, {alias}.path, "
        f"{properties}] ORDER BY {alias}.time, {alias}.id)"
    )


def prefetch(ctx: QueryContext) -> str:
    """A LIMIT for a CTE already in the final order: the rows up to the requested page."""
    if not ctx.qtype.limit_applied:
        return ""
    pages = max(int(ctx.page), 1) if ctx.qtype.offset_applied else 1
    return f"LIMIT {pages * int(ctx.limit)}"


@builder("session_list")
def session_list(ctx: QueryContext) -> Built:
    # Sessions with any event in range (page exits too); their events of any time, with the
    # website's custom events of those sessions (Databuddy lists them under fresh random ids;
    # here a UUID-shaped hash of the event, so answers stay repeatable).
    everything = ctx.source("events", in_range=False, filtered=False)
    custom = ctx.source("custom_events", in_range=False, filtered=False)
    return Built(
        f"""
        WITH pv AS (SELECT * FROM {ctx.source("events")} AS e),
             sl AS (
                SELECT session_id, min(time) AS first_visit, max(time) AS last_visit,
                       count(*) FILTER (WHERE event_name = 'screen_view') AS page_views,
                       arg_min(anonymous_id, time) AS visitor_id,
                       arg_min(coalesce(country, ''), time) AS country,
                       arg_min(coalesce(referrer, ''), time) AS referrer,
                       arg_min(coalesce(device_type, ''), time) AS device_type,
                       arg_min(coalesce(browser_name, ''), time) AS browser_name,
                       arg_min(coalesce(os_name, ''), time) AS os_name
                FROM pv GROUP BY session_id
                ORDER BY first_visit DESC, session_id ASC {prefetch(ctx)}),
             alle AS (
                SELECT id, session_id, time, event_name, path, NULL::VARCHAR AS properties
                FROM {everything} AS e WHERE session_id IN (SELECT session_id FROM sl)
                UNION ALL
                SELECT regexp_replace(
                           md5(c.session_id || c.event_name || CAST(c.timestamp AS VARCHAR)),
                           '^(.{{8}})(.{{4}})(.{{4}})(.{{4}})(.{{12}})$', '\\1-\\2-\\3-\\4-\\5'),
                       c.session_id, c.timestamp, c.event_name, c.path,
                       CASE WHEN coalesce(c.properties, '{{}}') != '{{}}' THEN c.properties END
                FROM {custom} AS c WHERE c.session_id IN (SELECT session_id FROM sl)),
             ev AS (
                SELECT e.session_id, {event_tuples("e", "e.properties")} AS events
                FROM alle AS e GROUP BY e.session_id)
        SELECT sl.session_id, {event_time("sl.first_visit")} AS first_visit,
               {event_time("sl.last_visit")} AS last_visit, sl.page_views, sl.visitor_id,
               sl.country, sl.referrer, sl.device_type, sl.browser_name, sl.os_name,
               coalesce(ev.events, []) AS events,
               sl.country AS country_code, {country_name("sl.country")} AS country_name
        FROM sl LEFT JOIN ev USING (session_id)""",
        "first_visit DESC, session_id ASC",
        sortable=False,
    )


@builder("session_events")
def session_events(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT session_id, id AS event_id, {event_time("time")} AS time, event_name, path,
               '{{}}' AS properties, coalesce(device_type, '') AS device_type,
               coalesce(browser_name, '') AS browser_name, coalesce(country, '') AS country
        FROM {ctx.source("events")} AS e""",
        "time ASC, event_id ASC",
    )
