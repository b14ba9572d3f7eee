"""summary: summary_metrics, today_metrics, events_by_date, active_stats."""

from __future__ import annotations

from datetime import timedelta

from ..context import QueryContext
from ..engine import Built, builder
from ..sql import lit
from .common import BOUNCED, attributed, pageviews, session_rollups


@builder("summary_metrics")
def summary_metrics(ctx: QueryContext) -> Built:
    # No row at all when the range has no session (not a row of zeros).
    return Built(
        f"""
        WITH base AS {attributed(ctx)},
             s AS {session_rollups("base")},
             ev AS (SELECT count(*) AS total_events,
                           count(*) FILTER (WHERE event_name = 'screen_view') AS pageviews,
                           count(DISTINCT anonymous_id) FILTER (WHERE event_name = 'screen_view')
                               AS unique_visitors
                    FROM base)
        SELECT ev.pageviews, ev.unique_visitors,
               count(*) FILTER (WHERE page_count >= 1) AS sessions,
               least(100, round_even(100.0 * count(*) FILTER (WHERE {BOUNCED})
                     / nullif(count(*) FILTER (WHERE page_count >= 1), 0), 2)) AS bounce_rate,
               round_even(quantile_cont(duration, 0.5)
                     FILTER (WHERE page_count >= 1 AND duration >= 0), 2)
                   AS median_session_duration,
               ev.total_events
        FROM s CROSS JOIN ev
        GROUP BY ev.pageviews, ev.unique_visitors, ev.total_events
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
    # Buckets are those with any event; a session counts in the bucket of its first page view.
    # A bucket where no session starts still joins one empty session (sessions = 1, as the
    # real server's LEFT JOIN gives default values, not nulls).
    day = ctx.bucket("time")
    first_view = ctx.bucket("min(time) FILTER (WHERE event_name = 'screen_view')")
    return Built(
        f"""
        WITH base AS {attributed(ctx)},
             s AS {session_rollups("base", first_view)},
             ev AS (SELECT {day} AS date,
                           count(*) FILTER (WHERE event_name = 'screen_view') AS pageviews,
                           count(DISTINCT anonymous_id) FILTER (WHERE event_name = 'screen_view')
                               AS visitors
                    FROM base GROUP BY 1),
             j AS (SELECT ev.date, ev.pageviews, ev.visitors,
                          coalesce(s.page_count, 0) AS page_count,
                          coalesce(s.engagement_count, 0) AS engagement_count,
                          s.duration
                   FROM ev LEFT JOIN s ON s.bucket = ev.date)
        SELECT date, pageviews, visitors, count(*) AS sessions,
               least(100, round_even(100.0 * count(*) FILTER (WHERE {BOUNCED}) / count(*), 2))
                   AS bounce_rate,
               round_even(quantile_cont(duration, 0.5) FILTER (WHERE duration >= 0), 2)
                   AS median_session_duration,
               round_even(pageviews / count(*), 2) AS pages_per_session
        FROM j GROUP BY date, pageviews, visitors
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
