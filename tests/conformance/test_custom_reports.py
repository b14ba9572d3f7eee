"""``POST /v1/query/custom`` on the real Databuddy server: the emulator answers the same raw
events the same way, and the three documented reports sync exactly from the real server.

Needs a running server (see the project's real-server harness): ``DATABUDDY_REAL_API_URL``,
``DATABUDDY_REAL_KEY_ALPHA`` (a key that reads ``site_alpha``) and
``DATABUDDY_REAL_CLICKHOUSE_URL`` (its ClickHouse over HTTP, read only here). Skipped without
them. Real requests go through one client, so the endpoint's 60 a minute is never exceeded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow as pa
import pytest
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.server import EmulatorServer

from databuddy_source import databuddy
from databuddy_source.client import Databuddy
from databuddy_source.custom_reports import TABLES
from databuddy_source.errors import APIError

from ..integration.custom_examples import (
    EXAMPLES,
    assert_report_equals_api,
    comparable,
    example_reports,
)
from ..integration.syncing import make_pipeline, table_rows

pytestmark = pytest.mark.conformance

URL = os.environ.get("DATABUDDY_REAL_API_URL")
KEY = os.environ.get("DATABUDDY_REAL_KEY_ALPHA")
CLICKHOUSE = os.environ.get("DATABUDDY_REAL_CLICKHOUSE_URL")
SITE = "site_alpha"
FIRST, LAST = date(2026, 11, 18), date(2026, 11, 24)  # in the seeded period
if not (URL and KEY and CLICKHOUSE):
    pytest.skip(
        "needs the real Databuddy server: set DATABUDDY_REAL_API_URL, DATABUDDY_REAL_KEY_ALPHA "
        "and DATABUDDY_REAL_CLICKHOUSE_URL",
        allow_module_level=True,
    )

# The columns the endpoint reads, per table, as the emulator stores them (``title`` and
# ``page_count`` are not in the emulator's events: no probe uses them).
NOT_EMULATED = ("title", "page_count")
RAW: dict[str, tuple[str, tuple[str, ...]]] = {
    table: (time_column, tuple(c for c in TABLES[table] if c not in NOT_EMULATED))
    for table, time_column in (
        ("events", "time"),
        ("web_vitals_spans", "timestamp"),
        ("outgoing_links", "timestamp"),
    )
}


@pytest.fixture(scope="module")
def real() -> Iterator[Databuddy]:
    assert URL and KEY
    with Databuddy(KEY, base_url=URL) as client:
        yield client


def _raw_rows(table: str) -> pa.Table:
    """site_alpha's rows of ``table`` from the real server's ClickHouse (read only)."""
    time_column, columns = RAW[table]
    sql = (
        f"SELECT {time_column}, {', '.join(columns)} FROM analytics.{table} "
        f"WHERE client_id = '{SITE}' FORMAT JSONEachRow"
    )
    assert CLICKHOUSE
    response = httpx.post(CLICKHOUSE, content=sql, timeout=60)
    response.raise_for_status()
    rows = [orjson.loads(line) for line in response.content.splitlines() if line]
    data: dict[str, Any] = {}
    for name in (time_column, *columns):
        values = [row[name] for row in rows]
        if name == time_column:
            data[name] = pa.array([datetime.fromisoformat(v) for v in values], pa.timestamp("us"))
        else:
            data[name] = pa.array(values)
    return pa.table(data)


@pytest.fixture(scope="module")
def emulator(small_config: EmulatorConfig) -> Iterator[tuple[EmulatorServer, str]]:
    """An emulator whose first website holds exactly site_alpha's raw rows."""
    config = replace(small_config, rate_limit=1_000_000)
    with EmulatorServer(config) as server:
        store = server.emulator.store
        website = store.registry.websites_of(store.registry.demo_org_id)[0]["id"]
        with store.cursor() as cur:
            for table, (time_column, _) in RAW.items():
                raw = _raw_rows(table)
                assert raw.num_rows > 0, f"no {table} rows for {SITE} in ClickHouse"
                cur.register("raw_rows", raw)
                cur.execute(f"DELETE FROM {table} WHERE client_id = ?", [website])
                cur.execute(
                    f"INSERT INTO {table} BY NAME SELECT *, ? AS client_id, "
                    f"{time_column} AS ingested_at FROM raw_rows",
                    [website],
                )
                cur.unregister("raw_rows")
        httpx.post(
            f"{server.url}/__emulator__/clock", json={"set": "2026-12-07T00:00:00Z"}
        ).raise_for_status()
        yield server, website


def _day(day: date) -> dict[str, str]:
    return {
        "startDate": f"{day.isoformat()}T00:00:00Z",
        "endDate": f"{day.isoformat()}T23:59:59Z",
    }


