"""pages: top_pages, entry_pages, exit_pages, page_performance, page_time_analysis.

Also holds small helpers the other page-view breakdown modules of this group share
(traffic, devices, geo, sessions, engagement, profiles).
"""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..sql import normalized_path, pct
from .common import attributed, attributed_views, pageviews

BY_PAGEVIEWS = "visitors DESC, pageviews DESC, name ASC"
BY_VISITORS = "visitors DESC, pageviews DESC, name ASC"
VISITOR_SHARE = pct("count(DISTINCT anonymous_id)", "sum(count(DISTINCT anonymous_id)) OVER ()")
PATH = normalized_path("path")


def not_empty(col: str) -> str:
    return f"coalesce({col}, '') != ''"


def dim_breakdown(
    ctx: QueryContext,
    dim: str,
    *,
    where: str = "TRUE",
    order: str = BY_PAGEVIEWS,
    by_session: bool = False,
) -> Built:
    """``name, pageviews, visitors, percentage`` of page views grouped by ``dim`` (rows where
    ``where`` holds); ``percentage`` is the visitors' share over all groups, before any limit.
    ``by_session``: page views carry their session's first referrer, UTM, geo and device."""
    source = attributed_views(ctx) if by_session else pageviews(ctx)
    return Built(
        f"""
        SELECT {dim} AS name, count(*) AS pageviews,
               count(DISTINCT anonymous_id) AS visitors, {VISITOR_SHARE} AS percentage
        FROM {source} AS pv
        WHERE {where}
        GROUP BY {dim}""",
        order,
    )


@builder("top_pages")
def top_pages(ctx: QueryContext) -> Built:
    return dim_breakdown(ctx, f"url_decode({PATH})", where=not_empty("path"), by_session=True)


def session_ends(ctx: QueryContext) -> str:
    """One row per session of the session-attributed, filtered page views in range: its
    visitor, entry page (first page view by time) and exit page (last page view)."""
    return f"""(
        SELECT session_id,
               arg_min(anonymous_id, time) AS anonymous_id,
               arg_min({PATH}, time) AS entry_page,
               arg_max({PATH}, time) AS exit_page
        FROM {attributed_views(ctx)} AS pv
        GROUP BY session_id)"""


def _ends_breakdown(ctx: QueryContext, column: str) -> Built:
    # pageviews = sessions entering (leaving) on the page: one entry/exit page view per session
    return Built(
        f"""
        SELECT {column} AS name, count(*) AS pageviews,
               count(DISTINCT anonymous_id) AS visitors, {VISITOR_SHARE} AS percentage
        FROM {session_ends(ctx)} AS s
        GROUP BY {column}""",
        BY_PAGEVIEWS,
        sortable=False,
    )


@builder("entry_pages")
def entry_pages(ctx: QueryContext) -> Built:
    return _ends_breakdown(ctx, "entry_page")


@builder("exit_pages")
def exit_pages(ctx: QueryContext) -> Built:
    return _ends_breakdown(ctx, "exit_page")


@builder("page_performance")
def page_performance(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {PATH} AS name, count(*) AS pageviews,
               round_even(avg(time_on_page) FILTER (WHERE time_on_page > 0), 2) AS avg_time_on_page,
               count(DISTINCT anonymous_id) AS visitors
        FROM {pageviews(ctx)} AS pv
        WHERE {not_empty("path")}
        GROUP BY {PATH}""",
        BY_PAGEVIEWS,
    )


@builder("page_time_analysis")
def page_time_analysis(ctx: QueryContext) -> Built:
    # Page exits with a plausible time on page (over 1 s, under an hour), per decoded path.
    return Built(
        f"""
        SELECT url_decode({PATH}) AS name, count(*) AS sessions_with_time,
               count(DISTINCT anonymous_id) AS visitors,
               round_even(tdigest_quantile(list(time_on_page::FLOAT), 0.5), 2)
                   AS median_time_on_page,
               {VISITOR_SHARE} AS percentage
        FROM {attributed(ctx)} AS pe
        WHERE event_name = 'page_exit' AND time_on_page > 1 AND time_on_page < 3600
        GROUP BY 1""",
        "visitors DESC, sessions_with_time DESC, name ASC",
        sortable=False,
    )
