"""Fixtures for client tests: a dedicated emulator (faults and limits are changed here), a fake
clock whose sleep advances time instead of sleeping, and helpers for fault rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from databuddy_source import Databuddy, RetryPolicy

from ..fake_time import FakeTime

emulator = emulator_fixture(scope="module")


@pytest.fixture(autouse=True)
def clean_faults(emulator: EmulatorServer) -> Iterator[None]:
    yield
    httpx.delete(f"{emulator.url}/__emulator__/faults")
    httpx.delete(f"{emulator.url}/__emulator__/stats")


@pytest.fixture()
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture()
def client(emulator: EmulatorServer, fake_time: FakeTime) -> Iterator[Databuddy]:
    with Databuddy(
        emulator.emulator.config.api_key,
        base_url=emulator.url,
        retry=RetryPolicy(jitter=0.0),
        sleep=fake_time.sleep,
        clock=fake_time.time,
        monotonic=fake_time.monotonic,
        timeout=10,
    ) as c:
        yield c


@pytest.fixture()
def site(emulator: EmulatorServer) -> str:
    reg = emulator.emulator.store.registry
    return str(reg.websites_of(reg.demo_org_id)[0]["id"])


def add_fault(srv: EmulatorServer, **rule: Any) -> None:
    r = httpx.post(f"{srv.url}/__emulator__/faults", json=rule)
    assert r.status_code == 200, r.text


def served(srv: EmulatorServer, prefix: str = "POST /v1/query ") -> dict[str, int]:
    """Responses the emulator sent, by status, for routes starting with ``prefix``."""
    out: dict[str, int] = {}
    for key, n in httpx.get(f"{srv.url}/__emulator__/stats").json().items():
        if key.startswith(prefix):
            status = key.rsplit(" ", 1)[1]
            out[status] = out.get(status, 0) + n
    return out
