"""A website that answers 503 for good costs seconds, not minutes: the run gives it up after a few
failed requests or its retry budget, finishes the others exactly, and reports it once."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from databuddy_source import settings
from tests.integration.syncing import assert_table_equals_truth, make_pipeline, sync, table_rows
from tests.reliability.test_faults_during_sync import fault, websites

QUERIES = ["top_pages", "events_by_date", "country"]


server = emulator_fixture(rate_window_seconds=1.0)


def test_a_dead_website_costs_seconds_and_the_others_load(
    server: EmulatorServer, tmp_path: Path
) -> None:
    sites = websites(server)
    dead = sorted(sites)[0]
    fault(server, kind="status", status=503, query=f"website_id={dead}")
    pipeline = make_pipeline(tmp_path)
    started = time.monotonic()
    report = sync(
        pipeline,
        server,
        queries=QUERIES,
        start_date="2026-02-20",  # 24 days x 3 types: several packed requests per website
        rpc_collections=["none"],
        max_parameters_per_request=20,
    )
    elapsed = time.monotonic() - started
    assert elapsed < settings.PARENT_RETRY_SECONDS + 15, f"the run took {elapsed:.0f} s"
    # one line per failed request, and one saying it was given up
    assert len(report.failures) <= settings.PARENT_FAILURES_IN_ROW + 1, report.failures
    assert any("given up for this run" in f and dead in f for f in report.failures)
    log = table_rows(pipeline, "sync_log")
    dead_rows = [r for r in log if r["parent_id"] == dead]
    assert dead_rows and all(r["status"] == "failed" for r in dead_rows)
    spent = sum({(r["unit"], r["unit_requests"]) for r in dead_rows}, ())[1::2]
    # a few tries of a few requests (plus the halves of a failing pack), never the whole plan
    assert sum(spent) <= 3 * settings.SPLIT_AFTER_ATTEMPTS * 2, dead_rows[:3]
    alive = {k: v for k, v in sites.items() if k != dead}
    for name in QUERIES:
        assert_table_equals_truth(
            pipeline, server, name, alive, date(2026, 2, 20), date(2026, 3, 14)
        )
    state = pipeline.state["sources"]["databuddy"]["resources"]["query_slices"]
    assert dead in state["failed_days"]["top_pages"]  # read again next run
