"""Pieces several builders share: page views, sessions, breakdowns by one dimension."""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built
from ..sql import pct


def pageviews(ctx: QueryContext) -> str:
    """Page view events of the parameter's website, range and filters."""
    return f"(SELECT * FROM {ctx.source('events')} AS e WHERE event_name = 'screen_view')"


# Columns a page view reports with its session's first value (session attribution).
ATTRIBUTED = (
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "country",
    "device_type",
    "browser_name",
    "os_name",
)


def attributed(ctx: QueryContext, *, filtered: bool = True) -> str:
    """Every event of the parameter's website and range that has a session, with the
    :data:`ATTRIBUTED` columns replaced by the first non-null value of its session (over the
    session's events in range, before filters); filters then compare those session values."""
    raw = ctx.source("events", filtered=False)
    picks = ", ".join(f"arg_min({c}, time) AS s_{c}" for c in ATTRIBUTED)
    replace = ", ".join(f"sa.s_{c} AS {c}" for c in ATTRIBUTED)
    conditions = ["TRUE"]
    if filtered and ctx.qtype.filters_applied:
        conditions += ctx.filter_sql("events")
    return f"""(
        SELECT * FROM (
            SELECT e.* REPLACE ({replace})
            FROM {raw} AS e
            JOIN (SELECT session_id, {picks} FROM {raw} AS r
                  WHERE session_id != '' GROUP BY session_id) AS sa
              ON e.session_id = sa.session_id) AS ae
        WHERE {" AND ".join(conditions)})"""


def session_rollups(source: str, bucket: str | None = None) -> str:
    """Per session of the events in ``source``: page views, engagement events (neither a page
    view nor a page exit), duration (sum of the page exits' positive time on page; null
    without any, so such a session neither bounces nor enters a median) and, with
    ``bucket``, the bucket of its first page view."""
    first = f", {bucket} AS bucket" if bucket else ""
    return f"""(
        SELECT session_id,
               count(*) FILTER (WHERE event_name = 'screen_view') AS page_count,
               count(*) FILTER (WHERE event_name NOT IN ('screen_view', 'page_exit'))
                   AS engagement_count,
               sum(time_on_page) FILTER (
                   WHERE event_name = 'page_exit' AND time_on_page > 0) AS duration
               {first}
        FROM {source} AS b GROUP BY session_id)"""


def attributed_views(ctx: QueryContext) -> str:
    """The page views of :func:`attributed` (session-attributed, filtered)."""
    return f"(SELECT * FROM {attributed(ctx)} AS a WHERE event_name = 'screen_view')"


BOUNCED = "page_count = 1 AND duration < 10 AND engagement_count = 0"


def sessions(ctx: QueryContext, source: str | None = None) -> str:
    """One row per session of the page views in ``source``: start, end, page views, duration
    (seconds between first and last page view), visitor and first-page dimensions."""
    src = source or pageviews(ctx)
    return f"""(
        SELECT session_id,
               min(time) AS session_start, max(time) AS session_end,
               count(*) AS pageviews,
               date_diff('second', min(time), max(time)) AS duration,
               arg_min(anonymous_id, time) AS anonymous_id,
               arg_min(device_type, time) AS device_type,
               arg_min(browser_name, time) AS browser_name,
               arg_min(os_name, time) AS os_name,
               arg_min(country, time) AS country,
               arg_min(referrer, time) AS referrer
        FROM {src} AS pv GROUP BY session_id)"""


def breakdown(
    ctx: QueryContext, dimension: str, *, extra: str = "", group_extra: str = ""
) -> Built:
    """``name, pageviews, visitors, percentage`` of page views grouped by ``dimension``;
    ``percentage`` is the share of visitors over all groups (before any limit).

    ``extra`` adds select expressions after ``percentage`` (e.g. ``, domain``)."""
    sql = f"""
        SELECT {dimension} AS name, count(*) AS pageviews,
               count(DISTINCT anonymous_id) AS visitors,
               {pct("count(DISTINCT anonymous_id)", "sum(count(DISTINCT anonymous_id)) OVER ()")}
                   AS percentage{extra}
        FROM {pageviews(ctx)} AS pv
        GROUP BY {dimension}{group_extra}"""
    return Built(sql, "visitors DESC, pageviews DESC, name ASC")
