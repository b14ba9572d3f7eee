"""engagement: scroll_depth_summary, scroll_depth_distribution, page_scroll_performance,
interaction_summary, retention_cohorts, retention_rate.

Scroll depth is stored in percent (0-100); page views without a scroll depth (NULL or 0) do not
count for the scroll types. Retention weeks start on Sunday (ClickHouse ``toStartOfWeek``).
"""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..sql import pct, url_path
from .common import pageviews
from .pages import not_empty

DEPTH_BUCKETS = (("0-25%", 25), ("25-50%", 50), ("50-75%", 75), ("75-100%", 100), ("100%", None))
RETENTION_WEEKS = 6


def _scrolled(ctx: QueryContext) -> str:
    """Page exits that report a scroll depth (0-100, the deepest point of the page view)."""
    return (
        f"(SELECT * FROM {ctx.source('events')} AS e "
        "WHERE event_name = 'page_exit' AND scroll_depth > 0)"
    )


@builder("scroll_depth_summary")
def scroll_depth_summary(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT round_even(avg(scroll_depth), 1) AS avg_scroll_depth,
               count(DISTINCT session_id) AS total_sessions,
               count(DISTINCT anonymous_id) AS visitors
        FROM {_scrolled(ctx)} AS pv""",
        "total_sessions",
        sortable=False,
    )


@builder("scroll_depth_distribution")
def scroll_depth_distribution(ctx: QueryContext) -> Built:
    whens = " ".join(
        f"WHEN scroll_depth < {limit} THEN '{label}'"
        for label, limit in DEPTH_BUCKETS
        if limit is not None
    )
    rank = " ".join(f"WHEN '{label}' THEN {i}" for i, (label, _) in enumerate(DEPTH_BUCKETS))
    share = pct("count(DISTINCT session_id)", "sum(count(DISTINCT session_id)) OVER ()")
    return Built(
        f"""
        SELECT (CASE {whens} ELSE '{DEPTH_BUCKETS[-1][0]}' END) AS depth_range,
               count(DISTINCT anonymous_id) AS visitors, count(DISTINCT session_id) AS sessions,
               {share} AS percentage
        FROM {_scrolled(ctx)} AS pv
        GROUP BY 1""",
        f"(CASE depth_range {rank} END) ASC",
    )


@builder("page_scroll_performance")
def page_scroll_performance(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT rtrim({url_path("path")}, '/') AS name,
               round_even(avg(scroll_depth), 1) AS avg_scroll_depth,
               count(DISTINCT anonymous_id) AS visitors, count(DISTINCT session_id) AS sessions,
               count(*) AS pageviews
        FROM {_scrolled(ctx)} AS pv
        WHERE {not_empty("path")}
        GROUP BY 1""",
        "avg_scroll_depth DESC, pageviews DESC, name ASC",
    )


@builder("interaction_summary")
def interaction_summary(ctx: QueryContext) -> Built:
    interactive = "count(DISTINCT session_id) FILTER (WHERE interaction_count > 0)"
    return Built(
        f"""
        SELECT round_even(avg(interaction_count), 1) AS avg_interactions,
               {interactive} AS interactive_sessions,
               coalesce(round_even(100.0 * {interactive}
                                   / nullif(count(DISTINCT session_id), 0), 1), 0)
                   AS interaction_rate,
               count(DISTINCT session_id) AS total_sessions
        FROM {pageviews(ctx)} AS pv
        WHERE interaction_count >= 0""",
        "total_sessions",
        sortable=False,
    )


@builder("retention_cohorts")
def retention_cohorts(ctx: QueryContext) -> Built:
    """Visitors by the week (Sunday) of their first page view in the range; week N retention =
    share of them seen again N weeks later (within the range)."""
    returned = ",\n".join(
        f"count(DISTINCT f.anonymous_id) FILTER (WHERE v.visit_date >= f.cohort + {7 * w} "
        f"AND v.visit_date < f.cohort + {7 * (w + 1)}) AS week_{w}"
        for w in range(1, RETENTION_WEEKS)
    )
    rates = ",\n".join(
        f"round_even(100.0 * week_{w} / users, 2) AS week_{w}_retention"
        for w in range(1, RETENTION_WEEKS)
    )
    return Built(
        f"""
        WITH pv AS (SELECT * FROM {pageviews(ctx)} AS p WHERE {not_empty("anonymous_id")}),
             firsts AS (SELECT anonymous_id, min(time)::DATE AS first_day FROM pv GROUP BY 1),
             f AS (SELECT anonymous_id,
                          first_day - CAST(dayofweek(first_day) AS INTEGER) AS cohort
                   FROM firsts),
             v AS (SELECT DISTINCT anonymous_id, time::DATE AS visit_date FROM pv),
             r AS (SELECT f.cohort, count(DISTINCT f.anonymous_id) AS users, {returned}
                   FROM f LEFT JOIN v USING (anonymous_id)
                   GROUP BY f.cohort)
        SELECT strftime(cohort, '%Y-%m-%d') AS cohort, users, 100.0 AS week_0_retention,
               {rates}
        FROM r""",
        "cohort ASC",
        sortable=False,
    )


@builder("retention_rate")
def retention_rate(ctx: QueryContext) -> Built:
    """Per day: visitors whose first page view ever (unfiltered, any date) is that day (new) or
    earlier (returning)."""
    everything = ctx.source("events", in_range=False, filtered=False)
    return Built(
        f"""
        WITH firsts AS (SELECT anonymous_id, min(time)::DATE AS first_day
                        FROM {everything} AS e
                        WHERE event_name = 'screen_view' AND {not_empty("anonymous_id")}
                        GROUP BY 1),
             daily AS (SELECT DISTINCT anonymous_id, time::DATE AS visit_date
                       FROM {pageviews(ctx)} AS pv WHERE {not_empty("anonymous_id")}),
             stats AS (
                SELECT d.visit_date,
                       count(DISTINCT d.anonymous_id) FILTER (WHERE f.first_day = d.visit_date)
                           AS new_users,
                       count(DISTINCT d.anonymous_id) FILTER (WHERE f.first_day < d.visit_date)
                           AS returning_users,
                       count(DISTINCT d.anonymous_id) AS total_users
                FROM daily d LEFT JOIN firsts f USING (anonymous_id)
                GROUP BY d.visit_date)
        SELECT strftime(visit_date, '%Y-%m-%d') AS date, new_users, returning_users,
               {pct("returning_users", "total_users")} AS retention_rate
        FROM stats""",
        "date ASC",
        sortable=False,
    )
