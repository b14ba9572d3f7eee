"""RPC procedures as of the 2026-05 API (docs/api-notes.md): the procedures added and removed,
and links reading needing both ``read:data`` and ``read:links``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from databuddy_source.contract import rpc_procedures
from databuddy_source.emulator.config import EmulatorConfig
from databuddy_source.emulator.server import serve
from databuddy_source.emulator.store import Store

from .test_rpc import KEY, OWNER, VIEWER, ok

PROCS = {p["id"]: p for p in rpc_procedures()}


@pytest.fixture(scope="module")
def client(small_config: EmulatorConfig) -> Iterator[httpx.Client]:
    """A world of our own (settings are saved)."""
    with serve(Store(small_config)) as base, httpx.Client(base_url=base, timeout=30) as c:
        yield c


def call(client: httpx.Client, pid: str, data: Any, headers: dict[str, str]) -> httpx.Response:
    return client.post(f"/rpc/{pid.replace('.', '/')}", json={"json": data}, headers=headers)


def test_the_procedure_list_follows_the_current_api(client: httpx.Client) -> None:
    assert len(PROCS) == 132
    assert not any(pid.startswith("featureInvite.") for pid in PROCS)
    assert call(client, "featureInvite.listLinks", {}, KEY).status_code == 404
    assert {
        "websites.getPublicSummary",
        "integrations.list",
        "tracker.listVersions",
        "organizations.getEmailNotificationSettings",
    } <= set(PROCS)


def test_integrations_of_a_world_without_slack(client: httpx.Client) -> None:
    assert ok(call(client, "integrations.list", {"organizationId": _org(client)}, KEY)) == {
        "slack": []
    }
    gone = call(
        client,
        "integrations.uninstallSlack",
        {"organizationId": _org(client), "integrationId": "int_1"},
        OWNER,
    )
    assert gone.status_code == 404 and gone.json()["json"]["code"] == "NOT_FOUND"
    assert (
        call(client, "integrations.list", {"organizationId": _org(client)}, {}).status_code == 401
    )


def test_tracker_versions_are_public(client: httpx.Client) -> None:
    current = ok(call(client, "tracker.getCurrentVersions", None, {}))
    assert sorted(v["filename"] for v in current) == ["databuddy.js", "vitals.js"]
    listed = ok(call(client, "tracker.listVersions", {}, {}))
    assert [v["version"] for v in listed] == [3, 2, 1]
    assert {v["filename"] for v in listed} == {"databuddy.js"}
    assert set(listed[0]) == {"version", "filename", "sriHash", "sizeBytes", "deployedAt"}
    assert listed[0]["sriHash"].startswith("sha384-")
    assert (
        ok(call(client, "tracker.listVersions", {"filename": "vitals.js"}, {}))[0]["version"] == 1
    )


def test_email_notification_settings(client: httpx.Client) -> None:
    org = {"organizationId": _org(client)}
    settings = ok(call(client, "organizations.getEmailNotificationSettings", org, OWNER))
    assert settings["trackingHealth"]["mode"] == "critical_only"
    assert settings["uptime"] == {"downEmails": True, "recoveryEmails": True}
    change = {
        **org,
        "settings": {"uptime": {"downEmails": False}, "trackingHealth": {"cooldownMinutes": 1}},
    }
    saved = ok(call(client, "organizations.updateEmailNotificationSettings", change, OWNER))
    assert saved["uptime"] == {"downEmails": False, "recoveryEmails": True}
    assert saved["trackingHealth"]["cooldownMinutes"] == 15  # at least a quarter of an hour
    assert ok(call(client, "organizations.getEmailNotificationSettings", org, OWNER)) == saved
    viewer = call(client, "organizations.updateEmailNotificationSettings", change, VIEWER)
    assert viewer.status_code == 403
    bad = {**org, "settings": {"uptime": {"downEmails": "yes"}}}
    r = call(client, "organizations.updateEmailNotificationSettings", bad, OWNER)
    assert r.status_code == 400 and "settings.uptime.downEmails" in r.text


def _org(client: httpx.Client) -> str:
    return str(client.get("/__emulator__/fixtures").json()["organizations"]["demo"])
