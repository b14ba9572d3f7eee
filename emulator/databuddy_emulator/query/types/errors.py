"""errors: JS error spans (``error_spans``) as lists, breakdowns, daily series and totals.

Every type reads the same rows (the website's error spans in range, request filters applied, empty
messages dropped), so breakdown counts and daily series sum to ``error_summary.totalErrors``.
"""

from __future__ import annotations

from ..context import RAW_TABLES, SPAN_COLUMNS, QueryContext
from ..engine import Built, builder
from ..sql import event_time, normalized_path, pct
from .performance import geo_columns


def errors(ctx: QueryContext, *, with_session: bool = False) -> str:
    """The parameter's error spans with a message. ``with_session``: filters may also name the
    device and geo columns (taken from the span's session), as for the error list."""
    cols = RAW_TABLES["error_spans"].columns | SPAN_COLUMNS if with_session else None
    src = ctx.source("error_spans", filter_columns=cols)
    return f"(SELECT * FROM {src} AS es WHERE coalesce(message, '') != '')"


@builder("recent_errors")
def recent_errors(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT message, stack, path, anonymous_id, session_id,
               {event_time("timestamp")} AS timestamp, filename, lineno, colno, error_type,
               browser_name, browser_version, os_name, os_version, device_type, country, region,
               {geo_columns("country")}
        FROM {errors(ctx, with_session=True)} AS e
    """,
        "timestamp DESC, session_id ASC, message ASC, lineno ASC, colno ASC, filename ASC",
    )


@builder("error_types")
def error_types(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT message AS name, count(*) AS count, count(DISTINCT anonymous_id) AS users,
               {event_time("max(timestamp)")} AS last_seen
        FROM {errors(ctx)} AS e GROUP BY message
    """,
        "count DESC, name ASC",
    )


@builder("errors_by_type")
def errors_by_type(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT error_type AS name, count(*) AS count, count(DISTINCT anonymous_id) AS users,
               count(DISTINCT session_id) AS sessions
        FROM {errors(ctx)} AS e WHERE coalesce(error_type, '') != '' GROUP BY error_type
    """,
        "count DESC, name ASC",
    )


@builder("errors_by_page")
def errors_by_page(ctx: QueryContext) -> Built:
    page = normalized_path("path")
    return Built(
        f"""
        SELECT {page} AS name, count(*) AS errors, count(DISTINCT anonymous_id) AS users
        FROM {errors(ctx)} AS e WHERE coalesce(path, '') != '' GROUP BY {page}
    """,
        "errors DESC, name ASC",
    )


@builder("error_trends")
def error_trends(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {ctx.bucket("timestamp")} AS date, count(*) AS errors,
               count(DISTINCT anonymous_id) AS users
        FROM {errors(ctx)} AS e GROUP BY 1
    """,
        "date ASC",
    )


@builder("error_frequency")
def error_frequency(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {ctx.bucket("timestamp")} AS date, count(*) AS count
        FROM {errors(ctx)} AS e GROUP BY 1
    """,
        "date ASC",
    )


@builder("error_chart_data")
def error_chart_data(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {ctx.bucket("timestamp")} AS date, count(*) AS totalErrors,
               count(DISTINCT anonymous_id) AS affectedUsers
        FROM {errors(ctx)} AS e GROUP BY 1
    """,
        "date ASC",
    )


@builder("error_summary")
def error_summary(ctx: QueryContext) -> Built:
    """``errorRate``: sessions with an error (filters applied) over all sessions of the range
    (unfiltered), in percent, as the server computes it."""
    all_events = ctx.source("events", filtered=False)
    return Built(
        f"""
        WITH e AS {errors(ctx)},
             total AS (SELECT count(DISTINCT session_id) AS sessions FROM {all_events} AS ev)
        SELECT count(*) AS totalErrors, count(DISTINCT message) AS uniqueErrorTypes,
               count(DISTINCT anonymous_id) AS affectedUsers,
               count(DISTINCT session_id) AS affectedSessions,
               {pct("count(DISTINCT session_id)", "(SELECT sessions FROM total)")} AS errorRate
        FROM e
    """,
        "totalErrors",
        sortable=False,
    )
