"""``databuddy-sync --demo``: the local emulator, a sync into ./databuddy_demo.duckdb, a tour."""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx

from ..errors import ConfigurationError

DEMO_DAYS = 28
EMULATOR_START_SECONDS = 120
DEMO_REPORT = "databuddy_demo_report.html"


@contextmanager
def demo_emulator(args: argparse.Namespace) -> Iterator[None]:
    """The local emulator (the ``databuddy-emulator`` distribution) in a process of its own on a
    free loopback port, with the sync pointed at it by URL; stopped when the sync ends."""
    if importlib.util.find_spec("databuddy_emulator") is None:
        raise ConfigurationError(
            "--demo runs the local emulator, which is not installed: "
            "pip install 'databuddy-source[emulator]'"
        )
    print("Starting the local Databuddy emulator (synthetic data)...", flush=True)
    key = "dbdy_demo" + secrets.token_hex(22)  # valid only for this emulator, gone with it
    url = f"http://127.0.0.1:{_free_port()}"
    command = [sys.executable, "-m", "databuddy_emulator", "--port", url.rsplit(":", 1)[1]]
    command += ["--profile", "default", "--rate-limit-mode", "off", "--api-key", key]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, text=True)
        try:
            _wait_until_up(url, process, log)
            os.environ["SOURCES__DATABUDDY__API_KEY"] = key
            args.base_url = url
            if args.start_date is None:
                args.start_date = (datetime.now(UTC).date() - timedelta(days=DEMO_DAYS)).isoformat()
            print(f"Emulator on {url}; syncing from {args.start_date}.", flush=True)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[str], log: IO[str]) -> None:
    """Until ``GET /health`` answers; the emulator's own error if it exits first."""
    deadline = time.monotonic() + EMULATOR_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise ConfigurationError(f"the demo emulator did not start: {log.read().strip()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise ConfigurationError(
        f"the demo emulator did not answer on {url} within {EMULATOR_START_SECONDS} s"
    )


def print_demo_tour(pipeline: Any) -> None:
    credentials = (
        pipeline.destination.config_params.get("credentials")
        if hasattr(pipeline.destination, "config_params")
        else None
    )
    # the file path (DuckDB credentials carry it as ``database``; their str() is a URL)
    where = getattr(credentials, "database", None) or credentials or "databuddy_demo.duckdb"
    print(
        f"\nLoaded into {where} (dataset {pipeline.dataset_name}). Try:\n"
        f"  python -c \"import duckdb; print(duckdb.connect('{where}').sql("
        f"'select date, sum(pageviews) pageviews, sum(visitors) visitors from "
        f"{pipeline.dataset_name}.events_by_date group by 1 order by 1 desc limit 7'))\"\n"
        "  Tables: one per query type (events_by_date, top_pages, country, ...), one per RPC "
        "collection (websites, links, ...), and sync_log. See README.md, 'Tables'."
    )
    from ..report import ReportInputError, SqlClientDatabase, build_report

    try:
        with pipeline.sql_client() as client:
            line = build_report(SqlClientDatabase(client), Path(DEMO_REPORT))
    except ReportInputError as exc:  # run with --no-models: no views to draw
        print(f"  No report: {exc}")
        return
    print(
        f"\n{line}\n  Open it in a browser (it works offline). Another website or range:\n"
        f"  databuddy-report --duckdb {where} --website 'Acme Docs' "
        "--start YYYY-MM-DD --end YYYY-MM-DD --out report.html"
    )
