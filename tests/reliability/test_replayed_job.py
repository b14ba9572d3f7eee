"""A load job replayed on resume. A kill after a job's copy committed, but before dlt recorded
it done, makes the next load run that copy again. Each row must still load once.

A query table's package in one file replaces its slices in the table itself
(merge/replace.py), on DuckDB and PostgreSQL: the kill lands after its rows are in the table,
and the replay deletes and inserts them again, with no merge job at all. A table spread over
several files goes through dlt's staged merge: its rows are staged twice, and the merge keeps
dlt's per-key dedup pass exactly when the staging table holds more rows than the table's job
files (merge/keys.py): proved on the rows loaded and on the merge SQL that ran."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from databuddy_source import databuddy, resources

from ..integration.syncing import (
    AS_OF,
    assert_table_equals_truth,
    make_pipeline,
    pipeline_into,
    table_rows,
)
from ..integration.test_sync_duckdb import parents_of

START, END = date(2026, 3, 10), date(2026, 3, 14)
TABLES = ("top_pages", "country")
REPLAYED = "top_pages"

# Runs the pending load of a pipeline and dies (as a SIGKILL would) right after REPLAYED's
# first copy job committed, before dlt writes down that it completed.
KILLED_LOAD = textwrap.dedent(
    """
    import os, sys
    import dlt
    from databuddy_source import destinations
    from dlt.common.storages.load_package import PackageStorage

    pipelines_dir, name, dataset, kind, target, table = sys.argv[1:]
    record = PackageStorage.save_pending_transition

    def die_once_committed(self, load_id, file_name, state, failed_message=None):
        if file_name.startswith(table + ".") and state == "completed":
            os._exit(9)
        return record(self, load_id, file_name, state, failed_message)

    PackageStorage.save_pending_transition = die_once_committed
    destination = getattr(destinations, kind)(target)
    dlt.pipeline(name, pipelines_dir=pipelines_dir, dataset_name=dataset,
                 destination=destination).load()
    """
)


server = emulator_fixture(scope="module")


def load(
    pipeline: Any,
    server: EmulatorServer,
    tmp: Path,
    target: str | None,
    after_kill: Callable[[], None] = lambda: None,
) -> dict[str, str]:
    """Extract and normalize TABLES; with a ``target``, first run a load killed after a copy
    committed (so the next load replays it) and call ``after_kill``; then load. Returns each
    table's merge SQL."""
    source = databuddy(
        api_key=server.emulator.config.api_key,
        base_url=server.url,
        queries=list(TABLES),
        start_date=START.isoformat(),
        as_of=AS_OF,
        rpc_collections=["none"],
    )
    pipeline.extract(source)
    pipeline.normalize()
    (load_id,) = pipeline.list_normalized_load_packages()
    if target is not None:
        killed = subprocess.run(
            [
                sys.executable,
                "-c",
                KILLED_LOAD,
                str(tmp / "pipelines"),
                pipeline.pipeline_name,
                pipeline.dataset_name,
                pipeline.destination.destination_name,
                target,
                REPLAYED,
            ],
            # one load job at a time: only REPLAYED's copy is in flight when the process dies
            env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", "LOAD__WORKERS": "1"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert killed.returncode == 9, killed.stderr[-2000:]
        after_kill()
    pipeline.load()
    done = Path(pipeline.working_dir) / "load" / "loaded" / load_id / "completed_jobs"
    return {name: "\n".join(p.read_text() for p in done.glob(f"{name}.*.sql")) for name in TABLES}


def assert_loaded_once(pipeline: Any, server: EmulatorServer) -> None:
    sites = parents_of(server)["website"]
    for name in TABLES:
        assert assert_table_equals_truth(pipeline, server, name, sites, START, END) > 0
        rows = table_rows(pipeline, name)
        keys = {(r["website_id"], r["date"], r["_slice_row"]) for r in rows}
        assert len(keys) == len(rows), f"{name}: {len(rows) - len(keys)} rows doubled"


@pytest.mark.parametrize("replay", [True, False], ids=["replayed", "once"])
def test_a_staged_merge_loads_each_row_once(
    server: EmulatorServer, tmp_path: Path, replay: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources, "BATCH_ROWS", 100)  # tables handed to dlt in small batches
    monkeypatch.setenv("DATA_WRITER__FILE_MAX_ITEMS", "200")  # and dlt rotates files often
    pipeline = make_pipeline(tmp_path)
    merge_sql = load(pipeline, server, tmp_path, str(tmp_path / "sync.duckdb") if replay else None)
    assert_loaded_once(pipeline, server)
    assert "INSERT INTO" in merge_sql[REPLAYED], "several files: a staged merge"
    for name in TABLES:
        deduplicated = "ROW_NUMBER()" in merge_sql[name]
        assert deduplicated is (replay and name == REPLAYED), name


@pytest.mark.parametrize("replay", [True, False], ids=["replayed", "once"])
@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_replays_leave_each_row_once(
    server: EmulatorServer, tmp_path: Path, request: pytest.FixtureRequest, kind: str, replay: bool
) -> None:
    pipeline = pipeline_into(kind, tmp_path, request)
    target = request.getfixturevalue("postgres_url") if kind == "postgres" else None
    target = target or str(tmp_path / "sync.duckdb")
    committed: list[int] = []

    def count_committed() -> None:
        with pipeline.sql_client() as sql:
            committed.append(sql.execute_sql(f"SELECT count(*) FROM {REPLAYED}")[0][0])

    merge_sql = load(pipeline, server, tmp_path, target if replay else None, count_committed)
    assert_loaded_once(pipeline, server)
    if replay:  # the killed job's rows were in the table already: the resume ran it again
        assert committed[0] == len(table_rows(pipeline, REPLAYED)) > 0
    for name in TABLES:
        assert merge_sql[name] == "", f"{name}: replaced in place, no merge job"
