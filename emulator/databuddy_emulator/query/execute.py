"""Run the parameters of one validated request object and shape its answer (``data``, ``meta``).

Every parameter runs under the API database's guards: at most ``max_result_rows`` result rows
and ``max_execution_seconds``, failing the parameter with the database's own message, and its
query cache (a repeated identical query may be answered from the cache for 60 s)."""

from __future__ import annotations

import time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from databuddy_source.contract import QueryType, query_types_by_name

from ..faults import FaultRule
from ..http import dumps
from ..store import Store
from .context import Filter, ParameterError, QueryContext
from .dates import preset_range
from .engine import SORTABLE, run_parameter
from .resolve import HourlyRangeTooLong, PreparationError, Scope, make_context
from .validation import parameter_name
from .watchdog import WATCHDOG


def _granularity(value: str | None) -> Literal["daily", "hourly"]:
    return "hourly" if value in ("hourly", "hour") else "daily"


def readable_quantity(value: float) -> str:
    """A count as the database writes it in messages: ``130.82 thousand``, ``5.00``."""
    units = ((1e15, " quadrillion"), (1e12, " trillion"), (1e9, " billion"), (1e6, " million"))
    for size, unit in (*units, (1e3, " thousand")):
        if value >= size:
            return f"{value / size:.2f}{unit}"
    return f"{value:.2f}"


def js_number(value: float) -> str:
    """A number as JavaScript prints it (``2.5``, ``10``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def fractional_limit(qtype: QueryType, limit: float, page: float) -> str | None:
    """The database's complaint about a fractional ``limit`` (the API passes it on as sent), or
    None. A type with a literal LIMIT rejects the expression; one binding it as a query
    parameter rejects the parameter (its offset first, when the page makes that fractional)."""
    if not qtype.limit_applied or float(limit).is_integer():
        return None
    binding = qtype.raw.get("limit_binding")
    if binding is None:
        return (
            f"The value {js_number(limit)} of LIMIT expression is not representable as UInt64 "
            "or Int64 or Float64 in the range (0, 1). "
        )
    offset = (page - 1) * limit
    fractional_offset = binding == "Int32" and not float(offset).is_integer()
    name, value = ("offset", offset) if fractional_offset else ("limit", limit)
    text = js_number(value)
    whole = text.split(".", 1)[0]
    return (
        f"Value {text} cannot be parsed as {binding} for query parameter '{name}' because it "
        f"isn't parsed completely: only {len(whole)} of {len(text)} bytes was parsed: {whole}. "
    )


def _failed(label: Any, message: str, *, prepared: bool) -> dict[str, Any]:
    """A failed entry; one failed before running keeps ``error`` ahead of ``data``."""
    if prepared:
        return {"parameter": label, "success": False, "error": message, "data": []}
    return {"parameter": label, "success": False, "data": [], "error": message}


def _guarded(store: Store, cur: duckdb.DuckDBPyConnection, ctx: QueryContext) -> Any:
    """The parameter's rows under the time and row limits."""
    limit_s = store.max_execution_seconds
    began = time.perf_counter()
    with WATCHDOG.guard(cur, limit_s) as deadline:
        try:
            rows = run_parameter(cur, ctx)
        except ParameterError:
            if not deadline.fired:
                raise
            rows = None  # interrupted by the watchdog
    elapsed = time.perf_counter() - began
    if rows is None or elapsed > limit_s:
        raise ParameterError(
            f"Timeout exceeded: elapsed {elapsed * 1000:.3f} ms, maximum: {limit_s * 1000:.3f} ms. "
        )
    if len(rows) > store.max_result_rows:
        raise ParameterError(
            f"Limit for result exceeded, max rows: {readable_quantity(store.max_result_rows)}, "
            f"current rows: {readable_quantity(len(rows))}. "
        )
    return rows


def _cache_key(ctx: QueryContext) -> str:
    """What makes two parameters the same query (virtual now aside, like the database's cache)."""
    return repr(
        [ctx.qtype.name if f == "qtype" else getattr(ctx, f) for f in ctx.__slots__ if f != "now"]
    )


def _uncached(ctx: QueryContext) -> bool:
    """Types the API runs past the query cache: live counts and the realtime family."""
    return ctx.qtype.name == "active_stats" or ctx.qtype.category == "realtime"


