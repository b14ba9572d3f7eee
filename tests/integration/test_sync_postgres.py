"""The dlt source into a real PostgreSQL server: tables equal the emulator's ground truth, and
a second run after late data replaces the re-read slices without duplicates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from databuddy_source import destinations

from .syncing import make_pipeline, sync, table_rows
from .test_sync_duckdb import START, assert_all_tables_equal_truth

server = emulator_fixture()


def test_postgres_tables_equal_ground_truth(
    server: EmulatorServer, tmp_path: Path, postgres_url: str, pg_dataset: str
) -> None:
    pipeline = make_pipeline(
        tmp_path, destination=destinations.postgres(postgres_url), dataset=pg_dataset
    )
    report = sync(pipeline, server, start_date=START.isoformat(), include_today=True)
    assert report.failures == []
    httpx.post(f"{server.url}/__emulator__/clock", json={"advance_seconds": 86_400})
    sync(pipeline, server, start_date=START.isoformat(), as_of="2026-03-16")
    compared = assert_all_tables_equal_truth(pipeline, server, START, date(2026, 3, 15))
    assert compared > 5_000
    keys = [(r["website_id"], r["date"], r["name"]) for r in table_rows(pipeline, "top_pages")]
    assert len(keys) == len(set(keys)), "no duplicates after re-reading slices"
    with pipeline.sql_client() as sql:
        kinds = dict(
            sql.execute_sql(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'events_by_date'",
                pg_dataset,
            )
        )
    assert kinds["date"] == "date" and kinds["pageviews"] == "bigint"
    assert kinds["bounce_rate"] == "double precision"
