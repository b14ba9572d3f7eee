"""Custom reports: the user's own dimensions and metrics over ``POST /v1/query/custom``.

Pure: a checked report (:mod:`.custom_report_options` checks what the user wrote) becomes the
request body of one day (or hour) and the :class:`~.catalog.TableSpec` of its table
(``report_<name>``, or ``report_<name>_hourly``). Full guide: ``docs/custom-reports.md``.

What the endpoint accepts (its own whitelist; anything else is ``400 QUERY_ERROR``):

* four tables and their columns (``contract/custom_query.py``); every column may be a
  dimension (``groupBy``, at most 5) and a filter (at most 20); ids, sessions, visitors and
  timestamps are not exposed;
* metrics (``selects``, 1 to 10): ``count`` over ``*`` or any column (non-null values),
  ``uniq`` over any column, ``sum``/``avg``/``min``/``max`` over numeric columns only;
* the answer's columns are the dimensions, then ``<aggregate>_<field>`` (``count_all`` for
  ``*``) or the metric's ``alias``; with dimensions, rows come ordered by the first metric,
  descending, and at most ``limit`` (1..10,000) of them: there is no offset;
* the date range is read to the second, both ends inclusive (in the given time zone, unless
  it carries an offset); the endpoint accepts ``granularity`` but does not bucket by it, so an
  hourly report costs one request per hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from . import settings
from .catalog import EMPTY_SLICE, SLICE_DATE, TableSpec
from .contract import Field, FieldType, QueryType
from .contract.custom_query import TABLES as ENDPOINT_TABLES
from .contract.custom_query import Aggregate, Column

TABLE_PREFIX = "report_"
RESERVED = ("website_id", SLICE_DATE, "hour", "_slice_row", EMPTY_SLICE)

ColumnKind = Literal["text", "integer", "float"]


def _kind(column: Column) -> ColumnKind:
    """A column's kind in a report's table: 32- and 64-bit floats alike are doubles."""
    if column.type == "text" or column.type == "integer":
        return column.type
    return "float"


TABLES: dict[str, dict[str, ColumnKind]] = {
    name: {c.name: _kind(c) for c in table.columns} for name, table in ENDPOINT_TABLES.items()
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
