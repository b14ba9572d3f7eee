"""Bad input, as a user would type it: each case ends with one message naming the problem and
the fix, a documented non-zero exit code, no traceback (unless --debug), no secret in the
output, and no data changed in a destination an earlier good run filled."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from databuddy_emulator import fixtures
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

SCRIPT = Path(__file__).resolve().parents[2] / "pipelines" / "daily_sync.py"
GOOD = (
    "--queries",
    "top_pages,summary_metrics",
    "--start-date",
    "2026-03-13",
    "--rpc-collections",
    "websites",
)
KEY = "__demo_key__"


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    key: str | None = KEY
    code: int = 2
    says: str = ""


OTHER_ORG_SITE = "__other_org_site__"
CASES = [
    Case("missing key", key=None, says="no API key"),
    Case("empty key", key="", says="No Databuddy API key given"),
    Case("malformed key", key="dbdy_x", says="malformed"),
    Case("not a databuddy key", key="sk_live_0123456789abcdef0123", says="not starting with dbdy_"),
    Case("key with spaces", key="dbdy_abc def ghi jkl mno", says="whitespace"),
    Case("unknown key", key="dbdy_" + "z" * 48, code=3, says="Authentication required"),
    Case("revoked key", key=fixtures.REVOKED_KEY, code=3, says="Authentication required"),
    Case("disabled key", key=fixtures.DISABLED_KEY, code=3, says="Authentication required"),
    Case("expired key", key=fixtures.EXPIRED_KEY, code=3, says="Authentication required"),
    Case(
        "key without read:data",
        key=fixtures.NO_READ_DATA_KEY,
        code=3,
        says="Authentication required",
    ),
    Case("unknown website", ("--websites", "nope.example"), says="is not a website this key"),
    Case(
        "website of another organization",
        ("--websites", OTHER_ORG_SITE),
        says="is not a website this key can read",
    ),
    Case("unknown query type", ("--queries", "top_page"), says="Did you mean 'top_pages'?"),
    Case(
        "visitor-only query type",
        ("--queries", "profile_detail"),
        says="needs a filter on one visitor",
    ),
    Case("malformed start date", ("--start-date", "2026-13-01"), says="is not a date"),
    Case(
        "malformed end date",
        ("--start-date", "2026-03-01", "--end-date", "03/05/2026"),
        says="is not a date",
    ),
    Case(
        "end before start",
        ("--start-date", "2026-03-05", "--end-date", "2026-03-01"),
        says="is before start_date",
    ),
    Case("malformed as-of", ("--as-of", "tomorrow"), says="is not a date"),
    Case("lookback of zero", ("--lookback-days", "0"), says="lookback_days"),
    Case("unknown time zone", ("--timezone", "Mars/Olympus"), says="unknown time zone"),
    Case(
        "unknown filter field",
        env={"SOURCES__DATABUDDY__FILTERS": '[{"field": "contry", "op": "eq", "value": "US"}]'},
        says="Did you mean 'country'?",
    ),
    Case(
        "unknown filter operator",
        env={"SOURCES__DATABUDDY__FILTERS": '[{"field": "country", "op": "like", "value": "US"}]'},
        says="unknown operator",
    ),
    Case("unknown RPC collection", ("--rpc-collections", "funels"), says="Did you mean 'funnels'?"),
    Case(
        "bad request batch size",
        env={"SOURCES__DATABUDDY__MAX_PARAMETERS_PER_REQUEST": "0"},
        says="max_parameters_per_request",
    ),
    Case(
        "base URL that is not a URL",
        ("--base-url", "api.databuddy.cc"),
        says="base_url must be an http(s) URL",
    ),
    Case(
        "API unreachable",
        ("--base-url", "http://127.0.0.1:9"),
        code=5,
        says="could not be reached: cannot connect to http://127.0.0.1:9 (connection refused",
    ),
    Case("unknown destination", ("--destination", "nosuchdb"), says="unknown destination"),
    Case(
        "PostgreSQL down",
        ("--destination", "postgres"),
        env={
            "DESTINATION__POSTGRES__CREDENTIALS": "postgresql://loader:pw-not-shown@127.0.0.1:9/analytics"
        },
        code=4,
        says="the postgres destination refused the connection",
    ),
    Case(
        "PostgreSQL bad password",
        ("--destination", "postgres"),
        env={
            "DESTINATION__POSTGRES__CREDENTIALS": "postgresql://databuddy:pw-not-shown@127.0.0.1:5432/databuddy_test"
        },
        code=4,
        says="password authentication failed",
    ),
    Case(
        "DuckDB path in a missing folder",
        ("--duckdb-path", "/nonexistent-folder/out.duckdb"),
        says="is in a folder that does not exist",
    ),
    Case(
        "unwritable DuckDB path",
        ("--duckdb-path", "/proc/out.duckdb"),
        code=4,
        says="the DuckDB file /proc/out.duckdb cannot be created",
    ),
    Case("bad granularity", ("--granularity", "weekly"), says="invalid choice"),
]


server = emulator_fixture(scope="module")


def run_cli(
    tmp: Path, server: EmulatorServer, args: tuple[str, ...], env: dict[str, str], key: str | None
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    full.update({"DLT_DATA_DIR": str(tmp / "dlt"), "RUNTIME__DLTHUB_TELEMETRY": "false", **env})
    if key is not None:
        full["SOURCES__DATABUDDY__API_KEY"] = key
    base = [] if "--base-url" in args else ["--base-url", server.url]
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            *base,
            "--as-of",
            "2026-03-15",
            "--duckdb-path",
            str(tmp / "out.duckdb"),
            *GOOD,
            *args,
        ],
        cwd=tmp,
        env=full,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory, server: EmulatorServer) -> Path:
    """A destination and pipeline state after one good run (copied for every case)."""
    tmp = tmp_path_factory.mktemp("filled")
    result = run_cli(tmp, server, (), {}, server.emulator.config.api_key)
    assert result.returncode == 0, result.stderr
    return tmp


def digest(path: Path) -> str:
    db = duckdb.connect(str(path), read_only=True)
    out = hashlib.sha256()
    for (table,) in db.sql(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'databuddy' ORDER BY 1"
    ).fetchall():
        for row in sorted(map(repr, db.sql(f"SELECT * FROM databuddy.{table}").fetchall())):
            out.update(row.encode())
    db.close()
    return out.hexdigest()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name.replace(" ", "-"))
def test_bad_input(case: Case, tmp_path: Path, filled: Path, server: EmulatorServer) -> None:
    shutil.copytree(filled, tmp_path, dirs_exist_ok=True)
    before = digest(tmp_path / "out.duckdb")
    reg = server.emulator.store.registry
    args = tuple(
        reg.websites_of(reg.other_org_id)[0]["id"] if a == OTHER_ORG_SITE else a for a in case.args
    )
    key = server.emulator.config.api_key if case.key == KEY else case.key
    result = run_cli(tmp_path, server, args, case.env, key)
    output = result.stdout + result.stderr
    assert result.returncode == case.code, output[-3000:]
    assert case.says in result.stderr, result.stderr[-3000:]
    assert "Traceback" not in output
    for secret in (key, "pw-not-shown"):
        if secret:
            assert secret not in output
    errors = [line for line in result.stderr.splitlines() if line.startswith(("error:", "usage:"))]
    assert len(errors) <= 1 + ("usage:" in result.stderr), "one message"
    assert digest(tmp_path / "out.duckdb") == before, "no data changed"


def test_there_are_at_least_25_cases() -> None:
    assert len(CASES) >= 25


def test_debug_shows_the_traceback(tmp_path: Path, server: EmulatorServer) -> None:
    result = run_cli(
        tmp_path, server, ("--queries", "top_page", "--debug"), {}, server.emulator.config.api_key
    )
    assert result.returncode == 2 and "Traceback" in result.stderr
