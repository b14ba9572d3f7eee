"""llm_analytics: LLM calls of one organization (``ai_call_spans`` scoped by ``owner_id``).

A ``website_id`` in the request resolves to its organization, so ``ctx.project_id`` is the
organization id. A call failed when ``error_name`` is set. Rates are fractions (0-1) with 4
decimals, as Databuddy's LLM builders return them; ``cache_hit_rate`` is weighted by tokens
(cached input tokens / input tokens). Call timestamps are ``DateTime64(3)`` (with milliseconds).
"""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..sql import event_time

FAILED = "error_name IS NOT NULL"
ERROR_COUNT = f"count(*) FILTER (WHERE {FAILED})"


def fraction(part: str, whole: str) -> str:
    """``part / whole`` rounded to 4 decimals, 0 when ``whole`` is 0."""
    return f"(CASE WHEN ({whole}) = 0 THEN 0 ELSE round_even(({part}) / ({whole}), 4) END)"


ERROR_RATE = fraction(ERROR_COUNT, "count(*)")
CACHE_HIT_RATE = fraction("coalesce(sum(cached_input_tokens), 0)", "coalesce(sum(input_tokens), 0)")
TOTAL_COST = "round_even(coalesce(sum(total_token_cost_usd), 0), 6)"
AVG_DURATION = "round_even(avg(duration_ms), 2)"


def calls(ctx: QueryContext) -> str:
    """The organization's calls in range, filtered, visible now."""
    return ctx.source("ai_call_spans")


def share_of_calls(condition: str) -> str:
    return fraction(f"count(*) FILTER (WHERE {condition})", "count(*)")


def duration_q(fraction: float) -> str:
    return f"round_even(quantile_cont(duration_ms, {fraction}), 2)"


def series(ctx: QueryContext, select: str, *, by: str = "") -> Built:
    """A time series (day or hour in the request time zone) of ``select`` aggregates, optionally
    split by one more column ``by``."""
    group = f", {by}" if by else ""
    return Built(
        f"""
        SELECT {ctx.bucket("timestamp")} AS date{group}, {select}
        FROM {calls(ctx)} AS c
        GROUP BY 1{group}
    """,
        f"date ASC, {by} ASC" if by else "date ASC",
        sortable=False,
    )


# ---------------------------------------------------------------------------- totals and series
@builder("llm_overview_kpis")
def llm_overview_kpis(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT count(*) AS total_calls,
               {TOTAL_COST} AS total_cost,
               coalesce(sum(total_tokens), 0) AS total_tokens,
               coalesce(sum(input_tokens), 0) AS total_input_tokens,
               coalesce(sum(output_tokens), 0) AS total_output_tokens,
               {AVG_DURATION} AS avg_duration_ms,
               {duration_q(0.75)} AS p75_duration_ms,
               {ERROR_COUNT} AS error_count,
               {ERROR_RATE} AS error_rate,
               {CACHE_HIT_RATE} AS cache_hit_rate,
               {share_of_calls("tool_call_count > 0")} AS tool_use_rate,
               {share_of_calls("web_search_count > 0")} AS web_search_rate
        FROM {calls(ctx)} AS c
    """,
        "total_calls",
        sortable=False,
    )


@builder("llm_time_series")
def llm_time_series(ctx: QueryContext) -> Built:
    return series(
        ctx,
        f"""count(*) AS total_calls, {TOTAL_COST} AS total_cost,
        sum(total_tokens) AS total_tokens, {AVG_DURATION} AS avg_duration_ms,
        {duration_q(0.75)} AS p75_duration_ms""",
    )


@builder("llm_cost_by_provider_time_series")
def llm_cost_by_provider_time_series(ctx: QueryContext) -> Built:
    return series(ctx, f"{TOTAL_COST} AS total_cost", by="provider")


@builder("llm_cost_by_model_time_series")
def llm_cost_by_model_time_series(ctx: QueryContext) -> Built:
    return series(ctx, f"{TOTAL_COST} AS total_cost", by="model")


@builder("llm_latency_time_series")
def llm_latency_time_series(ctx: QueryContext) -> Built:
    return series(
        ctx,
        f"""{AVG_DURATION} AS avg_duration_ms,
        {duration_q(0.75)} AS p75_duration_ms, {duration_q(0.95)} AS p95_duration_ms""",
    )


@builder("llm_error_rate_time_series")
def llm_error_rate_time_series(ctx: QueryContext) -> Built:
    return series(ctx, f"{ERROR_COUNT} AS error_count, {ERROR_RATE} AS error_rate")


@builder("llm_tool_use_time_series")
def llm_tool_use_time_series(ctx: QueryContext) -> Built:
    return series(
        ctx,
        f"""{share_of_calls("tool_call_count > 0")} AS tool_use_rate,
        round_even(avg(tool_call_count), 2) AS avg_tool_calls,
        round_even(avg(tool_result_count), 2) AS avg_tool_results""",
    )


# ---------------------------------------------------------------------------- breakdowns
@builder("llm_provider_breakdown")
def llm_provider_breakdown(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT provider AS name, provider, count(*) AS calls, {TOTAL_COST} AS total_cost,
               sum(total_tokens) AS total_tokens, {AVG_DURATION} AS avg_duration_ms,
               {duration_q(0.75)} AS p75_duration_ms, {ERROR_RATE} AS error_rate
        FROM {calls(ctx)} AS c
        GROUP BY provider
    """,
        "total_cost DESC, name ASC",
        sortable=False,
    )


