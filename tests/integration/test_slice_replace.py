"""DuckDB and PostgreSQL: a query table's package replaces its slices in one transaction, written
once (databuddy_source/merge/). Proved on a real database against the emulator's ground truth:
re-read slices and empty answers replace old rows, a failing job changes nothing, a package
whose table spans several files falls back to dlt's staged merge, and PostgreSQL's inline keys
of the delete match exactly (quotes, backslashes, line breaks)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from databuddy_source import resources
from databuddy_source.merge.postgres_client import delete_keys_sql

from .syncing import assert_table_equals_truth, pipeline_into, sync, table_rows
from .test_sync_duckdb import START, YESTERDAY, parents_of

TABLES = ["top_pages", "events_by_date"]


server = emulator_fixture()


@pytest.fixture(params=["duckdb", "postgres"])
def pipeline(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    return pipeline_into(request.param, tmp_path, request)


# SQL that makes the next insert into top_pages fail (after its delete ran), and undoes it
REFUSE_NEW_ROWS = {
    "postgres": (
        "ALTER TABLE top_pages ADD CONSTRAINT refuse_new CHECK (date < DATE '2026-03-13') "
        "NOT VALID",
        "ALTER TABLE top_pages DROP CONSTRAINT refuse_new",
    ),
    "duckdb": (  # DuckDB adds no constraint to a table: the file's column is missing instead
        "ALTER TABLE top_pages RENAME COLUMN pageviews TO refuse_new",
        "ALTER TABLE top_pages RENAME COLUMN refuse_new TO pageviews",
    ),
}


def merge_jobs(pipeline: Any) -> list[str]:
    """Names of the merge SQL jobs of the pipeline's last load package."""
    load_id = pipeline.last_trace.last_load_info.loads_ids[-1]
    done = Path(pipeline.working_dir) / "load" / "loaded" / load_id / "completed_jobs"
    return sorted(p.name.split(".")[0] for p in done.glob("*.sql"))


def staged(pipeline: Any, table: str) -> int:
    with pipeline.sql_client() as sql:
        with sql.with_staging_dataset():
            name = sql.make_qualified_table_name(table)
        return int(sql.execute_sql(f"SELECT count(*) FROM {name}")[0][0])


def assert_equal_truth(pipeline: Any, server: EmulatorServer) -> None:
    sites = parents_of(server)["website"]
    for name in TABLES:
        assert assert_table_equals_truth(pipeline, server, name, sites, START, YESTERDAY) > 0
        rows = table_rows(pipeline, name)
        assert not [r for r in rows if r["_empty_slice"]], f"{name}: a marker row was inserted"
        keys = {(r["website_id"], r["date"], r["_slice_row"]) for r in rows}
        assert len(keys) == len(rows), f"{name}: rows doubled"


def test_slices_are_replaced_in_place_and_vanished_rows_go(
    server: EmulatorServer, pipeline: Any
) -> None:
    sync(pipeline, server, start_date=START.isoformat(), queries=TABLES, rpc_collections=["none"])
    assert merge_jobs(pipeline) == ["sync_log"], "query tables need no merge job"
    assert all(staged(pipeline, name) == 0 for name in TABLES), "nothing went through staging"
    assert_equal_truth(pipeline, server)

    site = next(iter(parents_of(server)["website"]))
    deleted = next(
        w["id"]
        for w in server.emulator.store.registry.collection("websites").values()
        if w["deletedAt"]
    )
    with pipeline.sql_client() as sql:  # rows the API no longer has, in re-read slices
        sql.execute_sql(
            "INSERT INTO top_pages (website_id, date, name, pageviews, _slice_row) "
            "VALUES (%s, DATE '2026-03-13', '/ghost', 1, 999)",
            site,
        )
        sql.execute_sql(  # a soft-deleted website's row: nothing the API answers replaces it
            "INSERT INTO events_by_date (website_id, date, pageviews, _slice_row) "
            "VALUES (%s, DATE '2026-03-14', 7, 0)",
            deleted,
        )
    sync(pipeline, server, start_date=START.isoformat(), queries=TABLES, rpc_collections=["none"])
    assert not [r for r in table_rows(pipeline, "top_pages") if r["name"] == "/ghost"]
    # the soft-deleted website is neither listed nor answered: its rows stay as last read
    kept = [r for r in table_rows(pipeline, "events_by_date") if r["website_id"] == deleted]
    assert [r["pageviews"] for r in kept] == [7]
    assert_equal_truth(pipeline, server)


