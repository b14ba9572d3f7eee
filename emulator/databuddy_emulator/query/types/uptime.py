"""uptime: checks of one uptime monitor (``schedule_id``) from the ``uptime_monitor`` table.

``status`` is 1 (up) or 0 (down); Databuddy also knows 2 (pending retry), which counts as a check
but is left out of ``uptime_percentage``. Check timestamps and SSL expiry are ClickHouse
``DateTime64(3)`` and are shown with milliseconds.
"""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..sql import event_time, lit, pct, round_half_even

DAY_SECONDS = 86_400  # the longest downtime one failed check stands for

UP = "count(*) FILTER (WHERE status = 1)"
DOWN = "count(*) FILTER (WHERE status = 0)"
UPTIME_PERCENTAGE = pct(UP, f"{UP} + {DOWN}")


def checks(ctx: QueryContext) -> str:
    """The monitor's checks in range, visible now."""
    return ctx.source("uptime_monitor")


def q(col: str, fraction: float, time_col: str = "timestamp") -> str:
    """ClickHouse's ``quantileTDigest`` of ``col`` over the checks in time order, as the
    monitor's table stores them (NULL over no rows)."""
    return f"clickhouse_tdigest(list({col}::FLOAT ORDER BY {time_col}), {fraction})"


@builder("uptime_overview")
def uptime_overview(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {UPTIME_PERCENTAGE} AS uptime_percentage,
               avg(total_ms) AS avg_response_time,
               {q("total_ms", 0.5)} AS p50_response_time,
               {q("total_ms", 0.75)} AS p75_response_time,
               {q("total_ms", 0.95)} AS p95_response_time,
               {q("total_ms", 0.99)} AS p99_response_time,
               max(total_ms) AS max_response_time,
               min(total_ms) AS min_response_time,
               avg(ttfb_ms) AS avg_ttfb,
               {event_time("arg_max(ssl_expiry, timestamp)")} AS ssl_expiry,
               min(ssl_valid) AS ssl_valid
        FROM {checks(ctx)} AS c
    """,
        "uptime_percentage",
        sortable=False,
    )


@builder("uptime_time_series")
def uptime_time_series(ctx: QueryContext) -> Built:
    """Per day in the request time zone, or per hour (UTC hours); the range is read in that
    zone. Downtime: a failed check stays down until the next check of the range (the range's
    last check until now), at most a day; the uptime of a day or an hour is the share of that
    window not down (a failed check near a window's end may count beyond it)."""
    window = 3600 if ctx.hourly else 86400
    date = (
        "strftime(date_trunc('hour', ts), '%Y-%m-%d %H:00:00')"
        if ctx.hourly
        else f"strftime({ctx.local('ts')}, '%Y-%m-%d')"
    )
    now = f"{lit(ctx.now.isoformat(sep=' '))}::TIMESTAMP"
    down = f"least(date_diff('second', ts, next_ts), {DAY_SECONDS})"
    share = round_half_even(f"100 * (1 - least(downtime_seconds, {window}) / {window})", 2)
    return Built(
        f"""
        SELECT date, {share} AS uptime_percentage, total_checks, successful_checks,
               downtime_seconds, avg_response_time, p50_response_time, p95_response_time,
               max_response_time, avg_ttfb, p50_ttfb, p95_ttfb
        FROM (
            SELECT {date} AS date,
                   {UP} + {DOWN} AS total_checks,
                   {UP} AS successful_checks,
                   coalesce(sum({down}) FILTER (WHERE status = 0), 0) AS downtime_seconds,
                   avg(total_ms) AS avg_response_time,
                   {q("total_ms", 0.5, "ts")} AS p50_response_time,
                   {q("total_ms", 0.95, "ts")} AS p95_response_time,
                   max(total_ms) AS max_response_time,
                   avg(ttfb_ms) AS avg_ttfb,
                   {q("ttfb_ms", 0.5, "ts")} AS p50_ttfb,
                   {q("ttfb_ms", 0.95, "ts")} AS p95_ttfb
            FROM (
                SELECT timestamp AS ts, status, total_ms, ttfb_ms,
                       coalesce(lead(timestamp) OVER (ORDER BY timestamp), {now}) AS next_ts
                FROM {checks(ctx)} AS c) AS w
            GROUP BY 1) AS d
    """,
        "date ASC",
        sortable=False,
    )


@builder("uptime_status_breakdown")
def uptime_status_breakdown(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT status, http_code, count(*) AS count,
               {pct("count(*)", "sum(count(*)) OVER ()")} AS percentage
        FROM {checks(ctx)} AS c
        GROUP BY status, http_code
    """,
        "count DESC, status ASC, http_code ASC",
        sortable=False,
    )


@builder("uptime_recent_checks")
def uptime_recent_checks(ctx: QueryContext) -> Built:
    # The formatted timestamp sorts like the raw one; checks of one monitor never share one.
    return Built(
        f"""
        SELECT {event_time("timestamp")} AS timestamp, url, status, http_code, ttfb_ms, total_ms,
               probe_region, probe_ip, ssl_valid, error
        FROM {checks(ctx)} AS c
    """,
        "timestamp DESC, probe_region ASC, total_ms ASC",
        sortable=False,
    )


@builder("uptime_response_time_trends")
def uptime_response_time_trends(ctx: QueryContext) -> Built:
    """Response times of successful checks only (a failing endpoint's timeouts would skew them)."""
    return Built(
        f"""
        SELECT {ctx.bucket("timestamp")} AS date,
               avg(total_ms) AS avg_response_time,
               {q("total_ms", 0.5)} AS p50_response_time,
               {q("total_ms", 0.75)} AS p75_response_time,
               {q("total_ms", 0.9)} AS p90_response_time,
               {q("total_ms", 0.95)} AS p95_response_time,
               {q("total_ms", 0.99)} AS p99_response_time,
               min(total_ms) AS min_response_time,
               max(total_ms) AS max_response_time,
               avg(ttfb_ms) AS avg_ttfb
        FROM {checks(ctx)} AS c
        WHERE status = 1
        GROUP BY 1
    """,
        "date ASC",
        sortable=False,
    )


@builder("uptime_ssl_status")
def uptime_ssl_status(ctx: QueryContext) -> Built:
    """The latest check's certificate; no row when the range has no checks."""
    return Built(
        f"""
        SELECT {event_time("arg_max(ssl_expiry, timestamp)")} AS ssl_expiry,
               arg_max(ssl_valid, timestamp) AS ssl_valid,
               count(*) FILTER (WHERE ssl_valid = 0) AS invalid_ssl_checks
        FROM {checks(ctx)} AS c
        GROUP BY site_id
    """,
        "ssl_expiry",
        sortable=False,
    )


@builder("uptime_by_region")
def uptime_by_region(ctx: QueryContext) -> Built:
    """Regions by uptime, highest first (ties in no defined order)."""
    return Built(
        f"""
        SELECT probe_region AS region,
               {UPTIME_PERCENTAGE} AS uptime_percentage,
               avg(total_ms) AS avg_response_time,
               {q("total_ms", 0.95)} AS p95_response_time
        FROM {checks(ctx)} AS c
        GROUP BY probe_region
    """,
        "uptime_percentage DESC, region ASC",
        sortable=False,
    )
