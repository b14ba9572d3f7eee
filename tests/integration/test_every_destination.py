"""The same source, unchanged, against every dlt destination that really runs on this machine:
DuckDB (opened as ``daily_sync.py`` opens it), PostgreSQL (a real server) and dlt's SQLAlchemy
destination on SQLite. Each gets one scenario: a first sync that loads today's partial day, then
late data arrives and RPC objects change upstream (a rename, a soft delete, a hard delete), then
a second sync. After each sync every loaded table equals what the API answers, row for row, and
``daily_sync.py``'s summary counts the tables in the destination.

Not run here: BigQuery, Snowflake, ClickHouse and MotherDuck are services this machine cannot
reach (their documented configuration, schema and DDL are checked in
``test_warehouse_configs.py``, ClickHouse's also in chDB); the filesystem destination has no
delete-insert merge without a table format (``test_lakehouse.py``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import dlt
import httpx
import pytest
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from databuddy_source import databuddy, destinations
from databuddy_source.catalog import table_spec
from databuddy_source.contract import rpc_procedures
from databuddy_source.destinations import duckdb as duckdb_destination
from databuddy_source.resources import SyncReport
from databuddy_source.rpc_resources import COLLECTIONS

from .syncing import (
    assert_table_equals_truth,
    change_objects,
    daily_sync_module,
    make_pipeline,
    table_rows,
)
from .test_sync_duckdb import parents_of

# Every column type the source writes (text, bigint, double, date, timestamp, bool and, in the
# RPC tables, json), a paged breakdown, a daily series re-read for late data, a series that is
# empty for most websites (its slices' markers are hard deletes) and a second parent kind.
QUERIES = (
    "top_pages",
    "custom_events",
    "events_by_date",
    "revenue_time_series",
    "link_clicks_by_day",
)
RPC_COLLECTIONS = ("websites", "links", "funnels", "goals")
START, YESTERDAY = date(2026, 3, 12), date(2026, 3, 14)
TODAY, TOMORROW = date(2026, 3, 15), date(2026, 3, 16)


# A fresh emulator per test: the scenario moves its clock and changes its objects.
server = emulator_fixture()


@pytest.fixture(params=["duckdb", "postgres", "sqlalchemy_sqlite"])
def pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "duckdb":  # the file is not named after the dataset (dlt-notes.md)
        return make_pipeline(tmp_path, destination=duckdb_destination(tmp_path / "wh.duckdb"))
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        dataset = request.getfixturevalue("pg_dataset")
        return make_pipeline(tmp_path, destination=destinations.postgres(url), dataset=dataset)
    pytest.importorskip("sqlalchemy", reason="pip install 'dlt[sqlalchemy]'")
    sqlite = dlt.destinations.sqlalchemy(f"sqlite:///{tmp_path}/warehouse.db")
    return make_pipeline(tmp_path, destination=sqlite)


def test_the_source_loads_ground_truth(pipeline: Any, server: EmulatorServer) -> None:
    first = sync(pipeline, server, as_of=TODAY, include_today=True)
    assert_query_tables_equal_truth(pipeline, server, TODAY)
    listed_first = listed_objects(server)
    assert_rpc_tables_equal(pipeline, listed_first, vanished=set())
    partial = pageviews_of(pipeline, TODAY)

    change_objects(server)
    httpx.post(f"{server.url}/__emulator__/clock", json={"advance_seconds": 86_400})
    second = sync(pipeline, server, as_of=TOMORROW)

    assert_query_tables_equal_truth(pipeline, server, TODAY)
    grown = [
        key
        for key, views in pageviews_of(pipeline, TODAY).items()
        if views > partial.get(key, views)
    ]
    assert grown, "the partial day loaded first is complete now: the re-read must replace it"
    listed_now = listed_objects(server)
    vanished = {(name, i) for name, objects in listed_first.items() for i in objects} - {
        (name, i) for name, objects in listed_now.items() for i in objects
    }
    assert vanished, "the hard-deleted link is gone from its list"
    assert_rpc_tables_equal(pipeline, merge_listings(listed_first, listed_now), vanished)
    log = table_rows(pipeline, "sync_log")
    for report in (first, second):
        logged = [r for r in log if r["run_id"] == report.run_id]
        assert len(logged) == report.slices, f"sync_log of run {report.run_id}: one row a slice"


def sync(pipeline: Any, server: EmulatorServer, as_of: date, **options: Any) -> SyncReport:
    source = databuddy(
        api_key=server.emulator.config.api_key,
        base_url=server.url,
        queries=list(QUERIES),
        rpc_collections=list(RPC_COLLECTIONS),
        start_date=START.isoformat(),
        as_of=as_of.isoformat(),
        **options,
    )
    report = source.report
    pipeline.run(source)
    assert report.failures == []
    return report


def assert_query_tables_equal_truth(pipeline: Any, server: EmulatorServer, end: date) -> None:
    parents = parents_of(server)
    for name in QUERIES:
        spec = table_spec(name)
        family = parents[spec.qtype.project]
        compared = assert_table_equals_truth(pipeline, server, name, family, START, end)
        assert compared > 0, f"{name}: the API has no rows for it: the table proves nothing"
        # a parent deleted upstream (the hard-deleted link) keeps the days loaded while it existed
        unasked = {
            (row[spec.parent_column], row["date"])
            for row in table_rows(pipeline, spec.table_name)
            if row[spec.parent_column] in family and not START <= row["date"] <= end
        }
        assert not unasked, f"{name}: slices nobody asked for: {sorted(unasked)[:3]}"


def pageviews_of(pipeline: Any, day: date) -> dict[str, int]:
    return {
        r["website_id"]: r["pageviews"]
        for r in table_rows(pipeline, "events_by_date")
        if r["date"] == day
    }


# --- RPC objects: what the API lists, straight over HTTP ---

Listing = dict[str, dict[str, tuple[str | None, bool]]]  # collection -> id -> (name, deleted)


def listed_objects(server: EmulatorServer) -> Listing:
    """Each collection as the RPC API lists it now, per organization or per live website."""
    reg = server.emulator.store.registry
    org = reg.demo_org_id
    sites = [w["id"] for w in reg.websites_of(org) if not w.get("deletedAt")]
    paths = {p["id"]: p["rpc_path"] for p in rpc_procedures()}
    listing: Listing = {}
    with httpx.Client(
        base_url=server.url, headers={"x-api-key": server.emulator.config.api_key}, timeout=30
    ) as http:
        for name in RPC_COLLECTIONS:
            collection = COLLECTIONS[name]
            inputs = (
                [{"organizationId": org}]
                if collection.scope == "organization"
                else [{"websiteId": site, **dict(collection.extra_input)} for site in sites]
            )
            listing[name] = {}
            for body in inputs:
                answer = http.post(paths[collection.procedure], json={"json": body})
                assert answer.is_success, answer.text
                for obj in answer.json()["json"]:
                    listing[name][obj["id"]] = (obj.get("name"), obj.get("deletedAt") is not None)
    return listing


def merge_listings(before: Listing, now: Listing) -> Listing:
    """What the tables must hold after both syncs: every object seen, as listed now, and the
    ones no longer listed marked deleted."""
    return {
        name: {**{i: (n, True) for i, (n, _) in before[name].items()}, **now[name]}
        for name in RPC_COLLECTIONS
    }


def assert_rpc_tables_equal(
    pipeline: Any, expected: Listing, vanished: set[tuple[str, str]]
) -> None:
    for name in RPC_COLLECTIONS:
        rows = table_rows(pipeline, name)
        ids = [r["id"] for r in rows]
        assert len(ids) == len(set(ids)), f"{name}: an object loaded twice"
        got = {r["id"]: (r.get("name"), r["is_deleted"]) for r in rows}
        assert got == expected[name], f"{name}: loaded {got}, the API lists {expected[name]}"
        gone = {r["id"] for r in rows if r["vanished_at"] is not None}
        assert gone == {i for n, i in vanished if n == name}, f"{name}: vanished_at on {gone}"


# --- what daily_sync.py prints after a run ---


def test_daily_sync_summary_counts_the_loaded_tables(
    pipeline: Any, server: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    source = databuddy(
        api_key=server.emulator.config.api_key,
        base_url=server.url,
        queries=["top_pages"],
        rpc_collections=["websites"],
        start_date=YESTERDAY.isoformat(),
        as_of=TODAY.isoformat(),
    )
    report = source.report
    pipeline.run(source)
    removed = table_rows(pipeline, "websites")[0]["id"]  # the table now differs from the run
    with pipeline.sql_client() as sql:
        sql.execute_sql(
            f"DELETE FROM {sql.make_qualified_table_name('websites')} WHERE id = '{removed}'"
        )
    rows = {name: len(table_rows(pipeline, name)) for name in ("top_pages", "websites")}
    daily_sync_module().summarize(pipeline, report)
    assert (
        f"Tables (rows): sync_log {report.slices}, top_pages {rows['top_pages']}, "
        f"websites {rows['websites']}" in capsys.readouterr().out
    )
