"""``POST /v1/query/custom``: one aggregation over a whitelisted raw table.

* The body's shape is checked first, before credentials, ``website_id`` and the rate limit, as
  the API's framework does (:mod:`.custom_schema`): a wrong type, an aggregate, operator or
  granularity outside its enumeration is 422 ``VALIDATION`` whose ``error`` is a JSON text
  ``{"type":"validation","on":"body","found":<the body>}``, without ``requestId``.
* ``website_id`` (query string) is required, else 400 ``MISSING_WEBSITE_ID``; credentials and
  access are those of ``POST /v1/query``, checked on that website.
* Whitelists (:data:`TABLES`): the API's own column lists (``contract/custom_query.py``), less
  ``title`` and ``page_count`` that the emulator does not generate; ids, ``anonymous_id``,
  ``session_id`` and timestamps are not exposed, as in the API. Numeric columns take every
  aggregate, text columns ``count``/``uniq``, ``*`` only ``count``.
* Any other table, column, alias or count of items is 400 ``QUERY_ERROR`` in the API's words:
  "Invalid query configuration. Please check your query parameters." for what its checks
  refuse, "Query execution failed. Please try again or contact support." for what its database
  refuses (:class:`QueryFailed`); what exactly is wrong goes in the ``X-Emulator-Detail`` header
  (not the API's). ``gt``/``lt``/``gte``/``lte`` on a text column compare text, as the API does.
  Malformed JSON is a plain-text 400.
* Rows: the website's (``client_id``), visible at the virtual clock (``ingested_at <= now``), with
  the time column (``time`` for events, else ``timestamp``) in ``[startDate, endDate]``, both
  inclusive. Dates are read like ClickHouse's ``parseDateTimeBestEffort(value, timezone)``: without
  an offset they are local time in ``timezone`` (default UTC), so a date-only ``endDate`` is
  midnight at the start of that day; ``Z``/``+hh:mm`` win over ``timezone``.
* Columns are ``<aggregate>_<field>`` (``count_all`` for ``*``) unless aliased; ``uniq`` is an exact
  distinct count. With ``groupBy`` the group fields come first, in reverse order (the API puts
  each one in front of the selects in turn), and rows are ordered by the first select
  descending (then by the group columns, where the API leaves ties in no particular order).
  ``granularity`` is checked and otherwise ignored, as the API does: no time bucket.
* Over no rows, ``sum``/``min``/``max`` of a column that is never null (``metric_value``) is 0,
  of a nullable one null, and ``avg`` null, as ClickHouse answers. ``time_on_page`` and
  ``scroll_depth`` are 32-bit floats in the API: aggregated as such (:func:`_float32`).
* ``limit`` defaults to 1000 (also for 0, like the API's ``limit || 1000``), clamped to 1..10000.
* Rate limit: its own budget per key, 60 per 60 s in the API (120 for ``/v1/query``); here
  ``config.rate_limit * 0.5`` rounded half up (at least 1) per ``config.rate_window_seconds`` in
  ``config.rate_limit_mode`` (120 -> 60). Anonymous calls to public websites are not limited;
  ``/__emulator__/rate-limit`` reconfigures the ``/v1/query`` limiter only.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from databuddy_source.contract.custom_query import (
    AGGREGATES,
    COMPARISONS,
    DEFAULT_LIMIT,
    MAX_FILTERS,
    MAX_GROUP_BY,
    MAX_LIMIT,
    MAX_SELECTS,
    OPERATORS,
    CustomTable,
)
from databuddy_source.contract.custom_query import TABLES as CUSTOM_TABLES

from ..config import EmulatorConfig
from ..http import json_response, request_id
from ..ratelimit import RateLimiter
from ..store import Store
from .access import check_access
from .compile import admit, read_json, scaled_limiter
from .custom_schema import shape_error
from .resolve import Scope
from .routes import _error, _reader
from .schema import SchemaError, check_custom_body
from .sql import lit, lit_list

CUSTOM_FACTOR = 0.5
_COMPARE = dict(zip(COMPARISONS, ("=", "!=", ">", "<", ">=", "<="), strict=True))
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True, slots=True)
class Table:
    """A queryable table: its event-time column, text columns and numeric columns."""

    time: str
    text: tuple[str, ...]
    numbers: tuple[str, ...] = ()
    not_null: tuple[str, ...] = ()  # numeric columns the API's table declares non-nullable
    float32: tuple[str, ...] = ()  # numeric columns the API stores as 32-bit floats

    @property
    def columns(self) -> tuple[str, ...]:
        return self.text + self.numbers


NOT_GENERATED = ("title", "page_count")  # the API reads them; the emulator's data lack them


def _table(table: CustomTable) -> Table:
    columns = [c for c in table.columns if c.name not in NOT_GENERATED]
    return Table(
        table.time,
        tuple(c.name for c in columns if not c.numeric),
        tuple(c.name for c in columns if c.numeric),
        not_null=tuple(c.name for c in columns if c.numeric and not c.nullable),
        float32=tuple(c.name for c in columns if c.type == "float32"),
    )


TABLES: dict[str, Table] = {name: _table(t) for name, t in CUSTOM_TABLES.items()}


class QueryError(Exception):
    """A custom query the API's checks refuse: 400 ``QUERY_ERROR``, "Invalid query
    configuration" (this message goes in the ``X-Emulator-Detail`` header)."""

    answer = "Invalid query configuration. Please check your query parameters."


