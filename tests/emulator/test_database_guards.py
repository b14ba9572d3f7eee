"""The guards the API's database puts on every read, over HTTP to the emulator: at most
100,000 result rows and 15 s per query (a failed parameter with the database's message), and
the query cache (an identical query may be answered from the cache for 60 s after its second
run; live types bypass it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from databuddy_source.emulator.app import Emulator
from databuddy_source.emulator.config import EmulatorConfig
from databuddy_source.emulator.server import EmulatorServer
from databuddy_source.emulator.store import Store

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
