"""``POST /v1/query/custom`` as the API defines it: the tables and columns it reads, its
aggregates, operators and bounds. One definition for the connector (which checks custom reports
against it) and the emulator (which serves the endpoint from it).

Every column may be grouped by and filtered on; ``sum``/``avg``/``min``/``max`` apply to numeric
columns only, ``count``/``uniq`` to any column (and ``count`` to ``*``). Ids, sessions, visitors
and timestamps are not exposed. A table's rows are those of the website (``client_id``) whose
``time`` column falls in the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Aggregate = Literal["count", "sum", "avg", "max", "min", "uniq"]
AGGREGATES: tuple[Aggregate, ...] = ("count", "sum", "avg", "max", "min", "uniq")
COMPARISONS = ("eq", "ne", "gt", "lt", "gte", "lte")
OPERATORS = (*COMPARISONS, "contains", "not_contains", "starts_with", "in", "not_in")
GRANULARITIES = ("hourly", "daily")  # accepted, and not used: no time bucket
MAX_SELECTS, MAX_FILTERS, MAX_GROUP_BY = 10, 20, 5
DEFAULT_LIMIT, MAX_LIMIT = 1000, 10_000

ColumnType = Literal["text", "integer", "float32", "float64"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column the endpoint reads: its storage type, and whether it may be null."""

    name: str
    type: ColumnType = "text"
    nullable: bool = True

    @property
    def numeric(self) -> bool:
        return self.type != "text"


@dataclass(frozen=True, slots=True)
class CustomTable:
    """A table of the endpoint: its time column (what the range selects on) and columns."""

    time: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _text(*names: str, nullable: bool = True) -> tuple[Column, ...]:
    return tuple(Column(n, "text", nullable) for n in names)


TABLES: dict[str, CustomTable] = {
    "events": CustomTable(
        "time",
        (
            *_text("event_name", nullable=False),
            *_text("referrer"),
            *_text("path", nullable=False),
            *_text("title", "browser_name", "os_name", "device_type", "country", "region"),
            *_text("city", "language", "utm_source", "utm_medium", "utm_campaign"),
            Column("time_on_page", "float32"),
            Column("scroll_depth", "float32"),
            Column("page_count", "integer", nullable=False),
            Column("load_time", "integer"),
            Column("ttfb", "integer"),
        ),
    ),
    "error_spans": CustomTable(
        "timestamp",
        (*_text("path", "message", "error_type", nullable=False), *_text("filename")),
    ),
    "web_vitals_spans": CustomTable(
        "timestamp",
        (*_text("path", "metric_name", nullable=False), Column("metric_value", "float64", False)),
    ),
    "outgoing_links": CustomTable("timestamp", (*_text("href", nullable=False), *_text("text"))),
}
