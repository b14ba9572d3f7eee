"""What a query type builder sees: one parameter's resolved scope, range, filters and paging."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from databuddy_source.contract import QueryType

from .sql import lit, lit_list, normalized_path, normalized_referrer


class ParameterError(Exception):
    """Fails one parameter: the entry becomes ``{"success": false, "error": message}``."""


@dataclass(frozen=True, slots=True)
class RawTable:
    """A raw table, the column that scopes it to a project, and its event-time column."""

    key: str
    time: str
    columns: frozenset[str]


# Filterable columns per raw table (a filter on a missing column fails like a database error).
_EVENT_COLUMNS = frozenset(
    {
        "path",
        "query_string",
        "referrer",
        "country",
        "region",
        "city",
        "timezone",
        "language",
        "device_type",
        "browser_name",
        "os_name",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "browser_version",
        "os_version",
        "screen_resolution",
        "viewport_size",
        "connection_type",
        "event_name",
        "anonymous_id",
        "session_id",
    }
)
SPAN_COLUMNS = frozenset(
    {
        "path",
        "country",
        "region",
        "city",
        "device_type",
        "browser_name",
        "os_name",
        "browser_version",
        "os_version",
        "anonymous_id",
        "session_id",
    }
)
RAW_TABLES: dict[str, RawTable] = {
    "events": RawTable("client_id", "time", _EVENT_COLUMNS),
    # Databuddy's error table has no device or geo columns: filters on them fail.
    "error_spans": RawTable(
        "client_id",
        "timestamp",
        frozenset({"path", "anonymous_id", "session_id", "error_type", "message", "filename"}),
    ),
    "web_vitals_spans": RawTable("client_id", "timestamp", SPAN_COLUMNS | {"metric_name"}),
    "outgoing_links": RawTable("client_id", "timestamp", SPAN_COLUMNS | {"href", "text"}),
    "custom_events": RawTable(
        "website_id",
        "timestamp",
        frozenset(
            {
                "path",
                "event_name",
                "namespace",
                "source",
                "anonymous_id",
                "session_id",
                "website_id",
            }
        ),
    ),
    "link_visits": RawTable(
        "link_id",
        "timestamp",
        frozenset(
            {"referrer", "country", "region", "city", "device_type", "browser_name", "os_name"}
        ),
    ),
    "uptime_monitor": RawTable(
        "site_id", "timestamp", frozenset({"url", "probe_region", "status", "http_code"})
    ),
    "revenue": RawTable(
        "website_id",
        "created",
        frozenset({"provider", "type", "product_id", "product_name", "anonymous_id", "session_id"}),
    ),
    "ai_call_spans": RawTable(
        "owner_id",
        "timestamp",
        frozenset(
            {
                "provider",
                "model",
                "type",
                "finish_reason",
                "error_name",
                "http_status",
                "user_id",
                "trace_id",
                "website_id",
            }
        ),
    ),
}

RANGE_IN_TIMEZONE = frozenset({"uptime_time_series"})

FilterOp = Literal["eq", "ne", "contains", "not_contains", "starts_with", "in", "not_in"]


@dataclass(frozen=True, slots=True)
class Filter:
    field: str
    op: FilterOp
    value: object


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def normalize_referrer_input(value: str) -> str:
    """Map a user's referrer filter value (``google``, ``t.co``, a URL) to the stored form."""
    v = value.strip().lower()
    if v in ("", "direct"):
        return "direct"
    v = v.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    v = v.removeprefix("www.")
    if "." not in v:
        v += ".com"
    return "https://" + v


