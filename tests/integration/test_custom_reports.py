"""Custom reports against the emulator: the three documented examples load exactly what the
endpoint answers, slice by slice; late data replaces the changed days; the endpoint's own rate
limit is never exceeded; a bad definition stops the run before any request."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer
from databuddy_emulator.store import Store

from databuddy_source.client import Databuddy

from .custom_examples import EXAMPLES, assert_report_equals_api, example_reports
from .syncing import make_pipeline, sync, table_rows

START, YESTERDAY = date(2026, 3, 9), date(2026, 3, 14)
TABLES = [f"report_{r['name']}" for r in EXAMPLES]


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def websites(store: Store) -> list[str]:
    """The websites the API lists (soft-deleted ones are not)."""
    sites = store.registry.websites_of(store.registry.demo_org_id)
    return [w["id"] for w in sites if not w.get("deletedAt")]


def client_of(server: EmulatorServer) -> Databuddy:
    return Databuddy(server.emulator.config.api_key, base_url=server.url, custom_rate_limit=10**6)


def sync_reports(
    pipeline: object,
    server: EmulatorServer,
    reports: list[dict[str, object]] = EXAMPLES,
    **options: object,
) -> Any:
    """A run of ``reports`` (and one query type beside them), unthrottled unless asked."""
    options.setdefault("custom_rate_limit", 10**6)
    return sync(
        pipeline,
        server,
        custom_reports=reports,
        queries=["summary_metrics"],
        rpc_collections="none",
        **options,
    )


def test_the_three_examples_equal_the_endpoints_answers(
    server: EmulatorServer, tmp_path: Path
) -> None:
    pipeline = make_pipeline(tmp_path)
    report = sync_reports(pipeline, server, start_date=START.isoformat())
    assert report.failures == []
    sites = websites(server.emulator.store)
    compared = {}
    with client_of(server) as client:
        for r in example_reports():
            compared[r.name] = assert_report_equals_api(
                pipeline, client, r, sites, days(START, YESTERDAY)
            )
    assert all(n > 0 for n in compared.values()), compared
    assert sum(compared.values()) > 1_000, compared
    log = table_rows(pipeline, "sync_log", "WHERE table_name LIKE 'report_%'")
    assert len(log) == 3 * len(sites) * len(days(START, YESTERDAY))
    assert all(r["error"] is None and r["pages"] == 1 for r in log)
    summary = table_rows(pipeline, "summary_metrics")  # query types load beside the reports
    assert len(summary) == len(sites) * len(days(START, YESTERDAY))


def test_views_by_country_device_equals_the_raw_events(
    server: EmulatorServer, tmp_path: Path
) -> None:
    """Independent of the endpoint: the table against the emulator's own raw events."""
    pipeline = make_pipeline(tmp_path)
    sync_reports(
        pipeline,
        server,
        EXAMPLES[:1],
        start_date=START.isoformat(),
    )
    store = server.emulator.store
    sites = ", ".join(f"'{w}'" for w in websites(store))
    with store.cursor() as cur:
        truth = cur.execute(
            "SELECT client_id, time::DATE AS day, country, device_type, count(*), "
            f"count(DISTINCT path) FROM events WHERE client_id IN ({sites}) "
            "AND event_name = 'screen_view' "
            f"AND ingested_at <= TIMESTAMP '{store.now()}' AND time::DATE BETWEEN "
            f"DATE '{START}' AND DATE '{YESTERDAY}' GROUP BY ALL"
        ).fetchall()
    loaded = [
        (r["website_id"], r["date"], r["country"], r["device_type"], r["views"], r["pages"])
        for r in table_rows(pipeline, "report_views_by_country_device")
    ]
    assert sorted(loaded, key=repr) == sorted(truth, key=repr)
    assert len(truth) > 100


