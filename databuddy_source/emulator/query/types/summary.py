"""summary: summary_metrics, today_metrics, events_by_date, active_stats."""

from __future__ import annotations

from datetime import timedelta

from ..context import QueryContext
from ..engine import Built, builder
from ..sql import lit, pct
from .common import pageviews, sessions


@builder("summary_metrics")
def summary_metrics(ctx: QueryContext) -> Built:
    events = ctx.source("events")
    return Built(
        f"""
        WITH pv AS (SELECT * FROM {events} WHERE event_name = 'screen_view'),
             s AS {sessions(ctx, "pv")}
        SELECT (SELECT count(*) FROM pv) AS pageviews,
               (SELECT count(DISTINCT anonymous_id) FROM pv) AS unique_visitors,
               (SELECT count(*) FROM s) AS sessions,
               (SELECT {pct("count(*) FILTER (WHERE pageviews = 1)", "count(*)")} FROM s)
                   AS bounce_rate,
               (SELECT coalesce(round(median(duration), 2), 0) FROM s)
                   AS median_session_duration,
               (SELECT count(*) FROM {events}) AS total_events
    """,
        "pageviews",
        sortable=False,
    )


@builder("today_metrics")
def today_metrics(ctx: QueryContext) -> Built:
    today = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    return Built(
        f"""
        SELECT count(*) AS pageviews, count(DISTINCT anonymous_id) AS visitors,
               count(DISTINCT session_id) AS sessions
        FROM {pageviews(ctx)} AS pv WHERE time >= {lit(today.isoformat(sep=" "))}::TIMESTAMP
    """,
        "pageviews",
    )


@builder("events_by_date")
def events_by_date(ctx: QueryContext) -> Built:
    day = ctx.bucket("time")
    session_day = ctx.bucket("session_start")
    return Built(
        f"""
        WITH pv AS {pageviews(ctx)},
             s AS {sessions(ctx, "pv")},
             per_day AS (
                SELECT {day} AS date, count(*) AS pageviews,
                       count(DISTINCT anonymous_id) AS visitors,
                       count(DISTINCT session_id) AS sessions
                FROM pv GROUP BY 1),
             session_stats AS (
                SELECT {session_day} AS date,
                       {pct("count(*) FILTER (WHERE pageviews = 1)", "count(*)")} AS bounce_rate,
                       round(median(duration), 2) AS median_session_duration
                FROM s GROUP BY 1)
        SELECT d.date, d.pageviews, d.visitors, d.sessions,
               coalesce(ss.bounce_rate, 0) AS bounce_rate,
               coalesce(ss.median_session_duration, 0) AS median_session_duration,
               round(d.pageviews / d.sessions, 2) AS pages_per_session
        FROM per_day d LEFT JOIN session_stats ss USING (date)
    """,
        "date ASC",
    )


@builder("active_stats")
def active_stats(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT count(DISTINCT anonymous_id) AS active_users,
               count(DISTINCT session_id) AS active_sessions
        FROM {ctx.source("events")} AS e
        WHERE event_name = 'screen_view' AND time >= {ctx.since(timedelta(minutes=5))}
    """,
        "active_users",
    )
