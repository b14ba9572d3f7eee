"""A bad night: with the emulator injecting each fault class, a sync either completes with
tables equal to ground truth, or fails clearly and leaves the tables as they were."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from tests.integration.syncing import assert_table_equals_truth, make_pipeline, sync, table_rows

QUERIES = ["top_pages", "events_by_date", "country"]
OPTIONS: dict[str, Any] = {
    "queries": QUERIES,
    "start_date": "2026-03-12",
    "rpc_collections": ["none"],
    "request_timeout": 1.0,
    "max_attempts": 4,
}


# a 1 s rate-limit window: a 429's reset is a second away, so storms end quickly
server = emulator_fixture(rate_window_seconds=1.0)


def websites(server: EmulatorServer) -> dict[str, dict[str, str]]:
    """The demo organization's websites the API lists (soft-deleted ones are not)."""
    reg = server.emulator.store.registry
    return {
        w["id"]: {"website_id": w["id"]}
        for w in reg.websites_of(reg.demo_org_id)
        if not w.get("deletedAt")
    }


def fault(server: EmulatorServer, **rule: Any) -> None:
    rule.setdefault("route", "/v1/query")
    rule.setdefault("method", "POST")
    assert httpx.post(f"{server.url}/__emulator__/faults", json=rule).is_success


def assert_no_secret(pipeline: Any, server: EmulatorServer, tmp: Path) -> None:
    """The key is in no file of the pipeline (state, packages, traces, the DuckDB file)."""
    key = server.emulator.config.api_key
    assert key not in repr(pipeline.last_trace.asdict()) and key not in repr(pipeline.state)
    assert [p for p in tmp.rglob("*") if p.is_file() and key.encode() in p.read_bytes()] == []


def assert_exact(pipeline: Any, server: EmulatorServer) -> None:
    for name in QUERIES:
        assert_table_equals_truth(
            pipeline, server, name, websites(server), date(2026, 3, 12), date(2026, 3, 14)
        )


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "rate_limit", "count": 3},
        {"kind": "status", "status": 500, "count": 2},
        {"kind": "status", "status": 502, "count": 2},
        {"kind": "status", "status": 503, "count": 2},
        {"kind": "delay", "seconds": 2.5, "count": 1},  # the client times out after 1 s
        {"kind": "drop", "count": 2},
        {"kind": "truncate", "count": 2},
        {"kind": "malformed", "count": 2},
        {"kind": "failed_parameter", "count": 2, "message": "Code: 159. Timeout exceeded"},
        {"kind": "status", "status": 503, "probability": 0.3},
    ],
    ids=lambda r: f"{r['kind']}-{r.get('status', '')}{r.get('count', 'p')}",
)
def test_recovered_faults_leave_exact_tables(
    server: EmulatorServer, tmp_path: Path, rule: dict[str, Any]
) -> None:
    fault(server, **rule)
    pipeline = make_pipeline(tmp_path)
    report = sync(pipeline, server, **OPTIONS)
    assert report.failures == []
    assert report.retries >= 1 or rule["kind"] == "failed_parameter"
    assert_exact(pipeline, server)
    log = table_rows(pipeline, "sync_log")
    assert all(r["error"] is None for r in log) and len(log) == report.slices
    assert_no_secret(pipeline, server, tmp_path)


def snapshot(pipeline: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {
        name: sorted((tuple(r.values()) for r in table_rows(pipeline, name)), key=repr)
        for name in QUERIES
    }


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "status", "status": 503},  # never recovers: retries run out
        {"kind": "failed_parameter", "message": "Filter on field 'x' is not permitted."},
        {
            "kind": "status",
            "status": 403,
            "body": '{"success":false,"error":"Access denied to this website",'
            '"code":"ACCESS_DENIED"}',
        },
    ],
    ids=["503-forever", "invalid-parameter", "forbidden"],
)
def test_unrecovered_faults_fail_clearly_and_change_nothing(
    server: EmulatorServer, tmp_path: Path, rule: dict[str, Any]
) -> None:
    pipeline = make_pipeline(tmp_path)
    assert sync(pipeline, server, **OPTIONS).failures == []
    before = snapshot(pipeline)
    state = pipeline.state["sources"]["databuddy"]["resources"]["query_slices"]
    httpx.post(f"{server.url}/__emulator__/clock", json={"advance_seconds": 86_400})
    fault(server, **rule)
    # two tries per request: a request that keeps failing is split in halves down to single
    # slices, so retries multiply; this keeps the test short
    report = sync(pipeline, server, **{**OPTIONS, "max_attempts": 2}, as_of="2026-03-16")
    assert report.failures, "the failure is reported (daily_sync exits 1)"
    assert snapshot(pipeline) == before, "no table changed"
    after = pipeline.state["sources"]["databuddy"]["resources"]["query_slices"]
    failed_days = {
        day
        for parents in after["failed_days"].values()
        for days in parents.values()
        for day in days
    }
    # the days that failed are remembered and read again next run (not the history)
    assert failed_days and failed_days <= {"2026-03-13", "2026-03-14", "2026-03-15"}, after[
        "failed_days"
    ]
    assert after["rows_per_slice"] == state["rows_per_slice"]
    assert_no_secret(pipeline, server, tmp_path)
    errors = [r for r in table_rows(pipeline, "sync_log") if r["error"]]
    assert errors and all(r["request_id"] or "no requestId" in r["error"] for r in errors)
    httpx.delete(f"{server.url}/__emulator__/faults")
    assert sync(pipeline, server, **OPTIONS, as_of="2026-03-16").failures == []
    for name in QUERIES:  # the next good run catches up, including the days that failed
        assert_table_equals_truth(
            pipeline, server, name, websites(server), date(2026, 3, 12), date(2026, 3, 15)
        )
