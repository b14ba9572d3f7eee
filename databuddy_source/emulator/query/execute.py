"""Run the parameters of one validated request object and shape the ``data``/``meta`` answer."""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from ...contract import query_types_by_name
from ..faults import FaultRule
from ..http import dumps
from ..store import Store
from .context import Filter, ParameterError, QueryContext
from .dates import preset_range
from .engine import SORTABLE, run_parameter
from .resolve import HourlyRangeTooLong, Scope, make_context
from .validation import parameter_name


def _granularity(value: str | None) -> Literal["daily", "hourly"]:
    return "hourly" if value in ("hourly", "hour") else "daily"


def _failed(label: str, message: str) -> dict[str, Any]:
    return {"parameter": label, "success": False, "error": message, "data": []}


def _rows(store: Store, cur: duckdb.DuckDBPyConnection, ctx: QueryContext) -> Any:
    """The parameter's rows: computed, or the same rows serialized once (``result_cache``)."""
    if store.results is None or not store.clock.frozen:
        return run_parameter(cur, ctx)
    key = repr([getattr(ctx, f) if f != "qtype" else ctx.qtype.name for f in ctx.__slots__])
    cached = store.results.get(key)
    if cached is None:
        cached = store.results.put(key, dumps(run_parameter(cur, ctx)))
    return cached


def run_request(
    store: Store,
    obj: dict[str, Any],
    scope: Scope,
    timezone: str,
    *,
    in_batch: bool,
    fault: FaultRule | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(data entries, meta)`` of one request object. Raises :class:`HourlyRangeTooLong` for a
    single request whose hourly range is over 30 days (the API answers 500 then)."""
    now = store.clock.now()
    try:
        ZoneInfo(timezone)
        tz_ok = True
    except (ZoneInfoNotFoundError, ValueError):
        tz_ok = False
    start, end = obj.get("startDate"), obj.get("endDate")
    if "preset" in obj:
        start, end = preset_range(obj["preset"], timezone if tz_ok else "UTC", now)
    limit = int(obj.get("limit", 100))
    page = int(obj.get("page", 1))
    filters = [Filter(f["field"], f["op"], f["value"]) for f in obj.get("filters", [])]
    sort_by, sort_order = obj.get("sortBy"), obj.get("sortOrder")
    if not (sort_by and sort_order):
        sort_by = sort_order = None
    known = query_types_by_name()
    entries: list[dict[str, Any]] = []
    with store.cursor() as cur:
        for item in obj["parameters"]:
            name = parameter_name(item)
            label = item.get("id") or name if isinstance(item, dict) else name
            own = item if isinstance(item, dict) else {}
            try:
                if name not in known:
                    raise ParameterError(f"Unknown query type: {name}")
                if not tz_ok:
                    raise ParameterError(f"Cannot load time zone {timezone}")
                if sort_by and sort_by not in SORTABLE:
                    raise ParameterError(
                        f"Ordering by '{sort_by} {str(sort_order).upper()}' is not permitted."
                    )
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
                rows = _rows(store, cur, ctx)
            except ParameterError as exc:
                entries.append(_failed(label, str(exc)))
                continue
            except HourlyRangeTooLong as exc:
                if not in_batch:
                    raise
                entries.append(_failed(label, str(exc)))
                continue
            if fault is not None and fault.parameter in (None, name, label):
                entries.append(_failed(label, fault.message))
                continue
            entries.append({"parameter": label, "success": True, "data": rows})
    entries.sort(key=lambda e: not e["success"])  # failed entries last, order kept otherwise
    meta = {
        "parameters": obj["parameters"],
        "total_parameters": len(obj["parameters"]),
        "page": page,
        "limit": limit,
        "filters_applied": len(filters),
    }
    return entries, meta
