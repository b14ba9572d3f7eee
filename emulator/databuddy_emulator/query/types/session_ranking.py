"""sessions (current API additions): session_pages (sessions and visitors per recorded page URL)
and interesting_sessions (sessions ranked by how much happened in them)."""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..sql import event_time
from .performance import geo_columns


@builder("session_pages")
def session_pages(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT path AS name, count(DISTINCT session_id) AS sessions,
               count(DISTINCT anonymous_id) AS visitors
        FROM {ctx.source("events")} AS e
        WHERE event_name = 'screen_view' AND coalesce(path, '') != ''
        GROUP BY path""",
        "sessions DESC, visitors DESC, name ASC",
    )


# Points: page views (2 each, up to 10), distinct pages (3 each, up to 8), engagement and
# custom events (1 each, up to 20), errors (2 each, up to 10), 5 for two minutes or more.
_SCORE = """(least(b.page_views, 10) * 2 + least(b.unique_pages, 8) * 3
    + least(b.analytics_engagement_events + coalesce(c.custom_events, 0), 20)
    + least(coalesce(er.errors, 0), 10) * 2
    + CASE WHEN b.duration_seconds >= 120 THEN 5 ELSE 0 END)"""


@builder("interesting_sessions")
def interesting_sessions(ctx: QueryContext) -> Built:
    # filters do not apply; lists of pages (up to 12) and custom event names (up to 8) are
    # distinct values in no particular order. Databuddy's answer names the session column
    # "bs.session_id" (its SQL selects it unaliased); the catalogue's name is used.
    session_col = ctx.qtype.field_names[0] if ctx.qtype.field_names else "session_id"
    ev = ctx.source("events", filtered=False)
    ce = ctx.source("custom_events", filtered=False)
    errors = ctx.source("error_spans", filtered=False)
    return Built(
        f"""
        WITH b AS (
            SELECT session_id, min(time) AS first_visit, max(time) AS last_visit,
                   date_diff('second', min(time), max(time)) AS duration_seconds,
                   arg_min(anonymous_id, time) AS visitor_id, arg_min(country, time) AS country,
                   arg_min(referrer, time) AS referrer, arg_min(device_type, time) AS device_type,
                   arg_min(browser_name, time) AS browser_name, arg_min(os_name, time) AS os_name,
                   count(*) FILTER (WHERE event_name = 'screen_view') AS page_views,
                   count(DISTINCT path) FILTER (WHERE event_name = 'screen_view' AND path != '')
                       AS unique_pages,
                   count(*) FILTER (WHERE event_name NOT IN
                       ('screen_view', 'page_exit', 'web_vitals', 'link_out'))
                       AS analytics_engagement_events,
                   list(DISTINCT path ORDER BY path) FILTER (
                       WHERE event_name = 'screen_view' AND path != '')[1:12] AS paths
            FROM {ev} AS e WHERE session_id != '' GROUP BY session_id),
        c AS (
            SELECT session_id, count(*) AS custom_events,
                   list(DISTINCT event_name ORDER BY event_name)[1:8] AS custom_event_names
            FROM {ce} AS ce WHERE coalesce(session_id, '') != '' GROUP BY session_id),
        er AS (
            SELECT session_id, count(*) AS errors FROM {errors} AS es
            WHERE session_id != '' GROUP BY session_id)
        SELECT b.session_id AS "{session_col}", b.visitor_id,
               {event_time("b.first_visit")} AS first_visit,
               {event_time("b.last_visit")} AS last_visit, b.duration_seconds, b.page_views,
               b.unique_pages, b.analytics_engagement_events,
               coalesce(c.custom_events, 0) AS custom_events, coalesce(er.errors, 0) AS errors,
               b.paths, coalesce(c.custom_event_names, []) AS custom_event_names,
               b.country, b.referrer, b.device_type, b.browser_name, b.os_name,
               {_SCORE} AS interesting_score, {geo_columns("b.country")}
        FROM b LEFT JOIN c USING (session_id) LEFT JOIN er USING (session_id)
        WHERE b.page_views > 0""",
        f'interesting_score DESC, last_visit DESC, "{session_col}" ASC',
        sortable=False,
    )
