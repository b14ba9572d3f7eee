"""The first hour of a new user, as processes: the commands and their help, ``init``, failures
that end in seconds with their exit code (an API that is not there, a destination that cannot
be used, found before any request), the DuckDB file taken from dlt config, progress lines in a
log, a summary of what changed, and logs without dlt's warning blocks or HTTP-library noise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import duckdb
import httpx
import pytest
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from databuddy_source.cli.init import template

ROOT = Path(__file__).resolve().parents[2]
FAST = 20.0  # seconds: the most a failure found before loading may take
SMALL = ("--queries", "summary_metrics,top_pages", "--rpc-collections", "websites")
SINCE = ("--start-date", "2026-03-12", "--as-of", "2026-03-15")


server = emulator_fixture(scope="module")


@dataclass
class Ran:
    code: int
    out: str
    err: str
    seconds: float


def command(module: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> Ran:
    """``python -m <module> args`` (what the installed command runs), timed."""
    full = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SOURCES__", "DESTINATION__", "RUNTIME__"))
    }
    full.update({"DLT_DATA_DIR": str(cwd / "dlt"), "RUNTIME__DLTHUB_TELEMETRY": "false"})
    # this checkout's package, whatever the environment has installed (the run's cwd is a
    # temporary folder, as a user's would be)
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    full.update(env or {})
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Ran(done.returncode, done.stdout, done.stderr, time.monotonic() - began)


def sync(tmp: Path, server: EmulatorServer | None, *args: str, **env: str) -> Ran:
    key = {"SOURCES__DATABUDDY__API_KEY": "dbdy_" + "k" * 48}
    base: list[str] = []
    if server is not None:
        key["SOURCES__DATABUDDY__API_KEY"] = server.emulator.config.api_key
        base = ["--base-url", server.url]
    return command("databuddy_source.cli.sync", *base, *args, cwd=tmp, env={**key, **env})


def requests_served(server: EmulatorServer) -> dict[str, int]:
    stats: dict[str, int] = httpx.get(f"{server.url}/__emulator__/stats").json()
    return stats


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the commands ---


def test_the_installed_commands_are_declared_and_callable() -> None:
    scripts = {}
    for project in (ROOT, ROOT / "emulator"):  # the connector's and the emulator's distributions
        scripts |= tomllib.loads((project / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"databuddy-sync", "databuddy-report", "databuddy-emulator"}
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(import_module(module), function)), target


@pytest.mark.parametrize(
    ("module", "prog", "says"),
    [
        ("databuddy_source.cli.sync", "databuddy-sync", "databuddy-sync init"),
        ("databuddy_source.cli.report", "databuddy-report", "Exit codes"),
        ("databuddy_emulator", "databuddy-emulator", "databuddy-source[emulator]"),
    ],
)
def test_each_command_explains_itself(module: str, prog: str, says: str, tmp_path: Path) -> None:
    ran = command(module, "--help", cwd=tmp_path)
    assert ran.code == 0, ran.err
    assert ran.out.startswith(f"usage: {prog}") and says in ran.out


# --- init ---


def test_init_writes_both_templates_and_never_overwrites(tmp_path: Path) -> None:
    ran = command("databuddy_source.cli.sync", "init", cwd=tmp_path)
    assert ran.code == 0, ran.err
    config, secrets = tmp_path / ".dlt" / "config.toml", tmp_path / ".dlt" / "secrets.toml"
    assert config.read_text() == template("config.toml")
    assert secrets.read_text() == template("secrets.toml")
    assert secrets.stat().st_mode & 0o077 == 0, "the key's file is the owner's alone"
    assert "read:data" in secrets.read_text() and "Organization settings > API keys" in ran.out
    secrets.write_text('[sources.databuddy]\napi_key = "dbdy_mine"\n')
    again = command("databuddy_source.cli.sync", "init", cwd=tmp_path)
    assert again.code == 2 and "already there" in again.err and "--force" in again.err
    assert secrets.read_text() == '[sources.databuddy]\napi_key = "dbdy_mine"\n', "kept"
    forced = command("databuddy_source.cli.sync", "init", "--force", cwd=tmp_path)
    assert forced.code == 0 and secrets.read_text() == template("secrets.toml")


def test_the_checkout_config_is_the_shipped_template() -> None:
    assert (ROOT / ".dlt" / "config.toml").read_text() == template("config.toml")
    assert (ROOT / ".dlt" / "example.secrets.toml").read_text() == template("secrets.toml")


def test_an_initialised_folder_without_a_key_says_where_it_goes(tmp_path: Path) -> None:
    assert command("databuddy_source.cli.sync", "init", cwd=tmp_path).code == 0
    ran = command("databuddy_source.cli.sync", cwd=tmp_path)
    assert ran.code == 2 and "No Databuddy API key given" in ran.err, ran.err


# --- fast, precise failures ---


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        ("http://127.0.0.1:{port}", "connection refused"),
        ("https://databuddy-api.invalid", "the host name"),
    ],
    ids=["refused", "dns"],
)
def test_an_unreachable_api_exits_5_in_seconds(url: str, cause: str, tmp_path: Path) -> None:
    url = url.format(port=closed_port())
    ran = sync(tmp_path, None, "--base-url", url, *SMALL)
    assert ran.code == 5, ran.err
    assert ran.seconds < FAST, f"took {ran.seconds:.1f} s"
    assert f"cannot connect to {url} ({cause}" in ran.err
    assert "Traceback" not in ran.err and "retrying" not in ran.err
    assert not (tmp_path / "databuddy_warehouse.duckdb").exists(), "nothing was written"


def hold_duckdb(path: Path) -> subprocess.Popen[str]:
    """Another process with the DuckDB file open for writing (as a running sync has it)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True);"
            " time.sleep(120)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
    return holder


