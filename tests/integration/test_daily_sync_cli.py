"""databuddy-sync as a user runs it from a checkout (pipelines/daily_sync.py): a subprocess
against the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from databuddy_emulator import fixtures
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

SCRIPT = Path(__file__).resolve().parents[2] / "pipelines" / "daily_sync.py"


server = emulator_fixture(scope="module")


def cli(
    tmp: Path,
    server: EmulatorServer,
    *args: str,
    key: str | None = None,
    config: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``databuddy-sync`` with ``args``; ``config``: source options set in the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env.update({"DLT_DATA_DIR": str(tmp / "dlt"), "RUNTIME__DLTHUB_TELEMETRY": "false"})
    env.update({f"SOURCES__DATABUDDY__{k.upper()}": v for k, v in (config or {}).items()})
    if key is not None:
        env["SOURCES__DATABUDDY__API_KEY"] = key
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--base-url",
            server.url,
            "--as-of",
            "2026-03-15",
            "--duckdb-path",
            str(tmp / "out.duckdb"),
            *args,
        ],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_help_explains_itself(tmp_path: Path, server: EmulatorServer) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for flag in ("--demo", "--dry-run", "--destination", "--full-refresh", "Exit codes"):
        assert flag in result.stdout


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path, server: EmulatorServer) -> None:
    result = cli(
        tmp_path,
        server,
        "--dry-run",
        "--start-date",
        "2026-03-10",
        key=server.emulator.config.api_key,
    )
    assert result.returncode == 0, result.stderr
    assert "slices" in result.stdout and "query requests" in result.stdout
    assert "Nothing was written" in result.stdout
    assert not (tmp_path / "out.duckdb").exists()
    served = httpx.get(f"{server.url}/__emulator__/stats").json()
    assert not any(k.startswith("POST /v1/query ") for k in served), "no query was sent"


def plan_lines(stdout: str) -> list[str]:
    """The per-parent lines of a ``--dry-run`` plan."""
    return [line.strip() for line in stdout.splitlines() if line.startswith("  website")]


def test_dry_run_packs_as_configured_and_starts_where_the_pipeline_first_did(
    tmp_path: Path, server: EmulatorServer
) -> None:
    key = server.emulator.config.api_key
    two_types = ("--queries", "top_pages,country")
    packed = cli(
        tmp_path,
        server,
        "--dry-run",
        "--start-date",
        "2026-03-10",
        *two_types,
        "--rpc-collections",
        "none",
        key=key,
        config={"max_parameters_per_request": "3"},
    )
    assert packed.returncode == 0, packed.stderr
    lines = plan_lines(packed.stdout)
    # 2 types x 5 days (2026-03-10..14) per website, 3 parameters a request: 4 requests
    assert lines and all("10 slices, 4 requests, 2026-03-10..2026-03-14" in x for x in lines)
    first = cli(tmp_path, server, "--start-date", "2026-03-12", *two_types, key=key)
    assert first.returncode == 0, first.stderr
    # a type added later is planned from the start date the pipeline first ran with, as the
    # run itself reads it, not from each website's creation
    later = cli(tmp_path, server, "--dry-run", "--queries", "top_pages,country,city", key=key)
    assert later.returncode == 0, later.stderr
    lines = plan_lines(later.stdout)
    assert lines and all("2026-03-12..2026-03-14" in x for x in lines), later.stdout


def test_a_run_then_a_daily_run(tmp_path: Path, server: EmulatorServer) -> None:
    key = server.emulator.config.api_key
    first = cli(
        tmp_path,
        server,
        "--start-date",
        "2026-03-12",
        "--queries",
        "top_pages,events_by_date",
        key=key,
    )
    assert first.returncode == 0, first.stderr
    assert "top_pages" in first.stdout and "sync_log" in first.stdout
    second = cli(tmp_path, server, "--queries", "top_pages,events_by_date", key=key)
    assert second.returncode == 0, second.stderr
    db = duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True)
    runs = db.sql("SELECT count(DISTINCT run_id) FROM databuddy.sync_log").fetchall()
    dupes = db.sql(
        "SELECT count(*) - count(DISTINCT (website_id, date, name)) FROM databuddy.top_pages"
    ).fetchall()
    assert runs == [(2,)] and dupes == [(0,)]


@pytest.mark.parametrize(
    ("args", "key", "code", "text"),
    [
        (("--queries", "top_page"), "demo", 2, "Did you mean 'top_pages'?"),
        (("--start-date", "2026-13-01"), "demo", 2, "is not a date"),
        ((), None, 2, "no API key"),
        ((), "dbdy_x", 2, "malformed"),
        ((), fixtures.REVOKED_KEY, 3, "Authentication required"),
        (("--websites", "nope.example"), "demo", 2, "is not a website this key can read"),
        (("--duckdb-memory-limit", "lots"), "demo", 2, "is not a memory size"),
        (("--shard", "4/3"), "demo", 2, "is not I/N with 1 <= I <= N"),
        (("--duckdb-path", "x/databuddy.duckdb"), "demo", 2, "is named like the dataset"),
    ],
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path, server: EmulatorServer, args: tuple[str], key: str | None, code: int, text: str
) -> None:
    secret = server.emulator.config.api_key if key == "demo" else key
    result = cli(tmp_path, server, *args, key=secret)
    assert result.returncode == code, result.stderr
    assert text in result.stderr
    assert "Traceback" not in result.stderr
    if secret:
        assert secret not in result.stderr + result.stdout
    assert not (tmp_path / "out.duckdb").exists()


def test_failed_slices_exit_1_and_are_logged(tmp_path: Path, server: EmulatorServer) -> None:
    httpx.post(
        f"{server.url}/__emulator__/faults",
        json={
            "kind": "failed_parameter",
            "route": "/v1/query",
            "method": "POST",
            "count": 1,
            "message": "Filter on field 'x' is not permitted.",
        },
    )
    try:
        result = cli(
            tmp_path,
            server,
            "--start-date",
            "2026-03-14",
            "--queries",
            "top_pages",
            "--rpc-collections",
            "none",
            key=server.emulator.config.api_key,
        )
    finally:
        httpx.delete(f"{server.url}/__emulator__/faults")
    assert result.returncode == 1, result.stderr
    assert "failures (the rest was loaded)" in result.stderr
    db = duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True)
    errors = db.sql("SELECT count(*) FROM databuddy.sync_log WHERE error IS NOT NULL").fetchall()
    assert errors[0][0] >= 1


def test_unwritable_destination_exits_4(tmp_path: Path, server: EmulatorServer) -> None:
    env_root = os.geteuid() == 0
    result = cli(
        tmp_path,
        server,
        "--duckdb-path",
        "/proc/out.duckdb",  # a folder nobody can create files in, root included
        "--queries",
        "summary_metrics",
        "--start-date",
        "2026-03-14",
        "--rpc-collections",
        "none",
        key=server.emulator.config.api_key,
    )
    assert result.returncode == 4, (env_root, result.stderr)
    assert "error:" in result.stderr and "Traceback" not in result.stderr


def test_a_second_sync_of_the_same_pipeline_waits_or_fails_clearly(
    tmp_path: Path, server: EmulatorServer
) -> None:
    import threading

    from databuddy_source.locking import pipeline_lock

    args = (
        "--queries",
        "summary_metrics",
        "--start-date",
        "2026-03-14",
        "--rpc-collections",
        "none",
    )
    key = server.emulator.config.api_key
    with pipeline_lock(str(tmp_path / "dlt" / "pipelines"), "databuddy"):
        busy = cli(tmp_path, server, *args, key=key)
    assert busy.returncode == 6, busy.stderr
    assert "another sync of pipeline 'databuddy' is running" in busy.stderr
    assert "--wait" in busy.stderr and not (tmp_path / "out.duckdb").exists()

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with pipeline_lock(str(tmp_path / "dlt" / "pipelines"), "databuddy"):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    threading.Timer(1.5, release.set).start()
    began = time.monotonic()
    waited = cli(tmp_path, server, *args, "--wait", key=key)
    holder.join()
    assert waited.returncode == 0, waited.stderr
    assert time.monotonic() - began >= 1.5, "the second sync waited for the first"


def test_filesystem_destination_writes_delta_tables(tmp_path: Path, server: EmulatorServer) -> None:
    from deltalake import DeltaTable

    lake = tmp_path / "lake"
    os.environ["DESTINATION__FILESYSTEM__BUCKET_URL"] = lake.as_uri()
    try:
        args = ("--destination", "filesystem", "--start-date", "2026-03-12")
        key = server.emulator.config.api_key
        result = cli(tmp_path, server, *args, "--queries", "top_pages", key=key)
    finally:
        del os.environ["DESTINATION__FILESYSTEM__BUCKET_URL"]
    assert result.returncode == 0, result.stderr
    assert "Rows loaded by this run, per table:" in result.stdout
    table = DeltaTable(str(lake / "databuddy" / "top_pages"))
    days = {p.name for p in (lake / "databuddy" / "top_pages").glob("date=*")}
    assert days == {"date=2026-03-12", "date=2026-03-13", "date=2026-03-14"}
    assert table.metadata().partition_columns == ["date"] and len(table.to_pyarrow_table()) > 0


def test_the_default_duckdb_file_loads(tmp_path: Path, server: EmulatorServer) -> None:
    """No --duckdb-path: the documented default file, in the working directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env.update(
        {
            "DLT_DATA_DIR": str(tmp_path / "dlt"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "SOURCES__DATABUDDY__API_KEY": server.emulator.config.api_key,
        }
    )
    args = ["--base-url", server.url, "--as-of", "2026-03-15", "--start-date", "2026-03-14"]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--queries", "top_pages", "--rpc-collections", "none"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    db = duckdb.connect(str(tmp_path / "databuddy_warehouse.duckdb"), read_only=True)
    assert db.sql("SELECT count(*) FROM databuddy.top_pages").fetchall()[0][0] > 0