class QueryFailed(QueryError):
    """A custom query that passes the API's checks but that its database refuses (a bad date or
    time zone, a duplicate output column, a text operator on a number): "Query execution
    failed"."""

    answer = "Query execution failed. Please try again or contact support."


def limiter(config: EmulatorConfig) -> RateLimiter:
    """The custom endpoint's own limiter (60 per 60 s with the default config)."""
    return scaled_limiter(config, CUSTOM_FACTOR)


def _q(identifier: str) -> str:
    return f'"{identifier}"'  # only whitelisted names and checked aliases get here


def _column(table_name: str, field: Any, what: str) -> str:
    table = TABLES[table_name]
    if field not in table.columns:
        raise QueryError(
            f"Invalid {what} column '{field}' for table '{table_name}'. "
            f"Valid columns: {', '.join(table.columns)}"
        )
    return str(field)


def _text(value: Any) -> str:
    """A filter value as the API's ``String(value)`` gives it (``5.0`` -> ``"5"``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any, field: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise QueryFailed(f"Filter on '{field}' needs a number, got {value!r}")
    return number


def _filter(table_name: str, raw: Any, i: int) -> str:
    if not isinstance(raw, dict):
        raise QueryError(f"filters[{i}] must be an object {{field, operator, value}}")
    field = _column(table_name, raw.get("field"), "filter")
    op, value = raw.get("operator"), raw.get("value")
    if op not in OPERATORS:
        raise QueryError(f"Invalid operator '{op}'. Valid operators: {', '.join(OPERATORS)}")
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in values):
        raise QueryError(f"filters[{i}].value must be a string, a number or an array of them")
    if op not in ("in", "not_in") and isinstance(value, list):
        raise QueryError(f"Operator '{op}' takes a single value, not an array")
    numeric = field in TABLES[table_name].numbers
    col = _q(field)
    if numeric and op in ("contains", "not_contains", "starts_with"):
        raise QueryFailed(f"Operator '{op}' needs a text column; '{field}' is numeric")
    items = [_number(v, field) if numeric else _text(v) for v in values]
    if op in _COMPARE:
        return f"{col} {_COMPARE[op]} {lit(items[0])}"
    if op in ("contains", "not_contains"):
        negate = "NOT " if op == "not_contains" else ""
        return f"{col} {negate}LIKE {lit('%' + _text(value) + '%')} ESCAPE '\\'"
    if op == "starts_with":
        return f"starts_with({col}, {lit(_text(value))})"
    if not items:
        return "FALSE" if op == "in" else "TRUE"
    return f"{col} {'NOT IN' if op == 'not_in' else 'IN'} {lit_list(items)}"


def _select(table_name: str, raw: Any, i: int) -> tuple[str, str]:
    """``(SQL expression, output column)`` of one select."""
    if not isinstance(raw, dict):
        raise QueryError(f"selects[{i}] must be an object {{field, aggregate, alias?}}")
    field, aggregate, alias = raw.get("field"), raw.get("aggregate"), raw.get("alias")
    if aggregate not in AGGREGATES:
        raise QueryError(f"Invalid aggregate '{aggregate}'. Valid: {', '.join(AGGREGATES)}")
    if field == "*":
        if aggregate != "count":
            raise QueryError(f'Aggregate "{aggregate}" requires a specific column, not "*"')
        expr, name = "count(*)", "count_all"
    else:
        column = _column(table_name, field, "select")
        if aggregate not in ("count", "uniq") and column not in TABLES[table_name].numbers:
            raise QueryError(f"Column '{column}' cannot be used with aggregate \"{aggregate}\"")
        inner = f"DISTINCT {_q(column)}" if aggregate == "uniq" else _q(column)
        func = "count" if aggregate == "uniq" else aggregate
        expr, name = f"{func}({inner})", f"{aggregate}_{column}"
        if aggregate in ("sum", "avg", "min", "max") and column in TABLES[table_name].float32:
            expr = _float32(func, _q(column))
        if aggregate in ("sum", "min", "max") and column in TABLES[table_name].not_null:
            expr = f"coalesce({expr}, 0)"  # ClickHouse's value over no rows
    if alias is not None:
        if not isinstance(alias, str) or not _IDENTIFIER.match(alias):
            raise QueryError(f"Invalid alias {alias!r}: use letters, digits and '_' only")
        name = alias
    return expr, name


def _float32(func: str, column: str) -> str:
    """An aggregate over a 32-bit float column as ClickHouse computes it: the values rounded to
    32 bits, summed and averaged in 64 bits; ``min``/``max`` stay 32-bit and print shortest."""
    if func in ("min", "max"):
        return f"{func}({column}::FLOAT)::VARCHAR::DOUBLE"
    return f"{func}({column}::FLOAT::DOUBLE)"


def _instant(raw: Any, key: str, zone: ZoneInfo) -> datetime:
    """A range bound as naive UTC, read like ``parseDateTimeBestEffort(raw, zone)``."""
    if not isinstance(raw, str):
        raise QueryError(f"'{key}' is required and must be a date string")
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise QueryFailed(f"Invalid date: {raw}. Could not parse as a valid date") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def _list(raw: Any, key: str, most: int, least: int = 0) -> list[Any]:
    items = [] if raw is None else raw
    if not isinstance(items, list) or not least <= len(items) <= most:
        raise QueryError(f"'{key}' must be an array of {least} to {most} items")
    return items


def build_sql(body: Any, website_id: str, now: datetime) -> str:
    """The DuckDB statement of one custom query body. Raises :class:`QueryError`."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), dict):
        raise QueryError("The body must be an object with a 'query' object")
    query = body["query"]
    table_name = query.get("table")
    if table_name not in TABLES:
        raise QueryError(f"Invalid table '{table_name}'. Valid tables: {', '.join(TABLES)}")
    table = TABLES[table_name]
    selects = [
        _select(table_name, s, i)
        for i, s in enumerate(_list(query.get("selects"), "query.selects", MAX_SELECTS, 1))
    ]
    filters = [
        _filter(table_name, f, i)
        for i, f in enumerate(_list(query.get("filters"), "query.filters", MAX_FILTERS))
    ]
    group_by = [
        _column(table_name, g, "GROUP BY")
        for g in _list(query.get("groupBy"), "query.groupBy", MAX_GROUP_BY)
    ]
    tz_name = body.get("timezone") or "UTC"
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise QueryFailed(f"Invalid timezone: {tz_name}") from exc
    start = _instant(body.get("startDate"), "startDate", zone)
    end = _instant(body.get("endDate"), "endDate", zone)
    if body.get("granularity") not in (None, "hourly", "daily"):
        raise QueryError("'granularity' must be 'hourly' or 'daily'")
    raw_limit = body.get("limit") or DEFAULT_LIMIT
    if isinstance(raw_limit, bool) or not isinstance(raw_limit, int | float):
        raise QueryError("'limit' must be a number")
    limit = int(max(1, min(raw_limit, MAX_LIMIT)))

    aliases = {name for _, name in selects}
    keys = [(_q(g), g) for g in reversed(group_by) if g not in aliases]
    if len(keys) < len(group_by):  # GROUP BY an aggregate's alias: ClickHouse refuses it
        raise QueryFailed("A GROUP BY field is also an aggregate's alias; rename the alias")
    names = [name for _, name in keys] + [name for _, name in selects]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise QueryFailed(f"Output column '{duplicate}' appears twice; give the select an alias")

    columns = [f"{expr} AS {_q(name)}" for expr, name in (*keys, *selects)]
    where = [
        f"client_id = {lit(website_id)}",
        f"ingested_at <= {lit(now.isoformat(sep=' '))}::TIMESTAMP",
        f"{_q(table.time)} >= {lit(start.isoformat(sep=' '))}::TIMESTAMP",
        f"{_q(table.time)} <= {lit(end.isoformat(sep=' '))}::TIMESTAMP",
        *filters,
    ]
    sql = f"SELECT {', '.join(columns)} FROM {table_name} WHERE {' AND '.join(where)}"
    if keys:
        sql += f" GROUP BY {', '.join(expr for expr, _ in keys)}"
    key_order = [f"{i} ASC" for i in range(1, len(keys) + 1)]
    if group_by:  # the API's order (first select descending), then a total tie-break
        sql += f" ORDER BY {', '.join([f'{len(keys) + 1} DESC', *key_order])}"
    return f"{sql} LIMIT {limit}"


