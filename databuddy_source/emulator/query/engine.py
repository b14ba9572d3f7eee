"""Runs one parameter: the type's builder gives SQL, the engine applies the type's own ordering,
limit and offset behaviour (``query-types.json``) and shapes rows to the contract's columns."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from ...contract import QueryType
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
    """

    sql: str
    order_by: str
    sortable: bool = True


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


def _convert(value: Any, kind: str, array: bool) -> Any:
    if value is None:
        return None
    if array:
        return list(value)
    if kind == "integer":
        return int(value)
    if kind == "number":
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    return value if isinstance(value, str) else str(value)


def run_parameter(cur: duckdb.DuckDBPyConnection, ctx: QueryContext) -> list[dict[str, Any]]:
    """Rows of one parameter, in the contract's column order and JSON value types."""
    qt: QueryType = ctx.qtype
    build = BUILDERS.get(qt.name)
    if build is None:
        raise ParameterError(f"Unknown query type: {qt.name}")
    built = build(ctx)
    try:
        result = cur.execute(compose_sql(ctx, built))
    except duckdb.Error as exc:  # a database error is passed through, as the API does
        raise ParameterError(str(exc).split("\n", 1)[0]) from exc
    names = [d[0] for d in result.description or ()]
    if tuple(names) != qt.field_names:
        raise RuntimeError(
            f"builder of {qt.name} returned columns {names}, contract says {list(qt.field_names)}"
        )
    kinds = [(f.type, f.array) for f in qt.fields]
    return [
        {
            name: _convert(v, kind, array)
            for name, v, (kind, array) in zip(names, row, kinds, strict=True)
        }
        for row in result.fetchall()
    ]
