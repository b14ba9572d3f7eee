"""sessions: session_metrics, session_duration_distribution, sessions_by_device,
sessions_by_browser, sessions_time_series, session_flow, session_list, session_events.

A session's duration is the seconds between its first and last page view in the range (as in
summary_metrics); its device, browser, country and referrer are those of its first page view.
"""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..sql import country_name, event_time, pct
from .common import pageviews, sessions
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


def _with_sessions(ctx: QueryContext) -> str:
    return f"WITH pv AS {pageviews(ctx)}, s AS {sessions(ctx, 'pv')}"


@builder("session_metrics")
def session_metrics(ctx: QueryContext) -> Built:
    return Built(
        f"""
        {_with_sessions(ctx)}
        SELECT (SELECT count(*) FROM s) AS total_sessions,
               (SELECT coalesce(round(avg(duration), 2), 0) FROM s) AS avg_session_duration,
               (SELECT {pct("count(*) FILTER (WHERE pageviews = 1)", "count(*)")} FROM s)
                   AS bounce_rate,
               (SELECT count(*) FROM pv) AS total_events""",
        "total_sessions",
        sortable=False,
    )


def _bucket_case() -> str:
    whens = " ".join(
        f"WHEN duration < {limit} THEN '{label}'"
        for label, limit in DURATION_BUCKETS
        if limit is not None
    )
    return f"(CASE {whens} ELSE '{DURATION_BUCKETS[-1][0]}' END)"


def _bucket_rank() -> str:
    whens = " ".join(f"WHEN '{label}' THEN {i}" for i, (label, _) in enumerate(DURATION_BUCKETS))
    return f"(CASE duration_range {whens} END)"


@builder("session_duration_distribution")
def session_duration_distribution(ctx: QueryContext) -> Built:
    return Built(
        f"""
        {_with_sessions(ctx)}
        SELECT {_bucket_case()} AS duration_range, count(*) AS sessions,
               count(DISTINCT anonymous_id) AS visitors
        FROM s GROUP BY 1""",
        f"sessions DESC, {_bucket_rank()} ASC",
    )


def _sessions_by(ctx: QueryContext, column: str) -> Built:
    return Built(
        f"""
        {_with_sessions(ctx)}
        SELECT {column} AS name, count(*) AS sessions, count(DISTINCT anonymous_id) AS visitors,
               round(avg(duration), 2) AS avg_session_duration
        FROM s WHERE {not_empty(column)}
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
    # sessions / visitors active on each day (as events_by_date counts them)
    return Built(
        f"""
        {_with_sessions(ctx)},
             per_day AS (SELECT DISTINCT {ctx.bucket("time")} AS date, session_id, anonymous_id
                         FROM pv)
        SELECT d.date, count(DISTINCT d.session_id) AS sessions,
               count(DISTINCT d.anonymous_id) AS visitors,
               round(avg(s.duration), 2) AS avg_session_duration
        FROM per_day d JOIN s USING (session_id)
        GROUP BY d.date""",
        "date ASC",
    )


@builder("session_flow")
def session_flow(ctx: QueryContext) -> Built:
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
    everything = ctx.source("events", in_range=False, filtered=False)
    return Built(
        f"""
        WITH pv AS {pageviews(ctx)},
             sl AS (
                SELECT session_id, min(time) AS first_visit, max(time) AS last_visit,
                       count(*) AS page_views,
                       arg_min(anonymous_id, time) AS visitor_id,
                       arg_min(coalesce(country, ''), time) AS country,
                       arg_min(coalesce(referrer, ''), time) AS referrer,
                       arg_min(coalesce(device_type, ''), time) AS device_type,
                       arg_min(coalesce(browser_name, ''), time) AS browser_name,
                       arg_min(coalesce(os_name, ''), time) AS os_name
                FROM pv GROUP BY session_id
                ORDER BY first_visit DESC, session_id ASC {prefetch(ctx)}),
             ev AS (
                SELECT e.session_id, {event_tuples()} AS events
                FROM {everything} AS e
                WHERE e.event_name = 'screen_view'
                  AND e.session_id IN (SELECT session_id FROM sl)
                GROUP BY e.session_id)
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