def _probes() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for report in example_reports():
        for n in range((LAST - FIRST).days + 1):
            day = FIRST + timedelta(days=n)
            start = datetime.combine(day, datetime.min.time(), UTC)
            body = report.body(start, start + timedelta(days=1, seconds=-1), "UTC")
            out.append((f"{report.name} {day}", body))
    week = {"startDate": "2026-11-18 00:00:00", "endDate": "2026-11-24 23:59:59"}
    count = {"field": "*", "aggregate": "count"}

    def query(table: str, selects: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        q = {"table": table, "selects": selects}
        q.update({k: extra.pop(k) for k in ("filters", "groupBy") if k in extra})
        return {"query": q, **week, **extra}

    numbers = [
        {"field": f, "aggregate": a}
        for f, a in (("time_on_page", "sum"), ("load_time", "avg"), ("scroll_depth", "max"))
    ]
    out += [
        (
            "two dimensions, column order",
            query("events", [count], groupBy=["device_type", "os_name"]),
        ),
        ("numeric aggregates", query("events", [count, *numbers], groupBy=["browser_name"])),
        ("ungrouped", query("events", [count, {"field": "city", "aggregate": "uniq"}, *numbers])),
        (
            "no rows",
            query(
                "web_vitals_spans",
                [{"field": "metric_value", "aggregate": a} for a in ("sum", "min", "avg")],
                startDate="2026-01-01 00:00:00",
                endDate="2026-01-02 00:00:00",
            ),
        ),
        (
            "range in a time zone",
            query(
                "events",
                [count],
                startDate="2026-11-20",
                endDate="2026-11-21",
                timezone="America/New_York",
            ),
        ),
        (
            "filters",
            query(
                "events",
                [count, {"field": "path", "aggregate": "uniq"}],
                groupBy=["country"],
                filters=[
                    {"field": "device_type", "operator": "in", "value": ["mobile", "tablet"]},
                    {"field": "path", "operator": "contains", "value": "docs"},
                    {"field": "browser_name", "operator": "not_in", "value": ["Safari"]},
                    {"field": "load_time", "operator": "gte", "value": 500},
                ],
            ),
        ),
        (
            "granularity ignored",
            query("outgoing_links", [count], groupBy=["text"], granularity="hourly"),
        ),
        ("unknown table", query("sessions", [count])),
        ("avg of text", query("events", [{"field": "path", "aggregate": "avg"}])),
        ("GROUP BY a hidden column", query("events", [count], groupBy=["session_id"])),
        ("a bad time zone", query("events", [count], timezone="Mars/Base")),
        (
            "an alias that is a dimension",
            query("events", [{**count, "alias": "country"}], groupBy=["country"]),
        ),
        (
            "text compared as text",
            query(
                "events",
                [count],
                filters=[
                    {"field": "path", "operator": "gt", "value": "https://alpha.example.com/p"}
                ],
            ),
        ),
        ("aggregate outside the schema", query("events", [{"field": "*", "aggregate": "median"}])),
        ("granularity outside the schema", query("events", [count], granularity="weekly")),
    ]
    return out


def _answer(send: Any, body: dict[str, Any]) -> tuple[int, Any]:
    try:
        return 200, send(body)
    except APIError as exc:
        return exc.status or 0, (exc.code, exc.message)


@pytest.mark.parametrize(("name", "body"), _probes(), ids=[n for n, _ in _probes()])
def test_the_emulator_answers_as_the_real_server(
    real: Databuddy, emulator: tuple[EmulatorServer, str], name: str, body: dict[str, Any]
) -> None:
    server, website = emulator

    def real_send(b: dict[str, Any]) -> Any:
        return real.request(
            "POST",
            "/v1/query/custom",
            params={"website_id": SITE},
            json=b,
            limiter=real.custom_rate_limiter,
        )

    with Databuddy(server.emulator.config.api_key, base_url=server.url) as fake:

        def fake_send(b: dict[str, Any]) -> Any:
            return fake.request("POST", "/v1/query/custom", params={"website_id": website}, json=b)

        want_status, want = _answer(real_send, body)
        got_status, got = _answer(fake_send, body)
    assert (got_status, "" if got_status == 200 else got) == (
        want_status,
        "" if want_status == 200 else want,
    ), name
    if want_status != 200:
        return
    want_rows, got_rows = want["data"], got["data"]
    assert [list(r) for r in got_rows[:1]] == [list(r) for r in want_rows[:1]], "column order"
    as_set = lambda rows: sorted(  # noqa: E731
        (tuple((k, comparable(v)) for k, v in r.items()) for r in rows), key=repr
    )
    assert as_set(got_rows) == as_set(want_rows), name
    if body["query"].get("groupBy") and want_rows:
        key = list(want_rows[0])[len(body["query"]["groupBy"])]  # the first select's column
        for rows in (want_rows, got_rows):
            values = [r[key] for r in rows]
            assert values == sorted(values, reverse=True), "ordered by the first select"


def test_the_three_examples_sync_exactly_from_the_real_server(
    real: Databuddy, tmp_path: Path
) -> None:
    assert URL and KEY
    pipeline = make_pipeline(tmp_path)
    source = databuddy(
        api_key=KEY,
        base_url=URL,
        custom_reports=EXAMPLES,
        queries=["summary_metrics"],
        rpc_collections="none",
        websites=[SITE],
        start_date=FIRST.isoformat(),
        end_date=LAST.isoformat(),
    )
    report = source.report
    pipeline.run(source)
    assert report.failures == []
    assert report.rate_limited == 0
    days = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
    compared = {
        r.name: assert_report_equals_api(pipeline, real, r, [SITE], days) for r in example_reports()
    }
    assert all(n > 0 for n in compared.values()), compared
    log = table_rows(pipeline, "sync_log", "WHERE table_name LIKE 'report_%'")
    assert len(log) == 3 * len(days) and all(r["error"] is None for r in log)
    print(f"rows compared with the real server's answers: {compared}")
