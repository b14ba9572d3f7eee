"""Cross-checks of the signal query types: errors, performance, vitals, custom events, links and
realtime agree with each other, react to filters and move with the virtual clock."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.query.context import ParameterError
from databuddy_emulator.store import Store
from databuddy_emulator.truth import expected_rows

RANGE = {"start_date": "2026-02-20", "end_date": "2026-03-14"}
BIG = 10_000


def rows(store: Store, qtype: str, **kw: Any) -> list[dict[str, Any]]:
    args: dict[str, Any] = {**RANGE, "limit": BIG}
    args.update(kw)
    return expected_rows(store, qtype, **args)


def raw_count(store: Store, sql: str, params: list[Any]) -> int:
    with store.cursor() as cur:
        row = cur.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def total(data: list[dict[str, Any]], col: str) -> int:
    return sum(int(r[col]) for r in data)


# ------------------------------------------------------------------ errors
def test_error_types_trends_and_pages_sum_to_the_summary(
    store: Store, demo_ids: dict[str, str]
) -> None:
    site = {"website_id": demo_ids["website_id"]}
    summary = rows(store, "error_summary", **site)[0]
    raw = raw_count(
        store,
        "SELECT count(*) FROM error_spans WHERE client_id = ? AND message != '' AND "
        "timestamp BETWEEN '2026-02-20' AND '2026-03-14 23:59:59' AND ingested_at <= ?",
        [demo_ids["website_id"], store.now()],
    )
    assert summary["totalErrors"] == raw > 50
    types = rows(store, "error_types", **site)
    assert total(types, "count") == raw
    assert summary["uniqueErrorTypes"] == len(types)
    assert total(rows(store, "error_trends", **site), "errors") == raw
    assert total(rows(store, "error_frequency", **site), "count") == raw
    assert total(rows(store, "error_chart_data", **site), "totalErrors") == raw
    assert total(rows(store, "errors_by_page", **site), "errors") == raw
    assert total(rows(store, "errors_by_type", **site), "count") == raw
    assert 0 < summary["errorRate"] < 100


def test_error_filter_narrows_every_error_type(store: Store, demo_ids: dict[str, str]) -> None:
    site = {"website_id": demo_ids["website_id"]}
    by_type = {r["name"]: r["count"] for r in rows(store, "errors_by_type", **site)}
    only = [{"field": "error_type", "op": "eq", "value": "TypeError"}]
    summary = rows(store, "error_summary", filters=only, **site)[0]
    assert summary["totalErrors"] == by_type["TypeError"] < sum(by_type.values())
    assert [r["name"] for r in rows(store, "errors_by_type", filters=only, **site)] == ["TypeError"]
    assert (
        total(rows(store, "error_trends", filters=only, **site), "errors") == by_type["TypeError"]
    )
    not_type = [{"field": "error_type", "op": "ne", "value": "TypeError"}]
    rest = rows(store, "error_summary", filters=not_type, **site)[0]["totalErrors"]
    assert rest + by_type["TypeError"] == sum(by_type.values())


# ------------------------------------------------------------------ custom events
def test_custom_event_totals_agree(store: Store, demo_ids: dict[str, str]) -> None:
    site = {"website_id": demo_ids["website_id"]}
    summary = rows(store, "custom_events_summary", **site)[0]
    raw = raw_count(
        store,
        "SELECT count(*) FROM custom_events WHERE website_id = ? AND ingested_at <= ? "
        "AND timestamp BETWEEN '2026-02-20' AND '2026-03-14 23:59:59'",
        [demo_ids["website_id"], store.now()],
    )
    per_name = {r["name"]: r["total_events"] for r in rows(store, "custom_events", **site)}
    assert sum(per_name.values()) == summary["total_events"] == raw > 100
    assert summary["unique_event_types"] == len(per_name)
    by_event: Counter[str] = Counter()
    for r in rows(store, "custom_events_trends_by_event", **site):
        by_event[r["event_name"]] += r["total_events"]
    assert dict(by_event) == per_name
    assert (
        total(rows(store, "custom_events_trends", **site), "total_events")
        == summary["total_events"]
    )
    assert (
        total(rows(store, "custom_events_by_path", **site), "total_events")
        == summary["total_events"]
    )
    discovery = {
        r["event_name"]: r["total_events"] for r in rows(store, "custom_events_discovery", **site)
    }
    assert discovery == per_name


def test_custom_event_filters(store: Store, demo_ids: dict[str, str]) -> None:
    site = {"website_id": demo_ids["website_id"]}
    per_name = {r["name"]: r["total_events"] for r in rows(store, "custom_events", **site)}
    search = [{"field": "event_name", "op": "eq", "value": "search"}]
    assert (
        rows(store, "custom_events_summary", filters=search, **site)[0]["total_events"]
        == per_name["search"]
    )
    plan = [{"field": "property_key", "op": "eq", "value": "plan"}]
    top = rows(store, "custom_events_property_top_values", filters=plan, **site)
    assert top and {r["property_key"] for r in top} == {"plan"}
    assert total(top, "count") == top[0]["total"]
    other_site = [{"field": "website_id", "op": "eq", "value": demo_ids["docs_website_id"]}]
    assert rows(store, "custom_events_summary", filters=other_site, **site)[0]["total_events"] == 0


def test_org_wide_custom_events_cover_every_website(store: Store, demo_ids: dict[str, str]) -> None:
    org = rows(store, "custom_events_summary", organization_id=demo_ids["organization_id"])[0][
        "total_events"
    ]
    sites = store.registry.websites_of(store.registry.demo_org_id)
    per_site = sum(
        rows(store, "custom_events_summary", website_id=s["id"])[0]["total_events"] for s in sites
    )
    assert org == per_site > 0
    assert (
        org
        > rows(store, "custom_events_summary", website_id=demo_ids["website_id"])[0]["total_events"]
    )


def test_custom_events_recent_pages_do_not_overlap(store: Store, demo_ids: dict[str, str]) -> None:
    site = {"website_id": demo_ids["website_id"]}
    both = rows(store, "custom_events_recent", limit=20, **site)
    first = rows(store, "custom_events_recent", limit=10, page=1, **site)
    second = rows(store, "custom_events_recent", limit=10, page=2, **site)
    assert first + second == both
    assert [r["timestamp"] for r in both] == sorted((r["timestamp"] for r in both), reverse=True)


# ------------------------------------------------------------------ vitals and performance
def test_web_vitals_measurements_equal_vital_samples(
    store: Store, demo_ids: dict[str, str]
) -> None:
    site = {"website_id": demo_ids["website_id"]}
    series = rows(store, "web_vitals_time_series", **site)
    samples = rows(store, "vitals_time_series", **site)
    overview = rows(store, "vitals_overview", **site)
    assert total(series, "measurements") == total(overview, "samples") > 1000
    assert total(samples, "samples") == total(overview, "samples")
    per_day: Counter[str] = Counter()
    for r in samples:
        per_day[r["date"]] += r["samples"]
    assert {r["date"]: r["measurements"] for r in series} == dict(per_day)
    assert {r["metric_name"] for r in overview} == {"FCP", "LCP", "CLS", "INP", "TTFB"}


def test_performance_series_counts_every_page_view(store: Store, demo_ids: dict[str, str]) -> None:
    site = {"website_id": demo_ids["website_id"]}
    perf = rows(store, "performance_time_series", **site)
    views = rows(store, "events_by_date", **site)
    assert {r["date"]: r["pageviews"] for r in perf} == {r["date"]: r["pageviews"] for r in views}
    timed = total(rows(store, "load_time_performance", **site), "pageviews")
    assert 0 < timed < total(perf, "pageviews")
    assert total(rows(store, "performance_by_os", **site), "pageviews") == timed
    mobile = [{"field": "device_type", "op": "eq", "value": "mobile"}]
    assert (
        0 < total(rows(store, "load_time_performance", filters=mobile, **site), "pageviews") < timed
    )


# ------------------------------------------------------------------ links
def test_link_clicks_by_day_sum_to_total_daily_and_hourly(
    store: Store, demo_ids: dict[str, str]
) -> None:
    link = {"link_id": demo_ids["link_id"]}
    span = {"start_date": "2026-03-01", "end_date": "2026-03-14"}
    clicks = rows(store, "link_total_clicks", **span, **link)[0]["total"]
    daily = rows(store, "link_clicks_by_day", **span, **link)
    hourly = rows(store, "link_clicks_by_day", granularity="hourly", **span, **link)
    assert total(daily, "clicks") == total(hourly, "clicks") == clicks > 50
    # the server formats the hour with '%M', which current ClickHouse reads as the month's name
    assert all(re.fullmatch(r"2026-03-\d\d \d\d:March:00", r["date"]) for r in hourly)
    assert len(hourly) > len(daily)
    per_day: Counter[str] = Counter()
    for r in hourly:
        per_day[r["date"][:10]] += r["clicks"]
    assert dict(per_day) == {r["date"]: r["clicks"] for r in daily}
    assert total(rows(store, "link_top_devices", **span, **link), "clicks") == clicks
    us = [{"field": "country", "op": "eq", "value": "US"}]
    by_country = {r["name"]: r["clicks"] for r in rows(store, "link_top_countries", **span, **link)}
    assert (
        rows(store, "link_total_clicks", filters=us, **span, **link)[0]["total"]
        == by_country["US"]
        < clicks
    )


def test_outbound_links_filters(store: Store, demo_ids: dict[str, str]) -> None:
    site = {"website_id": demo_ids["website_id"]}
    clicks = total(rows(store, "outbound_links", **site), "total_clicks")
    assert total(rows(store, "outbound_domains", **site), "total_clicks") == clicks > 0
    google = [{"field": "referrer", "op": "eq", "value": "google"}]
    assert 0 < total(rows(store, "outbound_links", filters=google, **site), "total_clicks") < clicks
    with pytest.raises(ParameterError, match="Unknown expression or function identifier"):
        rows(
            store,
            "outbound_links",
            filters=[{"field": "query_string", "op": "eq", "value": "x"}],
            **site,
        )


# ------------------------------------------------------------------ virtual clock
def test_realtime_windows_follow_the_clock(
    small_config: EmulatorConfig, demo_ids: dict[str, str]
) -> None:
    fresh = Store(small_config)
    site = {"website_id": demo_ids["website_id"]}

    def velocity() -> list[dict[str, Any]]:
        return rows(fresh, "realtime_velocity", **site)

    def check_window(now: datetime) -> set[str]:
        minutes = {r["minute"] for r in velocity()}
        low = (now - timedelta(minutes=61)).strftime("%Y-%m-%d %H:%M:00")
        assert minutes and all(low <= m <= now.strftime("%Y-%m-%d %H:%M:00") for m in minutes)
        for r in rows(fresh, "realtime_feed", **site):
            assert (now - timedelta(minutes=5)).isoformat(sep=" ") <= r["timestamp"]
        return minutes

    before = check_window(fresh.now())
    fresh.clock.advance(timedelta(hours=3))
    after = check_window(fresh.now())
    assert before.isdisjoint(after)


def test_late_link_clicks_appear_when_the_clock_moves(
    small_config: EmulatorConfig, demo_ids: dict[str, str]
) -> None:
    fresh = Store(small_config)
    args = {"link_id": demo_ids["link_id"], "start_date": "2026-03-15", "end_date": "2026-03-15"}
    early = rows(fresh, "link_total_clicks", **args)[0]["total"]
    fresh.clock.advance(timedelta(days=2))
    late = rows(fresh, "link_total_clicks", **args)[0]["total"]
    assert late > early
    assert total(rows(fresh, "link_clicks_by_day", **args), "clicks") == late
