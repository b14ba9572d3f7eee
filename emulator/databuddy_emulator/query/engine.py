"""Runs one parameter: the type's builder gives SQL, the engine applies the type's own ordering,
limit and offset behaviour (``query-types.json``) and shapes rows to the contract's columns."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from databuddy_source.contract import QueryType

from .context import ParameterError, QueryContext

SORTABLE = (
    "visitors",
    "sessions",
    "pageviews",
    "clicks",
    "count",
    "total",
    "date",
    "time",
    "errors",
    "p50_load_time",
    "avg_scroll_depth",
    "uptime_percentage",
    "revenue",
    "samples",
    "total_events",
    "unique_users",
)


@dataclass(frozen=True, slots=True)
class Built:
    """A builder's result: a SELECT producing exactly the type's columns, and its ORDER BY.

    ``order_by`` must make the order total (end with a unique tie-breaker) so pages never
    overlap. ``sortable`` is false for types that keep their own order whatever sortBy says.
    ``post`` reshapes the page after LIMIT/OFFSET (rows merged by a readable name, say); the
    SQL's columns are then its input and its output must have the contract's columns.
    """

    sql: str
    order_by: str
    sortable: bool = True
    post: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None


Builder = Callable[[QueryContext], Built]
BUILDERS: dict[str, Builder] = {}


def builder(*names: str) -> Callable[[Builder], Builder]:
    """Register a function as the builder of one or more query types."""

    def register(fn: Builder) -> Builder:
        for name in names:
            if name in BUILDERS:
                raise RuntimeError(f"query type {name!r} registered twice")
            BUILDERS[name] = fn
        return fn

    return register


def compose_sql(ctx: QueryContext, built: Built) -> str:
    """The final statement: the builder's SELECT, ordered, limited and offset as the type does."""
    qt = ctx.qtype
    order = built.order_by
    if ctx.sort_by and built.sortable and ctx.sort_by in qt.field_names:
        order = f'"{ctx.sort_by}" {(ctx.sort_order or "desc").upper()}, {order}'
    sql = f"SELECT * FROM ({built.sql}) AS q ORDER BY {order}"
    if qt.limit_applied:
        sql += f" LIMIT {int(ctx.limit)}"
        if qt.offset_applied:
            sql += f" OFFSET {(int(ctx.page) - 1) * int(ctx.limit)}"
    return sql


def _to_float(value: Any) -> float | int | None:
    """A JSON number as the API writes it: a whole value without a fraction (JavaScript's
    ``JSON.stringify(2.0)`` is ``2``), NaN and infinities as null."""
    if value is None:
        return None
    f = float(value)
    if math.isnan(f) or math.isinf(f):
        return None
    return int(f) if f.is_integer() else f


def _to_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _to_str(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


def _converter(kind: str, array: bool, db_type: str) -> Callable[[Any], Any] | None:
    """How to turn a DuckDB value into the contract's JSON type (None: as it is)."""
    if array:
        return None
    if kind == "integer":
        return (
            None
            if db_type
            in (
                "BIGINT",
                "INTEGER",
                "HUGEINT",
                "SMALLINT",
                "TINYINT",
                "UBIGINT",
                "UINTEGER",
                "USMALLINT",
                "UTINYINT",
            )
            else _to_int
        )
    if kind == "number":
        return _to_float  # also maps NaN/inf (not JSON) to null
    return None if db_type == "VARCHAR" else _to_str


# Types that refuse to run without a filter on these fields.
REQUIRED_FILTERS: dict[str, tuple[str, ...]] = {
    "session_events": ("session_id",),
    "profile_detail": ("anonymous_id",),
    "profile_sessions": ("anonymous_id",),
}


def run_parameter(cur: duckdb.DuckDBPyConnection, ctx: QueryContext) -> list[dict[str, Any]]:
    """Rows of one parameter, in the contract's column order and JSON value types."""
    qt: QueryType = ctx.qtype
    build = BUILDERS.get(qt.name)
    if build is None:
        raise ParameterError(f"Unknown query type: {qt.name}")
    given = {f.field for f in ctx.filters}
    missing = [f for f in REQUIRED_FILTERS.get(qt.name, ()) if f not in given]
    if missing:
        raise ParameterError(
            f"Missing required filter{'s' if len(missing) > 1 else ''}: "
            + ", ".join(f"'{m}'" for m in missing)
            + "."
        )
    built = build(ctx)
    try:
        result = cur.execute(compose_sql(ctx, built))
    except duckdb.Error as exc:  # a database error is passed through, as the API does
        raise ParameterError(str(exc).split("\n", 1)[0]) from exc
    names = [d[0] for d in result.description or ()]
    if built.post is not None:
        return built.post([dict(zip(names, row, strict=True)) for row in result.fetchall()])
    if tuple(names) != qt.field_names:
        raise RuntimeError(
            f"builder of {qt.name} returned columns {names}, contract says {list(qt.field_names)}"
        )
    converters = [
        (i, conv)
        for i, (f, d) in enumerate(zip(qt.fields, result.description or (), strict=True))
        if (conv := _converter(f.type, f.array, str(d[1]))) is not None
    ]
    rows = result.fetchall()
    if not converters:
        return [dict(zip(names, row, strict=True)) for row in rows]
    out = []
    for row in rows:
        values = list(row)
        for i, conv in converters:
            values[i] = conv(values[i])
        out.append(dict(zip(names, values, strict=True)))
    return out
