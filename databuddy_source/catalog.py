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
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import pyarrow as pa

from .contract import Field, ProjectKind, QueryType, query_types, query_types_by_name
from .errors import ConfigurationError

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

# How the API reads a time zone (``timezone``): it buckets ``events_by_date`` (days and hours)
# and ``uptime_time_series`` (days) in the zone, and parses the range of
# ``uptime_time_series`` in the zone; every other range is UTC and every other series buckets
# UTC days (docs/time-zones.md).
RANGE_IN_ZONE = frozenset({"uptime_time_series"})
HOURLY_IN_ZONE = frozenset({"events_by_date"})

# Types whose rows the API merges after LIMIT/OFFSET (by referrer name, by country code): a page
# can hold fewer rows than its limit while more exist, and two pages can hold the same merged
# row; they are read in one page, flagged possibly truncated when that page may be cut.
MERGED_AFTER_LIMIT = frozenset(
    {"top_referrers", "traffic_sources", "country", "link_top_referrers", "realtime_referrers"}
)

# The ELT-relevant default set: stable, date-bounded, computed from events.
DEFAULT_QUERY_TYPES: tuple[str, ...] = (
    "summary_metrics",
    "events_by_date",
    "top_pages",
    "entry_pages",
    "exit_pages",
    "top_referrers",
    "traffic_sources",
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
)
# Types the API refuses as a whole request (402 FEATURE_UNAVAILABLE) for a website whose plan
# lacks the feature. The answer does not say which type: these are the ones it gates.
PLAN_GATED: dict[str, str] = dict.fromkeys(
    (
        "recent_errors",
        "error_types",
        "errors_by_page",
        "error_summary",
        "error_chart_data",
        "error_trends",
        "error_frequency",
        "errors_by_type",
    ),
    "error tracking",
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
    # Columns the API sent that the contract does not list (a column added upstream, or every
    # column of a type the contract does not know), typed from the answers; see learn_columns.
    learned: dict[str, pa.DataType] = field(default_factory=dict, hash=False, compare=False)
    zone: str = "UTC"  # the IANA zone of this table's days (see zone_of)

    @property
    def range_in_zone(self) -> bool:
        """The API reads this type's range as local times of the zone (send local dates)."""
        return self.name in RANGE_IN_ZONE

    @property
    def hour_zone(self) -> str:
        """The zone of the API's hourly labels for this type."""
        return self.zone if self.name in HOURLY_IN_ZONE else "UTC"

    @property
    def untyped(self) -> bool:
        """A type the bundled contract does not know: its columns come from the answers."""
        return not self.qtype.fields

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

    def learned_columns(self) -> list[tuple[str, pa.DataType]]:
        """The learned columns (API name, type), in the order they were first seen."""
        with _LEARNING:
            return list(self.learned.items())

    def table_column(self, api_name: str) -> str:
        """The table column of an API column the contract does not list."""
        return f"api_{api_name}" if api_name in (SLICE_DATE, self.parent_column) else api_name

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
        taken = {f.name for f in fields}
        for api_name, kind in self.learned_columns():
            name = self.table_column(api_name)
            if name not in taken:
                fields.append(pa.field(name, kind, nullable=True))
        fields.append(pa.field(SLICE_ROW, pa.int64(), nullable=False))
        fields.append(pa.field(EMPTY_SLICE, pa.bool_(), nullable=True))
        return pa.schema(fields)


_LEARNING = threading.Lock()


def learned_type(values: list[Any]) -> pa.DataType | None:
    """The Arrow type of a column the contract does not list, from the values one answer
    holds (None while they are all null). Numbers are doubles: an integer column today may
    carry a fraction tomorrow; lists and objects are kept as JSON text."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def learn_columns(spec: TableSpec, rows: list[dict[str, Any]], known: set[str]) -> list[str]:
    """Add to ``spec`` the columns of ``rows`` that neither the contract nor an earlier answer
    gave it (``known``: the API's column names already read). Returns the names added."""
    added: list[str] = []
    names = dict.fromkeys(k for row in rows for k in row if k not in known)
    for name in names:
        if name in spec.learned:
            continue
        kind = learned_type([row.get(name) for row in rows])
        if kind is None:
            continue
        with _LEARNING:
            spec.learned.setdefault(name, kind)
        added.append(name)
    return added


def untyped_query_type(name: str) -> QueryType:
    """A type the live API lists but the bundled contract does not: a website breakdown read
    one slice per day, every column typed from the answers."""
    return QueryType(
        name=name,
        category="untyped",
        project="website",
        time_series=False,
        date_field=None,
        fields=(),
        allowed_filters=(),
        builder_declares_filters=False,
        default_limit=None,
        hourly_supported=False,
        limit_applied=True,
        offset_applied=True,
        filters_applied=False,
        timezone_aware=False,
        date_range_ignored=False,
        meta_category=None,
        description="not in the bundled contract: columns typed from the API's answers",
        removed=False,
        raw={},
    )


def slicing_of(qtype: QueryType) -> Slicing:
    if qtype.date_range_ignored or (qtype.time_series and qtype.date_field != SLICE_DATE):
        return "snapshot"
    if qtype.time_series:
        return "series"
    return "period"


def zone_of(qtype: QueryType, slicing: Slicing, timezone: str) -> str:
    """The zone whose days a table is sliced by: the configured one, except for series the API
    buckets by UTC day whatever the zone (a local day of them does not exist: UTC days)."""
    if slicing == "series" and not qtype.timezone_aware:
        return "UTC"
    return timezone


def table_spec(
    name: str, grain: Grain = "day", hourly: bool = False, timezone: str = "UTC"
) -> TableSpec:
    qtype = contract_type(name) or untyped_query_type(name)
    slicing = slicing_of(qtype)
    return TableSpec(
        qtype,
        slicing,
        grain if slicing == "period" else "day",
        hourly and qtype.hourly_supported and slicing == "series",
        zone=zone_of(qtype, slicing, timezone),
    )


@cache
def contract_type(name: str) -> QueryType | None:
    """A type of the bundled contract: a current one, else one the API has since removed (its
    table can still be named in a configuration, and is then skipped by the live catalogue)."""
    current = query_types_by_name().get(name)
    if current is not None:
        return current
    return next((t for t in query_types(include_removed=True) if t.name == name), None)


@cache
def all_query_type_names() -> tuple[str, ...]:
    return tuple(t.name for t in query_types())


@dataclass(frozen=True, slots=True)
class Selection:
    """The run's tables after the live catalogue: those to read, and the types named in the
    configuration that the API no longer lists (skipped, with a warning)."""

    specs: list[TableSpec]
    gone: list[TableSpec]
    untyped: list[str]  # read with columns typed from the answers


def select_live(
    specs: list[TableSpec], live: frozenset[str] | None, named: tuple[str, ...]
) -> Selection:
    """Keep the tables whose type the live catalogue lists (all of them when it could not be
    read, except types the contract does not know). A type named in the configuration that the
    API does not list is skipped; a default one is left out quietly. A name neither knows is a
    configuration error."""
    keep: list[TableSpec] = []
    gone: list[TableSpec] = []
    for spec in specs:
        listed = spec.name in live if live is not None else not spec.untyped
        if listed:
            keep.append(spec)
        elif spec.untyped:
            choices = sorted(live or ()) or list(all_query_type_names())
            raise ConfigurationError(
                f"sources.databuddy.queries: {spec.name!r} is not a query type the API lists."
                f"{suggest(spec.name, choices)} Pick names from GET /v1/query/types "
                "(set queries in .dlt/config.toml under [sources.databuddy], or as "
                "SOURCES__DATABUDDY__QUERIES)"
            )
        elif spec.name in named:
            gone.append(spec)
    return Selection(keep, gone, [s.name for s in keep if s.untyped])


def is_typo(name: str) -> bool:
    """A name the contract does not know but that is one slip away from one it knows (so it
    is refused before the run, not taken for a type the API added)."""
    known = [t.name for t in query_types(include_removed=True)]
    return name not in known and bool(difflib.get_close_matches(name, known, n=1, cutoff=0.85))


def suggest(name: str, choices: tuple[str, ...] | list[str]) -> str:
    """`` Did you mean 'x'?`` for a near miss, else ''."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    if not match:
        prefix = [c for c in choices if c.startswith(name[: max(len(name) - 1, 3)])]
        match = prefix[:1]
    return f" Did you mean '{match[0]}'?" if match else ""
