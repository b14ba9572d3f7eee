"""Custom report definitions as the user writes them (``custom_reports`` in
``[sources.databuddy]``, or the source argument), checked before any request: each mistake is
one :class:`~.errors.ConfigurationError` line naming the report, the key and the fix, with "did
you mean" for near misses (the CLI exits 2). See ``docs/custom-reports.md``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from . import settings
from .catalog import suggest
from .contract.custom_query import AGGREGATES, GRANULARITIES, MAX_FILTERS, OPERATORS
from .contract.custom_query import MAX_GROUP_BY as MAX_DIMENSIONS
from .contract.custom_query import MAX_SELECTS as MAX_METRICS
from .custom_reports import RESERVED, TABLE_PREFIX, TABLES, CustomReport, Metric
from .errors import ConfigurationError

REPORT_KEYS = ("name", "table", "dimensions", "metrics", "filters", "granularity", "limit")
METRIC_KEYS = ("field", "aggregate", "alias")
FILTER_KEYS = ("field", "operator", "value")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_ALIAS = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")


class _Where:
    """Names the report in every message: ``sources.databuddy.custom_reports[i] (name)``."""

    def __init__(self, index: int, name: Any = None) -> None:
        self.index, self.name = index, name

    def bad(self, problem: str) -> ConfigurationError:
        who = f" ({self.name})" if isinstance(self.name, str) else ""
        return ConfigurationError(
            f"sources.databuddy.custom_reports[{self.index}]{who}: {problem} "
            "(see docs/custom-reports.md)"
        )


def _keys(raw: Mapping[str, Any], allowed: tuple[str, ...], what: str, where: _Where) -> None:
    for key in raw:
        if key not in allowed:
            raise where.bad(
                f"unknown key {key!r} in {what}.{suggest(str(key), allowed)} "
                f"Keys: {', '.join(allowed)}"
            )


def _column(table: str, field: Any, what: str, where: _Where) -> str:
    columns = tuple(TABLES[table])
    if not isinstance(field, str) or field not in columns:
        hint = suggest(field, columns) if isinstance(field, str) else ""
        raise where.bad(
            f"{what}: {field!r} is not a column of {table}.{hint} Columns: {', '.join(columns)}"
        )
    return field


def _list(raw: Any, key: str, most: int, where: _Where, least: int = 0) -> list[Any]:
    items = [] if raw is None else raw
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        raise where.bad(f"{key} must be a list, got {type(raw).__name__}")
    if not least <= len(items) <= most:
        raise where.bad(f"{key} takes {least} to {most} items, got {len(items)}")
    return list(items)


def _metric(table: str, raw: Any, i: int, where: _Where) -> Metric:
    what = f"metrics[{i}]"
    if not isinstance(raw, Mapping):
        raise where.bad(f"{what} must be a table {{field, aggregate, alias}}, got {raw!r}")
    _keys(raw, METRIC_KEYS, what, where)
    aggregate, field, alias = raw.get("aggregate"), raw.get("field", "*"), raw.get("alias")
    if aggregate not in AGGREGATES:
        raise where.bad(
            f"{what}: aggregate {aggregate!r} is not one of {', '.join(AGGREGATES)}."
            f"{suggest(str(aggregate), AGGREGATES)}"
        )
    if field == "*":
        if aggregate != "count":
            raise where.bad(f"{what}: {aggregate} needs a column; only count takes '*'")
    else:
        _column(table, field, what, where)
        if aggregate not in ("count", "uniq") and TABLES[table][field] == "text":
            numeric = [c for c, kind in TABLES[table].items() if kind != "text"]
            raise where.bad(
                f"{what}: {aggregate} does not apply to the text column {field!r}; use count "
                f"or uniq, or one of the numeric columns: {', '.join(numeric) or 'none'}"
            )
    if alias is not None and (not isinstance(alias, str) or not _ALIAS.match(alias)):
        raise where.bad(
            f"{what}: alias {alias!r} must be lower-case letters, digits and '_' (at most 64), "
            "not starting with a digit"
        )
    return Metric(field, aggregate, alias)


def _filter(table: str, raw: Any, i: int, where: _Where) -> dict[str, Any]:
    what = f"filters[{i}]"
    if not isinstance(raw, Mapping):
        raise where.bad(f"{what} must be a table {{field, operator, value}}, got {raw!r}")
    _keys(raw, FILTER_KEYS, what, where)
    field = _column(table, raw.get("field"), what, where)
    operator, value = raw.get("operator"), raw.get("value")
    if operator not in OPERATORS:
        raise where.bad(
            f"{what}: operator {operator!r} is not one of {', '.join(OPERATORS)}."
            f"{suggest(str(operator), OPERATORS)}"
        )
    values = value if isinstance(value, list) else [value]
    if not values or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in values
    ):
        raise where.bad(f"{what}: value must be a string, a number or a list of them")
    if isinstance(value, list) and operator not in ("in", "not_in"):
        raise where.bad(f"{what}: {operator} takes one value; use in / not_in for a list")
    return {"field": field, "operator": operator, "value": value}


def resolve_report(raw: Any, index: int) -> CustomReport:
    """One report definition, checked; a :class:`ConfigurationError` naming the fix if not."""
    where = _Where(index)
    if not isinstance(raw, Mapping):
        raise where.bad(f"a report is a table of {', '.join(REPORT_KEYS)}, got {raw!r}")
    where.name = raw.get("name")
    _keys(raw, REPORT_KEYS, "the report", where)
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise where.bad(
            f"name {name!r} must be 1-50 lower-case letters, digits or '_', starting with a "
            f"letter (the table is {TABLE_PREFIX}<name>)"
        )
    table = raw.get("table")
    if table not in TABLES:
        raise where.bad(
            f"table {table!r} is not one the endpoint reads.{suggest(str(table), tuple(TABLES))} "
            f"Tables: {', '.join(TABLES)}"
        )
    dims = _list(raw.get("dimensions"), "dimensions", MAX_DIMENSIONS, where)
    dimensions = tuple(_column(table, d, "dimensions", where) for d in dims)
    metrics = tuple(
        _metric(table, m, i, where)
        for i, m in enumerate(_list(raw.get("metrics"), "metrics", MAX_METRICS, where, 1))
    )
    filters = tuple(
        _filter(table, f, i, where)
        for i, f in enumerate(_list(raw.get("filters"), "filters", MAX_FILTERS, where))
    )
    granularity = raw.get("granularity", "daily")
    if granularity not in GRANULARITIES:
        raise where.bad(f"granularity {granularity!r} is not 'daily' or 'hourly'")
    limit = raw.get("limit", settings.CUSTOM_MAX_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise where.bad(f"limit {limit!r} must be a whole number")
    if not 1 <= limit <= settings.CUSTOM_MAX_LIMIT:
        raise where.bad(f"limit {limit} must be 1 to {settings.CUSTOM_MAX_LIMIT}")
    report = CustomReport(name, table, dimensions, metrics, filters, granularity, limit)
    names = report.columns
    clash = next((n for n in names if names.count(n) > 1 or n in RESERVED), None)
    if clash is not None:
        raise where.bad(
            f"column {clash!r} appears twice or is one the table adds "
            f"({', '.join(RESERVED)}): give the metric another alias"
        )
    return report


def resolve_reports(value: Any) -> tuple[CustomReport, ...]:
    """``custom_reports``: a list of report tables (TOML ``[[sources.databuddy.custom_reports]]``,
    or a JSON list, e.g. in ``SOURCES__DATABUDDY__CUSTOM_REPORTS``); names unique."""
    if value is None or value == "" or value == []:
        return ()
    if isinstance(value, str):  # JSON, e.g. from an environment variable
        try:
            value = json.loads(value)
        except ValueError:
            raise ConfigurationError(
                "sources.databuddy.custom_reports: a string must be a JSON list of reports "
                '(e.g. [{"name": "views", "table": "events", "metrics": [{"aggregate": '
                '"count"}]}]); see docs/custom-reports.md'
            ) from None
    if isinstance(value, Mapping):
        value = [value]
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ConfigurationError(
            f"sources.databuddy.custom_reports: expected a list of report tables, got "
            f"{type(value).__name__} (see docs/custom-reports.md)"
        )
    reports = tuple(resolve_report(raw, i) for i, raw in enumerate(value))
    tables = [r.table_name for r in reports]
    for i, name in enumerate(tables):
        if tables.count(name) > 1:
            raise _Where(i, reports[i].name).bad(f"two reports make the table {name}: rename one")
    return reports
