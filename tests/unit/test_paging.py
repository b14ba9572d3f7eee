"""Paging, pure: what a full page of a slice leads to, for each kind of type."""

from __future__ import annotations

import pyarrow as pa
import pytest

from databuddy_source.catalog import table_spec
from databuddy_source.paging import MAX_PAGES, Next, Pager, join_pages
from databuddy_source.slices import SliceOptions


@pytest.mark.parametrize(
    ("name", "rows", "expected"),
    [
        ("top_pages", 99, Next.DONE),  # not full
        ("top_pages", 100, Next.PAGE),  # honours page (OFFSET): ask for the next one
        ("recent_errors", 100, Next.TRUNCATED),  # cut at the limit, and repeats its first page
        ("country", 50, Next.TRUNCATED),  # merged after the limit: half full may be cut
        ("country", 49, Next.DONE),
        ("summary_metrics", 5_000, Next.DONE),  # the limit does not apply
    ],
)
def test_what_follows_a_page(name: str, rows: int, expected: Next) -> None:
    assert Pager(100).next(table_spec(name), rows) is expected


def test_a_full_first_read_is_read_again_rather_than_paged() -> None:
    pager = Pager(10, first_read=True)
    assert pager.next(table_spec("top_pages"), 10) is Next.READ_AGAIN
    assert pager.next(table_spec("recent_errors"), 10) is Next.READ_AGAIN
    assert pager.next(table_spec("top_pages"), 9) is Next.DONE


def test_the_pages_asked_for_and_their_end() -> None:
    pager = Pager(100)
    options = SliceOptions(website_id="w1", limit=100)
    assert pager.options(options) is options, "the first page names no page"
    assert pager.advance() and pager.options(options).page == 2
    while pager.advance():
        pass
    assert pager.page == MAX_PAGES + 1


def test_arrow_pages_stay_arrow_unless_they_overlap() -> None:
    first = pa.table({"name": ["/a", "/b"], "visitors": [5, 3]})
    second = pa.table({"name": ["/c"], "visitors": [2]})
    rows, overlapped = join_pages(first, second)
    assert isinstance(rows, pa.Table) and rows.num_rows == 3 and not overlapped
    tied = pa.table({"name": ["/b", "/d"], "visitors": [3, 3]})
    rows, overlapped = join_pages(first, tied)
    assert overlapped and [r["name"] for r in rows] == ["/a", "/b", "/d"]
    assert join_pages([], second) == (second, False)
