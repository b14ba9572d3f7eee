"""Packing, pure: which slices share a request (scope, parameter cap, row budget) and when a
failing request is split."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from databuddy_source.catalog import table_spec
from databuddy_source.errors import ConfigurationError, RetriableError
from databuddy_source.packing import (
    Packer,
    RowEstimates,
    by_request_scope,
    chunks,
    halves,
    scope_options,
    split_after,
    worth_splitting,
)
from databuddy_source.planning import Parent, PlannedSlice
from databuddy_source.retry import RetryBudget

SITE = Parent("website", "w1", date(2026, 1, 1), "Shop")
ORG = Parent("organization", "o1", date(2026, 1, 1), website_id="w1")
DAY = date(2026, 3, 1)


def slices(name: str, days: int, parent: Parent = SITE) -> list[PlannedSlice]:
    spec = table_spec(name)
    return [
        PlannedSlice(spec, parent, d, d, d, (d,) if spec.slicing == "series" else ())
        for d in (DAY + timedelta(days=i) for i in range(days))
    ]


def tables(chunk: list[PlannedSlice]) -> list[str]:
    return [p.spec.table_name for p in chunk]


def test_organization_types_ride_with_one_of_their_websites_requests() -> None:
    lonely = Parent("organization", "o2", date(2026, 1, 1), website_id="w9")
    planned = {
        SITE: slices("top_pages", 2),
        ORG: slices("country", 2, ORG),
        lonely: slices("country", 1, lonely),
    }
    scoped = by_request_scope(planned)
    assert list(scoped) == [SITE, lonely], "the organization with no website here goes alone"
    assert [(p.start.day, p.spec.table_name) for p in scoped[SITE]] == [
        (1, "country"),
        (1, "top_pages"),
        (2, "country"),
        (2, "top_pages"),
    ]


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("website", "website_id"),
        ("link", "link_id"),
        ("schedule", "schedule_id"),
        ("organization", "organization_id"),
    ],
)
def test_a_request_is_scoped_to_its_parent(kind: str, field: str) -> None:
    options = scope_options(Parent(kind, "x1", DAY), "Europe/Berlin", [{"field": "a"}], 500)
    assert options.query_params() == {field: "x1", "timezone": "Europe/Berlin"}
    assert (options.filters, options.limit, options.page) == (({"field": "a"},), 500, None)


def test_the_first_limit_is_a_slices_share_of_the_row_budget() -> None:
    assert Packer(100, 1_000, 10_000).first_limit == 10
    assert Packer(100, 50, 10_000).first_limit == 1, "never zero"
    assert Packer(10, 1_000_000, 500).first_limit == 500, "never above the limit"


def test_unseen_tables_lead_at_the_first_limit() -> None:
    estimates = RowEstimates(10_000, {"country": 3})
    queue = slices("top_pages", 3) + slices("country", 2)
    chunk, limit = Packer(4, 1_000, 10_000).next_request(queue, estimates)
    assert limit == 250, "1,000 rows shared by 4 slices"
    assert tables(chunk) == ["top_pages"] * 3 + ["country"], "small known tables join them"


def test_known_tables_fill_the_row_budget_and_at_least_one_slice_goes() -> None:
    estimates = RowEstimates(10_000, {"top_pages": 400, "country": 50})
    queue = slices("top_pages", 3) + slices("country", 5)
    chunk, limit = Packer(100, 1_000, 10_000).next_request(queue, estimates)
    assert limit == 10_000
    assert tables(chunk) == ["top_pages"] * 2, "a third 400-row slice would pass 1,000 rows"
    huge = RowEstimates(10_000, {"top_pages": 5_000})
    chunk, _ = Packer(100, 1_000, 10_000).next_request(queue, huge)
    assert len(chunk) == 1


def test_the_parameter_cap_bounds_a_request() -> None:
    estimates = RowEstimates(10_000, {"country": 1})
    chunk, _ = Packer(3, 1_000, 10_000).next_request(slices("country", 10), estimates)
    assert len(chunk) == 3
    assert [len(c) for c in chunks(list(range(7)), 3)] == [3, 3, 1]
    with pytest.raises(ConfigurationError, match="max_parameters_per_request"):
        Packer(0)


def test_a_table_that_filled_a_first_page_counts_as_full_until_read_whole() -> None:
    estimates = RowEstimates(10_000)
    assert estimates.estimate("top_pages") is None
    estimates.filled_first_page("top_pages")
    assert estimates.estimate("top_pages") == 10_000
    estimates.learn("top_pages", 12, full_limit=False)
    assert estimates.estimate("top_pages") == 10_000, "a small page says nothing of its size"
    estimates.learn("top_pages", 2_500, full_limit=True)
    estimates.learn("top_pages", 40, full_limit=True)
    assert estimates.estimate("top_pages") == 2_500, "the most a slice held"
    assert estimates.sizes == {"top_pages": 2_500}


def test_a_request_that_keeps_timing_out_is_split_unless_halves_cannot_help() -> None:
    timeout = RetriableError("timed out", status=504)
    pair = slices("top_pages", 2)
    assert split_after(pair) == 3 and split_after(pair[:1]) is None
    assert worth_splitting(pair, timeout, None)
    assert not worth_splitting(pair[:1], timeout, None), "one slice cannot be split"
    for down in (502, 503):
        assert not worth_splitting(pair, RetriableError("down", status=down), None)
    spent = RetryBudget(1.0)
    spent.charge(1.0)
    assert not worth_splitting(pair, timeout, spent)
    assert halves([1, 2, 3, 4, 5]) == ([1, 2], [3, 4, 5])
