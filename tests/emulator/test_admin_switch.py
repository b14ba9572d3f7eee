"""The admin surface (``/__emulator__/…``: clock, faults, objects) changes what the API answers,
so it is mounted only when asked for: off by default, on with ``admin=True`` / ``--admin``."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from databuddy_emulator.__main__ import parse_args
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.server import EmulatorServer

ADMIN_ROUTES = ["/__emulator__/clock", "/__emulator__/stats", "/__emulator__/objects/websites"]


@pytest.mark.parametrize("admin", [False, True], ids=["default", "admin"])
def test_admin_routes_exist_only_when_asked_for(small_config: EmulatorConfig, admin: bool) -> None:
    config = replace(small_config, admin=admin)
    with EmulatorServer(config) as server:
        key = {"x-api-key": config.api_key}
        for route in ADMIN_ROUTES:
            status = httpx.get(server.url + route, headers=key).status_code
            assert (status == 200) is admin, f"{route}: {status}"
        moved = httpx.post(server.url + "/__emulator__/clock", json={"advance_seconds": 86400})
        assert moved.status_code == (200 if admin else 404)
        assert httpx.get(server.url + "/v1/query/websites", headers=key).status_code == 200


def test_the_default_config_and_command_line_leave_it_off() -> None:
    assert EmulatorConfig().admin is False
    assert parse_args([]).admin is False and parse_args(["--admin"]).admin is True
