"""RPC collections as the live API serves them: organization-level flags are synced, and a
``websites.list`` that suddenly answers ``[]`` (what the real service does when its database
fails) does not mark every known website deleted."""

from __future__ import annotations

from pathlib import Path

import httpx
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from .syncing import make_pipeline, sync, table_rows

OPTIONS = {"queries": ["top_pages"], "start_date": "2026-03-14"}


server = emulator_fixture()


def test_organization_flags_are_synced(server: EmulatorServer, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    report = sync(pipeline, server, rpc_collections=["organization_flags"], **OPTIONS)
    assert report.failures == []
    reg = server.emulator.store.registry
    expected = {
        f["id"]
        for f in reg.collection("flags").values()
        if f.get("organizationId") == reg.demo_org_id and not f.get("websiteId")
    }
    assert expected, "the emulator seeds at least one organization-level flag"
    rows = table_rows(pipeline, "organization_flags")
    assert {r["id"] for r in rows} >= expected
    assert all(not r.get("website_id") for r in rows if r["id"] in expected)


def test_an_empty_websites_list_does_not_delete_known_websites(
    server: EmulatorServer, tmp_path: Path
) -> None:
    pipeline = make_pipeline(tmp_path)
    sync(pipeline, server, rpc_collections=["websites"], **OPTIONS)
    before = {r["id"]: r for r in table_rows(pipeline, "websites")}
    assert before and not any(r["is_deleted"] for r in before.values() if not r["deleted_at"])
    # discovery's call answers as usual; the collection's own call answers [] (count 1)
    rule = {
        "kind": "status",
        "status": 200,
        "body": '{"json":[]}',
        "route": "/rpc/websites/list",
        "after": 1,
        "count": 1,
    }
    assert httpx.post(f"{server.url}/__emulator__/faults", json=rule).is_success
    report = sync(pipeline, server, rpc_collections=["websites"], **OPTIONS)
    assert report.failures == []
    after = {r["id"]: r for r in table_rows(pipeline, "websites")}
    assert after.keys() == before.keys()
    assert [r["id"] for r in after.values() if r["vanished_at"]] == []
    # the next run that lists them still knows them all
    httpx.delete(f"{server.url}/__emulator__/faults")
    sync(pipeline, server, rpc_collections=["websites"], **OPTIONS)
    state = pipeline.state["sources"]["databuddy"]["resources"]["websites"]["objects"]
    assert set(state) == set(before)