@pytest.mark.parametrize(
    ("case", "code", "says"),
    [
        ("missing folder", 2, "is in a folder that does not exist"),
        ("folder nobody can write", 4, "cannot be created"),
        ("file held by another process", 4, "cannot be opened"),
        ("folder from dlt config", 2, "DESTINATION__DUCKDB__CREDENTIALS"),
    ],
)
def test_a_duckdb_file_that_cannot_be_used_fails_before_any_request(
    case: str, code: int, says: str, tmp_path: Path, server: EmulatorServer
) -> None:
    httpx.delete(f"{server.url}/__emulator__/stats")
    args: list[str] = []
    env: dict[str, str] = {}
    holder = None
    if case == "missing folder":
        args = ["--duckdb-path", str(tmp_path / "no" / "such" / "w.duckdb")]
    elif case == "folder nobody can write":
        args = ["--duckdb-path", "/proc/w.duckdb"]
    elif case == "file held by another process":
        holder = hold_duckdb(tmp_path / "held.duckdb")
        args = ["--duckdb-path", str(tmp_path / "held.duckdb")]
    else:
        env = {"DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "no" / "w.duckdb")}
    try:
        ran = sync(tmp_path, server, *args, *SMALL, *SINCE, **env)
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
    assert ran.code == code, ran.err
    assert ran.seconds < FAST, f"took {ran.seconds:.1f} s"
    assert says in ran.err and ran.err.count("error:") == 1, ran.err
    assert "API" not in ran.err.split("error:")[1], "the message is about the destination only"
    assert requests_served(server) == {}, "no request was sent"


def test_refused_postgres_credentials_fail_before_any_request(
    tmp_path: Path, server: EmulatorServer, postgres_url: str
) -> None:
    httpx.delete(f"{server.url}/__emulator__/stats")
    user, rest = postgres_url.removeprefix("postgresql://").split(":", 1)
    wrong = f"postgresql://{user}:pw-not-this-one@{rest.split('@', 1)[1]}"
    ran = sync(
        tmp_path,
        server,
        "--destination",
        "postgres",
        *SMALL,
        *SINCE,
        DESTINATION__POSTGRES__CREDENTIALS=wrong,
    )
    assert ran.code == 4, ran.err
    assert ran.seconds < FAST
    assert "the postgres destination refused the connection" in ran.err
    assert "password authentication failed" in ran.err and "pw-not-this-one" not in ran.err
    assert requests_served(server) == {}, "no request was sent"


# --- a run: where it goes, what it says ---


def test_the_duckdb_file_comes_from_dlt_config(tmp_path: Path, server: EmulatorServer) -> None:
    (tmp_path / ".dlt").mkdir()
    target = tmp_path / "data" / "from_toml.duckdb"
    target.parent.mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(
        f'[destination.duckdb]\ncredentials = "{target}"\n'
    )
    ran = sync(tmp_path, server, *SMALL, *SINCE)
    assert ran.code == 0, ran.err
    assert f"Loaded into duckdb {target}, dataset databuddy in " in ran.out
    assert target.is_file() and not (tmp_path / "databuddy_warehouse.duckdb").exists()
    from_env = tmp_path / "data" / "from_env.duckdb"
    ran = sync(tmp_path, server, *SMALL, *SINCE, DESTINATION__DUCKDB__CREDENTIALS=str(from_env))
    assert ran.code == 0 and from_env.is_file(), ran.err
    flag = tmp_path / "data" / "from_flag.duckdb"
    ran = sync(
        tmp_path, server, "--duckdb-path", str(flag), *SMALL, *SINCE,
        DESTINATION__DUCKDB__CREDENTIALS=str(from_env),
    )  # fmt: skip
    assert ran.code == 0 and flag.is_file(), ran.err


def test_progress_lines_and_a_summary_of_what_changed(
    tmp_path: Path, server: EmulatorServer
) -> None:
    """In a log: progress lines with the numbers; after a run, what was new; after the next,
    what the re-read days changed (counted from sync_log against the last read)."""
    path = tmp_path / "w.duckdb"
    first = sync(
        tmp_path, server, "--duckdb-path", str(path), "--progress-every", "0.05", *SMALL, *SINCE
    )
    assert first.code == 0, first.err
    lines = [line for line in first.err.splitlines() if line.startswith("progress: sync: ")]
    assert lines, first.err
    assert lines[-1].split(": ", 2)[2].split(", ")[0].endswith(" slices")
    assert all(" requests, " in line and " rows" in line for line in lines)
    db = duckdb.connect(str(path))
    [(slices, rows)] = db.execute("SELECT count(*), sum(rows) FROM databuddy.sync_log").fetchall()
    assert (
        f"Changes: read {slices} slices of 3 days (2026-03-12..2026-03-14) for the first time; "
        f"{rows:,} rows new." in first.out
    )
    # the last read of three slices had one row fewer: the next run finds them changed
    db.execute(
        "UPDATE databuddy.sync_log SET rows = rows - 1 WHERE (table_name, slice_date, parent_id) "
        "IN (SELECT table_name, slice_date, parent_id FROM databuddy.sync_log WHERE rows > 0 "
        "AND slice_date >= '2026-03-13' ORDER BY ALL LIMIT 3)"
    )
    db.close()
    again = sync(tmp_path, server, "--duckdb-path", str(path), *SMALL, "--as-of", "2026-03-15")
    assert again.code == 0, again.err
    assert "re-read " in again.out and " slices of 2 days (2026-03-13..2026-03-14): 3 changed; " \
        "3 rows new." in again.out, again.out  # fmt: skip


def test_logs_hold_no_dlt_warning_blocks_and_debug_no_http_noise(
    tmp_path: Path, server: EmulatorServer
) -> None:
    quiet = sync(tmp_path, server, "--rpc-collections", "all", "--queries", "summary_metrics",
                 *SINCE)  # fmt: skip
    assert quiet.code == 0, quiet.err
    assert "did not receive any data" not in quiet.err, quiet.err
    debug = sync(tmp_path, server, "--queries", "summary_metrics", *SINCE, "--debug",
                 "--duckdb-path", str(tmp_path / "d.duckdb"))  # fmt: skip
    assert debug.code == 0, debug.err
    assert "DEBUG databuddy_source: POST /v1/query -> 200, " in debug.err, "each request"
    assert "|dlt|" in debug.err, "dlt's own debug lines"
    assert "httpcore" not in debug.err and "httpx" not in debug.err


def test_on_a_terminal_a_live_bar_shows_slices_eta_and_rate_limit_waits(
    tmp_path: Path, server: EmulatorServer
) -> None:
    """The sync under a pseudo-terminal, its key's budget small enough that it waits."""
    import pty

    main, child = pty.openpty()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SOURCES__", "DESTINATION__", "RUNTIME__"))
    }
    env.update(
        DLT_DATA_DIR=str(tmp_path / "dlt"),
        PYTHONPATH=str(ROOT),
        SOURCES__DATABUDDY__API_KEY=server.emulator.config.api_key,
        SOURCES__DATABUDDY__RATE_LIMIT="2",
        SOURCES__DATABUDDY__RATE_WINDOW_SECONDS="3",
        COLUMNS="160",
    )
    args = ["--queries", "summary_metrics", "--rpc-collections", "none", *SINCE]
    process = subprocess.Popen(
        [sys.executable, "-m", "databuddy_source.cli.sync", "--base-url", server.url, *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=child,
    )
    os.close(child)
    screen = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the process ended: the terminal is closed
            break
        if not chunk:
            break
        screen += chunk
    os.close(main)
    assert process.wait(timeout=300) == 0, screen.decode()[-2000:]
    text = screen.decode()
    frames = [f for f in text.split("\r") if " slices" in f]
    assert any("[" in f and "/" in f and "ETA " in f for f in frames), text[-2000:]
    assert "for the rate limit" in text and "waiting " in text
    assert "\x1b[" in text, "redrawn in place"


def test_without_the_emulator_the_demo_says_how_to_get_it(tmp_path: Path) -> None:
    """As after ``pip install databuddy-source`` alone: the emulator is not installed."""
    blocked = (
        "import sys; sys.modules['databuddy_emulator'] = None; "
        "from databuddy_source.cli.sync import main; sys.exit(main(['--demo']))"
    )
    says = "--demo runs the local emulator, which is not installed: "
    says += "pip install 'databuddy-source[emulator]'"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DLT_DATA_DIR": str(tmp_path / "dlt")}
    done = subprocess.run(
        [sys.executable, "-c", blocked], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr


def test_the_demo_runs_the_emulator_as_its_own_process(tmp_path: Path) -> None:
    """``databuddy-sync --demo`` (the README's first command, cut to one type): the emulator
    runs beside the sync as a separate process, reached by URL, and is gone when the sync ends."""
    ran = command(
        "databuddy_source.cli.sync",
        "--demo",
        "--queries",
        "events_by_date",
        "--rpc-collections",
        "none",
        "--no-models",
        cwd=tmp_path,
    )
    assert ran.code == 0, ran.err[-2000:]
    url = ran.out.split("Emulator on ", 1)[1].split(";", 1)[0]
    with duckdb.connect(str(tmp_path / "databuddy_demo.duckdb"), read_only=True) as db:
        [(count, pageviews)] = db.execute(
            "select count(distinct date), sum(pageviews) from databuddy.events_by_date"
        ).fetchall()
    assert count == 28 and pageviews > 0
    with pytest.raises(httpx.TransportError):  # stopped with the sync
        httpx.get(f"{url}/health", timeout=2)
