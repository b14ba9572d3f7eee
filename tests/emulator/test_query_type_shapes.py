"""Every current query type answers with exactly the columns and JSON value types of
query-types.json, computed from the generated data."""

from __future__ import annotations

from typing import Any

import pytest
from databuddy_emulator.store import Store
from databuddy_emulator.truth import expected_rows

from databuddy_source.contract import QueryType, query_types

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "date": (str,),
    "datetime": (str,),
}


def scope_for(qt: QueryType, ids: dict[str, str]) -> dict[str, str]:
    if qt.project == "link":
        return {"link_id": ids["link_id"]}
    if qt.project == "schedule":
        return {"schedule_id": ids["schedule_id"]}
    return {"website_id": ids["website_id"]}


def check_value(qt: QueryType, name: str, kind: str, array: bool, value: Any) -> None:
    if value is None:
        return
    if array:
        assert isinstance(value, list), f"{qt.name}.{name}: expected an array, got {value!r}"
        return
    assert isinstance(value, JSON_TYPES[kind]) and not isinstance(value, bool), (
        f"{qt.name}.{name}: expected {kind}, got {value!r}"
    )
    if kind == "date" and qt.date_field == name:
        assert len(value) in (10, 19), f"{qt.name}.{name}: bad date {value!r}"


# Types whose rows come from a page view's own time on page, which ingestion never sets (it
# arrives on the page-exit row): empty on real data too.
ALWAYS_EMPTY = frozenset({"session_duration_distribution"})


@pytest.mark.parametrize("qt", query_types(), ids=lambda t: t.name)
def test_columns_and_types(store: Store, demo_ids: dict[str, str], qt: QueryType) -> None:
    extra: dict[str, Any] = {}
    required = str(qt.raw.get("requires_filter") or "").split(" ", 1)[0]
    if required:  # profile types need a visitor, session_events a session seen in the range
        with store.cursor() as cur:
            value = cur.execute(
                f"SELECT {required} FROM events WHERE client_id = ? AND time BETWEEN "
                "'2026-02-20' AND '2026-03-14 23:59:59' ORDER BY time LIMIT 1",
                [demo_ids["website_id"]],
            ).fetchone()[0]
        extra["filters"] = [{"field": required, "op": "eq", "value": value}]
    rows = expected_rows(
        store,
        qt.name,
        start_date="2026-02-20",
        end_date="2026-03-14",
        limit=50,
        **scope_for(qt, demo_ids),
        **extra,
    )
    if not qt.date_range_ignored and qt.name not in ALWAYS_EMPTY:
        assert rows, f"{qt.name}: no rows over three weeks of data"
    for row in rows:
        assert tuple(row) == qt.field_names
        for f in qt.fields:
            check_value(qt, f.name, f.type, f.array, row[f.name])
