"""Shared fixtures: one small emulator world per test session (building it takes ~1 s)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from databuddy_source.emulator.config import EmulatorConfig
from databuddy_source.emulator.store import Store

FIXED_NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def small_config() -> EmulatorConfig:
    return EmulatorConfig(profile="small", now=FIXED_NOW, frozen=True, seed=7)


@pytest.fixture(scope="session")
def store(small_config: EmulatorConfig) -> Store:
    """A frozen small world. Tests must not advance its clock or mutate it: use a fresh Store
    (``Store(small_config)``) for that."""
    return Store(small_config)


@pytest.fixture(scope="session")
def demo_ids(store: Store) -> dict[str, str]:
    """Ids of the main fixtures: store site, blog (public), a link, a monitor, the org."""
    reg = store.registry
    sites = reg.websites_of(reg.demo_org_id)
    links = sorted(reg.live("links"), key=lambda x: x["createdAt"])
    schedules = sorted(reg.collection("uptimeSchedules").values(), key=lambda x: x["createdAt"])
    return {
        "website_id": sites[0]["id"],
        "docs_website_id": sites[1]["id"],
        "public_website_id": next(s["id"] for s in sites if s["isPublic"]),
        "deleted_website_id": next(s["id"] for s in sites if s["deletedAt"]),
        "other_org_website_id": reg.websites_of(reg.other_org_id)[0]["id"],
        "link_id": links[0]["id"],
        "schedule_id": schedules[0]["id"],
        "organization_id": reg.demo_org_id,
    }


@pytest.fixture(scope="session")
def server(small_config: EmulatorConfig):  # type: ignore[no-untyped-def]
    """The shared emulator over real HTTP (rate limit raised so the suite never trips it;
    rate-limit tests start their own server). Do not add faults or move its clock."""
    from dataclasses import replace

    from databuddy_source.emulator.server import EmulatorServer

    config = replace(small_config, rate_limit=1_000_000)
    with EmulatorServer(config) as srv:
        yield srv


@pytest.fixture()
def api(server):  # type: ignore[no-untyped-def]
    """An httpx client for the shared server, authenticated with the demo global key."""
    import httpx

    with httpx.Client(
        base_url=server.url, headers={"x-api-key": server.emulator.config.api_key}, timeout=30
    ) as client:
        yield client


@pytest.fixture()
def anon(server):  # type: ignore[no-untyped-def]
    import httpx

    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client
