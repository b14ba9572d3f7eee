"""The source's options, validated before any request with messages that name the key and the
fix (``[sources.databuddy]`` in ``.dlt/config.toml``, or ``SOURCES__DATABUDDY__<KEY>``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import settings
from .catalog import DEFAULT_QUERY_TYPES, Grain, all_query_type_names, is_typo, suggest
from .contract import query_types, query_types_by_name
from .errors import ConfigurationError
from .rpc_resources import COLLECTIONS, DEFAULT_COLLECTIONS

FILTER_OPERATORS = ("eq", "ne", "contains", "not_contains", "starts_with", "in", "not_in")
# Every field some query type accepts in filters (from the contract, not a copy of it).
FILTER_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(f for t in query_types() for f in t.allowed_filters)
)


def _bad(key: str, problem: str, fix: str) -> ConfigurationError:
    return ConfigurationError(
        f"sources.databuddy.{key}: {problem}. {fix} (set it in .dlt/config.toml under "
        f"[sources.databuddy], or as SOURCES__DATABUDDY__{key.upper()})"
    )


def _names(value: Any, key: str) -> list[str] | None:
    """A list option given as a list, or a comma-separated string; None when unset."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value]
    raise _bad(
        key,
        f"expected a list of names, got {type(value).__name__}",
        'Use a list, e.g. ["top_pages", "country"], or a comma-separated string',
    )


def _day(value: Any, key: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _bad(key, f"{value!r} is not a date", "Use YYYY-MM-DD, e.g. 2026-01-31") from None


def resolve_shard(value: Any) -> tuple[int, int] | None:
    """``"I/N"`` (or ``(I, N)``): this worker syncs the I-th of N disjoint sets of parents."""
    if value is None or value == "":
        return None
    text = "/".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]) <= 1000:
        raise _bad(
            "shard",
            f"{value!r} is not I/N with 1 <= I <= N <= 1000",
            "Use e.g. 2/4 for the second of four workers",
        )
    return int(match[1]), int(match[2])


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """Validated options of one run."""

    query_types: tuple[str, ...]
    websites: tuple[str, ...] | None
    start_date: date | None
    end_date: date | None
    lookback_days: int
    timezone: str
    include_today: bool
    hourly: bool
    grain: Grain
    filters: tuple[dict[str, Any], ...]
    rpc_collections: tuple[str, ...]
    rpc_history: bool
    max_parameters_per_request: int
    limit: int
    rows_per_request: int
    concurrency: int
    max_rows_per_run: int
    rate_limit: int
    rate_window_seconds: float
    request_timeout: float
    max_attempts: int
    as_of: date | None
    shard: tuple[int, int] | None = None  # (index, count), index from 1
    queries_named: tuple[str, ...] = ()  # the types named one by one (not 'default'/'all')


def resolve_query_types(value: Any) -> tuple[str, ...]:
    names = _names(value, "queries")
    if names is None:
        return DEFAULT_QUERY_TYPES
    if names == ["all"]:
        return tuple(
            n
            for n in all_query_type_names()
            if not query_types_by_name()[n].raw.get("requires_filter")
        )
    known = all_query_type_names()
    out: list[str] = []
    for name in names:
        if name == "default":
            out.extend(DEFAULT_QUERY_TYPES)
        elif name not in known and not is_typo(name):
            out.append(name)  # removed, or added by the API since: the live catalogue decides
        elif name not in known:
            raise _bad(
                "queries",
                f"unknown query type {name!r}.{suggest(name, known)}",
                "Pick names from GET /v1/query/types, or 'all' / 'default'",
            )
        elif required := query_types_by_name()[name].raw.get("requires_filter"):
            field = str(required).split()[0]  # "anonymous_id (…)" / "session_id (…)"
            what = "one visitor" if field == "anonymous_id" else "one session"
            raise _bad(
                "queries",
                f"{name!r} needs a filter on {what} ({field})",
                "It is not a table-shaped type: leave it out",
            )
        else:
            out.append(name)
    return tuple(dict.fromkeys(out))


def resolve_collections(value: Any) -> tuple[str, ...]:
    names = _names(value, "rpc_collections")
    if names is None:
        return DEFAULT_COLLECTIONS
    if names in (["all"],):
        return tuple(COLLECTIONS)
    if names in (["none"], ["-"]):
        return ()
    for name in names:
        if name not in COLLECTIONS:
            raise _bad(
                "rpc_collections",
                f"unknown collection {name!r}.{suggest(name, list(COLLECTIONS))}",
                f"Choose from {', '.join(COLLECTIONS)}, or 'all' / 'none'",
            )
    return tuple(dict.fromkeys(names))


def resolve_filters(value: Any) -> tuple[dict[str, Any], ...]:
    if not value:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise _bad(
            "filters",
            "expected a list of {field, op, value} objects",
            'e.g. [{"field": "country", "op": "eq", "value": "US"}]',
        )
    out: list[dict[str, Any]] = []
    for f in value:
        if not isinstance(f, dict) or set(f) - {"field", "op", "value"} or "field" not in f:
            raise _bad(
                "filters",
                f"{f!r} is not a {{field, op, value}} object",
                'e.g. {"field": "country", "op": "eq", "value": "US"}',
            )
        if f["field"] not in FILTER_FIELDS:
            raise _bad(
                "filters",
                f"unknown filter field {f['field']!r}.{suggest(str(f['field']), FILTER_FIELDS)}",
                f"Filterable fields: {', '.join(FILTER_FIELDS)}",
            )
        if f.get("op") not in FILTER_OPERATORS:
            raise _bad(
                "filters",
                f"unknown operator {f.get('op')!r}.{suggest(str(f.get('op')), FILTER_OPERATORS)}",
                f"Operators: {', '.join(FILTER_OPERATORS)}",
            )
        out.append({"field": f["field"], "op": f["op"], "value": f.get("value", "")})
    return tuple(out)


