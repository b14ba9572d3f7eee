"""A load job replayed on resume: a kill after a job's copy into staging, but before dlt marked
it done, runs that copy again. The staged rows are then there twice, and the merge must still
load each row once (dlt's per-key dedup pass, which the tables therefore keep)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from databuddy_source import databuddy
from databuddy_source.emulator.config import EmulatorConfig
from databuddy_source.emulator.server import EmulatorServer

from ..integration.syncing import AS_OF, assert_table_equals_truth, make_pipeline, table_rows
from ..integration.test_sync_duckdb import parents_of

START, END = date(2026, 3, 10), date(2026, 3, 14)


@pytest.fixture(scope="module")
def server(small_config: EmulatorConfig) -> Iterator[EmulatorServer]:
    with EmulatorServer(replace(small_config, rate_limit=100_000)) as srv:
        yield srv


def test_a_copy_job_run_twice_loads_each_row_once(server: EmulatorServer, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    source = databuddy(
        api_key=server.emulator.config.api_key,
        base_url=server.url,
        queries=["top_pages", "country"],
        start_date=START.isoformat(),
        as_of=AS_OF,
        rpc_collections=["none"],
    )
    pipeline.extract(source)
    pipeline.normalize()
    (load_id,) = pipeline.list_normalized_load_packages()
    jobs = Path(pipeline.working_dir) / "load" / "normalized" / load_id / "new_jobs"
    replayed = 0
    for job in sorted(jobs.glob("*.parquet")):
        table, file_id, retry, ext = job.name.split(".")
        if table in ("top_pages", "country"):  # the same copy again, as a resumed load runs it
            shutil.copy(job, jobs / f"{table}.{file_id}x.{retry}.{ext}")
            replayed += 1
    assert replayed == 2
    pipeline.load()
    sites = parents_of(server)["website"]
    for name in ("top_pages", "country"):
        assert assert_table_equals_truth(pipeline, server, name, sites, START, END) > 0
        rows = table_rows(pipeline, name)
        keys = {(r["website_id"], r["date"], r["_slice_row"]) for r in rows}
        assert len(keys) == len(rows), f"{name}: {len(rows) - len(keys)} rows doubled"
