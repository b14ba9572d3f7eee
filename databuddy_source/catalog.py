"""Query types as tables: how each is sliced, its parent, its key and its Arrow schema.

Every table has the parent's id column (``website_id``, ``link_id``, ``schedule_id`` or
``organization_id``) and ``date`` (the slice's date: the day, or the first day of the week or
month), then the type's own columns from ``query-types.json``. A slice is replaced as a whole on
every re-read (merge key: parent id + ``date``), so late data is updated and vanished rows go.

Slicing, by what the type returns:

* ``period``: breakdowns and single-row totals (``top_pages``, ``country``,
  ``summary_metrics``…): one parameter per grain period (day, week or month).
* ``series``: time series with a ``date`` column (``events_by_date``, ``error_trends``…): one
  parameter per day (a day's values depend on the range asked: sessions crossing midnight), the
  API's ``date`` checked against the slice; hourly series keep their hour in ``hour``.
* ``snapshot``: types that ignore the range or bucket by something else (``realtime_*``,
  ``retention_cohorts``): the parent's rows are replaced as a whole on every run.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from typing import Literal

import pyarrow as pa

from .contract import Field, ProjectKind, QueryType, query_types, query_types_by_name

Slicing = Literal["period", "series", "snapshot"]
Grain = Literal["day", "week", "month"]

PARENT_COLUMN: dict[ProjectKind, str] = {
    "website": "website_id",
    "link": "link_id",
    "schedule": "schedule_id",
    "organization": "organization_id",
}
SLICE_DATE = "date"
HOUR = "hour"
EMPTY_SLICE = "_empty_slice"  # hard-delete marker: a re-read slice the API answered with no rows
SLICE_ROW = "_slice_row"  # the row's position in its slice's answer: with the merge key, unique
# Table hint set on this source's query-type tables and ``sync_log``, and on nothing else: the
# destinations of ``databuddy_source.destinations`` load only tables carrying it their faster way.
SOURCE_HINT = "x-databuddy-source"

# The ELT-relevant default set: stable, date-bounded, computed from events (SPEC 4).
DEFAULT_QUERY_TYPES: tuple[str, ...] = (
    "summary_metrics",
    "events_by_date",
    "top_pages",
    "entry_pages",
    "exit_pages",
    "top_referrers",
    "utm_sources",
    "utm_mediums",
    "utm_campaigns",
    "country",
    "region",
    "city",
    "browser_name",
    "os_name",
    "device_types",
    "screen_resolution",
    "language",
    "timezone",
    "error_types",
    "error_trends",
    "errors_by_page",
    "custom_events",
    "custom_events_trends_by_event",
    "sessions_time_series",
    "vitals_by_page",
    "web_vitals_time_series",
    "outbound_links",
    "link_clicks_by_day",
    "uptime_time_series",
    "revenue_time_series",
    "llm_time_series",
)

_ARROW: dict[str, pa.DataType] = {
    "integer": pa.int64(),
    "number": pa.float64(),
    "string": pa.string(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True, slots=True)
class TableSpec:
    """How one query type becomes one table."""

    qtype: QueryType
    slicing: Slicing
    grain: Grain
    hourly: bool

    @property
    def name(self) -> str:
        return self.qtype.name

    @property
    def table_name(self) -> str:
        suffix = {"day": "", "week": "_weekly", "month": "_monthly"}[self.grain]
        return (
            self.qtype.name
            + (suffix if self.slicing == "period" else "")
            + ("_hourly" if self.hourly else "")
        )

    @property
    def parent_column(self) -> str:
        return PARENT_COLUMN[self.qtype.project]

    @property
    def merge_key(self) -> list[str]:
        if self.slicing == "snapshot":
            return [self.parent_column]
        return [self.parent_column, SLICE_DATE]

    @property
    def primary_key(self) -> list[str]:
        """Unique per row: a load job that ran twice (a kill between its commit and its
        bookkeeping) is deduplicated by dlt's merge instead of doubling rows."""
        return [self.parent_column, SLICE_DATE, SLICE_ROW]

    @property
    def key_columns(self) -> frozenset[str]:
        """The columns the connector adds to the API's (parent, slice date, ordinal, marker)."""
        return frozenset((self.parent_column, SLICE_DATE, SLICE_ROW, EMPTY_SLICE))

    @property
    def data_fields(self) -> tuple[Field, ...]:
        """The API's columns kept in the table (a daily series' own ``date`` is the slice date;
        an hourly one becomes ``hour``)."""
        if self.slicing == "series" and not self.hourly:
            return tuple(f for f in self.qtype.fields if f.name != SLICE_DATE)
        return self.qtype.fields

    def arrow_schema(self) -> pa.Schema:
        fields = [
            pa.field(self.parent_column, pa.string(), nullable=False),
            pa.field(SLICE_DATE, pa.date32(), nullable=False),
        ]
        for f in self.data_fields:
            name = HOUR if (self.hourly and f.name == SLICE_DATE) else f.name
            if name == SLICE_DATE or name == self.parent_column:
                name = f"api_{name}"  # never shadow the key columns
            kind = pa.string() if f.array else _ARROW[f.type]
            if self.hourly and f.name == SLICE_DATE:
                kind = pa.timestamp("us", tz="UTC")
            fields.append(pa.field(name, kind, nullable=True))
        fields.append(pa.field(SLICE_ROW, pa.int64(), nullable=False))
        fields.append(pa.field(EMPTY_SLICE, pa.bool_(), nullable=True))
        return pa.schema(fields)


def slicing_of(qtype: QueryType) -> Slicing:
    if qtype.date_range_ignored or (qtype.time_series and qtype.date_field != SLICE_DATE):
        return "snapshot"
    if qtype.time_series:
        return "series"
    return "period"


def table_spec(name: str, grain: Grain = "day", hourly: bool = False) -> TableSpec:
    qtype = query_types_by_name()[name]
    slicing = slicing_of(qtype)
    return TableSpec(
        qtype,
        slicing,
        grain if slicing == "period" else "day",
        hourly and qtype.hourly_supported and slicing == "series",
    )


@cache
def all_query_type_names() -> tuple[str, ...]:
    return tuple(t.name for t in query_types())


def suggest(name: str, choices: tuple[str, ...] | list[str]) -> str:
    """`` Did you mean 'x'?`` for a near miss, else ''."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    if not match:
        prefix = [c for c in choices if c.startswith(name[: max(len(name) - 1, 3)])]
        match = prefix[:1]
    return f" Did you mean '{match[0]}'?" if match else ""
