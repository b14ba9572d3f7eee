"""The guards the API's database puts on every read, over HTTP to the emulator: at most
100,000 result rows and 15 s per query (a failed parameter with the database's message), and
the query cache (an identical query may be answered from the cache for 60 s after its second
run; live types bypass it)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import duckdb
import httpx
import orjson
import pytest
from databuddy_emulator.app import Emulator
from databuddy_emulator.cache import QueryCache
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.query.watchdog import WATCHDOG
from databuddy_emulator.server import EmulatorServer
from databuddy_emulator.store import Store

RANGE = {"startDate": "2026-03-01", "endDate": "2026-03-07"}


@pytest.fixture()
def own(small_config: EmulatorConfig) -> Iterator[EmulatorServer]:
    """A world of our own (these tests delete rows and move its clock)."""
    config = replace(small_config, rate_limit=1_000_000)
    store = Store(config)
    with EmulatorServer(emulator=Emulator(config, store=store)) as srv:
        yield srv


def query(srv: EmulatorServer, body: Any) -> httpx.Response:
    reg = srv.emulator.store.registry
    site = reg.websites_of(reg.demo_org_id)[0]["id"]
    key = {"x-api-key": srv.emulator.config.api_key}
    return httpx.post(f"{srv.url}/v1/query", params={"website_id": site}, json=body, headers=key)


def limits(srv: EmulatorServer, **values: float) -> dict[str, Any]:
    r = httpx.post(f"{srv.url}/__emulator__/limits", json=values)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_defaults_are_the_api_database_settings(own: EmulatorServer) -> None:
    current = httpx.get(f"{own.url}/__emulator__/limits").json()
    assert (current["max_result_rows"], current["max_execution_seconds"]) == (100_000, 15.0)
    assert current["query_cache_seconds"] == 60.0


def test_a_result_over_the_row_limit_fails_its_parameter(own: EmulatorServer) -> None:
    limits(own, max_result_rows=5)
    r = query(own, {"parameters": ["top_pages", "summary_metrics"], "limit": 6, **RANGE})
    ok, failed = r.json()["data"]
    assert (ok["parameter"], ok["success"], len(ok["data"])) == ("summary_metrics", True, 1)
    assert failed == {
        "parameter": "top_pages",
        "success": False,
        "data": [],
        "error": "Limit for result exceeded, max rows: 5.00, current rows: 6.00. ",
    }
    assert (
        len(
            query(own, {"parameters": ["top_pages"], "limit": 5, **RANGE}).json()["data"][0]["data"]
        )
        == 5
    )


def test_a_query_over_the_time_limit_fails_its_parameter(own: EmulatorServer) -> None:
    limits(own, max_execution_seconds=0.000_001)
    entry = query(own, {"parameters": ["events_by_date"], **RANGE}).json()["data"][0]
    assert entry["success"] is False and entry["data"] == []
    assert re.fullmatch(
        r"Timeout exceeded: elapsed \d+\.\d{3} ms, maximum: 0\.001 ms\. ", entry["error"]
    ), entry["error"]
    limits(own, max_execution_seconds=15)
    assert query(own, {"parameters": ["events_by_date"], **RANGE}).json()["data"][0]["success"]


def test_bad_limits_are_refused(own: EmulatorServer) -> None:
    r = httpx.post(f"{own.url}/__emulator__/limits", json={"max_result_rows": 0})
    assert r.status_code == 400 and "max_result_rows >= 1" in r.text


def _forget_the_site(srv: EmulatorServer) -> None:
    store = srv.emulator.store
    reg = store.registry
    site = reg.websites_of(reg.demo_org_id)[0]["id"]
    with store.cursor() as cur:
        cur.execute("DELETE FROM events WHERE client_id = ?", [site])


def test_a_query_is_cached_from_its_second_run_for_60_seconds(own: EmulatorServer) -> None:
    body = {"parameters": ["top_pages"], **RANGE}
    first = query(own, body).json()["data"][0]["data"]
    assert query(own, body).json()["data"][0]["data"] == first  # second run: now stored
    _forget_the_site(own)
    assert query(own, body).json()["data"][0]["data"] == first  # from the cache
    other_page = query(own, {**body, "limit": 3}).json()["data"][0]["data"]
    assert other_page == []  # another query text is not in the cache
    own.emulator.store.clock.advance(timedelta(seconds=61))
    assert query(own, body).json()["data"][0]["data"] == []


def test_a_query_run_once_is_not_cached(own: EmulatorServer) -> None:
    body = {"parameters": ["top_pages"], **RANGE}
    assert query(own, body).json()["data"][0]["data"]
    _forget_the_site(own)
    assert query(own, body).json()["data"][0]["data"] == []


def test_live_types_bypass_the_cache(own: EmulatorServer) -> None:
    live = {"parameters": ["active_stats", "realtime_pages"], **RANGE}
    for _ in range(3):
        before = query(own, live).json()["data"]
    assert before[0]["data"][0]["active_users"] > 0 and before[1]["data"]
    _forget_the_site(own)
    after = query(own, live).json()["data"]
    assert after[0]["data"][0]["active_users"] == 0 and after[1]["data"] == []


def test_the_cache_can_be_turned_off(own: EmulatorServer) -> None:
    assert limits(own, query_cache_seconds=0)["query_cache_seconds"] == 0
    body = {"parameters": ["top_pages"], **RANGE}
    for _ in range(3):
        assert query(own, body).json()["data"][0]["data"]
    _forget_the_site(own)
    assert query(own, body).json()["data"][0]["data"] == []


def test_the_cache_forgets_old_runs_and_stays_bounded() -> None:
    cache = QueryCache(ttl=60, max_keys=3, max_bytes=10)
    cache.ran("a", 0.0, b"[1]")
    cache.ran("a", 61.0, b"[1]")  # the first run is forgotten: this is a first run again
    assert cache.get("a", 62.0) is None
    cache.ran("a", 62.0, b"[1]")
    assert orjson.dumps(cache.get("a", 63.0)) == b"[1]"
    assert cache.get("a", 122.0) is None  # stored at 62 for 60 s
    for key in "bcd":  # two runs each: stored, but only 10 bytes fit (3 results of 3 bytes)
        cache.ran(key, 200.0, b"[2]")
        cache.ran(key, 200.0, b"[2]")
    cache.ran("e", 200.0, b"[33]")
    cache.ran("e", 200.0, b"[33]")
    assert cache.get("b", 201.0) is None and cache.get("e", 201.0) is not None


def test_the_watchdog_interrupts_a_runaway_query() -> None:
    cur = duckdb.connect().cursor()
    began = time.monotonic()
    with WATCHDOG.guard(cur, 0.2) as deadline, pytest.raises(duckdb.InterruptException):
        cur.execute("SELECT count(*) FROM range(100_000_000_000) AS a WHERE a.range % 7 = 3")
    assert deadline.fired and time.monotonic() - began < 5
    assert cur.execute("SELECT 42").fetchone() == (42,)  # the cursor still works
