"""A website's raw rows leave and enter a store in Databuddy's ingestion shape unchanged."""

from __future__ import annotations

from collections import Counter

from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.rawdata import (
    TABLES,
    export_project_rows,
    export_rows,
    load_project_rows,
    load_rows,
)
from databuddy_emulator.store import Store
from databuddy_emulator.truth import expected_rows


def test_rows_are_shaped_like_ingestion(store: Store, demo_ids: dict[str, str]) -> None:
    rows = export_rows(store, demo_ids["public_website_id"])
    events = rows["events"]
    kinds = Counter(r["event_name"] for r in events)
    assert kinds["screen_view"] > kinds["page_exit"] > 0.8 * kinds["screen_view"]
    assert all("time_on_page" not in r for r in events if r["event_name"] == "screen_view")
    assert all(r["time_on_page"] > 0 for r in events if r["event_name"] == "page_exit")
    assert all(r["path"] == r["url"] and r["path"].startswith("https://") for r in events)
    entries = [r for r in events if r.get("utm_source") and r["event_name"] == "screen_view"]
    assert entries and all(r["session_start_time"] == r["time"] for r in entries)
    assert {r["owner_id"] for r in rows["custom_events"]} == {demo_ids["organization_id"]}
    assert all(len(r["time"]) == 23 for r in events)


def test_loaded_rows_round_trip_and_answer_the_same(
    small_config: EmulatorConfig, demo_ids: dict[str, str]
) -> None:
    site = demo_ids["public_website_id"]
    world = Store(small_config)
    try:
        before = export_rows(world, site)
        args = {"website_id": site, "start_date": "2026-03-01", "end_date": "2026-03-14"}
        answers = {q: expected_rows(world, q, **args) for q in ("summary_metrics", "top_pages")}
        counts = load_rows(world, site, before)
        assert counts == {t: len(before[t]) for t in TABLES}
        after = export_rows(world, site)
        for table in TABLES:
            key = sorted(map(repr, before[table])) == sorted(map(repr, after[table]))
            assert key, table
        assert {q: expected_rows(world, q, **args) for q in answers} == answers
        load_rows(world, site, {"events": []})  # replacing with nothing empties the site
        assert expected_rows(world, "summary_metrics", **args) == []
    finally:
        world.close()


def test_link_clicks_and_monitor_checks_round_trip(
    small_config: EmulatorConfig, demo_ids: dict[str, str]
) -> None:
    world = Store(small_config)
    args = {"start_date": "2026-03-01", "end_date": "2026-03-14"}
    try:
        for table, project, query_type in (
            ("link_visits", demo_ids["link_id"], "link_total_clicks"),
            ("uptime_monitor", demo_ids["schedule_id"], "uptime_status_breakdown"),
        ):
            key = "link_id" if table == "link_visits" else "schedule_id"
            before = export_project_rows(world, table, project)
            assert before and all(len(r["timestamp"]) == 23 for r in before)
            answer = expected_rows(world, query_type, **{key: project}, **args)
            assert load_project_rows(world, table, project, before[: len(before) // 2]) > 0
            assert expected_rows(world, query_type, **{key: project}, **args) != answer
            load_project_rows(world, table, project, before)
            assert sorted(map(repr, export_project_rows(world, table, project))) == sorted(
                map(repr, before)
            )
            assert expected_rows(world, query_type, **{key: project}, **args) == answer
    finally:
        world.close()
