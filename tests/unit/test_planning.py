"""Pure planning: windows, lookback, grains, series days, bounded backfills."""

from __future__ import annotations

from datetime import date

from databuddy_source.catalog import table_spec
from databuddy_source.packing import requests_needed
from databuddy_source.planning import (
    Parent,
    Window,
    plan,
    plan_table,
    settled_through,
)

SITE = Parent("website", "w1", date(2026, 3, 1), "Site")
TODAY = date(2026, 3, 15)


def days_of(slices: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(s.start.isoformat(), s.end.isoformat()) for s in slices]


def test_first_run_starts_at_creation_and_stops_yesterday() -> None:
    slices = plan_table(table_spec("top_pages"), SITE, Window(today=TODAY, lookback_days=2), None)
    assert days_of(slices)[0] == ("2026-03-01", "2026-03-01")
    assert days_of(slices)[-1] == ("2026-03-14", "2026-03-14")
    assert len(slices) == 14


def test_lookback_rereads_the_last_loaded_days() -> None:
    window = Window(today=TODAY, lookback_days=2)
    slices = plan_table(table_spec("top_pages"), SITE, window, "2026-03-12")
    assert days_of(slices) == [
        ("2026-03-11", "2026-03-11"),
        ("2026-03-12", "2026-03-12"),
        ("2026-03-13", "2026-03-13"),
        ("2026-03-14", "2026-03-14"),
    ]


def test_days_already_final_when_loaded_are_not_read_again() -> None:
    """A backfill split into runs: the days it loaded were old then, so no lookback for them."""
    window = Window(today=TODAY, lookback_days=2)
    through = date(2026, 3, 5)
    settled = settled_through(window, through).isoformat()
    assert settled == "2026-03-05"
    slices = plan_table(table_spec("top_pages"), SITE, window, through.isoformat(), settled)
    assert days_of(slices)[0] == ("2026-03-06", "2026-03-06")


def test_daily_runs_still_reread_the_lookback() -> None:
    """Yesterday and the day before were recent when loaded: the next day reads them again."""
    window = Window(today=TODAY, lookback_days=2)
    settled = settled_through(window, date(2026, 3, 14)).isoformat()
    assert settled == "2026-03-12"
    tomorrow = Window(today=date(2026, 3, 16), lookback_days=2)
    slices = plan_table(table_spec("top_pages"), SITE, tomorrow, "2026-03-14", settled)
    assert days_of(slices)[0] == ("2026-03-13", "2026-03-13")
    week = plan_table(table_spec("top_pages", "week"), SITE, tomorrow, "2026-03-14", settled)
    assert days_of(week)[0] == ("2026-03-09", "2026-03-15"), "a partial week is read whole"


def test_include_today_reads_today_but_never_records_it_complete() -> None:
    window = Window(today=TODAY, include_today=True, lookback_days=2)
    assert plan_table(table_spec("top_pages"), SITE, window, "2026-03-14")[-1].start == TODAY
    assert window.complete_through == date(2026, 3, 14)


def test_bounded_backfill_ignores_state() -> None:
    window = Window(
        today=TODAY, start_date=date(2026, 3, 2), end_date=date(2026, 3, 3), lookback_days=2
    )
    slices = plan_table(table_spec("country"), SITE, window, "2026-03-14")
    assert days_of(slices) == [("2026-03-02", "2026-03-02"), ("2026-03-03", "2026-03-03")]


def test_week_and_month_grains_cover_whole_periods() -> None:
    weeks = plan_table(
        table_spec("top_pages", "week"), SITE, Window(today=TODAY, lookback_days=2), None
    )
    assert days_of(weeks) == [
        ("2026-02-23", "2026-03-01"),
        ("2026-03-02", "2026-03-08"),
        ("2026-03-09", "2026-03-14"),
    ]  # Monday weeks; the last is partial
    months = plan_table(
        table_spec("top_pages", "month"),
        SITE,
        Window(today=date(2026, 4, 2), lookback_days=2),
        None,
    )
    assert days_of(months) == [("2026-03-01", "2026-03-31"), ("2026-04-01", "2026-04-01")]
    assert table_spec("top_pages", "week").table_name == "top_pages_weekly"


def test_series_are_read_one_day_per_parameter() -> None:
    slices = plan_table(
        table_spec("events_by_date"), SITE, Window(today=TODAY, lookback_days=2), "2026-03-13"
    )
    assert [s.days for s in slices] == [
        (date(2026, 3, 12),),
        (date(2026, 3, 13),),
        (date(2026, 3, 14),),
    ]


def test_snapshot_types_are_one_slice_per_parent() -> None:
    slices = plan_table(
        table_spec("retention_cohorts"), SITE, Window(today=TODAY, lookback_days=2), None
    )
    assert len(slices) == 1 and table_spec("retention_cohorts").merge_key == ["website_id"]


def test_nothing_to_read_when_up_to_date() -> None:
    window = Window(today=TODAY, lookback_days=1, start_date=date(2026, 3, 20))
    assert plan_table(table_spec("top_pages"), SITE, window, None) == []


def test_plan_orders_by_day_then_table_and_counts_requests() -> None:
    specs = [table_spec("top_pages"), table_spec("country"), table_spec("link_clicks_by_day")]
    link = Parent("link", "l1", date(2026, 3, 10))
    planned = plan(
        specs, {"website": [SITE], "link": [link]}, Window(today=TODAY, lookback_days=2), {}
    )
    site_slices = planned[SITE]
    assert [(s.start.day, s.spec.name) for s in site_slices[:4]] == [
        (1, "country"),
        (1, "top_pages"),
        (2, "country"),
        (2, "top_pages"),
    ]
    assert len(planned[link]) == 5
    assert requests_needed(planned, 10) == 3 + 1
    assert len({s.id for s in site_slices}) == len(site_slices), "slice ids are unique"