def test_an_hourly_report_reads_each_hour(server: EmulatorServer, tmp_path: Path) -> None:
    hourly = {**EXAMPLES[2], "granularity": "hourly"}
    pipeline = make_pipeline(tmp_path)
    report = sync_reports(
        pipeline,
        server,
        [hourly],
        start_date="2026-03-13",
        timezone="Europe/Berlin",
    )
    assert report.failures == []
    (spec,) = example_reports()[2:]
    spec = replace(spec, granularity="hourly")
    sites = websites(server.emulator.store)
    with client_of(server) as client:
        compared = assert_report_equals_api(
            pipeline, client, spec, sites, days(date(2026, 3, 13), YESTERDAY), "Europe/Berlin"
        )
    assert compared > 10
    log = table_rows(pipeline, "sync_log", "WHERE table_name = 'report_outbound_clicks_hourly'")
    assert {r["pages"] for r in log} == {24}  # one request per hour


late_server = emulator_fixture()


def test_a_rerun_with_late_data_replaces_the_changed_days(
    late_server: EmulatorServer, tmp_path: Path
) -> None:
    server = late_server
    pipeline = make_pipeline(tmp_path)
    sync_reports(pipeline, server, start_date=START.isoformat(), include_today=True)
    today = date(2026, 3, 15)
    before = {
        (r["website_id"], r["date"], r["country"], r["device_type"]): r["views"]
        for r in table_rows(pipeline, "report_views_by_country_device")
    }
    httpx.post(f"{server.url}/__emulator__/clock", json={"advance_seconds": 86_400})
    report = sync_reports(pipeline, server, start_date=START.isoformat(), as_of="2026-03-16")
    assert report.failures == []
    run = table_rows(
        pipeline,
        "sync_log",
        f"WHERE run_id = '{report.run_id}'",
    )
    assert {r["slice_date"] for r in run} == {date(2026, 3, 13), date(2026, 3, 14), today}
    after = {
        (r["website_id"], r["date"], r["country"], r["device_type"]): r["views"]
        for r in table_rows(pipeline, "report_views_by_country_device")
    }
    grown = [k for k, v in after.items() if k[1] == today and v > before.get(k, 0)]
    assert grown, "the partial day loaded first is complete now"
    sites = websites(server.emulator.store)
    with client_of(server) as client:
        for r in example_reports():
            assert_report_equals_api(pipeline, client, r, sites, days(START, today))


