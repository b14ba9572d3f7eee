"""Custom reports: the user's own dimensions and metrics over ``POST /v1/query/custom``.

Pure: a report definition (from ``.dlt/config.toml`` or the source argument) is checked here
against what the endpoint accepts, before any request, and turned into the request body of one
day (or hour) and into the :class:`~.catalog.TableSpec` of its table (``report_<name>``, or
``report_<name>_hourly``). Full guide: ``docs/custom-reports.md``.

What the endpoint accepts (its own whitelist; anything else is ``400 QUERY_ERROR``):

* four tables, each with the columns below; every column may be a dimension (``groupBy``, at
  most 5) and a filter (at most 20); ids, sessions, visitors and timestamps are not exposed;
* metrics (``selects``, 1 to 10): ``count`` over ``*`` or any column (non-null values),
  ``uniq`` over any column, ``sum``/``avg``/``min``/``max`` over numeric columns only;
* the answer's columns are the dimensions, then ``<aggregate>_<field>`` (``count_all`` for
  ``*``) or the metric's ``alias``; with dimensions, rows come ordered by the first metric,
  descending, and at most ``limit`` (1..10,000) of them: there is no offset;
* the date range is read to the second in the given time zone, both ends inclusive; the
  endpoint accepts ``granularity`` but does not bucket by it, so an hourly report costs one
  request per hour.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from . import settings
from .catalog import EMPTY_SLICE, SLICE_DATE, TableSpec, suggest
from .contract import Field, FieldType, QueryType
from .errors import ConfigurationError

Aggregate = Literal["count", "sum", "avg", "max", "min", "uniq"]
AGGREGATES: tuple[Aggregate, ...] = ("count", "sum", "avg", "max", "min", "uniq")
OPERATORS = (
    "eq",
    "ne",
    "gt",
    "lt",
    "gte",
    "lte",
    "contains",
    "not_contains",
    "starts_with",
    "in",
    "not_in",
)
GRANULARITIES = ("daily", "hourly")
MAX_DIMENSIONS, MAX_METRICS, MAX_FILTERS = 5, 10, 20
TABLE_PREFIX = "report_"
REPORT_KEYS = ("name", "table", "dimensions", "metrics", "filters", "granularity", "limit")
METRIC_KEYS = ("field", "aggregate", "alias")
FILTER_KEYS = ("field", "operator", "value")
RESERVED = ("website_id", SLICE_DATE, "hour", "_slice_row", EMPTY_SLICE)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_ALIAS = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")

ColumnKind = Literal["text", "integer", "float"]
_TEXT: ColumnKind = "text"
_EVENT_TEXT = (
    "event_name",
    "referrer",
    "path",
    "title",
    "browser_name",
    "os_name",
    "device_type",
    "country",
    "region",
    "city",
    "language",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)
TABLES: dict[str, dict[str, ColumnKind]] = {
    "events": {
        **dict.fromkeys(_EVENT_TEXT, _TEXT),
        "time_on_page": "float",
        "scroll_depth": "float",
        "page_count": "integer",
        "load_time": "integer",
        "ttfb": "integer",
    },
    "error_spans": dict.fromkeys(("path", "message", "error_type", "filename"), _TEXT),
    "web_vitals_spans": {"path": _TEXT, "metric_name": _TEXT, "metric_value": "float"},
    "outgoing_links": {"href": _TEXT, "text": _TEXT},
}
_FIELD_TYPE: dict[ColumnKind, FieldType] = {
    "text": "string",
    "integer": "integer",
    "float": "number",
}


@dataclass(frozen=True, slots=True)
class Metric:
    """One ``select``: an aggregate over a column (or ``*``), under its output name."""

    field: str
    aggregate: Aggregate
    alias: str | None = None

    @property
    def column(self) -> str:
        return self.alias or f"{self.aggregate}_{'all' if self.field == '*' else self.field}"

    def kind(self, table: str) -> ColumnKind:
        if self.aggregate in ("count", "uniq"):
            return "integer"
        if self.aggregate == "avg":
            return "float"
        return TABLES[table][self.field]  # sum, min, max keep the column's kind

    def body(self) -> dict[str, str]:
        out = {"field": self.field, "aggregate": self.aggregate}
        return {**out, "alias": self.alias} if self.alias else out


@dataclass(frozen=True, slots=True)
class CustomReport:
    """A validated report: one table of the warehouse, read one day (or hour) a request."""

    name: str
    table: str
    dimensions: tuple[str, ...]
    metrics: tuple[Metric, ...]
    filters: tuple[dict[str, Any], ...] = ()
    granularity: Literal["daily", "hourly"] = "daily"
    limit: int = settings.CUSTOM_MAX_LIMIT

    @property
    def hourly(self) -> bool:
        return self.granularity == "hourly"

    @property
    def table_name(self) -> str:
        return self.spec().table_name

    @property
    def columns(self) -> tuple[str, ...]:
        """The answer's columns: dimensions, then metrics."""
        return (*self.dimensions, *(m.column for m in self.metrics))

    def spec(self) -> TableSpec:
        """How the report becomes a table: a day-grain period table keyed on website + date
        (hourly: each row also has ``hour``, the UTC start of its hour)."""
        fields = [Field(SLICE_DATE, "datetime")] if self.hourly else []
        fields += [Field(d, "string") for d in self.dimensions]
        fields += [Field(m.column, _FIELD_TYPE[m.kind(self.table)]) for m in self.metrics]
        qtype = QueryType(
            name=TABLE_PREFIX + self.name,
            category="custom_report",
            project="website",
            time_series=False,
            date_field=None,
            fields=tuple(fields),
            allowed_filters=(),
            builder_declares_filters=False,
            default_limit=None,
            hourly_supported=self.hourly,
            limit_applied=True,
            offset_applied=False,
            filters_applied=True,
            timezone_aware=True,
            date_range_ignored=False,
            meta_category=None,
            description=self.description(),
            removed=False,
            raw={},
        )
        return TableSpec(qtype, "period", "day", self.hourly)

    def description(self) -> str:
        """The table's description (as the warehouse shows it)."""
        grain = "hour" if self.hourly else "day"
        what = ", ".join(f"{m.aggregate}({m.field}) as {m.column}" for m in self.metrics)
        by = f" by {', '.join(self.dimensions)}" if self.dimensions else ""
        text = (
            f"Custom report '{self.name}': {what} over {self.table}{by}, one row set per "
            f"website and {grain} (POST /v1/query/custom)."
        )
        uniq = [m.column for m in self.metrics if m.aggregate == "uniq"]
        if uniq:
            text += (
                f" {', '.join(uniq)}: distinct values within the {grain}, not summable across "
                f"{grain}s."
            )
        if self.dimensions:
            text += (
                f" At most {self.limit} groups a {grain}: the top ones by {self.metrics[0].column}."
            )
        return text

    def column_descriptions(self) -> dict[str, str]:
        out = {}
        for m in self.metrics:
            note = f"{m.aggregate}({m.field})"
            if m.aggregate == "uniq":
                note += " (distinct within the slice: not summable across days or hours)"
            elif m.aggregate == "avg":
                note += " (an average: weight by a count to combine slices)"
            out[m.column] = note
        return out

    def body(self, start: datetime, end: datetime, timezone: str) -> dict[str, Any]:
        """The request body of one range ``[start, end]`` (aware datetimes, sent as UTC)."""
        query: dict[str, Any] = {
            "table": self.table,
            "selects": [m.body() for m in self.metrics],
        }
        if self.filters:
            query["filters"] = [dict(f) for f in self.filters]
        if self.dimensions:
            query["groupBy"] = list(self.dimensions)
        return {
            "query": query,
            "startDate": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDate": end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timezone": timezone,
            "granularity": self.granularity,
            "limit": self.limit,
        }


