"""The pure parts of following the live API: local days as UTC instants, the live catalogue,
the triage of a refused request, paging overlaps, and retry budgets."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from databuddy_source.arrow_answers import disjoint_concat
from databuddy_source.catalog import select_live, table_spec
from databuddy_source.errors import ConfigurationError, FatalError, ValidationError
from databuddy_source.paging import join_pages
from databuddy_source.planning import Parent, PlannedSlice
from databuddy_source.retry import RetryBudget
from databuddy_source.triage import culprits

SITE = Parent("website", "site_a", date(2026, 1, 1))
LA = "America/Los_Angeles"


def day_slice(name: str, day: date, zone: str = "UTC", parent: Parent = SITE) -> PlannedSlice:
    spec = table_spec(name, timezone=zone)
    days = (day,) if spec.slicing == "series" else ()
    return PlannedSlice(spec, parent, day, day, day, days)


@pytest.mark.parametrize(
    ("name", "day", "zone", "bounds"),
    [
        ("top_pages", date(2026, 11, 23), "UTC", ("2026-11-23", "2026-11-23")),
        ("top_pages", date(2026, 11, 23), LA, ("2026-11-23T08:00:00Z", "2026-11-24T07:59:59Z")),
        # 1 November 2026: Los Angeles falls back, the local day has 25 hours
        ("top_pages", date(2026, 11, 1), LA, ("2026-11-01T07:00:00Z", "2026-11-02T07:59:59Z")),
        ("events_by_date", date(2026, 3, 8), LA, ("2026-03-08T08:00:00Z", "2026-03-09T06:59:59Z")),
        # the API reads this type's range in the zone: local dates
        ("uptime_time_series", date(2026, 11, 23), LA, ("2026-11-23", "2026-11-23")),
        # buckets UTC days whatever the zone: a UTC day
        ("error_trends", date(2026, 11, 23), LA, ("2026-11-23", "2026-11-23")),
    ],
)
def test_a_day_is_sent_as_the_bounds_the_api_reads(
    name: str, day: date, zone: str, bounds: tuple[str, str]
) -> None:
    assert day_slice(name, day, zone).bounds() == bounds


def test_the_zone_of_each_table() -> None:
    assert table_spec("top_pages", timezone=LA).zone == LA
    assert table_spec("events_by_date", hourly=True, timezone=LA).hour_zone == LA
    assert table_spec("error_trends", timezone=LA).zone == "UTC"
    assert table_spec("uptime_time_series", hourly=True, timezone=LA).hour_zone == "UTC"


def test_the_live_catalogue_decides_what_is_read() -> None:
    specs = [table_spec(n) for n in ("top_pages", "llm_time_series", "error_types")]
    live = frozenset({"top_pages", "error_types"})
    quiet = select_live(specs, live, named=())
    assert [s.name for s in quiet.specs] == ["top_pages", "error_types"] and quiet.gone == []
    named = select_live(specs, live, named=("llm_time_series",))
    assert [s.name for s in named.gone] == ["llm_time_series"]
    new = select_live([table_spec("brand_new_type")], live | {"brand_new_type"}, named=())
    assert new.untyped == ["brand_new_type"] and new.specs[0].untyped
    with pytest.raises(ConfigurationError, match="'brand_new_type' is not a query type the API"):
        select_live([table_spec("brand_new_type")], live, named=("brand_new_type",))
    unread = select_live(specs, None, named=())  # no catalogue: the bundled contract stands in
    assert [s.name for s in unread.specs] == ["top_pages", "llm_time_series", "error_types"]


def test_a_plan_gate_blames_the_gated_types() -> None:
    pending = [day_slice(n, date(2026, 11, 23)) for n in ("top_pages", "error_types")]
    gate = FatalError(
        "This feature is not available on the plan", status=402, code="FEATURE_UNAVAILABLE"
    )
    verdict = culprits(pending, gate)
    assert verdict is not None and verdict.gated == {"error_types"}
    assert verdict.skip == {pending[1].id: "error tracking is not available on this website's plan"}
    assert culprits(pending[:1], gate) is None, "no known culprit: the caller bisects"


def test_an_unknown_type_refusal_blames_that_type() -> None:
    pending = [day_slice(n, date(2026, 11, 23)) for n in ("top_pages", "llm_time_series")]
    refusal = ValidationError(
        "Unknown query type: llm_time_series",
        status=400,
        details=[{"field": "parameters[1]", "message": "Unknown query type: llm_time_series"}],
    )
    verdict = culprits(pending, refusal)
    assert verdict is not None and verdict.gone == {"llm_time_series"}
    assert list(verdict.skip) == [pending[1].id]
    assert culprits(pending, ValidationError("Limit cannot exceed 10000", status=400)) is None


def test_overlapping_pages_are_joined_without_duplicates_and_flagged() -> None:
    first = [{"name": "/a", "visitors": 5}, {"name": "/b", "visitors": 3}]
    tied = [{"name": "/b", "visitors": 3}, {"name": "/c", "visitors": 3}]
    rows, overlapped = join_pages(list(first), tied)
    assert rows == [*first, {"name": "/c", "visitors": 3}] and overlapped
    rows, overlapped = join_pages(list(first), [{"name": "/d", "visitors": 1}])
    assert len(rows) == 3 and not overlapped


def test_a_parent_budget_draws_on_its_run() -> None:
    run = RetryBudget(10.0)
    one, two = RetryBudget(8.0, run=run), RetryBudget(8.0, run=run)
    one.charge(6.0)
    assert one.remaining() == 2.0 and two.remaining() == 4.0 and not two.exhausted
    two.charge(4.0)
    assert run.exhausted and one.exhausted and two.exhausted


def test_arrow_pages_are_joined_in_arrow_exactly_as_row_by_row() -> None:
    def arrow(rows: list[dict[str, object]]) -> pa.Table:
        schema = pa.schema([("name", pa.string()), ("visitors", pa.int64()), ("t", pa.null())])
        return pa.Table.from_pylist(rows, schema=schema)

    first = [{"name": "/a", "visitors": 5, "t": None}, {"name": "/b", "visitors": 3, "t": None}]
    cases = [  # (next page, joined by Arrow alone)
        ([{"name": "/c", "visitors": 3, "t": None}], True),  # a distinct label
        ([{"name": "/a", "visitors": 4, "t": None}], True),  # label repeated, row not
        ([{"name": "/a", "visitors": 3, "t": None}], True),  # no column all distinct: grouped
        (
            [{"name": "/b", "visitors": 3, "t": None}, {"name": "/c", "visitors": 1, "t": None}],
            False,
        ),
        (
            [{"name": None, "visitors": 1, "t": None}, {"name": None, "visitors": 1, "t": None}],
            False,
        ),
    ]
    for page, in_arrow in cases:
        assert (disjoint_concat(arrow(first), arrow(page)) is not None) == in_arrow
        rows, overlapped = join_pages(arrow(first), arrow(page))
        expected, expected_overlap = join_pages(list(first), list(page))
        as_rows = rows.to_pylist() if isinstance(rows, pa.Table) else rows
        assert (as_rows, overlapped) == (expected, expected_overlap)
        assert isinstance(rows, pa.Table) == (not overlapped)