def test_a_backfill_never_exceeds_the_endpoints_rate_limit(
    small_config: EmulatorConfig, tmp_path: Path
) -> None:
    # /v1/query: 20 per 2 s; /v1/query/custom: its own 10 per 2 s (half, as on the API)
    config = replace(small_config, rate_limit=20, rate_window_seconds=2.0)
    with EmulatorServer(config) as server:
        assert server.emulator.custom_limiter.limit == 10
        pipeline = make_pipeline(tmp_path)
        began = time.monotonic()
        report = sync_reports(
            pipeline,
            server,
            start_date="2026-03-10",
            rate_limit=20,
            rate_window_seconds=2.0,
            custom_rate_limit=10,
        )
        sites = websites(server.emulator.store)
        slices = 3 * len(sites) * 5
        assert report.failures == []
        assert server.emulator.custom_limiter.rejected == 0, "a 429 from /v1/query/custom"
        assert report.rate_limited == 0
        stats = httpx.get(f"{server.url}/__emulator__/stats").json()
        assert stats.get("POST /v1/query/custom 200") == slices
        assert stats.get("POST /v1/query/custom 429") is None
        # paced, not rejected: 10 requests per 2 s window
        assert time.monotonic() - began >= 2.0 * (slices // 10 - 1)


def test_a_bad_definition_stops_before_any_request(tmp_path: Path, server: EmulatorServer) -> None:
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(
        "[[sources.databuddy.custom_reports]]\n"
        'name = "views"\n'
        'table = "events"\n'
        'dimensions = ["contry"]\n'
        'metrics = [{ field = "*", aggregate = "count" }]\n'
    )
    before = httpx.get(f"{server.url}/__emulator__/stats").json()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env.update(
        {
            "DLT_DATA_DIR": str(tmp_path / "dlt"),
            "SOURCES__DATABUDDY__API_KEY": server.emulator.config.api_key,
        }
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "databuddy_source.cli.sync",
            "--base-url",
            server.url,
            "--as-of",
            "2026-03-15",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "error: sources.databuddy.custom_reports[0] (views): dimensions: 'contry' is not a "
        "column of events. Did you mean 'country'? Columns: event_name, referrer, path, title, "
        "browser_name, os_name, device_type, country, region, city, language, utm_source, "
        "utm_medium, utm_campaign, time_on_page, scroll_depth, page_count, load_time, ttfb "
        "(see docs/custom-reports.md)",
        "(run with --debug for the traceback)",
    ]
    assert httpx.get(f"{server.url}/__emulator__/stats").json() == before, "no request was sent"


def test_a_day_that_reaches_the_limit_is_flagged_with_a_hint(
    server: EmulatorServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    narrow = {**EXAMPLES[0], "limit": 3}
    pipeline = make_pipeline(tmp_path)
    with caplog.at_level("WARNING", logger="databuddy_source"):
        report = sync_reports(
            pipeline,
            server,
            [narrow],
            start_date="2026-03-14",
        )
    log = table_rows(pipeline, "sync_log", "WHERE table_name = 'report_views_by_country_device'")
    assert all(r["possibly_truncated"] == (r["rows"] == 3) for r in log)
    flagged = sum(r["possibly_truncated"] for r in log)
    assert flagged >= 3 and report.possibly_truncated == flagged
    assert "reached its limit of 3 groups: the endpoint has no offset" in caplog.text
    assert "raise limit to 10000, add a filter, drop a dimension" in caplog.text
    full = table_rows(pipeline, "sync_log", "WHERE table_name = 'summary_metrics'")
    assert not any(r["possibly_truncated"] for r in full)


def test_a_failed_slice_is_isolated_and_read_again(
    late_server: EmulatorServer, tmp_path: Path
) -> None:
    server = late_server
    rule = {
        "kind": "status",
        "route": "/v1/query/custom",
        "status": 400,
        "body": '{"success":false,"error":"Query execution failed.","code":"QUERY_ERROR"}',
        "after": 4,
        "count": 1,
    }
    httpx.post(f"{server.url}/__emulator__/faults", json=rule).raise_for_status()
    pipeline = make_pipeline(tmp_path)
    report = sync_reports(pipeline, server, start_date="2026-03-12")
    assert len(report.failures) == 1 and "QUERY_ERROR" in report.failures[0]
    (failed,) = table_rows(pipeline, "sync_log", "WHERE error IS NOT NULL")
    assert failed["error_type"] == "ValidationError"
    state = pipeline.state["sources"]["databuddy"]["resources"]["custom_report_slices"]
    assert failed["parent_id"] not in state["loaded_through"].get(failed["table_name"], {})
    loaded = table_rows(pipeline, "sync_log", "WHERE error IS NULL AND table_name LIKE 'report_%'")
    assert len(loaded) == 3 * len(websites(server.emulator.store)) * 3 - 1
    report = sync_reports(pipeline, server, start_date="2026-03-12")  # the fault is spent
    assert report.failures == []
    with client_of(server) as client:
        for r in example_reports():
            assert_report_equals_api(
                pipeline,
                client,
                r,
                websites(server.emulator.store),
                days(date(2026, 3, 12), YESTERDAY),
            )


def test_the_examples_load_the_same_on_postgres_and_rerun_in_place(
    server: EmulatorServer, tmp_path: Path, postgres_url: str, pg_dataset: str
) -> None:
    import dlt

    pipeline = make_pipeline(
        tmp_path, destination=dlt.destinations.postgres(postgres_url), dataset=pg_dataset
    )
    first = sync_reports(pipeline, server, start_date="2026-03-11")
    second = sync_reports(pipeline, server, start_date="2026-03-11")  # the lookback re-read
    assert first.failures == second.failures == []
    assert second.slices < first.slices
    sites = websites(server.emulator.store)
    with client_of(server) as client:
        for r in example_reports():
            assert_report_equals_api(pipeline, client, r, sites, days(date(2026, 3, 11), YESTERDAY))
    log = table_rows(pipeline, "sync_log", "WHERE table_name LIKE 'report_%'")
    assert len(log) == first.slices - len(sites) * 4 + second.slices - len(sites) * 2