@dataclass(slots=True)
class QueryContext:
    """One parameter of one request, resolved. Builders turn it into SQL.

    ``start``/``end`` are the inclusive range as the request gave it (naive, in ``timezone`` for
    timezone-aware types, else taken as UTC). ``now`` is the virtual clock (naive UTC).
    """

    qtype: QueryType
    project_id: str
    website_id: str | None
    organization_id: str
    start: datetime
    end: datetime
    timezone: str
    granularity: Literal["daily", "hourly"]
    filters: list[Filter]
    limit: int
    page: int
    now: datetime
    sort_by: str | None = None
    sort_order: Literal["asc", "desc"] | None = None
    extra: dict[str, object] = field(default_factory=dict)

    # ---------------------------------------------------------------- time
    @property
    def hourly(self) -> bool:
        return self.granularity == "hourly" and self.qtype.hourly_supported

    def _to_utc(self, local: datetime) -> datetime:
        # The range is read as UTC whatever the time zone (it only moves buckets), except for
        # the uptime series, whose range is read in the request's time zone.
        if self.qtype.name not in RANGE_IN_TIMEZONE or self.timezone == "UTC":
            return local
        aware = local.replace(tzinfo=ZoneInfo(self.timezone))
        return aware.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

    @property
    def start_utc(self) -> datetime:
        return self._to_utc(self.start)

    @property
    def end_utc(self) -> datetime:
        return self._to_utc(self.end)

    def local(self, col: str) -> str:
        """A naive UTC timestamp column shown in the request time zone (timezone-aware types)."""
        if not self.qtype.timezone_aware or self.timezone == "UTC":
            return col
        return f"(({col} AT TIME ZONE 'UTC') AT TIME ZONE {lit(self.timezone)})"

    def bucket(self, col: str) -> str:
        """The date column of a time series: 'YYYY-MM-DD', or 'YYYY-MM-DD HH:00:00' hourly."""
        if self.hourly:
            return f"strftime(date_trunc('hour', {self.local(col)}), '%Y-%m-%d %H:00:00')"
        return f"strftime({self.local(col)}, '%Y-%m-%d')"

    def scope_condition(self, column: str, value: str | None = None) -> str:
        """``column`` matching this parameter's project; an organization-wide request matches
        every one of the organization's websites (``extra["website_ids"]``) on the website
        columns."""
        ids = self.extra.get("website_ids")
        if value is None and isinstance(ids, list) and column in ("client_id", "website_id"):
            return f"{column} IN {lit_list([str(i) for i in ids])}" if ids else "FALSE"
        return f"{column} = {lit(value or self.project_id)}"

    # ---------------------------------------------------------------- sources
    def source(
        self,
        table: str,
        *,
        in_range: bool = True,
        filtered: bool = True,
        key: str | None = None,
        key_value: str | None = None,
        filter_columns: frozenset[str] | None = None,
    ) -> str:
        """A subquery of ``table`` scoped to this parameter's project, visible at virtual now,
        inside the range (unless the type ignores ranges or ``in_range`` is false) and filtered
        (when the type applies filters and ``filtered`` is true)."""
        raw = RAW_TABLES[table]
        conditions = [
            self.scope_condition(key or raw.key, key_value),
            f"ingested_at <= {lit(self.now.isoformat(sep=' '))}::TIMESTAMP",
        ]
        if in_range and not self.qtype.date_range_ignored:
            conditions.append(
                f"{raw.time} BETWEEN {lit(self.start_utc.isoformat(sep=' '))}::TIMESTAMP "
                f"AND {lit(self.end_utc.isoformat(sep=' '))}::TIMESTAMP"
            )
        if filtered and self.qtype.filters_applied:
            conditions.extend(self.filter_sql(table, filter_columns))
        return f"(SELECT * FROM {table} WHERE {' AND '.join(conditions)})"

    def since(self, delta: timedelta) -> str:
        """A SQL timestamp literal ``delta`` before virtual now (realtime windows)."""
        return f"{lit((self.now - delta).isoformat(sep=' '))}::TIMESTAMP"

    def filter_sql(self, table: str, columns: frozenset[str] | None = None) -> list[str]:
        """Conditions of the request's filters on ``table`` (``columns``: the ones a filter may
        name, default the table's own)."""
        allowed = columns if columns is not None else RAW_TABLES[table].columns
        out = []
        for f in self.filters:
            if f.field not in allowed:
                # ClickHouse's wording: an IN list makes the name a possible table expression
                kind = "table expression" if f.op in ("in", "not_in") else "function"
                raise ParameterError(
                    f"Unknown expression or {kind} identifier `{f.field}`. In scope SELECT"
                )
            out.append(filter_condition(f))
        return out


def filter_condition(f: Filter) -> str:
    col = f.field
    values = f.value if isinstance(f.value, list) else [f.value]
    strings = [
        "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in values
    ]
    expr = f"CAST({col} AS VARCHAR)"
    if col == "path":
        expr = normalized_path("path")
        strings = [s if s in ("", "/") else (s.split("?")[0].rstrip("/") or "/") for s in strings]
    elif col == "referrer":
        expr = normalized_referrer("referrer")
        strings = [normalize_referrer_input(s) for s in strings]
    elif col == "device_type":
        expr = (
            "(CASE WHEN coalesce(device_type, '') = '' THEN 'desktop' ELSE lower(device_type) END)"
        )
        strings = [s.lower() for s in strings]
    first = strings[0] if strings else ""
    if f.op == "eq":
        return f"{expr} = {lit(first)}"
    if f.op == "ne":
        return f"{expr} != {lit(first)}"
    if f.op == "contains":
        return f"{expr} LIKE {lit('%' + _like_escape(first) + '%')} ESCAPE '\\'"
    if f.op == "not_contains":
        return f"{expr} NOT LIKE {lit('%' + _like_escape(first) + '%')} ESCAPE '\\'"
    if f.op == "starts_with":
        return f"{expr} LIKE {lit(_like_escape(first) + '%')} ESCAPE '\\'"
    if f.op == "in":
        return f"{expr} IN {lit_list(strings)}" if strings else "FALSE"
    return f"{expr} NOT IN {lit_list(strings)}" if strings else "TRUE"
