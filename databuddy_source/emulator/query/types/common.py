"""Pieces several builders share: page views, sessions, breakdowns by one dimension."""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built
from ..sql import pct


def pageviews(ctx: QueryContext) -> str:
    """Page view events of the parameter's website, range and filters."""
    return f"(SELECT * FROM {ctx.source('events')} AS e WHERE event_name = 'screen_view')"


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
    return Built(sql, "pageviews DESC, visitors DESC, name ASC")
