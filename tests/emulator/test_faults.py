"""Fault injection through the admin surface: every kind, by script and by probability."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

BODY = {"parameters": ["summary_metrics", "events_by_date"], "preset": "last_7d"}


faulty = emulator_fixture(scope="module")


@pytest.fixture()
def client(faulty: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=faulty.url, timeout=5, headers={"x-api-key": faulty.emulator.config.api_key}
    ) as c:
        yield c
    httpx.delete(f"{faulty.url}/__emulator__/faults")


def add_fault(srv: EmulatorServer, **rule: Any) -> dict[str, Any]:
    r = httpx.post(f"{srv.url}/__emulator__/faults", json=rule)
    assert r.status_code == 200, r.text
    return dict(r.json()["rules"][-1])


def send(c: httpx.Client, srv: EmulatorServer) -> httpx.Response:
    reg = srv.emulator.store.registry
    return c.post(
        "/v1/query", params={"website_id": reg.websites_of(reg.demo_org_id)[0]["id"]}, json=BODY
    )


@pytest.mark.parametrize("status", [500, 502, 503])
def test_status_burst_then_recovery(
    faulty: EmulatorServer, client: httpx.Client, status: int
) -> None:
    add_fault(faulty, kind="status", route="/v1/query", status=status, count=2)
    codes = [send(client, faulty).status_code for _ in range(3)]
    assert codes == [status, status, 200]


def test_after_skips_the_first_matches(faulty: EmulatorServer, client: httpx.Client) -> None:
    add_fault(faulty, kind="status", route="/v1/query", status=503, after=2, count=1)
    assert [send(client, faulty).status_code for _ in range(4)] == [200, 200, 503, 200]


def test_rate_limit_storm_looks_like_the_real_429(
    faulty: EmulatorServer, client: httpx.Client
) -> None:
    add_fault(faulty, kind="rate_limit", route="/v1/query", count=3)
    responses = [send(client, faulty) for _ in range(4)]
    assert [r.status_code for r in responses] == [429, 429, 429, 200]
    r = responses[0]
    assert r.json()["code"] == "RATE_LIMITED"
    assert int(r.headers["x-ratelimit-reset"]) > 10**12


def test_delay_causes_client_timeout(faulty: EmulatorServer, client: httpx.Client) -> None:
    add_fault(faulty, kind="delay", route="/v1/query", seconds=1.0, count=1)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/v1/query", json=BODY, timeout=0.3)


def test_dropped_connection(faulty: EmulatorServer, client: httpx.Client) -> None:
    add_fault(faulty, kind="drop", route="/v1/query", count=1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        send(client, faulty)
    assert send(client, faulty).status_code == 200


def test_truncated_json(faulty: EmulatorServer, client: httpx.Client) -> None:
    add_fault(faulty, kind="truncate", route="/v1/query", count=1)
    r = send(client, faulty)
    assert r.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(r.content)
    assert r.content.startswith(b'{"success":true')


def test_malformed_body(faulty: EmulatorServer, client: httpx.Client) -> None:
    add_fault(faulty, kind="malformed", route="/v1/query", count=1)
    r = send(client, faulty)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(r.content)


def test_failed_parameter_inside_200(faulty: EmulatorServer, client: httpx.Client) -> None:
    add_fault(
        faulty,
        kind="failed_parameter",
        route="/v1/query",
        parameter="events_by_date",
        message="Query failed",
        count=1,
    )
    data = send(client, faulty).json()["data"]
    assert data[0]["success"] is True and data[0]["parameter"] == "summary_metrics"
    assert data[1] == {
        "parameter": "events_by_date",
        "success": False,
        "error": "Query failed",
        "data": [],
    }


def test_probability_is_seeded_and_bounded(faulty: EmulatorServer, client: httpx.Client) -> None:
    add_fault(faulty, kind="status", route="/v1/query", status=500, probability=0.5)
    codes = [send(client, faulty).status_code for _ in range(40)]
    assert 8 <= codes.count(500) <= 32 and codes.count(200) == 40 - codes.count(500)


def test_route_scoping(faulty: EmulatorServer, client: httpx.Client) -> None:
    add_fault(faulty, kind="status", route="/v1/query/websites", status=500)
    assert client.get("/v1/query/websites").status_code == 500
    assert send(client, faulty).status_code == 200


def test_bad_fault_spec_is_rejected(faulty: EmulatorServer) -> None:
    r = httpx.post(f"{faulty.url}/__emulator__/faults", json={"kind": "explode"})
    assert r.status_code == 400 and "kind must be one of" in r.json()["error"]