@builder("llm_model_breakdown")
def llm_model_breakdown(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT model AS name, model, provider, count(*) AS calls, {TOTAL_COST} AS total_cost,
               sum(total_tokens) AS total_tokens, {AVG_DURATION} AS avg_duration_ms,
               {duration_q(0.75)} AS p75_duration_ms, {ERROR_RATE} AS error_rate
        FROM {calls(ctx)} AS c
        GROUP BY model, provider
    """,
        "total_cost DESC, name ASC, provider ASC",
        sortable=False,
    )


@builder("llm_finish_reason_breakdown")
def llm_finish_reason_breakdown(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT finish_reason AS name, finish_reason, count(*) AS calls
        FROM {calls(ctx)} AS c
        WHERE finish_reason IS NOT NULL
        GROUP BY finish_reason
    """,
        "calls DESC, name ASC",
        sortable=False,
    )


@builder("llm_error_breakdown")
def llm_error_breakdown(ctx: QueryContext) -> Built:
    """``sample_message`` is the latest message of that error."""
    return Built(
        f"""
        SELECT error_name AS name, error_name,
               arg_max(error_message, timestamp) AS sample_message,
               count(*) AS error_count
        FROM {calls(ctx)} AS c
        WHERE {FAILED}
        GROUP BY error_name
    """,
        "error_count DESC, name ASC",
        sortable=False,
    )


@builder("llm_http_status_breakdown")
def llm_http_status_breakdown(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT CAST(http_status AS VARCHAR) AS name, http_status, count(*) AS calls
        FROM {calls(ctx)} AS c
        WHERE http_status IS NOT NULL
        GROUP BY http_status
    """,
        "calls DESC, http_status ASC",
        sortable=False,
    )


@builder("llm_tool_name_breakdown")
def llm_tool_name_breakdown(ctx: QueryContext) -> Built:
    """One count per tool name per call that used it."""
    return Built(
        f"""
        SELECT tool_name AS name, tool_name, count(*) AS calls
        FROM (SELECT unnest(tool_names) AS tool_name FROM {calls(ctx)} AS c) AS t
        GROUP BY tool_name
    """,
        "calls DESC, name ASC",
        sortable=False,
    )


@builder("llm_latency_by_model")
def llm_latency_by_model(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT model AS name, model, provider, count(*) AS calls,
               {AVG_DURATION} AS avg_duration_ms, {duration_q(0.5)} AS p50_duration_ms,
               {duration_q(0.75)} AS p75_duration_ms, {duration_q(0.95)} AS p95_duration_ms
        FROM {calls(ctx)} AS c
        GROUP BY model, provider
    """,
        "p75_duration_ms DESC, name ASC, provider ASC",
        sortable=False,
    )


@builder("llm_latency_by_provider")
def llm_latency_by_provider(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT provider AS name, provider, count(*) AS calls,
               {AVG_DURATION} AS avg_duration_ms, {duration_q(0.5)} AS p50_duration_ms,
               {duration_q(0.75)} AS p75_duration_ms, {duration_q(0.95)} AS p95_duration_ms
        FROM {calls(ctx)} AS c
        GROUP BY provider
    """,
        "p75_duration_ms DESC, name ASC",
        sortable=False,
    )


@builder("llm_trace_summary")
def llm_trace_summary(ctx: QueryContext) -> Built:
    """``user_id``/``website_id`` of a trace are those of its first call ('' when unknown)."""
    return Built(
        f"""
        SELECT trace_id AS name, trace_id,
               coalesce(arg_min(user_id, timestamp), '') AS user_id,
               coalesce(arg_min(website_id, timestamp), '') AS website_id,
               count(*) AS calls, sum(total_tokens) AS total_tokens,
               {TOTAL_COST} AS total_cost, {ERROR_COUNT} AS errors,
               {AVG_DURATION} AS avg_duration_ms, {duration_q(0.75)} AS p75_duration_ms
        FROM {calls(ctx)} AS c
        WHERE coalesce(trace_id, '') != ''
        GROUP BY trace_id
    """,
        "total_cost DESC, name ASC",
        sortable=False,
    )


# ---------------------------------------------------------------------------- individual calls
_CALL_ORDER = "trace_id ASC, model ASC, duration_ms ASC"


@builder("llm_slowest_calls")
def llm_slowest_calls(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {event_time("timestamp")} AS timestamp, provider, model, total_tokens, duration_ms,
               finish_reason, error_name, trace_id
        FROM {calls(ctx)} AS c
    """,
        f"duration_ms DESC, timestamp DESC, {_CALL_ORDER}",
        sortable=False,
    )


@builder("llm_recent_errors")
def llm_recent_errors(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {event_time("timestamp")} AS timestamp, error_name, error_message, error_stack,
               model, provider, http_status, duration_ms
        FROM {calls(ctx)} AS c
        WHERE {FAILED}
    """,
        "timestamp DESC, error_name ASC, model ASC, duration_ms ASC",
        sortable=False,
    )


@builder("llm_recent_calls")
def llm_recent_calls(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT {event_time("timestamp")} AS timestamp, trace_id, user_id, provider, model,
               total_tokens, total_token_cost_usd, duration_ms, finish_reason, error_name
        FROM {calls(ctx)} AS c
    """,
        f"timestamp DESC, {_CALL_ORDER}",
        sortable=False,
    )
