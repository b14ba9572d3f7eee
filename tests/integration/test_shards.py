"""Sharded workers: ``daily_sync.py --shard I/N`` run side by side, as N processes, into one
PostgreSQL dataset. Together they load exactly what one worker would (every table equal to
ground truth, nothing doubled), each keeps its own state, and a second concurrent round picks up
late data the same way."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import httpx
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from databuddy_source import destinations
from databuddy_source.discovery import Parents, shard_of
from databuddy_source.planning import Parent

from .syncing import make_pipeline, table_rows
from .test_sync_duckdb import assert_all_tables_equal_truth, parents_of

SCRIPT = Path(__file__).resolve().parents[2] / "pipelines" / "daily_sync.py"
WORKERS = 3
START = date(2026, 3, 9)


server = emulator_fixture()


def run_workers(
    tmp: Path, server: EmulatorServer, postgres_url: str, dataset: str, as_of: str, *args: str
) -> list[subprocess.CompletedProcess[str]]:
    """WORKERS processes of daily_sync.py, started together, one shard each."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION"))}
    env.update(
        {
            "DLT_DATA_DIR": str(tmp / "dlt"),  # one machine's folder: shards share it safely
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "SOURCES__DATABUDDY__API_KEY": server.emulator.config.api_key,
            "DESTINATION__POSTGRES__CREDENTIALS": postgres_url,
        }
    )
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(SCRIPT),
                "--base-url",
                server.url,
                "--destination",
                "postgres",
                "--dataset",
                dataset,
                "--start-date",
                START.isoformat(),
                "--as-of",
                as_of,
                "--shard",
                f"{index}/{WORKERS}",
                *args,
            ],
            cwd=tmp,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(1, WORKERS + 1)
    ]
    done = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(worker.args, worker.returncode, out, err))
    return done


def test_concurrent_shards_load_one_dataset_exactly(
    server: EmulatorServer, tmp_path: Path, postgres_url: str, pg_dataset: str
) -> None:
    # a tiny first round: the shards reach the destination together and race to create the
    # dataset and tables (the losers' schema changes roll back; they try again)
    tiny = ("--queries", "events_by_date", "--rpc-collections", "none")
    for result in run_workers(tmp_path, server, postgres_url, pg_dataset, "2026-03-15", *tiny):
        assert result.returncode == 0, result.stderr[-3000:]
    for result in run_workers(tmp_path, server, postgres_url, pg_dataset, "2026-03-15"):
        assert result.returncode == 0, result.stderr[-3000:]
    reader = make_pipeline(
        tmp_path, "reader", destination=destinations.postgres(postgres_url), dataset=pg_dataset
    )
    assert assert_all_tables_equal_truth(reader, server, START, date(2026, 3, 14)) > 1_000

    # each run (worker) synced only the parents of one shard, and kept its own state
    shards_of_run: dict[str, set[int]] = {}
    for row in table_rows(reader, "sync_log"):
        shards_of_run.setdefault(row["run_id"], set()).add(shard_of(row["parent_id"], WORKERS))
    assert len(shards_of_run) == 2 * WORKERS
    assert all(len(shards) == 1 for shards in shards_of_run.values()), shards_of_run
    states = {r["pipeline_name"] for r in table_rows(reader, "_dlt_pipeline_state")}
    assert states == {f"databuddy_shard_{i}_of_{WORKERS}" for i in range(1, WORKERS + 1)}

    # a second concurrent round, a day later: the lookback picks up late data exactly
    httpx.post(f"{server.url}/__emulator__/clock", json={"advance_seconds": 86_400})
    for result in run_workers(tmp_path, server, postgres_url, pg_dataset, "2026-03-16"):
        assert result.returncode == 0, result.stderr[-3000:]
    assert assert_all_tables_equal_truth(reader, server, START, date(2026, 3, 15)) > 1_000
    for name in ("websites", "links"):  # RPC collections: each object once
        ids = [r["id"] for r in table_rows(reader, name)]
        assert len(ids) == len(set(ids)) > 0, name


def test_every_parent_is_in_exactly_one_shard(server: EmulatorServer) -> None:
    kinds = parents_of(server)
    parents = Parents(
        *(
            [Parent(kind, pid, START) for pid in kinds[kind]]
            for kind in ("website", "organization", "link", "schedule")
        )
    )
    everyone = sorted(p.id for ps in parents.by_kind().values() for p in ps)
    for count in (1, 2, 3, 7):
        shards = [parents.shard(index, count) for index in range(1, count + 1)]
        found = sorted(p.id for s in shards for ps in s.by_kind().values() for p in ps)
        assert found == everyone, count
    # fixed across releases: a change would move parents (and their state) between shards
    assert [shard_of(f"site-{n}", 4) for n in range(8)] == [4, 4, 1, 1, 2, 2, 4, 2]
