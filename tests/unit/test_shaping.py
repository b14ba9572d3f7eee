"""Pure shaping: API rows to typed Arrow rows, with slice keys and empty-slice markers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import orjson
import pyarrow as pa
import pytest

from databuddy_source.arrow_answers import answer_schema, decode
from databuddy_source.catalog import EMPTY_SLICE, table_spec
from databuddy_source.planning import Parent, Window, plan_table
from databuddy_source.shaping import (
    column_wise,
    fractional_integer,
    read_schema,
    slice_rows,
    to_arrow,
)

SITE = Parent("website", "w1", date(2026, 3, 14))


def first_slice(name: str, **kw: object):  # type: ignore[no-untyped-def]
    spec = table_spec(name, **kw)  # type: ignore[arg-type]
    return spec, plan_table(spec, SITE, Window(today=date(2026, 3, 15), lookback_days=2), None)[0]


def test_breakdown_rows_get_parent_and_slice_date() -> None:
    spec, planned = first_slice("top_pages")
    table = to_arrow(
        spec,
        slice_rows(planned, [{"name": "/", "pageviews": 3, "visitors": 2, "percentage": 66.67}]),
    )
    assert table.schema.field("website_id").nullable is False
    assert table.schema.field("date").type == pa.date32()
    assert table.to_pylist() == [
        {
            "website_id": "w1",
            "date": date(2026, 3, 14),
            "name": "/",
            "pageviews": 3,
            "visitors": 2,
            "percentage": 66.67,
            "_slice_row": 0,
            EMPTY_SLICE: None,
        }
    ]


def test_an_empty_slice_becomes_one_marker() -> None:
    spec, planned = first_slice("country")
    rows = to_arrow(spec, slice_rows(planned, [])).to_pylist()
    assert len(rows) == 1 and rows[0][EMPTY_SLICE] is True and rows[0]["name"] is None


def test_series_day_and_hour() -> None:
    spec, planned = first_slice("events_by_date")
    rows = to_arrow(spec, slice_rows(planned, [{"date": "2026-03-14", "pageviews": 5}]))
    assert "hour" not in rows.column_names and rows.to_pylist()[0]["pageviews"] == 5
    hourly, planned_h = first_slice("events_by_date", hourly=True)
    rows_h = to_arrow(
        hourly, slice_rows(planned_h, [{"date": "2026-03-14 05:00:00", "pageviews": 1}])
    ).to_pylist()
    assert rows_h[0]["hour"] == datetime(2026, 3, 14, 5, tzinfo=UTC)
    assert rows_h[0]["date"] == date(2026, 3, 14)
    assert hourly.table_name == "events_by_date_hourly"


def test_an_hour_labelled_with_the_month_name_in_its_minutes_is_read() -> None:
    """Link types' hourly labels read '13:November:00' (ClickHouse's %M is the month's name)."""
    hourly, planned = first_slice("link_clicks_by_day", hourly=True)
    labels = ["2026-03-14 13:March:00", "2026-03-14 14:March:00"]
    rows = to_arrow(
        hourly, slice_rows(planned, [{"date": d, "clicks": 1} for d in labels])
    ).to_pylist()
    assert [r["hour"] for r in rows] == [
        datetime(2026, 3, 14, 13, tzinfo=UTC),
        datetime(2026, 3, 14, 14, tzinfo=UTC),
    ]
    with pytest.raises(pa.ArrowInvalid):  # anything else that is no date-time still fails
        to_arrow(hourly, slice_rows(planned, [{"date": "2026-03-14 13:xx:00:00", "clicks": 1}]))


def test_types_are_coerced_and_arrays_become_json() -> None:
    spec, planned = first_slice("session_list")
    rows = to_arrow(
        spec,
        slice_rows(
            planned,
            [
                {
                    "session_id": "s",
                    "first_visit": "2026-03-14 10:00:00.250",
                    "page_views": 2.0,
                    "events": [["e1", "2026-03-14 10:00:00.250", "screen_view", "/", None]],
                }
            ],
        ),
    ).to_pylist()
    assert rows[0]["page_views"] == 2
    assert rows[0]["first_visit"] == datetime(2026, 3, 14, 10, 0, 0, 250_000, tzinfo=UTC)
    assert rows[0]["events"] == '[["e1","2026-03-14 10:00:00.250","screen_view","/",null]]'


def test_integer_columns_stay_integers_and_nullable_averages_stay_null() -> None:
    spec, planned = first_slice("summary_metrics")
    table = to_arrow(
        spec,
        slice_rows(
            planned,
            [
                {
                    "pageviews": 0,
                    "unique_visitors": 0,
                    "sessions": 0,
                    "bounce_rate": None,
                    "median_session_duration": None,
                    "total_events": 0,
                }
            ],
        ),
    )
    assert table.schema.field("pageviews").type == pa.int64()
    assert table.to_pylist()[0]["bounce_rate"] is None


