"""A good citizen: a Databuddy sync in a process changes nothing for the other dlt pipelines
there. After a sync into DuckDB or PostgreSQL, an unrelated pipeline (merge tables with
duplicate primary keys in one package, with and without a merge key, one of the query tables'
very shape, hard deletes) loads exactly what it loads in a fresh process that never imported
``databuddy_source``, through dlt's destination and through ours alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import psycopg2
import pytest
from databuddy_emulator.server import EmulatorServer
from psycopg2 import sql as pgsql

from databuddy_source import destinations

from . import unrelated_pipeline
from .syncing import make_pipeline, sync

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ["top_pages", "events_by_date"]


def fresh_process_load(kind: str, target: str, dataset: str, tmp: Path) -> Any:
    """The unrelated pipeline's tables as a process that never imported us loads them."""
    out = tmp / "fresh.json"
    subprocess.run(
        [sys.executable, "-m", "tests.integration.unrelated_pipeline", kind, target, dataset, out],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=300,
    )
    return json.loads(out.read_text())


def same_process_load(destination: Any, dataset: str, tmp: Path) -> Any:
    pipeline = dlt.pipeline(
        "unrelated_here",
        pipelines_dir=str(tmp / "here"),
        destination=destination,
        dataset_name=dataset,
    )
    return json.loads(json.dumps(unrelated_pipeline.load(pipeline)))


def assert_dlt_semantics(tables: Any) -> None:
    """What dlt itself makes of the packages: one row per primary key, hard deletes done."""
    orders = tables["shop_orders"]
    assert orders[0] == ["amount", "day", "deleted", "order_id"]
    assert [(r[3], r[1]) for r in orders[1:]] == [("1", "2026-01-01"), ("4", "2026-01-01")]
    customers = tables["shop_customers"]
    assert sorted(r[customers[0].index("id")] for r in customers[1:]) == ["1", "2", "5"]
    visits = tables["shop_visits"]
    assert len(visits) - 1 == 3  # (a, d1, 0), (a, d1, 1) replaced by (a, d1, 0) once; b twice


@pytest.fixture()
def pg_fresh_dataset(postgres_url: str, pg_dataset: str) -> Iterator[str]:
    name = f"{pg_dataset}_fresh"
    yield name
    conn = psycopg2.connect(postgres_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        for schema in (name, f"{name}_staging"):
            cur.execute(
                pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(schema))
            )
    conn.close()


@pytest.mark.parametrize("through", ["dlt", "databuddy"])
def test_duckdb_unrelated_pipeline_loads_as_without_us(
    server: EmulatorServer, tmp_path: Path, through: str
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    ours = make_pipeline(tmp_path, destination=destinations.duckdb(warehouse))
    assert sync(ours, server, queries=QUERIES, start_date="2026-03-10").slices > 0
    factory = destinations.duckdb(warehouse) if through == "databuddy" else None
    here = same_process_load(factory or dlt.destinations.duckdb(str(warehouse)), "shop", tmp_path)
    fresh = fresh_process_load("duckdb", str(tmp_path / "fresh.duckdb"), "shop", tmp_path)
    assert_dlt_semantics(fresh)
    assert here == fresh


@pytest.mark.parametrize("through", ["dlt", "databuddy"])
def test_postgres_unrelated_pipeline_loads_as_without_us(
    server: EmulatorServer,
    tmp_path: Path,
    postgres_url: str,
    pg_dataset: str,
    pg_fresh_dataset: str,
    through: str,
) -> None:
    ours = make_pipeline(
        tmp_path, destination=destinations.postgres(postgres_url), dataset=pg_dataset
    )
    assert sync(ours, server, queries=QUERIES, start_date="2026-03-10").slices > 0
    factory = (
        destinations.postgres(postgres_url)
        if through == "databuddy"
        else dlt.destinations.postgres(postgres_url)
    )
    here = same_process_load(factory, pg_dataset, tmp_path)  # next to our tables
    fresh = fresh_process_load("postgres", postgres_url, pg_fresh_dataset, tmp_path)
    assert_dlt_semantics(fresh)
    assert here == fresh
