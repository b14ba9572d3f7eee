"""``databuddy-sync --demo``: the local emulator, a sync into ./databuddy_demo.duckdb, a tour."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

DEMO_DAYS = 28
DEMO_REPORT = "databuddy_demo_report.html"


@contextmanager
def demo_emulator(args: argparse.Namespace) -> Iterator[None]:
    """The local emulator on a free loopback port, with the sync pointed at it."""
    try:
        from ..emulator.config import EmulatorConfig
        from ..emulator.server import EmulatorServer
    except ImportError as exc:
        raise ConfigurationError(
            f"--demo runs the local emulator, which needs its extra ({exc.name} is missing): "
            "pip install 'databuddy-source[emulator]'"
        ) from None

    print("Starting the local Databuddy emulator (synthetic data)...", flush=True)
    config = EmulatorConfig(profile="default", rate_limit_mode="off")
    with EmulatorServer(config) as server:
        os.environ["SOURCES__DATABUDDY__API_KEY"] = config.api_key
        args.base_url = server.url
        if args.start_date is None:
            args.start_date = (datetime.now(UTC).date() - timedelta(days=DEMO_DAYS)).isoformat()
        print(f"Emulator on {server.url}; syncing from {args.start_date}.", flush=True)
        yield


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