def test_column_wise_tables_equal_row_wise_ones_for_every_type(store, demo_ids) -> None:  # type: ignore[no-untyped-def]
    """``slices_table`` (Arrow builds the columns) gives exactly what the row-wise path gives,
    for every table-shaped type, on real emulator answers, with empty slices among them."""
    from databuddy_emulator.truth import expected_rows

    from databuddy_source.options import resolve_query_types
    from databuddy_source.shaping import _row_wise, slices_table

    scope = {
        "website": ("website_id", demo_ids["website_id"]),
        "link": ("link_id", demo_ids["link_id"]),
        "schedule": ("schedule_id", demo_ids["schedule_id"]),
        "organization": ("organization_id", demo_ids["organization_id"]),
    }
    fast = 0
    for name in resolve_query_types(["all"]):
        spec = table_spec(name)
        key, parent_id = scope[spec.qtype.project]
        parent = Parent(spec.qtype.project, parent_id, date(2026, 1, 1))
        window = Window(today=date(2026, 3, 15), start_date=date(2026, 3, 11), lookback_days=2)
        answered = []
        for planned in plan_table(spec, parent, window, None)[:3]:
            rows = expected_rows(
                store,
                name,
                start_date=planned.start.isoformat(),
                end_date=planned.end.isoformat(),
                **{key: parent_id},
            )
            answered.append((planned, rows))
        answered.append((answered[0][0], []))  # an empty answer: a marker row
        got, want = slices_table(spec, answered), _row_wise(spec, answered)
        assert got.schema == want.schema, name
        assert got.to_pylist() == want.to_pylist(), name
        if column_wise(spec):  # the same answers as one packed body, decoded by Arrow
            decoded = _arrow_decoded(spec, answered)
            assert decoded is not None, f"{name}: Arrow could not read a plain answer"
            from_arrow = slices_table(spec, decoded)
            assert from_arrow.schema == want.schema, name
            assert from_arrow.to_pylist() == want.to_pylist(), name
            fast += 1
    assert fast > 100


def _arrow_decoded(spec, answered):  # type: ignore[no-untyped-def]
    """``answered`` sent as one packed answer body and read back by :mod:`arrow_answers`."""
    ids = [f"{spec.table_name}:{i}" for i in range(len(answered))]
    body = {
        "success": True,
        "requestId": "req_1",
        "data": [
            {"parameter": label, "success": True, "data": rows}
            for label, (_, rows) in zip(ids, answered, strict=True)
        ],
        "meta": {"total_parameters": len(ids)},
    }
    schema = answer_schema([read_schema(spec)])
    answer = decode(json.dumps(body, ensure_ascii=False).encode(), schema)  # any int size
    if answer is None:
        return None
    return [
        (planned, answer.tables[label]) for label, (planned, _) in zip(ids, answered, strict=True)
    ]


@pytest.mark.parametrize(
    ("rows", "arrow_reads_it"),
    [
        ([{"name": "/é\n\u2028", "pageviews": 3, "visitors": 2, "percentage": 0.5}], True),
        ([{"name": "/", "pageviews": None, "extra": {"nested": [1]}}], True),  # null, unknown
        ([{"name": "/", "pageviews": 3.0}], False),  # a float where the contract says integer
        ([{"name": "/", "pageviews": 3.5}], False),
        ([{"name": "/", "pageviews": "7"}], False),  # a number as text
        ([{"name": 5}], False),  # a number where the contract says text
        ([{"name": "/", "pageviews": True}], False),
        ([{"name": "/", "pageviews": 2**70}], False),
        ([{"name": "/", "percentage": 1}], True),  # an integer where the contract says number
    ],
)
def test_arrow_reads_exactly_or_declines(rows, arrow_reads_it) -> None:  # type: ignore[no-untyped-def]
    """Arrow either gives what the general path gives, or declines (the answer is then decoded
    as JSON): it never coerces a value the contract does not expect."""
    from databuddy_source.shaping import _row_wise, slices_table

    spec, planned = first_slice("top_pages")
    decoded = _arrow_decoded(spec, [(planned, rows)])
    assert (decoded is not None) is arrow_reads_it
    if decoded is not None:
        want = _row_wise(spec, [(planned, rows)])
        assert slices_table(spec, decoded).to_pylist() == want.to_pylist()


def test_arrow_declines_failed_or_incomplete_answers() -> None:
    schema = answer_schema([read_schema(table_spec("top_pages"))])
    for body in (
        {"success": False, "error": "boom"},
        {"success": True, "data": [{"parameter": "a", "success": False, "error": "x"}]},
        {"success": True},
        {"success": True, "data": [{"success": True, "data": []}]},
    ):
        assert decode(orjson.dumps(body), schema) is None, body
    assert decode(b"{not json", schema) is None
    pretty = orjson.dumps(
        {"success": True, "data": [{"parameter": "a", "success": True, "data": [{"name": "/"}]}]},
        option=orjson.OPT_INDENT_2,
    )
    answer = decode(pretty, schema)
    assert answer is not None and answer.tables["a"].column("name").to_pylist() == ["/"]


def test_types_that_share_a_column_name_with_another_type_fall_back() -> None:
    a = pa.schema([pa.field("value", pa.int64())])
    b = pa.schema([pa.field("value", pa.string())])
    assert answer_schema([a, b]) is None
    assert answer_schema([a, a]) is not None


def test_a_fraction_in_an_integer_column_is_refused_not_truncated() -> None:
    spec = table_spec("top_pages")
    assert pa.types.is_integer(spec.arrow_schema().field("pageviews").type)
    whole = [{"name": "/", "pageviews": 3, "visitors": 2}, {"name": "/a", "pageviews": 4.0}]
    assert fractional_integer(spec, whole) is None  # 4.0 is exactly 4
    half = [*whole, {"name": "/b", "pageviews": 3.5, "visitors": 1}]
    why = fractional_integer(spec, half)
    assert why is not None and "3.5" in why and "'pageviews'" in why and "integer" in why
    # what it guards against: Arrow itself would store 3
    assert to_arrow(spec, [{"pageviews": 3.5}]).column("pageviews").to_pylist() == [3]
    assert fractional_integer(spec, to_arrow(spec, whole)) is None  # Arrow answers: checked there
