"""interesting_sessions (new in 2026-05): the range's sessions ranked by how much happened.

One row per session with at least one page view among the website's events in range (filters do
not apply). The score adds 2 per page view (at most 10), 3 per distinct page (at most 8), 1 per
engagement event or custom event (at most 20 together), 2 per error (at most 10) and 5 when the
session lasted two minutes or more; highest score first, then the latest session. A session's
visitor, country, referrer, device, browser and OS are those of its first event; ``paths`` holds
up to 12 distinct pages, ``custom_event_names`` up to 8 names, each in order of first appearance.
The server names the session column ``bs.session_id`` (its SQL's table alias).
"""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..sql import country_name, event_time

# Events the tracker sends by itself: not engagement.
AUTOMATIC_EVENTS = ("screen_view", "page_exit", "web_vitals", "link_out")


def _first_distinct(values: str, order: str, cap: int) -> str:
    """Up to ``cap`` distinct non-empty values, in the order they first appear."""
    return (
        f"list_slice(list_distinct(list({values} ORDER BY {order}) "
        f"FILTER (WHERE coalesce({values}, '') != '')), 1, {cap})"
    )


@builder("interesting_sessions")
def interesting_sessions(ctx: QueryContext) -> Built:
    events = ctx.source("events", filtered=False)
    custom = ctx.source("custom_events", filtered=False)
    errors = ctx.source("error_spans", filtered=False)
    automatic = ", ".join(f"'{name}'" for name in AUTOMATIC_EVENTS)
    page = "CASE WHEN event_name = 'screen_view' THEN path END"
    return Built(
        f"""
        WITH bs AS (
            SELECT session_id, min(time) AS first_visit, max(time) AS last_visit,
                   date_diff('second', min(time), max(time)) AS duration_seconds,
                   arg_min(anonymous_id, time) AS visitor_id,
                   arg_min(coalesce(country, ''), time) AS country,
                   arg_min(coalesce(referrer, ''), time) AS referrer,
                   arg_min(coalesce(device_type, ''), time) AS device_type,
                   arg_min(coalesce(browser_name, ''), time) AS browser_name,
                   arg_min(coalesce(os_name, ''), time) AS os_name,
                   count(*) FILTER (WHERE event_name = 'screen_view') AS page_views,
                   count(DISTINCT {page}) FILTER (WHERE coalesce(path, '') != '')
                       AS unique_pages,
                   count(*) FILTER (WHERE event_name NOT IN ({automatic}))
                       AS analytics_engagement_events,
                   {_first_distinct(page, "time", 12)} AS paths
            FROM {events} AS e WHERE session_id != '' GROUP BY session_id),
        cs AS (
            SELECT session_id, count(*) AS custom_events,
                   {_first_distinct("event_name", "timestamp", 8)} AS custom_event_names
            FROM {custom} AS c WHERE session_id != '' GROUP BY session_id),
        es AS (
            SELECT session_id, count(*) AS errors
            FROM {errors} AS x WHERE session_id != '' GROUP BY session_id),
        scored AS (
            SELECT bs.*, coalesce(cs.custom_events, 0) AS custom_events,
                   coalesce(es.errors, 0) AS errors,
                   coalesce(cs.custom_event_names, []) AS custom_event_names,
                   least(bs.page_views, 10) * 2 + least(bs.unique_pages, 8) * 3
                   + least(bs.analytics_engagement_events + coalesce(cs.custom_events, 0), 20)
                   + least(coalesce(es.errors, 0), 10) * 2
                   + CASE WHEN bs.duration_seconds >= 120 THEN 5 ELSE 0 END
                       AS interesting_score
            FROM bs LEFT JOIN cs USING (session_id) LEFT JOIN es USING (session_id)
            WHERE bs.page_views > 0)
        SELECT session_id AS "bs.session_id", visitor_id,
               {event_time("first_visit")} AS first_visit,
               {event_time("last_visit")} AS last_visit, duration_seconds, page_views,
               unique_pages, analytics_engagement_events, custom_events, errors, paths,
               custom_event_names, country, referrer, device_type, browser_name, os_name,
               interesting_score, country AS country_code, {country_name("country")}
                   AS country_name
        FROM scored""",
        'interesting_score DESC, last_visit DESC, "bs.session_id" ASC',
        sortable=False,
    )
