"""The source as Delta tables on a local bucket (dlt's filesystem destination, ``as_delta``), read
back with DuckDB: tables equal the emulator's ground truth row for row, query tables are
partitioned by ``date``, a re-read day is replaced as a whole (late data in, rows the API no
longer returns out) in one commit, and a ``replace`` table is overwritten."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import dlt
import duckdb
import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from databuddy_source import ConfigurationError, databuddy
from databuddy_source.catalog import DEFAULT_QUERY_TYPES, table_spec
from databuddy_source.lakehouse import as_delta
from databuddy_source.resources import SyncReport

from .syncing import AS_OF, assert_table_equals_truth, table_rows
from .test_sync_duckdb import assert_all_tables_equal_truth, parents_of

deltalake = pytest.importorskip("deltalake", reason="the lakehouse extra (deltalake) is missing")

START = date(2026, 3, 8)
YESTERDAY = date(2026, 3, 14)
DATASET = "databuddy"


class DeltaTables:
    """The Delta tables of one dataset read with DuckDB, through ``deltalake`` into Arrow
    (DuckDB's own delta extension is a download, and this machine has no network). It offers
    the ``sql_client()`` that ``syncing.table_rows`` uses, so tables are compared with ground
    truth by the same functions as on DuckDB and PostgreSQL."""

    def __init__(self, dataset: Path) -> None:
        self.dataset = dataset

    def table(self, name: str) -> Any:
        return deltalake.DeltaTable(str(self.dataset / name))

    @contextmanager
    def sql_client(self) -> Iterator[Any]:
        connection = duckdb.connect()
        try:
            yield _DuckDBClient(self, connection)
        finally:
            connection.close()


class _DuckDBClient:
    def __init__(self, tables: DeltaTables, connection: Any) -> None:
        self._tables = tables
        self._connection = connection

    def make_qualified_table_name(self, name: str) -> str:
        self._connection.register(name, self._tables.table(name).to_pyarrow_table())
        return f'"{name}"'

    @contextmanager
    def execute_query(self, query: str) -> Iterator[Any]:
        yield self._connection.execute(query)


# A fresh emulator per test: tests here move its clock.
server = emulator_fixture()


@pytest.fixture()
def lake(tmp_path: Path) -> DeltaTables:
    return DeltaTables(tmp_path / "bucket" / DATASET)


def lake_pipeline(tmp_path: Path) -> Any:
    return dlt.pipeline(
        pipeline_name="lake",
        pipelines_dir=str(tmp_path / "pipelines"),
        dataset_name=DATASET,
        destination=dlt.destinations.filesystem((tmp_path / "bucket").as_uri()),
    )


def sync_to_lake(
    pipeline: Any, server: EmulatorServer, hints: dict[str, Any] | None = None, **options: Any
) -> SyncReport:
    """One run of a fresh source as Delta tables (``hints``: table -> extra hints first)."""
    options.setdefault("as_of", AS_OF)
    source = databuddy(api_key=server.emulator.config.api_key, base_url=server.url, **options)
    for name, table_hints in (hints or {}).items():
        source.resources[name].apply_hints(**table_hints)
    report = source.report
    pipeline.run(as_delta(source))
    return report


def set_clock(server: EmulatorServer, **body: Any) -> None:
    assert httpx.post(f"{server.url}/__emulator__/clock", json=body).is_success


def rows_by_slice(lake: DeltaTables, name: str) -> dict[tuple[str, date], list[dict[str, Any]]]:
    parent = table_spec(name).parent_column
    out: dict[tuple[str, date], list[dict[str, Any]]] = {}
    for row in table_rows(lake, name, "ORDER BY _slice_row"):
        out.setdefault((row[parent], row["date"]), []).append(row)
    return out


def assert_partitioned_by_date(lake: DeltaTables, name: str) -> None:
    """Every data file of ``name`` sits in the ``date=`` folder of the one day it holds."""
    table = lake.table(name)
    assert table.metadata().partition_columns == ["date"], name
    files = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    for f in files:
        assert f["path"].startswith(f"date={f['partition.date'].isoformat()}/"), (name, f["path"])
    loaded = {r["date"] for r in table_rows(lake, name)}
    assert {f["partition.date"] for f in files if f["num_records"]} == loaded, name


def test_first_run_equals_ground_truth_partitioned_by_date(
    server: EmulatorServer, tmp_path: Path, lake: DeltaTables
) -> None:
    first_day = date(2026, 3, 12)  # three days of every default table: each type's columns
    report = sync_to_lake(lake_pipeline(tmp_path), server, start_date=first_day.isoformat())
    assert report.failures == []
    assert assert_all_tables_equal_truth(lake, server, first_day, YESTERDAY) > 4_000
    for name in DEFAULT_QUERY_TYPES:
        assert_partitioned_by_date(lake, name)
        assert lake.table(name).version() == 0, f"{name}: one commit per load"
    log = table_rows(lake, "sync_log")
    assert len(log) == report.slices and all(r["error"] is None for r in log)
    reg = server.emulator.store.registry
    websites = {r["id"] for r in table_rows(lake, "websites")}
    assert websites == {w["id"] for w in reg.websites_of(reg.demo_org_id)}


def test_a_reread_day_the_api_now_answers_with_fewer_rows_is_replaced(
    server: EmulatorServer, tmp_path: Path, lake: DeltaTables
) -> None:
    queries = ["top_pages", "events_by_date", "country", "custom_events"]
    pipeline = lake_pipeline(tmp_path)
    options = {"start_date": "2026-03-10", "as_of": "2026-03-16", "rpc_collections": ["none"]}
    set_clock(server, advance_seconds=86_400)  # 2026-03-16 12:00: 03-15 is complete
    sync_to_lake(pipeline, server, queries=queries, **options)
    before = {name: rows_by_slice(lake, name) for name in queries}
    versions = {name: lake.table(name).version() for name in queries}
    # Back to 03:00 on 03-15: the API answers the re-read days (03-14 and 03-15) with what had
    # arrived by then, so 03-15 has far fewer rows for the busy sites and none for a quiet one.
    set_clock(server, set="2026-03-15T03:00:00+00:00", frozen=True)
    sync_to_lake(pipeline, server, queries=queries, **options)
    reread = (date(2026, 3, 14), date(2026, 3, 15))
    sites = parents_of(server)["website"]
    for name in queries:
        assert_table_equals_truth(lake, server, name, sites, *reread)
        after = rows_by_slice(lake, name)
        old = {k: v for k, v in before[name].items() if k[1] < reread[0]}
        assert {k: v for k, v in after.items() if k[1] < reread[0]} == old, f"{name}: old days"
        assert lake.table(name).version() == versions[name] + 1, f"{name}: one commit"
    top_pages = rows_by_slice(lake, "top_pages")
    fewer = [k for k, v in before["top_pages"].items() if 0 < len(top_pages.get(k, [])) < len(v)]
    emptied = [k for k in before["top_pages"] if k[1] == reread[1] and k not in top_pages]
    assert fewer and emptied, "the scenario must shrink some slices and empty others"


def test_daily_run_picks_up_late_data_and_drops_vanished_rows(
    server: EmulatorServer, tmp_path: Path, lake: DeltaTables
) -> None:
    queries = ["top_pages", "events_by_date"]
    pipeline = lake_pipeline(tmp_path)
    options = {"start_date": START.isoformat(), "queries": queries, "rpc_collections": ["none"]}
    sync_to_lake(pipeline, server, include_today=True, **options)  # today: partial
    before = {
        (r["website_id"], r["date"]): r["pageviews"] for r in table_rows(lake, "events_by_date")
    }
    reread_day = lake.table("top_pages").to_pyarrow_table().filter(pc.field("date") == YESTERDAY)
    ghost = reread_day.slice(0, 1)  # a row the API never answered, in a day the next run reads
    ghost = ghost.set_column(ghost.schema.get_field_index("name"), "name", pa.array(["/ghost"]))
    ghost = ghost.set_column(ghost.schema.get_field_index("_slice_row"), "_slice_row", [[999]])
    deltalake.write_deltalake(str(lake.dataset / "top_pages"), ghost, mode="append")
    assert [r for r in table_rows(lake, "top_pages") if r["name"] == "/ghost"]
    set_clock(server, advance_seconds=86_400)
    sync_to_lake(pipeline, server, as_of="2026-03-16", **options)
    assert not [r for r in table_rows(lake, "top_pages") if r["name"] == "/ghost"], "ghost kept"
    after = {
        (r["website_id"], r["date"]): r["pageviews"] for r in table_rows(lake, "events_by_date")
    }
    grown = [k for k, v in before.items() if k[1] == date(2026, 3, 15) and after[k] > v]
    assert grown, "the partial day loaded by the first run is complete now"
    for name in queries:
        assert_table_equals_truth(
            lake, server, name, parents_of(server)["website"], START, date(2026, 3, 15)
        )


def test_a_replace_table_is_overwritten_by_each_run(
    server: EmulatorServer, tmp_path: Path, lake: DeltaTables
) -> None:
    pipeline = lake_pipeline(tmp_path)
    options: dict[str, Any] = {
        "start_date": YESTERDAY.isoformat(),
        "queries": ["summary_metrics"],
        "rpc_collections": ["links", "funnels"],
        "hints": {"links": {"write_disposition": "replace"}},
    }
    sync_to_lake(pipeline, server, **options)
    for name in ("links", "funnels"):  # a row the API never listed, in each table
        ghost = lake.table(name).to_pyarrow_table().slice(0, 1)
        ghost = ghost.set_column(ghost.schema.get_field_index("id"), "id", pa.array(["ghost"]))
        deltalake.write_deltalake(str(lake.dataset / name), ghost, mode="append")
    sync_to_lake(pipeline, server, **options)
    links = [r["id"] for r in table_rows(lake, "links")]
    assert sorted(links) == sorted(server.emulator.store.registry.collection("links"))
    assert lake.table("links").history(1)[0]["operationParameters"]["mode"] == "Overwrite"
    funnels = {r["id"] for r in table_rows(lake, "funnels")}
    assert "ghost" in funnels, "an upsert (merge) table keeps rows it was not given"


def test_rpc_history_cannot_be_loaded_as_delta(server: EmulatorServer) -> None:
    source = databuddy(
        api_key=server.emulator.config.api_key,
        base_url=server.url,
        as_of=AS_OF,
        queries=["summary_metrics"],
        rpc_collections=["links"],
        rpc_history=True,
    )
    with pytest.raises(ConfigurationError, match="rpc_history"):
        as_delta(source)


def test_a_run_that_reads_only_empty_slices_empties_them(tmp_path: Path, lake: DeltaTables) -> None:
    """The edge the emulator rarely hits: every batch of a table holds only empty-slice
    markers (here a first load, then a re-read that empties one of two parents' day)."""
    spec = table_spec("events_by_date")
    day = pa.array([YESTERDAY] * 2, pa.date32())

    @dlt.source(name="databuddy")
    def one_table(batch: pa.Table) -> Any:
        return dlt.resource(
            [batch],
            name=spec.table_name,
            write_disposition={"disposition": "merge", "strategy": "delete-insert"},
            merge_key=spec.merge_key,
            primary_key=spec.primary_key,
            columns={"_empty_slice": {"data_type": "bool", "hard_delete": True}},
        )

    def load(sites: list[str], pageviews: list[int | None], empty: list[bool | None]) -> None:
        batch = pa.table(
            {
                "website_id": sites,
                "date": day,
                "pageviews": pa.array(pageviews, pa.int64()),
                "_slice_row": pa.array([0, 0], pa.int64()),
                "_empty_slice": pa.array(empty, pa.bool_()),
            }
        )
        lake_pipeline(tmp_path).run(as_delta(one_table(batch)))

    load(["a", "b"], [None, None], [True, True])
    assert table_rows(lake, spec.table_name) == []
    load(["a", "b"], [5, 7], [None, None])
    assert len(table_rows(lake, spec.table_name)) == 2
    load(["a", "b"], [None, 9], [True, None])
    assert [(r["website_id"], r["pageviews"]) for r in table_rows(lake, spec.table_name)] == [
        ("b", 9)
    ]
