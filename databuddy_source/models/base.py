"""What a model is (a view: its columns, their types and meaning, its ``SELECT``) and the SQL
pieces the models share. The SQL runs as written on DuckDB and PostgreSQL: explicit casts to
``DOUBLE PRECISION`` for ratios, ``NULLIF`` against division by zero, no dialect functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PeriodGrain = Literal["week", "month"]
ColumnType = Literal["text", "bigint", "double", "date", "boolean"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a view: its name, its SQL type (the same in DuckDB and PostgreSQL) and
    what it means."""

    name: str
    type: ColumnType
    doc: str


@dataclass(frozen=True, slots=True)
class ViewModel:
    """One view: its name, what a row is, the synced tables it reads, its columns in order and
    its ``SELECT`` (``{table}`` placeholders for the tables it reads)."""

    name: str
    summary: str
    tables: tuple[str, ...]
    columns: tuple[Column, ...]
    select: str

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


WEBSITE_ID = Column("website_id", "text", "the website's id (Databuddy's `website_id`)")
DAY = Column("date", "date", "the day (in the sync's `timezone`)")
PAGEVIEWS_SHARE = Column(
    "pageviews_share_pct",
    "double",
    "this row's share of the page views of all rows of its {scope}, in percent (0-100)",
)


def ratio(part: str, whole: str, scale: int = 1) -> str:
    """``scale * part / whole`` as a double; null where ``whole`` is 0 or null."""
    factor = f"{scale} * " if scale != 1 else ""
    return (
        f"{factor}CAST({part} AS DOUBLE PRECISION) / NULLIF(CAST({whole} AS DOUBLE PRECISION), 0)"
    )
