"""RPC procedures as of the 2026-05 API (docs/api-notes.md): the procedures added and removed,
and links reading needing both ``read:data`` and ``read:links``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from databuddy_emulator import fixtures as fx
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.server import serve
from databuddy_emulator.store import Store

from databuddy_source.contract import rpc_procedures

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


def test_a_read_data_key_reads_websites_but_not_links(client: httpx.Client) -> None:
    read_data = {"x-api-key": fx.READ_DATA_KEY}
    assert ok(call(client, "websites.list", {}, read_data))
    for pid in ("links.list", "linkFolders.list"):
        r = call(client, pid, {}, read_data)
        assert r.status_code == 403
        assert r.json()["json"]["message"] == "API key missing read:links scope"


def test_public_procedures_on_private_websites_answer_a_bare_unauthorized(
    client: httpx.Client,
) -> None:
    private = client.get("/__emulator__/fixtures").json()["websites"][0]
    assert private["isPublic"] is False
    for pid, data in (
        ("websites.getPublicSummary", {"id": private["id"]}),
        ("flags.list", {"websiteId": private["id"]}),
    ):
        r = call(client, pid, data, {})
        assert (r.status_code, r.json()["json"]["message"]) == (401, "Unauthorized"), pid
    # a protected procedure is refused before its handler, with the longer message
    r = call(client, "websites.getById", {"id": private["id"]}, {})
    assert r.json()["json"]["message"] == "Authentication is required for this action"
