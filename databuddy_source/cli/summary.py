"""What ``databuddy-sync`` prints after a run: what it read, what changed at the destination
(counted from ``sync_log``: each slice this run read against the last run that read it), and
where it went."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class Changes:
    """This run's slices against the last earlier read of each (from ``sync_log``)."""

    first_slices: int = 0  # never read before
    first_rows: int = 0
    first_days: tuple[date, date] | None = None
    reread_slices: int = 0  # read before: late data may have changed them
    reread_days: tuple[date, date] | None = None
    changed_slices: int = 0  # re-read with another row count than last time
    rows_new: int = 0  # rows of first reads, plus rows a re-read slice has more than before
    rows_gone: int = 0  # rows a re-read slice has fewer than before

    def describe(self) -> str:
        parts = []
        if self.first_slices:
            parts.append(
                f"read {_count(self.first_slices, 'slice')}{_days(self.first_days)} for the "
                f"first time"
            )
        if self.reread_slices:
            parts.append(
                f"re-read {_count(self.reread_slices, 'slice')}{_days(self.reread_days)}: "
                f"{self.changed_slices:,} changed"
            )
        if not parts:
            return "Changes: no slice was read."
        gone = f", {self.rows_gone:,} fewer" if self.rows_gone else ""
        return f"Changes: {'; '.join(parts)}; {self.rows_new:,} rows new{gone}."


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _days(span: tuple[date, date] | None) -> str:
    if span is None:
        return ""
    first, last = span
    days = (last - first).days + 1
    if days == 1:
        return f" of {first}"
    return f" of {days} days ({first}..{last})"


def changes(pipeline: Any, run_id: str) -> Changes | None:
    """Compare the run's ``sync_log`` rows with each slice's latest earlier read; None when
    the destination cannot be queried with SQL (files) or has no ``sync_log``."""
    try:
        with pipeline.sql_client() as sql:
            if not sql.has_dataset():
                return None
            return _changes(sql, run_id)
    except Exception:  # a destination without SQL, or no sync_log table yet
        return None


def _changes(sql: Any, run_id: str) -> Changes:
    log = sql.make_qualified_table_name("sync_log")
    c = {n: sql.escape_column_name(n) for n in ("table_name", "parent_id", "slice_date", "rows")}

    def same(alias: str) -> str:
        keys = ("table_name", "parent_id", "slice_date")
        return " AND ".join(f"{alias}.{c[k]} = cur.{c[k]}" for k in keys)

    query = f"""
        WITH cur AS (
            SELECT {c["table_name"]}, {c["parent_id"]}, {c["slice_date"]}, {c["rows"]}
            FROM {log} WHERE run_id = %s AND error IS NULL
        ), prev AS (
            SELECT s.{c["table_name"]}, s.{c["parent_id"]}, s.{c["slice_date"]}, s.{c["rows"]},
                ROW_NUMBER() OVER (PARTITION BY s.{c["table_name"]}, s.{c["parent_id"]},
                    s.{c["slice_date"]} ORDER BY s.run_started_at DESC) AS latest
            FROM {log} AS s JOIN cur ON {same("s")}
            WHERE s.run_id <> %s AND s.error IS NULL
        )
        SELECT cur.{c["slice_date"]}, cur.{c["rows"]}, prev.{c["rows"]}
        FROM cur LEFT JOIN prev ON {same("prev")} AND prev.latest = 1
    """
    rows = sql.execute_sql(query, run_id, run_id) or []
    first = [(day, n) for day, n, before in rows if before is None]
    again = [(day, n, before) for day, n, before in rows if before is not None]
    return Changes(
        first_slices=len(first),
        first_rows=sum(n for _, n in first),
        first_days=_span([day for day, _ in first]),
        reread_slices=len(again),
        reread_days=_span([day for day, _, _ in again]),
        changed_slices=sum(1 for _, n, before in again if n != before),
        rows_new=sum(n for _, n in first) + sum(max(n - b, 0) for _, n, b in again),
        rows_gone=sum(max(b - n, 0) for _, n, b in again),
    )


def _span(days: list[Any]) -> tuple[date, date] | None:
    as_dates = [d if isinstance(d, date) else date.fromisoformat(str(d)[:10]) for d in days]
    return (min(as_dates), max(as_dates)) if as_dates else None


def table_counts(pipeline: Any) -> list[str]:
    """``"<table> <rows>"`` for every data table the pipeline has loaded, counted in the
    destination itself. The tables come from the pipeline's schema, not a catalog query, and
    dlt qualifies each name as the destination needs (a dataset schema on most, an upper-case
    one on Snowflake, a table-name prefix on ClickHouse, none on SQLite)."""
    names = sorted(pipeline.default_schema.data_table_names(seen_data_only=True))
    counts = []
    with pipeline.sql_client() as sql:
        for name in names:
            rows = sql.execute_sql(f"SELECT count(*) FROM {sql.make_qualified_table_name(name)}")
            counts.append(f"{name} {rows[0][0]}")
    return counts


def destination_text(pipeline: Any) -> str:
    """Where the data went, with no secret: ``duckdb /path/file.duckdb``, ``postgres
    host:port/database``, or the destination's name."""
    kind = str(pipeline.destination.destination_type).rsplit(".", 1)[-1]
    try:
        credentials = pipeline.destination_client().config.credentials
    except Exception:
        return kind
    database = getattr(credentials, "database", None)
    host = getattr(credentials, "host", None)
    if kind == "duckdb" and database:
        return f"duckdb {database}"
    if host:
        port = getattr(credentials, "port", None)
        return f"{kind} {host}{f':{port}' if port else ''}/{database or ''}"
    return kind


def summarize(pipeline: Any, report: Any, started: float | None = None) -> None:
    """Print what the run read, what changed, where it went and the tables' row counts."""
    print(
        f"Run {report.run_id}: {report.slices:,} slices in {report.requests:,} query requests "
        f"({report.retries} retries, {report.rate_limited} rate-limited), {report.rows:,} rows "
        "read"
        + (
            f", {report.possibly_truncated} slices possibly truncated"
            if report.possibly_truncated
            else ""
        )
        + "."
    )
    for line in report.notices():  # skipped by the plan, the key's scopes, the API's catalogue
        print(f"Note: {line}.", flush=True)
    found = changes(pipeline, report.run_id)
    if found is not None:
        print(found.describe())
    took = f" in {time.monotonic() - started:.1f} s" if started is not None else ""
    print(f"Loaded into {destination_text(pipeline)}, dataset {pipeline.dataset_name}{took}.")
    try:
        counts = table_counts(pipeline)
    except Exception:  # a destination without SQL over its tables (plain files, Delta offline)
        counts = []
    if not counts:
        info = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
        rows = info.row_counts if info else {}
        counts = [f"{name} {n}" for name, n in sorted(rows.items()) if not name.startswith("_dlt")]
        print("Rows loaded by this run, per table: " + ", ".join(counts))
        return
    print("Tables (rows): " + ", ".join(counts))
