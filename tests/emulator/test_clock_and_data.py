"""Virtual clock and late data, determinism by seed, and the shape of the generated world."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.server import EmulatorServer
from databuddy_emulator.store import Store
from databuddy_emulator.truth import expected_rows

TABLES = (
    "events",
    "error_spans",
    "web_vitals_spans",
    "outgoing_links",
    "custom_events",
    "link_visits",
    "uptime_monitor",
    "revenue",
    "ai_call_spans",
)


def table_digest(store: Store) -> dict[str, tuple[int, int]]:
    with store.cursor() as cur:
        return {
            t: cur.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {t}").fetchone()[:2]
            for t in TABLES
        }


def test_same_seed_same_data(store: Store, small_config: EmulatorConfig) -> None:
    again = Store(small_config)
    assert table_digest(again) == table_digest(store)
    assert [w["id"] for w in again.registry.collection("websites").values()] == [
        w["id"] for w in store.registry.collection("websites").values()
    ]


def test_other_seed_other_data(store: Store, small_config: EmulatorConfig) -> None:
    other = Store(replace(small_config, seed=small_config.seed + 1))
    assert table_digest(other)["events"] != table_digest(store)["events"]


def test_every_raw_table_has_rows(store: Store) -> None:
    assert all(count > 0 for count, _ in table_digest(store).values())


def test_weekly_seasonality(store: Store, demo_ids: dict[str, str]) -> None:
    rows = expected_rows(
        store,
        "events_by_date",
        website_id=demo_ids["website_id"],
        start_date="2026-02-02",
        end_date="2026-03-01",
    )
    by_weekday: dict[int, list[int]] = {}
    from datetime import date

    for row in rows:
        by_weekday.setdefault(date.fromisoformat(row["date"]).weekday(), []).append(
            row["pageviews"]
        )
    weekday = sum(sum(by_weekday[d]) for d in range(5)) / 20
    weekend = sum(sum(by_weekday[d]) for d in (5, 6)) / 8
    assert weekend < 0.8 * weekday


def test_late_data_appears_as_the_clock_moves(
    small_config: EmulatorConfig, demo_ids: dict[str, str]
) -> None:
    store = Store(small_config)
    # events that happened before the clock's noon but arrive later
    args = {
        "website_id": demo_ids["website_id"],
        "start_date": "2026-03-13",
        "end_date": "2026-03-15 11:59:59",
    }
    at_noon = expected_rows(store, "summary_metrics", **args)[0]["pageviews"]
    store.clock.advance(timedelta(days=2))
    later = expected_rows(store, "summary_metrics", **args)[0]["pageviews"]
    with store.cursor() as cur:
        total = cur.execute(
            "SELECT count(*) FROM events WHERE client_id = ? AND event_name = 'screen_view' "
            "AND time BETWEEN '2026-03-13' AND '2026-03-15 11:59:59'",
            [demo_ids["website_id"]],
        ).fetchone()[0]
    assert at_noon < later == total
    old = {
        "website_id": demo_ids["website_id"],
        "start_date": "2026-03-01",
        "end_date": "2026-03-01",
    }
    assert expected_rows(store, "summary_metrics", **old) == expected_rows(
        Store(small_config), "summary_metrics", **old
    )


def test_future_days_appear_when_the_clock_advances(
    small_config: EmulatorConfig, demo_ids: dict[str, str]
) -> None:
    store = Store(small_config)
    args = {
        "website_id": demo_ids["website_id"],
        "start_date": "2026-03-17",
        "end_date": "2026-03-17",
    }
    assert expected_rows(store, "events_by_date", **args) == []
    store.clock.advance(timedelta(days=3))
    assert expected_rows(store, "events_by_date", **args)[0]["pageviews"] > 0


def test_admin_clock_over_http(small_config: EmulatorConfig) -> None:
    with EmulatorServer(small_config) as srv:
        r = httpx.post(f"{srv.url}/__emulator__/clock", json={"advance_seconds": 3600})
        assert r.json() == {"now": "2026-03-15T13:00:00.000Z", "frozen": True}
        r = httpx.post(f"{srv.url}/__emulator__/clock", json={"set": "2026-03-20T00:00:00Z"})
        assert r.json()["now"] == "2026-03-20T00:00:00.000Z"
        fixtures = httpx.get(f"{srv.url}/__emulator__/fixtures").json()
        assert fixtures["api_keys"]["global"] == small_config.api_key


def test_large_profile_has_days_with_over_10000_paths() -> None:
    from datetime import UTC, datetime

    config = EmulatorConfig(
        profile="large",
        now=datetime(2026, 3, 15, 12, tzinfo=UTC),
        frozen=True,
        history_days=7,
        future_days=1,
    )
    store = Store(config)
    market = next(
        w["id"]
        for w in store.registry.collection("websites").values()
        if w["name"] == "Acme Marketplace"
    )
    rows = expected_rows(
        store,
        "top_pages",
        website_id=market,
        start_date="2026-03-12",
        end_date="2026-03-12",
        limit=10_000,
    )
    assert len(rows) == 10_000
    rows2 = expected_rows(
        store,
        "top_pages",
        website_id=market,
        start_date="2026-03-12",
        end_date="2026-03-12",
        limit=10_000,
        page=2,
    )
    assert rows2 and not {r["name"] for r in rows} & {r["name"] for r in rows2}
