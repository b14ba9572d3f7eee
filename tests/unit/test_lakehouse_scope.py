"""The Delta merge scope of a lakehouse load (pure): exactly the slices a run read, written
short, with ids quoted for both Delta's SQL parser and dlt's placeholders."""

from __future__ import annotations

from datetime import date

from databuddy_source.lakehouse import day_ranges, destination_scope

D = date


def test_consecutive_days_become_one_range() -> None:
    days = [D(2026, 3, 5), D(2026, 3, 1), D(2026, 3, 2), D(2026, 3, 3), D(2026, 3, 5)]
    assert day_ranges(days) == [(D(2026, 3, 1), D(2026, 3, 3)), (D(2026, 3, 5), D(2026, 3, 5))]
    assert day_ranges([D(2026, 2, 28), D(2026, 3, 1)]) == [(D(2026, 2, 28), D(2026, 3, 1))]


def test_parents_with_the_same_days_share_one_clause() -> None:
    lookback = {D(2026, 3, 13), D(2026, 3, 14), D(2026, 3, 15)}
    scope = destination_scope(
        "website_id", {"b": lookback, "a": lookback, "c": {D(2026, 3, 1)}}, "date"
    )
    assert scope == (
        "({table}.website_id IN ('c') AND ({table}.date = DATE '2026-03-01'))"
        " OR ({table}.website_id IN ('a', 'b') AND"
        " ({table}.date BETWEEN DATE '2026-03-13' AND DATE '2026-03-15'))"
    )


def test_weekly_slices_are_listed_day_by_day() -> None:
    weeks = {D(2026, 3, 2), D(2026, 3, 9)}
    assert destination_scope("link_id", {"l1": weeks}, "date") == (
        "({table}.link_id IN ('l1') AND"
        " ({table}.date = DATE '2026-03-02' OR {table}.date = DATE '2026-03-09'))"
    )


def test_a_parent_only_key_selects_whole_parents() -> None:
    assert destination_scope("website_id", {"w2": set(), "w1": set()}) == (
        "{table}.website_id IN ('w1', 'w2')"
    )


def test_ids_are_quoted_for_sql_and_for_dlt_placeholders() -> None:
    scope = destination_scope("website_id", {"it's {x}": set()})
    assert scope.format(table="target") == "target.website_id IN ('it''s {x}')"


def test_no_slice_selects_nothing() -> None:
    assert destination_scope("website_id", {}, "date") == "1 = 0"