def _rows(store: Store, cur: duckdb.DuckDBPyConnection, ctx: QueryContext) -> Any:
    """The parameter's rows: from a cache when one holds them, else computed."""
    if store.results is not None and store.clock.frozen:
        key = repr([getattr(ctx, f) if f != "qtype" else ctx.qtype.name for f in ctx.__slots__])
        memo = store.results.get(key)
        if memo is None:
            memo = store.results.put(key, dumps(_guarded(store, cur, ctx)))
        return memo
    if store.query_cache.ttl <= 0 or _uncached(ctx):
        return _guarded(store, cur, ctx)
    key, now = _cache_key(ctx), store.clock.now().timestamp()
    cached = store.query_cache.get(key, now)
    if cached is not None:
        return cached
    return store.query_cache.ran(key, now, dumps(_guarded(store, cur, ctx)))


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "parameters": obj["parameters"],
        "total_parameters": len(obj["parameters"]),
        "page": obj.get("page") or 1,
        "limit": obj.get("limit") or 100,
        "filters_applied": len(obj.get("filters") or []),
    }


def run_request(
    store: Store,
    obj: dict[str, Any],
    scope: Scope,
    timezone: str,
    *,
    in_batch: bool,
    fault: FaultRule | None = None,
) -> dict[str, Any]:
    """The answer to one request object: ``queryId``, ``data`` entries and ``meta``.

    An hourly range over 30 days raises :class:`HourlyRangeTooLong` for a single request (the
    API answers 500); inside a batch the element answers one failed entry named after its first
    parameter, and no ``queryId`` unless it sent one."""
    try:
        return {"queryId": obj.get("id") or "", **_run(store, obj, scope, timezone, fault)}
    except HourlyRangeTooLong as exc:
        if not in_batch:
            raise
        failed = _failed(obj["parameters"][0], str(exc), prepared=True)
        answer = {"data": [failed], "meta": _meta(obj)}
        return {"queryId": obj["id"], **answer} if "id" in obj else answer


def _run(
    store: Store, obj: dict[str, Any], scope: Scope, timezone: str, fault: FaultRule | None
) -> dict[str, Any]:
    now = store.clock.now()
    try:
        ZoneInfo(timezone)
        tz_ok = True
    except (ZoneInfoNotFoundError, ValueError):
        tz_ok = False
    start, end = obj.get("startDate"), obj.get("endDate")
    if "preset" in obj:
        start, end = preset_range(obj["preset"], timezone if tz_ok else "UTC", now)
    limit = int(obj.get("limit") or 100)
    page = int(obj.get("page") or 1)
    filters = [Filter(f["field"], f["op"], f["value"]) for f in obj.get("filters", [])]
    sort_by, sort_order = obj.get("sortBy"), obj.get("sortOrder")
    if not (sort_by and sort_order):
        sort_by = sort_order = None
    known = query_types_by_name(store.config.api_version)
    entries: list[dict[str, Any]] = []
    with store.cursor() as cur:
        for item in obj["parameters"]:
            name = parameter_name(item)
            label = item.get("id") or name if isinstance(item, dict) else name
            own = item if isinstance(item, dict) else {}
            try:
                if name not in known:
                    raise PreparationError(f"Unknown query type: {name}")
                ctx = make_context(
                    store.registry,
                    known[name],
                    scope,
                    start_date=own.get("start_date") or start,
                    end_date=own.get("end_date") or end,
                    timezone=timezone,
                    granularity=_granularity(own.get("granularity") or obj.get("granularity")),
                    filters=filters,
                    limit=limit,
                    page=page,
                    now=now.replace(tzinfo=None),
                    sort_by=sort_by,
                    sort_order=sort_order,
                )
                if not tz_ok and ctx.qtype.timezone_aware:  # the others never read it
                    raise ParameterError(f"Cannot load time zone {timezone}")
                complaint = fractional_limit(
                    ctx.qtype, obj.get("limit") or 100, obj.get("page") or 1
                )
                if complaint:
                    raise ParameterError(complaint)
                if sort_by and sort_by not in SORTABLE:
                    order = f"{sort_by} {str(sort_order).upper()}"
                    raise ParameterError(
                        f"Ordering by '{order}' is not permitted. Use '<field> ASC|DESC' where "
                        f"field is one of: {', '.join(sorted(SORTABLE))}."
                    )
                rows = _rows(store, cur, ctx)
            except ParameterError as exc:
                prepared = isinstance(exc, PreparationError)
                entries.append(_failed(label, str(exc), prepared=prepared))
                continue
            if fault is not None and fault.parameter in (None, name, label):
                entries.append(_failed(label, fault.message, prepared=False))
                continue
            entries.append({"parameter": label, "success": True, "data": rows})
    entries.sort(key=lambda e: not e["success"])  # failed entries last, order kept otherwise
    return {"data": entries, "meta": _meta(obj)}
