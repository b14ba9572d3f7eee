"""uptime: checks of one uptime monitor (``schedule_id``) from the ``uptime_monitor`` table.

``status`` is 1 (up) or 0 (down); Databuddy also knows 2 (pending retry), which counts as a check
but is left out of ``uptime_percentage``. Check timestamps and SSL expiry are ClickHouse
``DateTime64(3)`` and are shown with milliseconds.
"""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..sql import event_time, pct

# The monitor checks every 10 minutes (the generator's and the default schedule's cadence), so a
# failed check stands for 600 seconds of downtime. Builders only see SQL, not the schedule's
# cron, hence the constant: consecutive checks are assumed 600 s apart.
CHECK_INTERVAL_SECONDS = 600

UP = "count(*) FILTER (WHERE status = 1)"
DOWN = "count(*) FILTER (WHERE status = 0)"
UPTIME_PERCENTAGE = pct(UP, f"{UP} + {DOWN}")


def checks(ctx: QueryContext) -> str:
    """The monitor's checks in range, visible now."""
    return ctx.source("uptime_monitor")


def q(col: str, fraction: float) -> str:
    """A quantile of ``col``, 2 decimals (NULL over no rows)."""
    return f"round_even(quantile_cont({col}, {fraction}), 2)"


@builder("uptime_overview")
def uptime_overview(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {UPTIME_PERCENTAGE} AS uptime_percentage,
               round_even(avg(total_ms), 2) AS avg_response_time,
               {q("total_ms", 0.5)} AS p50_response_time,
               {q("total_ms", 0.75)} AS p75_response_time,
               {q("total_ms", 0.95)} AS p95_response_time,
               {q("total_ms", 0.99)} AS p99_response_time,
               max(total_ms) AS max_response_time,
               min(total_ms) AS min_response_time,
               round_even(avg(ttfb_ms), 2) AS avg_ttfb,
               {event_time("arg_max(ssl_expiry, timestamp)")} AS ssl_expiry,
               min(ssl_valid) AS ssl_valid
        FROM {checks(ctx)} AS c
    """,
        "uptime_percentage",
        sortable=False,
    )


@builder("uptime_time_series")
def uptime_time_series(ctx: QueryContext) -> Built:
    """Per day (or hour) in the request time zone; the range is also read in that zone."""
    return Built(
        f"""
        SELECT {ctx.bucket("timestamp")} AS date,
               {UPTIME_PERCENTAGE} AS uptime_percentage,
               count(*) AS total_checks,
               {UP} AS successful_checks,
               {DOWN} * {CHECK_INTERVAL_SECONDS} AS downtime_seconds,
               round_even(avg(total_ms), 2) AS avg_response_time,
               {q("total_ms", 0.5)} AS p50_response_time,
               {q("total_ms", 0.95)} AS p95_response_time,
               max(total_ms) AS max_response_time,
               round_even(avg(ttfb_ms), 2) AS avg_ttfb,
               {q("ttfb_ms", 0.5)} AS p50_ttfb,
               {q("ttfb_ms", 0.95)} AS p95_ttfb
        FROM {checks(ctx)} AS c
        GROUP BY 1
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
               round_even(avg(total_ms), 2) AS avg_response_time,
               {q("total_ms", 0.5)} AS p50_response_time,
               {q("total_ms", 0.75)} AS p75_response_time,
               {q("total_ms", 0.9)} AS p90_response_time,
               {q("total_ms", 0.95)} AS p95_response_time,
               {q("total_ms", 0.99)} AS p99_response_time,
               min(total_ms) AS min_response_time,
               max(total_ms) AS max_response_time,
               round_even(avg(ttfb_ms), 2) AS avg_ttfb
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
    """Regions with the most checks first (the count itself is not an output column)."""
    src = checks(ctx)
    return Built(
        f"""
        SELECT probe_region AS region,
               {UPTIME_PERCENTAGE} AS uptime_percentage,
               round_even(avg(total_ms), 2) AS avg_response_time,
               {q("total_ms", 0.95)} AS p95_response_time
        FROM {src} AS c
        GROUP BY probe_region
    """,
        f"(SELECT count(*) FROM {src} AS n WHERE n.probe_region = q.region) DESC, region ASC",
        sortable=False,
    )