def test_a_failing_job_changes_nothing(server: EmulatorServer, pipeline: Any) -> None:
    sync(pipeline, server, start_date=START.isoformat(), queries=TABLES, rpc_collections=["none"])
    before = sorted(table_rows(pipeline, "top_pages"), key=lambda r: str(sorted(r.items())))
    refuse, allow = REFUSE_NEW_ROWS[pipeline.destination.destination_name]
    with pipeline.sql_client() as sql:  # the re-read rows are refused, after the delete
        sql.execute_sql(refuse)
    with pytest.raises(Exception, match=r"refuse_new|pageviews"):
        sync(
            pipeline, server, start_date=START.isoformat(), queries=TABLES, rpc_collections=["none"]
        )
    with pipeline.sql_client() as sql:
        sql.execute_sql(allow)
    after = sorted(table_rows(pipeline, "top_pages"), key=lambda r: str(sorted(r.items())))
    assert after == before, "the delete rolled back with the failed insert"
    sync(pipeline, server, start_date=START.isoformat(), queries=TABLES, rpc_collections=["none"])
    assert_equal_truth(pipeline, server)


def test_a_table_in_several_files_takes_the_staged_merge(
    server: EmulatorServer, pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources, "BATCH_ROWS", 100)  # tables handed to dlt in small batches
    monkeypatch.setenv("DATA_WRITER__FILE_MAX_ITEMS", "200")  # and dlt rotates files often
    sync(pipeline, server, start_date=START.isoformat(), queries=TABLES, rpc_collections=["none"])
    load_id = pipeline.last_trace.last_load_info.loads_ids[-1]
    done = Path(pipeline.working_dir) / "load" / "loaded" / load_id / "completed_jobs"
    assert len(list(done.glob("top_pages.*.parquet"))) > 1
    assert "top_pages" in merge_jobs(pipeline), "several files: dlt's merge through staging"
    assert_equal_truth(pipeline, server)
    sync(
        pipeline, server, start_date=START.isoformat(), queries=TABLES, rpc_collections=["none"]
    )  # re-reads the lookback
    assert_equal_truth(pipeline, server)


def test_the_delete_matches_exactly_the_files_keys(postgres_url: str, pg_dataset: str) -> None:
    import psycopg2

    ids = ["o'brien", "back\\slash", 'quote"d', "line\nbreak", "plain"]
    day, other = date(2026, 3, 1), date(2026, 3, 2)
    keys = pa.table({"website_id": ids, "date": pa.array([day] * len(ids), pa.date32())})
    con = psycopg2.connect(postgres_url)
    with con, con.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{pg_dataset}"')
        cur.execute(f'CREATE TABLE "{pg_dataset}".t (website_id varchar, date date, n bigint)')
        for i, site in enumerate([*ids, "o'brien2"]):
            for d in (day, other):
                cur.execute(f'INSERT INTO "{pg_dataset}".t VALUES (%s, %s, %s)', (site, d, i))
        table = f'"{pg_dataset}"."t"'
        cur.execute(delete_keys_sql(table, ['"website_id"', '"date"'], ["text", "date"], keys))
        assert cur.rowcount == len(ids)
        cur.execute(f'SELECT website_id, date FROM "{pg_dataset}".t')
        left = set(cur.fetchall())
    con.close()
    assert left == {(s, other) for s in ids} | {("o'brien2", day), ("o'brien2", other)}