def run_custom(store: Store, sql: str) -> list[dict[str, Any]]:
    with store.cursor() as cur:
        try:
            result = cur.execute(sql)
        except duckdb.Error as exc:  # passed through as the API does in development mode
            raise QueryFailed(str(exc).split("\n", 1)[0]) from exc
        names = [d[0] for d in result.description or ()]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def routes(store: Store, limiter: RateLimiter) -> list[BaseRoute]:
    async def custom_endpoint(request: Request) -> Response:
        t0 = time.perf_counter()
        body, failed = await read_json(request)
        if failed is not None:
            return failed
        refused = shape_error(body)
        if refused is not None:
            return refused
        rid = request_id()
        website_id = request.query_params.get("website_id") or None
        principal = _reader(store, request, website_id)
        body, failed = await read_json(request)
        if failed is not None:
            return failed
        try:
            check_custom_body(body)
        except SchemaError:
            return json_response(SchemaError.body(body), 422)
        rejected, headers = admit(limiter, principal, "custom", rid, request.headers)
        if rejected is not None:
            return rejected
        if website_id is None:
            return _error(400, "website_id is required", "MISSING_WEBSITE_ID", rid, headers)
        scope = Scope(website_id=website_id)
        denial, _ = check_access(store.registry, principal, scope, [], store.config.api_version)
        if denial is not None:
            return _error(denial.status, denial.error, denial.code, rid, headers)
        try:
            sql = build_sql(body, website_id, store.now())
            rows = await run_in_threadpool(run_custom, store, sql)
        except QueryError as exc:  # the API's words; what went wrong in an emulator header
            text = str(exc)[:500].encode("ascii", "backslashreplace").decode()
            detail = {**(headers or {}), "X-Emulator-Detail": text}
            return _error(400, exc.answer, "QUERY_ERROR", rid, detail)
        meta = {"rowCount": len(rows), "executionTime": round(1000 * (time.perf_counter() - t0))}
        return json_response(
            {"success": True, "data": rows, "meta": meta, "requestId": rid}, 200, headers
        )

    return [Route("/v1/query/custom", custom_endpoint, methods=["POST"])]
