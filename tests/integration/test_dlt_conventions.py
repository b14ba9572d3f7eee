"""dlt's conventions on the synced tables: every query-type row carries the ``_dlt_load_id`` of
the package that wrote it, so joins with ``_dlt_loads`` work (on DuckDB and PostgreSQL through
the in-place replace of merge/replace.py), and ``pipeline.dataset()`` reads the
tables (it broke with sqlglot 30.22+; pyproject.toml keeps sqlglot below)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from .syncing import pipeline_into, sync

TABLES = ["top_pages", "events_by_date"]


server = emulator_fixture()


@pytest.fixture(params=["duckdb", "postgres"])
def pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return pipeline_into(request.param, tmp_path, request)


def loads_per_row(pipeline: Any, table: str) -> dict[str, int]:
    """Rows of ``table`` per load id, joined to ``_dlt_loads`` (status 0: completed)."""
    query = (
        f"SELECT l.load_id, count(*) FROM {table} t JOIN _dlt_loads l "
        "ON t._dlt_load_id = l.load_id WHERE l.status = 0 GROUP BY l.load_id"
    )
    with pipeline.sql_client() as sql:
        return {str(load_id): int(n) for load_id, n in sql.execute_sql(query)}


def row_count(pipeline: Any, table: str) -> int:
    with pipeline.sql_client() as sql:
        return int(sql.execute_sql(f"SELECT count(*) FROM {table}")[0][0])


def test_every_row_joins_the_load_that_wrote_it(server: EmulatorServer, pipeline: Any) -> None:
    sync(pipeline, server, queries=TABLES, start_date="2026-03-08", rpc_collections=["none"])
    first = pipeline.last_trace.last_load_info.loads_ids[-1]
    for table in TABLES:
        assert loads_per_row(pipeline, table) == {first: row_count(pipeline, table)} != {first: 0}
    # the next run re-reads the lookback days: their rows now belong to the second load
    sync(pipeline, server, queries=TABLES, rpc_collections=["none"])
    second = pipeline.last_trace.last_load_info.loads_ids[-1]
    for table in TABLES:
        per_load = loads_per_row(pipeline, table)
        assert set(per_load) == {first, second}, table
        assert sum(per_load.values()) == row_count(pipeline, table)
    column = pipeline.default_schema.get_table_columns("top_pages")["_dlt_load_id"]
    assert column["data_type"] == "text"
    # written as dlt writes it for Arrow: one dictionary value (both destinations take them)
    done = Path(pipeline.working_dir) / "load" / "loaded" / second / "completed_jobs"
    jobs = list(done.glob("top_pages.*.parquet"))
    assert jobs and all(
        pa.types.is_dictionary(pq.read_schema(job).field("_dlt_load_id").type) for job in jobs
    )


def test_pipeline_dataset_reads_the_synced_tables(server: EmulatorServer, pipeline: Any) -> None:
    sync(pipeline, server, queries=TABLES, start_date="2026-03-12", rpc_collections=["none"])
    dataset = pipeline.dataset()
    for table in TABLES:
        rows = dataset[table].select("website_id", "date", "_dlt_load_id").fetchall()
        assert len(rows) == row_count(pipeline, table) > 0
    assert len(dataset.top_pages.limit(5).fetchall()) == 5