@dataclass(frozen=True, slots=True)
class RequestRange:
    """One request's range, both ends inclusive, as UTC instants; ``hour``: an hourly one's."""

    start: datetime
    end: datetime
    hourly: bool = False


def request_ranges(report: CustomReport, day: date, timezone: str) -> list[RequestRange]:
    """The requests of one local day: the whole day, or each of its hours (23 or 25 on a day
    the clocks change). Sent as UTC instants (``...Z``), which the endpoint honours over its
    ``timezone``, so no local wall time is ever ambiguous.

    The endpoint reads bounds to the second, both inclusive: a day is ``00:00:00`` to
    ``23:59:59`` local, so no event is counted in two slices (an event in the last second's
    fraction, ``23:59:59.001``-``.999``, falls between two slices: the endpoint cannot address
    it)."""
    zone = ZoneInfo(timezone)
    first = datetime.combine(day, time(), zone).astimezone(UTC)
    after = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
    if not report.hourly:
        return [RequestRange(first, after - timedelta(seconds=1))]
    hours = int((after - first) / timedelta(hours=1))
    return [
        RequestRange(first + timedelta(hours=h), first + timedelta(hours=h + 1, seconds=-1), True)
        for h in range(hours)
    ]


def truncation_hint(report: CustomReport) -> str:
    """How to narrow a report whose day (or hour) reached its limit."""
    ideas = ["add a filter", "drop a dimension"]
    if not report.hourly:
        ideas.append("set granularity = 'hourly'")
    if report.limit < settings.CUSTOM_MAX_LIMIT:
        ideas.insert(0, f"raise limit to {settings.CUSTOM_MAX_LIMIT}")
    return (
        f"report {report.name!r} reached its limit of {report.limit} groups: the endpoint has "
        f"no offset, so groups after the top {report.limit} by {report.metrics[0].column} are "
        "missing; "
        f"{', '.join(ideas)}"
    )


# ------------------------------------------------------------------------------ validation
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


def resolve_custom_rate_limit(value: Any) -> int:
    """``custom_rate_limit``: requests to ``/v1/query/custom`` per window per key."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"sources.databuddy.custom_rate_limit: {value!r} is not a whole number of at least "
            f"1. The API allows {settings.CUSTOM_RATE_LIMIT} a minute per key (set it in "
            ".dlt/config.toml under [sources.databuddy], or as "
            "SOURCES__DATABUDDY__CUSTOM_RATE_LIMIT)"
        )
    return value
