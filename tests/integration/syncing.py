"""Helpers for sync tests: run the source against an emulator, and compare a destination table
with the emulator's ground truth, slice by slice."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
from dlt.common.normalizers.naming.snake_case import NamingConvention

from databuddy_source import databuddy, last_report
from databuddy_source.catalog import table_spec
from databuddy_source.contract import QueryType, query_types_by_name
from databuddy_source.emulator.server import EmulatorServer
from databuddy_source.emulator.truth import expected_rows
from databuddy_source.resources import SyncReport

NAMING = NamingConvention()
AS_OF = "2026-03-15"


def make_pipeline(
    tmp: Path, name: str = "sync", destination: Any = None, dataset: str = "databuddy"
) -> Any:
    return dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(tmp / "pipelines"),
        dataset_name=dataset,
        destination=destination or dlt.destinations.duckdb(str(tmp / f"{name}.duckdb")),
    )


def sync(pipeline: Any, server: EmulatorServer, **options: Any) -> SyncReport:
    options.setdefault("as_of", AS_OF)
    source = databuddy(api_key=server.emulator.config.api_key, base_url=server.url, **options)
    report = last_report()
    assert report is not None
    pipeline.run(source)
    return report


def table_rows(pipeline: Any, table: str, where: str = "") -> list[dict[str, Any]]:
    with (
        pipeline.sql_client() as sql,
        sql.execute_query(f"SELECT * FROM {sql.make_qualified_table_name(table)} {where}") as cur,
    ):
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _value(kind: str, array: bool, value: Any) -> Any:
    if value is None:
        return None
    if array:
        return value  # stored as JSON text; compared by presence only
    if kind == "date":
        return date.fromisoformat(value[:10])
    if kind == "datetime":
        return datetime.fromisoformat(value.replace(" ", "T")).replace(
            microsecond=(datetime.fromisoformat(value.replace(" ", "T")).microsecond)
        )
    if kind == "number":
        return round(float(value), 6)
    return value


def _comparable(qtype: QueryType, row: dict[str, Any], from_table: bool) -> tuple[Any, ...]:
    out = []
    for f in qtype.fields:
        if f.array:
            continue
        name = NAMING.normalize_identifier(f.name)
        value = row.get(name) if from_table else _value(f.type, f.array, row.get(f.name))
        if from_table and isinstance(value, datetime):
            value = value.replace(tzinfo=None)
        if from_table and isinstance(value, float):
            value = round(value, 6)
        if isinstance(value, float) and math.isnan(value):
            value = None
        out.append(value)
    return tuple(out)


def truth_rows(
    server: EmulatorServer,
    name: str,
    scope: dict[str, str],
    start: date,
    end: date,
    limit: int = 10_000,
) -> list[dict[str, Any]]:
    """Every row the API would give for one slice, following pages where the type pages."""
    qtype = query_types_by_name()[name]
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        batch = expected_rows(
            server.emulator.store,
            name,
            start_date=start.isoformat(),
            end_date=end.isoformat(),
            limit=limit,
            page=page,
            **scope,
        )
        rows += batch
        if not (qtype.limit_applied and qtype.offset_applied and len(batch) >= limit):
            return rows
        page += 1


def days(start: date, end: date) -> Iterable[date]:
    while start <= end:
        yield start
        start += timedelta(days=1)


def assert_table_equals_truth(
    pipeline: Any,
    server: EmulatorServer,
    name: str,
    parents: dict[str, dict[str, str]],
    start: date,
    end: date,
) -> int:
    """Each parent's rows of ``name``, day by day, equal the API's: returns rows compared."""
    spec = table_spec(name)
    qtype = spec.qtype
    loaded: dict[tuple[str, date], list[tuple[Any, ...]]] = {}
    for row in table_rows(pipeline, spec.table_name):
        loaded.setdefault((row[spec.parent_column], row["date"]), []).append(
            _comparable(qtype, row, True)
        )
    compared = 0
    for parent_id, scope in parents.items():
        for day in days(start, end):  # every slice is a day: what the API says for that day
            want = sorted(
                (_comparable(qtype, r, False) for r in truth_rows(server, name, scope, day, day)),
                key=repr,
            )
            got = sorted(loaded.get((parent_id, day), []), key=repr)
            diff = [(g, w) for g, w in zip(got, want, strict=False) if g != w][:1]
            assert got == want, (
                f"{name} {parent_id} {day}: {len(got)} rows loaded, {len(want)} expected; "
                f"first difference (loaded, expected): {diff}"
            )
            compared += len(want)
    return compared
