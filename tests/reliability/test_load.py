"""Load, CI-sized: many websites x 20 query types x 7 days; no slice is lost and the sync log
accounts for every one (``benchmarks/load_sync.py`` runs 50 x 20 x 30 and measures memory)."""

from __future__ import annotations

from pathlib import Path

from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from databuddy_source.catalog import DEFAULT_QUERY_TYPES, table_spec
from tests.integration.syncing import make_pipeline, sync, table_rows

SITES, DAYS = 12, 7
TYPES = [t for t in DEFAULT_QUERY_TYPES if table_spec(t).qtype.project == "website"][:20]


server = emulator_fixture(scope="module", extra_websites=SITES)


def test_every_slice_is_accounted_for(server: EmulatorServer, tmp_path: Path) -> None:
    reg = server.emulator.store.registry
    sites = [
        w["id"] for w in reg.websites_of(reg.demo_org_id) if (w["name"] or "").startswith("Site")
    ]
    assert len(sites) == SITES
    pipeline = make_pipeline(tmp_path)
    report = sync(
        pipeline,
        server,
        websites=sites,
        queries=TYPES,
        start_date="2026-03-08",
        rpc_collections=["none"],
    )
    assert report.failures == []
    log = table_rows(pipeline, "sync_log")
    expected = {(s, t, d) for s in sites for t in TYPES for d in range(8, 15)}
    got = [(r["parent_id"], r["query_type"], r["slice_date"].day) for r in log]
    assert len(got) == len(set(got)) == len(expected) and set(got) == expected
    assert all(r["error"] is None for r in log)
    assert report.requests == SITES * -(-len(TYPES) * DAYS // 100)  # packed 100 per request
    loaded = {(r["website_id"], r["date"].day) for r in table_rows(pipeline, "events_by_date")}
    assert loaded == {(s, d) for s in sites for d in range(8, 15)}
