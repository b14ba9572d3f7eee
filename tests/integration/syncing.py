"""Helpers for sync tests: run the source against an emulator, and compare a destination table
with the emulator's ground truth, slice by slice."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import httpx
from databuddy_emulator.server import EmulatorServer
from databuddy_emulator.truth import expected_rows
from dlt.common.normalizers.naming.snake_case import NamingConvention

from databuddy_source import databuddy, destinations
from databuddy_source.catalog import table_spec
from databuddy_source.contract import QueryType, query_types_by_name
from databuddy_source.resources import SyncReport

NAMING = NamingConvention()
AS_OF = "2026-03-15"


def daily_sync_module() -> Any:
    """The module of the ``databuddy-sync`` command (``pipelines/daily_sync.py`` runs it)."""
    from databuddy_source.cli import sync

    return sync


def make_pipeline(
    tmp: Path, name: str = "sync", destination: Any = None, dataset: str = "databuddy"
) -> Any:
    return dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(tmp / "pipelines"),
        dataset_name=dataset,
        destination=destination or destinations.duckdb(tmp / f"{name}.duckdb", memory_limit=None),
    )


def pipeline_into(kind: str, tmp: Path, request: Any) -> Any:
    """A sync pipeline into ``kind``: ``duckdb`` (a file in ``tmp``) or ``postgres`` (the test
    server and a dataset of its own, from the ``postgres_url`` and ``pg_dataset`` fixtures)."""
    if kind == "duckdb":
        return make_pipeline(tmp)
    url, dataset = request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_dataset")
    return make_pipeline(tmp, destination=destinations.postgres(url), dataset=dataset)


def sync(pipeline: Any, server: EmulatorServer, **options: Any) -> SyncReport:
    options.setdefault("as_of", AS_OF)
    source = databuddy(api_key=server.emulator.config.api_key, base_url=server.url, **options)
    report = source.report
    pipeline.run(source)
    return report


def table_rows(pipeline: Any, table: str, where: str = "") -> list[dict[str, Any]]:
    """Every row of ``table`` (``where``: the rest of the query) through the ``sql_client()`` of
    ``pipeline`` (a dlt pipeline on any SQL destination, or an object offering the same). A
    value the driver answers untyped is typed by the pipeline's schema, if it has one: SQLite
    answers dates and timestamps as text and booleans as 0/1."""
    with (
        pipeline.sql_client() as sql,
        sql.execute_query(f"SELECT * FROM {sql.make_qualified_table_name(table)} {where}") as cur,
    ):
        description = getattr(cur, "description", None)  # not on SQLAlchemy's cursor
        names = [d[0] for d in description] if description else list(cur.columns_schema)
        rows = cur.fetchall()
    has_schema = getattr(pipeline, "default_schema_name", None) is not None
    schemas = pipeline.default_schema.tables if has_schema else {}
    columns = schemas.get(table, {}).get("columns", {})
    types = {n: c.get("data_type") for n, c in columns.items()}
    return [{n: _typed(types.get(n), v) for n, v in zip(names, row, strict=True)} for row in rows]


def _typed(data_type: str | None, value: Any) -> Any:
    if isinstance(value, str) and data_type == "date":
        return date.fromisoformat(value)
    if isinstance(value, str) and data_type == "timestamp":
        return datetime.fromisoformat(value)
    if type(value) is int and data_type == "bool":
        return bool(value)
    return value


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


def change_objects(server: EmulatorServer) -> tuple[dict[str, Any], ...]:
    """Upstream changes between two syncs: a renamed funnel, a soft-deleted goal, a hard-deleted
    link. Returns the three objects as they were."""
    admin = f"{server.url}/__emulator__/objects"
    reg = server.emulator.store.registry
    funnel = next(f for f in reg.collection("funnels").values() if not f.get("deletedAt"))
    goal = next(g for g in reg.collection("goals").values() if not g.get("deletedAt"))
    link = next(x for x in reg.collection("links").values() if not x.get("deletedAt"))
    assert httpx.patch(f"{admin}/funnels/{funnel['id']}", json={"name": "Renamed"}).is_success
    assert httpx.delete(f"{admin}/goals/{goal['id']}").is_success
    assert httpx.delete(f"{admin}/links/{link['id']}", params={"hard": "true"}).is_success
    return funnel, goal, link