def resolve_options(
    *,
    queries: Any = None,
    websites: Any = None,
    start_date: Any = None,
    end_date: Any = None,
    lookback_days: Any = 2,
    timezone: Any = "UTC",
    include_today: Any = False,
    granularity: Any = "daily",
    grain: Any = "day",
    filters: Any = None,
    rpc_collections: Any = None,
    rpc_history: Any = False,
    max_parameters_per_request: Any = settings.MAX_PARAMETERS_PER_REQUEST,
    limit: Any = settings.MAX_LIMIT,
    rows_per_request: Any = settings.ROWS_PER_REQUEST,
    concurrency: Any = settings.CONCURRENCY,
    max_rows_per_run: Any = settings.MAX_ROWS_PER_RUN,
    rate_limit: Any = settings.QUERY_RATE_LIMIT,
    rate_window_seconds: Any = settings.QUERY_RATE_WINDOW_SECONDS,
    request_timeout: Any = settings.READ_TIMEOUT,
    max_attempts: Any = settings.MAX_ATTEMPTS,
    as_of: Any = None,
    shard: Any = None,
) -> SourceOptions:
    """Check every option; raise one :class:`ConfigurationError` naming the first problem."""
    start, end = _day(start_date, "start_date"), _day(end_date, "end_date")
    if start and end and end < start:
        raise _bad(
            "end_date",
            f"{end} is before start_date {start}",
            "Make end_date the same as or after start_date",
        )
    if (
        not isinstance(lookback_days, int)
        or isinstance(lookback_days, bool)
        or not (1 <= lookback_days <= 90)
    ):
        raise _bad(
            "lookback_days",
            f"{lookback_days!r} is not a whole number of days from 1 to 90",
            "Use e.g. 3 (Databuddy data can arrive up to ~2 days late)",
        )
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(
            "timezone",
            f"unknown time zone {timezone!r}",
            "Use an IANA name such as UTC or Europe/Berlin",
        ) from None
    if granularity not in ("daily", "hourly", "day", "hour"):
        raise _bad(
            "granularity",
            f"{granularity!r} is not daily or hourly",
            "Use 'daily' (default) or 'hourly'",
        )
    if grain not in ("day", "week", "month"):
        raise _bad(
            "grain",
            f"{grain!r} is not day, week or month",
            "Use 'day' (default), 'week' or 'month'",
        )
    for key, number, low, high in (
        ("max_parameters_per_request", max_parameters_per_request, 1, 1000),
        ("limit", limit, 1, settings.MAX_LIMIT),
        ("rows_per_request", rows_per_request, 1_000, 10_000_000),
        ("concurrency", concurrency, 1, 32),
        ("max_rows_per_run", max_rows_per_run, 10_000, 10**12),
        ("rate_limit", rate_limit, 1, 100_000),
    ):
        if not isinstance(number, int) or isinstance(number, bool) or not low <= number <= high:
            raise _bad(
                key, f"{number!r} is not a whole number from {low} to {high}", "Fix the number"
            )
    if not isinstance(request_timeout, int | float) or not 0 < request_timeout <= 3600:
        raise _bad(
            "request_timeout",
            f"{request_timeout!r} is not a number of seconds from 0 to 3600",
            "Use e.g. 120 (analytics queries can be slow)",
        )
    if (
        not isinstance(max_attempts, int)
        or isinstance(max_attempts, bool)
        or not (1 <= max_attempts <= 50)
    ):
        raise _bad(
            "max_attempts", f"{max_attempts!r} is not a whole number from 1 to 50", "Use e.g. 8"
        )
    if not isinstance(rate_window_seconds, int | float) or rate_window_seconds <= 0:
        raise _bad(
            "rate_window_seconds",
            f"{rate_window_seconds!r} is not a positive number",
            "Use e.g. 60",
        )
    return SourceOptions(
        query_types=resolve_query_types(queries),
        websites=tuple(_names(websites, "websites") or ()) or None,
        start_date=start,
        end_date=end,
        lookback_days=lookback_days,
        timezone=str(timezone),
        include_today=bool(include_today),
        hourly=granularity in ("hourly", "hour"),
        grain=grain,
        filters=resolve_filters(filters),
        rpc_collections=resolve_collections(rpc_collections),
        rpc_history=bool(rpc_history),
        max_parameters_per_request=max_parameters_per_request,
        limit=limit,
        rows_per_request=rows_per_request,
        concurrency=concurrency,
        max_rows_per_run=max_rows_per_run,
        rate_limit=rate_limit,
        rate_window_seconds=float(rate_window_seconds),
        request_timeout=float(request_timeout),
        max_attempts=max_attempts,
        as_of=_day(as_of, "as_of"),
        shard=resolve_shard(shard),
        queries_named=named_query_types(queries),
    )


def named_query_types(value: Any) -> tuple[str, ...]:
    """The query types a user named one by one: a type of them the API no longer lists is
    worth a warning; a default one is simply left out."""
    names = _names(value, "queries") or []
    return tuple(n for n in names if n not in ("default", "all"))
