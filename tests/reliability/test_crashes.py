"""Crash trials: a sync killed with SIGKILL at a random point of extract, normalize or load;
the next invocation finishes what was pending and the new work in one go, and the tables equal
ground truth with no duplicates (a kill before the very first load ever finished included).

CI runs ``CRASH_TRIALS`` trials (default 3); ``CRASH_TRIALS=30 bash scripts/test.sh -k crash``
runs the full set."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer
from databuddy_emulator.truth import expected_rows

SCRIPT = Path(__file__).resolve().parents[2] / "pipelines" / "daily_sync.py"
TRIALS = int(os.environ.get("CRASH_TRIALS", "3"))
QUERIES = "top_pages,events_by_date,country,error_types"


server = emulator_fixture(scope="module")


def start(tmp: Path, server: EmulatorServer) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env.update(
        {
            "DLT_DATA_DIR": str(tmp / "dlt"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "SOURCES__DATABUDDY__API_KEY": server.emulator.config.api_key,
        }
    )
    return subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--base-url",
            server.url,
            "--as-of",
            "2026-03-15",
            "--duckdb-path",
            str(tmp / "out.duckdb"),
            "--queries",
            QUERIES,
            "--start-date",
            "2026-03-01",
            "--rpc-collections",
            "websites,links",
        ],
        cwd=tmp,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_exact(tmp: Path, server: EmulatorServer) -> None:
    db = duckdb.connect(str(tmp / "out.duckdb"), read_only=True)
    reg = server.emulator.store.registry
    for site in reg.websites_of(reg.demo_org_id):
        for day in range(1, 15):
            when = date(2026, 3, day)
            want = sorted(
                (r["name"], r["pageviews"], r["visitors"])
                for r in expected_rows(
                    server.emulator.store,
                    "top_pages",
                    website_id=site["id"],
                    start_date=when.isoformat(),
                    end_date=when.isoformat(),
                    limit=10_000,
                )
            )
            got = sorted(
                db.execute(
                    "SELECT name, pageviews, visitors FROM databuddy.top_pages "
                    "WHERE website_id = ? AND date = ?",
                    [site["id"], when],
                ).fetchall()
            )
            assert got == want, f"top_pages {site['name']} {when}"
    for table, key in (
        ("top_pages", "website_id, date, name"),
        ("country", "website_id, date, name"),
        ("events_by_date", "website_id, date"),
        ("error_types", "website_id, date, name"),
        ("websites", "id"),
    ):
        dupes = db.sql(f"SELECT count(*) - count(DISTINCT ({key})) FROM databuddy.{table}")
        assert dupes.fetchall() == [(0,)], f"duplicates in {table}"
    days = db.sql("SELECT count(DISTINCT date) FROM databuddy.events_by_date").fetchall()
    assert days == [(14,)]


@pytest.mark.parametrize("trial", range(TRIALS))
def test_a_killed_sync_is_finished_by_the_next_run(
    tmp_path: Path, server: EmulatorServer, trial: int
) -> None:
    rng = random.Random(trial)
    kills = 0
    target = rng.randint(1, 3)  # one to three crashes before the run that finishes
    for _ in range(2 * target):
        if kills == target:
            break
        # the first trial's first kill comes early: before the very first load ever finished;
        # a trial whose runs all finished too soon ends with an early kill
        early = (trial == 0 and kills == 0) or (kills == 0 and _ == 2 * target - 1)
        delay = 1.2 if early else rng.uniform(0.8, 5.0)
        proc = start(tmp_path, server)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
            kills += 1
            STAGES.append(stage_of(err))
        time.sleep(0.05)
    final = start(tmp_path, server)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, f"after {kills} kills: {err[-2000:]}"
    assert server.emulator.config.api_key not in out + err
    assert_exact(tmp_path, server)
    assert kills >= 1, "every trial kills at least one run"


STAGES: list[str] = []  # where each kill landed (printed at the end of the module)


def stage_of(stderr: str) -> str:
    """The step a killed run was in, from dlt's progress headers on stderr."""
    marks = {"Extract": "extract", "Normalize": "normalize", "Load": "load"}
    last = "discovery"
    for line in stderr.splitlines():
        for mark, stage in marks.items():
            if line.lstrip("- ").startswith(mark + " "):
                last = stage
    return last


def teardown_module() -> None:
    if STAGES:
        counts = {s: STAGES.count(s) for s in dict.fromkeys(STAGES)}
        print(f"\ncrash trials: {len(STAGES)} kills by step: {counts}")
