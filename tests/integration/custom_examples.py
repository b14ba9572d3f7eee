"""The three custom reports of docs/custom-reports.md, and the check that a report's table holds,
slice by slice, exactly what ``POST /v1/query/custom`` answers for that website and day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date
from typing import Any

from databuddy_source.client import Databuddy
from databuddy_source.custom_report_options import resolve_reports
from databuddy_source.custom_reports import CustomReport, request_ranges

from .syncing import table_rows

EXAMPLES: list[dict[str, Any]] = [
    {
        "name": "views_by_country_device",
        "table": "events",
        "dimensions": ["country", "device_type"],
        "metrics": [
            {"field": "*", "aggregate": "count", "alias": "views"},
            {"field": "path", "aggregate": "uniq", "alias": "pages"},
        ],
        "filters": [{"field": "event_name", "operator": "eq", "value": "screen_view"}],
    },
    {
        "name": "lcp_by_path",
        "table": "web_vitals_spans",
        "dimensions": ["path"],
        "metrics": [
            {"field": "metric_value", "aggregate": "avg", "alias": "lcp_avg"},
            {"field": "metric_value", "aggregate": "max", "alias": "lcp_max"},
            {"field": "*", "aggregate": "count", "alias": "samples"},
        ],
        "filters": [{"field": "metric_name", "operator": "eq", "value": "LCP"}],
    },
    {
        "name": "outbound_clicks",
        "table": "outgoing_links",
        "dimensions": ["href"],
        "metrics": [{"field": "*", "aggregate": "count", "alias": "clicks"}],
    },
]


def example_reports() -> tuple[CustomReport, ...]:
    return resolve_reports(EXAMPLES)


def comparable(value: Any) -> Any:
    """Numbers compared to 12 significant digits (an average's last bits may differ between
    engines); integers that arrive as floats (or as text, from 64-bit columns) are integers."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else float(f"{value:.12g}")
    return value


def _key(report: CustomReport, row: dict[str, Any]) -> tuple[Any, ...]:
    hour = row.get("hour")
    head = (hour.astimezone(UTC).replace(tzinfo=None),) if hour is not None else ()
    return head + tuple(comparable(row.get(c)) for c in report.columns)


def api_answer(
    client: Databuddy, report: CustomReport, website_id: str, day: date, timezone: str
) -> list[tuple[Any, ...]]:
    """The endpoint's own rows for one website and day (each hour's, for an hourly report)."""
    out = []
    for span in request_ranges(report, day, timezone):
        answer = client.request(
            "POST",
            "/v1/query/custom",
            params={"website_id": website_id},
            json=report.body(span.start, span.end, timezone),
            limiter=client.custom_rate_limiter,
        )
        for row in answer["data"]:
            hour = {"hour": span.start} if span.hourly else {}
            out.append(_key(report, {**row, **hour}))
    return out


def assert_report_equals_api(
    pipeline: Any,
    client: Databuddy,
    report: CustomReport,
    websites: Iterable[str],
    days: Iterable[date],
    timezone: str = "UTC",
) -> int:
    """Every (website, day) slice of the report's table equals the endpoint's answer for it, as
    a multiset of rows (the endpoint leaves ties of its order undefined); the table keeps the
    answer's order in ``_slice_row`` (first metric descending). Returns the rows compared."""
    loaded: dict[tuple[str, date], list[dict[str, Any]]] = {}
    for row in table_rows(pipeline, report.table_name):
        loaded.setdefault((row["website_id"], row["date"]), []).append(row)
    compared = 0
    for website in websites:
        for day in days:
            rows = sorted(loaded.get((website, day), []), key=lambda r: r["_slice_row"])
            want = api_answer(client, report, website, day, timezone)
            got = [_key(report, r) for r in rows]
            assert sorted(got, key=repr) == sorted(want, key=repr), (
                f"{report.table_name}, {website}, {day}: table {got[:5]}... != API {want[:5]}..."
            )
            if report.dimensions and not report.hourly:
                first = [r[report.metrics[0].column] for r in rows]
                assert first == sorted(first, key=lambda v: (v is not None, v), reverse=True)
            compared += len(got)
    return compared
