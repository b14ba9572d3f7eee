"""Uptime, LLM and revenue query types agree with each other and with the raw tables: time
series sum to their overviews, breakdowns sum to the totals, hourly and time-zone buckets split
the same data differently, and late data appears when the virtual clock moves."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.store import Store
from databuddy_emulator.truth import expected_rows

START, END = "2026-02-20", "2026-03-14"
WIDE = {"start_date": "2025-06-01", "end_date": "2026-12-31"}  # covers every generated row


def rows(store: Store, qtype: str, **kw: Any) -> list[dict[str, Any]]:
    kw.setdefault("start_date", START)
    kw.setdefault("end_date", END)
    kw.setdefault("limit", 10_000)
    return expected_rows(store, qtype, **kw)


def one(store: Store, qtype: str, **kw: Any) -> dict[str, Any]:
    result = rows(store, qtype, **kw)
    assert len(result) == 1, f"{qtype}: expected one row, got {len(result)}"
    return result[0]


def total(result: list[dict[str, Any]], column: str) -> Any:
    return sum(r[column] for r in result)


def raw_count(store: Store, sql: str, *params: Any) -> int:
    with store.cursor() as cur:
        return int(cur.execute(sql, list(params)).fetchone()[0])


# ==================================================================================== uptime
@pytest.fixture
def monitor(demo_ids: dict[str, str]) -> dict[str, str]:
    return {"schedule_id": demo_ids["schedule_id"]}


def test_uptime_series_counts_every_check(store: Store, monitor: dict[str, str]) -> None:
    series = rows(store, "uptime_time_series", **monitor)
    checks = raw_count(
        store,
        """
        SELECT count(*) FROM uptime_monitor WHERE site_id = ? AND ingested_at <= ?
          AND timestamp BETWEEN ? AND ?""",
        monitor["schedule_id"],
        store.now(),
        f"{START} 00:00:00",
        f"{END} 23:59:59",
    )
    assert checks > 3000
    assert total(series, "total_checks") == checks
    assert total(rows(store, "uptime_status_breakdown", **monitor), "count") == checks
    assert [r["date"] for r in series] == sorted(r["date"] for r in series)


def test_uptime_percentage_matches_overview(store: Store, monitor: dict[str, str]) -> None:
    series = rows(store, "uptime_time_series", **monitor)
    overview = one(store, "uptime_overview", **monitor)
    checks, up = total(series, "total_checks"), total(series, "successful_checks")
    assert up < checks, "the generated monitor has incidents in this range"
    assert overview["uptime_percentage"] == round(100 * up / checks, 2)
    for r in series:
        assert r["downtime_seconds"] == (r["total_checks"] - r["successful_checks"]) * 600
        assert r["uptime_percentage"] == round(100 * r["successful_checks"] / r["total_checks"], 2)
    by_status = {
        (r["status"], r["http_code"]): r["count"]
        for r in rows(store, "uptime_status_breakdown", **monitor)
    }
    assert by_status[(1, 200)] == up


def test_uptime_hourly_buckets(store: Store, monitor: dict[str, str]) -> None:
    day = {"start_date": "2026-03-01", "end_date": "2026-03-02", **monitor}
    hourly = rows(store, "uptime_time_series", granularity="hourly", **day)
    daily = rows(store, "uptime_time_series", **day)
    assert len(hourly) == 48
    assert hourly[0]["date"] == "2026-03-01 00:00:00"
    assert all(r["total_checks"] == 6 for r in hourly)  # one check every 10 minutes
    assert total(hourly, "total_checks") == total(daily, "total_checks")
    trends = rows(store, "uptime_response_time_trends", granularity="hourly", **day)
    assert {r["date"] for r in trends} <= {r["date"] for r in hourly} and len(trends) >= 47


def test_uptime_time_zone_shifts_days(store: Store, monitor: dict[str, str]) -> None:
    utc = rows(store, "uptime_time_series", **WIDE, **monitor)
    ny = rows(store, "uptime_time_series", timezone="America/New_York", **WIDE, **monitor)
    assert total(utc, "total_checks") == total(ny, "total_checks")
    assert {r["date"]: r["total_checks"] for r in utc} != {r["date"]: r["total_checks"] for r in ny}
    # A day in New York starts at 05:00 UTC (EST): its first bucket starts five hours later.
    first_utc, first_ny = utc[0], ny[0]
    assert first_ny["date"] <= first_utc["date"]


def test_uptime_recent_checks_newest_first_and_paged(store: Store, monitor: dict[str, str]) -> None:
    page1 = rows(store, "uptime_recent_checks", limit=20, page=1, **monitor)
    page2 = rows(store, "uptime_recent_checks", limit=20, page=2, **monitor)
    stamps = [r["timestamp"] for r in page1 + page2]
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == 40
    assert stamps[0].startswith(END) and len(stamps[0]) == 23


def test_uptime_regions_cover_all_checks(store: Store, monitor: dict[str, str]) -> None:
    regions = rows(store, "uptime_by_region", **monitor)
    assert len(regions) >= 2
    ssl = one(store, "uptime_ssl_status", **monitor)
    assert ssl["ssl_valid"] == 1 and ssl["invalid_ssl_checks"] == 0
    assert ssl["ssl_expiry"] == one(store, "uptime_overview", **monitor)["ssl_expiry"]


# ==================================================================================== LLM
# The llm_* types exist only in the 2026-04 API (an emulator started with --api-version 2026-04)
@pytest.fixture(scope="module")
def llm_store(small_config: EmulatorConfig) -> Store:
    return Store(replace(small_config, api_version="2026-04"))


@pytest.fixture
def org(demo_ids: dict[str, str]) -> dict[str, str]:
    """The demo organization, reached through one of its websites."""
    return {"website_id": demo_ids["website_id"]}


def test_llm_website_resolves_to_its_organization(
    llm_store: Store, org: dict[str, str], demo_ids: dict[str, str]
) -> None:
    by_site = one(llm_store, "llm_overview_kpis", **org)
    by_org = one(llm_store, "llm_overview_kpis", organization_id=demo_ids["organization_id"])
    other = one(llm_store, "llm_overview_kpis", website_id=demo_ids["other_org_website_id"])
    assert by_site == by_org
    assert by_site["total_calls"] > 500 and other["total_calls"] != by_site["total_calls"]
    owner_calls = raw_count(
        llm_store,
        """
        SELECT count(*) FROM ai_call_spans WHERE owner_id = ? AND ingested_at <= ?
          AND timestamp BETWEEN ? AND ?""",
        demo_ids["organization_id"],
        llm_store.now(),
        f"{START} 00:00:00",
        f"{END} 23:59:59",
    )
    assert by_org["total_calls"] == owner_calls


def test_llm_series_sum_to_kpis(llm_store: Store, org: dict[str, str]) -> None:
    kpis = one(llm_store, "llm_overview_kpis", **org)
    series = rows(llm_store, "llm_time_series", **org)
    assert total(series, "total_calls") == kpis["total_calls"]
    assert total(series, "total_tokens") == kpis["total_tokens"]
    assert total(series, "total_cost") == pytest.approx(kpis["total_cost"], abs=1e-4)
    for qtype in (
        "llm_cost_by_model_time_series",
        "llm_cost_by_provider_time_series",
        "llm_provider_breakdown",
        "llm_model_breakdown",
    ):
        assert total(rows(llm_store, qtype, **org), "total_cost") == pytest.approx(
            kpis["total_cost"], abs=1e-4
        ), qtype
    assert total(rows(llm_store, "llm_provider_breakdown", **org), "calls") == kpis["total_calls"]
    errors = rows(llm_store, "llm_error_rate_time_series", **org)
    assert total(errors, "error_count") == kpis["error_count"]
    assert (
        total(rows(llm_store, "llm_error_breakdown", **org), "error_count") == kpis["error_count"]
    )
    assert len(rows(llm_store, "llm_recent_errors", **org)) == kpis["error_count"]
    assert kpis["error_rate"] == round(kpis["error_count"] / kpis["total_calls"], 4)
    for rate in ("cache_hit_rate", "tool_use_rate", "web_search_rate"):
        assert 0 < kpis[rate] < 1, rate  # fractions, as Databuddy's LLM builders return


def test_llm_hourly_buckets(llm_store: Store, org: dict[str, str]) -> None:
    days = {"start_date": "2026-03-10", "end_date": "2026-03-11", **org}
    hourly = rows(llm_store, "llm_time_series", granularity="hourly", **days)
    daily = rows(llm_store, "llm_time_series", **days)
    assert len(daily) == 2 and len(hourly) > 24
    assert all(len(r["date"]) == 19 and r["date"].endswith(":00:00") for r in hourly)
    assert total(hourly, "total_calls") == total(daily, "total_calls")
    cost = rows(llm_store, "llm_cost_by_model_time_series", granularity="hourly", **days)
    assert {r["date"] for r in cost} == {r["date"] for r in hourly}


def test_llm_time_zone_shifts_days_not_totals(llm_store: Store, org: dict[str, str]) -> None:
    utc = rows(llm_store, "llm_time_series", **WIDE, **org)
    ny = rows(llm_store, "llm_time_series", timezone="America/New_York", **WIDE, **org)
    assert total(utc, "total_calls") == total(ny, "total_calls")
    utc_days = {r["date"]: r["total_calls"] for r in utc}
    ny_days = {r["date"]: r["total_calls"] for r in ny}
    assert utc_days != ny_days
    shifted = sum(1 for d, n in ny_days.items() if utc_days.get(d) != n)
    assert shifted > len(ny_days) / 2


def test_llm_filters_narrow_every_type(llm_store: Store, org: dict[str, str]) -> None:
    only_openai = [{"field": "provider", "op": "eq", "value": "openai"}]
    kpis = one(llm_store, "llm_overview_kpis", filters=only_openai, **org)
    providers = {r["name"]: r for r in rows(llm_store, "llm_provider_breakdown", **org)}
    assert kpis["total_calls"] == providers["openai"]["calls"]
    series = rows(llm_store, "llm_cost_by_provider_time_series", filters=only_openai, **org)
    assert {r["provider"] for r in series} == {"openai"}
    assert total(series, "total_cost") == pytest.approx(providers["openai"]["total_cost"], abs=1e-4)


def test_llm_tool_and_trace_breakdowns(llm_store: Store, org: dict[str, str]) -> None:
    kpis = one(llm_store, "llm_overview_kpis", **org)
    tools = rows(llm_store, "llm_tool_name_breakdown", **org)
    calls_with_tools = round(kpis["tool_use_rate"] * kpis["total_calls"])
    assert total(tools, "calls") == calls_with_tools  # one tool name per call in the data
    traces = rows(llm_store, "llm_trace_summary", **org)
    costs = [r["total_cost"] for r in traces]
    assert costs == sorted(costs, reverse=True)
    assert total(traces, "calls") == kpis["total_calls"]


# ==================================================================================== revenue
@pytest.fixture
def shop(demo_ids: dict[str, str]) -> dict[str, str]:
    return {"website_id": demo_ids["website_id"]}


REVENUE_SERIES_TOTALS = {
    "revenue": "total_revenue",
    "transactions": "total_transactions",
    "refund_amount": "refund_amount",
    "refund_count": "refund_count",
    "attributed_revenue": "attributed_revenue",
    "attributed_transactions": "attributed_transactions",
}


def test_revenue_series_sum_to_overview(store: Store, shop: dict[str, str]) -> None:
    overview = one(store, "revenue_overview", **shop)
    series = rows(store, "revenue_time_series", **shop)
    assert overview["total_transactions"] > 20 and overview["refund_count"] > 0
    for column, overview_column in REVENUE_SERIES_TOTALS.items():
        assert total(series, column) == pytest.approx(overview[overview_column]), column
    assert overview["total_revenue"] == pytest.approx(
        overview["subscription_revenue"] + overview["sale_revenue"]
    )
    assert overview["refund_amount"] < 0


def test_revenue_matches_raw_transactions(store: Store, shop: dict[str, str]) -> None:
    overview = one(store, "revenue_overview", **shop)
    window = (shop["website_id"], store.now(), f"{START} 00:00:00", f"{END} 23:59:59")
    scope = "website_id = ? AND ingested_at <= ? AND created BETWEEN ? AND ?"
    assert overview["total_transactions"] == raw_count(
        store, f"SELECT count(*) FROM revenue WHERE {scope} AND type != 'refund'", *window
    )
    assert overview["attributed_transactions"] == raw_count(
        store,
        f"SELECT count(*) FROM revenue WHERE {scope} AND type != 'refund' "
        "AND session_id IS NOT NULL",
        *window,
    )


@pytest.mark.parametrize(
    "qtype",
    [
        "revenue_by_provider",
        "revenue_by_product",
        "revenue_attribution_overview",
        "revenue_by_country",
        "revenue_by_region",
        "revenue_by_city",
        "revenue_by_browser",
        "revenue_by_device",
        "revenue_by_os",
        "revenue_by_referrer",
        "revenue_by_utm_source",
        "revenue_by_utm_medium",
        "revenue_by_utm_campaign",
        "revenue_by_entry_page",
    ],
)
def test_revenue_breakdowns_sum_to_total(store: Store, shop: dict[str, str], qtype: str) -> None:
    overview = one(store, "revenue_overview", **shop)
    result = rows(store, qtype, **shop)
    assert total(result, "revenue") == pytest.approx(overview["total_revenue"])
    assert total(result, "transactions") == overview["total_transactions"]
    assert total(result, "percentage") == pytest.approx(100, abs=0.1)
    revenues = [r["revenue"] for r in result]
    assert revenues == sorted(revenues, reverse=True)


def test_revenue_attribution_labels(store: Store, shop: dict[str, str]) -> None:
    overview = one(store, "revenue_overview", **shop)
    split = {r["name"]: r for r in rows(store, "revenue_attribution_overview", **shop)}
    assert split["Attributed"]["revenue"] == pytest.approx(overview["attributed_revenue"])
    unattributed = overview["total_revenue"] - overview["attributed_revenue"]
    countries = {r["name"]: r for r in rows(store, "revenue_by_country", **shop)}
    assert countries["Unattributed"]["revenue"] == pytest.approx(unattributed)
    assert countries["Unattributed"]["country_code"] is None
    assert countries["US"]["country_name"] == "United States"


def test_recent_transactions_carry_first_touch(store: Store, shop: dict[str, str]) -> None:
    recent = rows(store, "recent_transactions", **shop)
    assert all(r["type"] != "refund" for r in recent)
    created = [r["created"] for r in recent]
    assert created == sorted(created, reverse=True)
    attributed = next(r for r in recent if r["is_attributed"] == 1)
    with store.cursor() as cur:
        country = cur.execute(
            """
            SELECT arg_min(e.country, e.time) FROM revenue r JOIN events e USING (session_id)
            WHERE r.transaction_id = ?""",
            [attributed["transaction_id"]],
        ).fetchone()[0]
    assert attributed["country"] == country == attributed["country_code"]
    assert all(r["country"] == "Unattributed" for r in recent if r["is_attributed"] == 0)


# ==================================================================================== late data
def test_late_data_appears_when_the_clock_moves(
    small_config: EmulatorConfig, demo_ids: dict[str, str]
) -> None:
    fresh = Store(replace(small_config, api_version="2026-04"))  # llm_* are 2026-04 types
    today = {"start_date": "2026-03-13", "end_date": "2026-03-15"}
    schedule = {"schedule_id": demo_ids["schedule_id"], **today}
    site = {"website_id": demo_ids["website_id"], **today}
    checks_before = total(rows(fresh, "uptime_time_series", **schedule), "total_checks")
    calls_before = one(fresh, "llm_overview_kpis", **site)["total_calls"]
    fresh.clock.advance(timedelta(hours=6))
    checks_after = total(rows(fresh, "uptime_time_series", **schedule), "total_checks")
    calls_after = one(fresh, "llm_overview_kpis", **site)["total_calls"]
    assert checks_after - checks_before == 36  # six hours of checks every 10 minutes
    assert calls_after > calls_before


def test_late_calls_fill_past_buckets(
    small_config: EmulatorConfig, demo_ids: dict[str, str]
) -> None:
    """A call made on 2026-03-15 but ingested a day later joins that day's bucket later."""
    fresh = Store(replace(small_config, api_version="2026-04"))  # llm_* are 2026-04 types
    day = {
        "website_id": demo_ids["website_id"],
        "start_date": "2026-03-15",
        "end_date": "2026-03-15",
    }
    fresh.clock.advance(timedelta(days=1))
    before = total(rows(fresh, "llm_time_series", **day), "total_calls")
    fresh.clock.advance(timedelta(hours=12))
    after = total(rows(fresh, "llm_time_series", **day), "total_calls")
    visible = raw_count(
        fresh,
        """
        SELECT count(*) FROM ai_call_spans WHERE owner_id = ? AND ingested_at <= ?
          AND timestamp BETWEEN '2026-03-15 00:00:00' AND '2026-03-15 23:59:59'""",
        demo_ids["organization_id"],
        fresh.now(),
    )
    assert after == visible
    assert after > before, "the generated data has a call of that day ingested a day late"
