"""Custom report definitions: checked before any request (one line, "did you mean"), turned into
request bodies, day and hour ranges, and typed tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Any

import pyarrow as pa
import pytest

from databuddy_source.custom_report_options import resolve_report, resolve_reports
from databuddy_source.custom_reports import CustomReport, request_ranges, truncation_hint
from databuddy_source.errors import ConfigurationError

VIEWS: dict[str, Any] = {
    "name": "views_by_country_device",
    "table": "events",
    "dimensions": ["country", "device_type"],
    "metrics": [
        {"field": "*", "aggregate": "count", "alias": "views"},
        {"field": "path", "aggregate": "uniq"},
        {"field": "time_on_page", "aggregate": "avg"},
        {"field": "load_time", "aggregate": "sum"},
        {"field": "scroll_depth", "aggregate": "max"},
    ],
    "filters": [{"field": "event_name", "operator": "eq", "value": "screen_view"}],
}


def report(**changes: Any) -> CustomReport:
    return resolve_report({**VIEWS, **changes}, 0)


def refused(raw: Any) -> str:
    with pytest.raises(ConfigurationError) as caught:
        resolve_reports(raw)
    message = str(caught.value)
    assert "\n" not in message, "one line"
    assert message.startswith("sources.databuddy.custom_reports")
    return message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"table": "event"}, "table 'event' is not one the endpoint reads. Did you mean 'events'?"),
        ({"dimensions": ["contry"]}, "'contry' is not a column of events. Did you mean 'country'?"),
        (
            {"dimensions": ["session_id"]},
            "dimensions: 'session_id' is not a column of events. Columns: event_name",
        ),
        (
            {"metrics": [{"field": "path", "aggregate": "avg"}]},
            "avg does not apply to the text column 'path'; use count or uniq, or one of the "
            "numeric columns: time_on_page, scroll_depth, page_count, load_time, ttfb",
        ),
        (
            {"metrics": [{"field": "*", "aggregate": "uniq"}]},
            "uniq needs a column; only count takes '*'",
        ),
        (
            {"metrics": [{"field": "load_time", "aggregate": "average"}]},
            "aggregate 'average' is not one of count, sum, avg, max, min, uniq.",
        ),
        ({"metrics": [{"field": "ttfb", "agg": "avg"}]}, "unknown key 'agg' in metrics[0]."),
        ({"dimension": ["country"]}, "unknown key 'dimension' in the report. Did you mean"),
        ({"metrics": []}, "metrics takes 1 to 10 items, got 0"),
        ({"dimensions": ["country"] * 6}, "dimensions takes 0 to 5 items, got 6"),
        (
            {"filters": [{"field": "event_name", "operator": "equals", "value": "x"}]},
            "operator 'equals' is not one of eq, ne",
        ),
        (
            {"filters": [{"field": "country", "operator": "eq", "value": ["US", "DE"]}]},
            "eq takes one value; use in / not_in for a list",
        ),
        (
            {"metrics": [{"field": "*", "aggregate": "count", "alias": "Views"}]},
            "alias 'Views' must be lower-case letters",
        ),
        (
            {"metrics": [{"field": "*", "aggregate": "count", "alias": "country"}]},
            "column 'country' appears twice or is one the table adds",
        ),
        (
            {"metrics": [{"field": "*", "aggregate": "count", "alias": "date"}]},
            "column 'date' appears twice or is one the table adds",
        ),
        ({"granularity": "weekly"}, "granularity 'weekly' is not 'daily' or 'hourly'"),
        ({"limit": 20_000}, "limit 20000 must be 1 to 10000"),
        ({"name": "Views!"}, "name 'Views!' must be 1-50 lower-case letters"),
    ],
)
def test_a_bad_definition_is_one_clear_line(change: dict[str, Any], expected: str) -> None:
    message = refused([{**VIEWS, **change}])
    assert expected in message, message
    assert message.endswith("(see docs/custom-reports.md)")


def test_the_message_names_the_report() -> None:
    message = refused([VIEWS, {**VIEWS, "name": "second", "table": "error_span"}])
    assert message.startswith("sources.databuddy.custom_reports[1] (second): table 'error_span'")
    assert "Did you mean 'error_spans'?" in message


def test_two_reports_may_not_make_one_table() -> None:
    assert "two reports make the table report_views_by_country_device" in refused([VIEWS, VIEWS])


def test_not_a_list() -> None:
    assert "a string must be a JSON list of reports" in refused("views")
    assert "expected a list of report tables, got int" in refused(3)
    assert resolve_reports(
        '[{"name": "n", "table": "events", "metrics": [{"aggregate": "count"}]}]'
    )
    assert resolve_reports(None) == () and resolve_reports([]) == ()
    assert len(resolve_reports(VIEWS)) == 1  # one TOML table on its own


def test_request_body_is_the_endpoints_shape() -> None:
    r = report()
    (span,) = request_ranges(r, date(2026, 11, 20), "America/New_York")
    assert r.body(span.start, span.end, "America/New_York") == {
        "query": {
            "table": "events",
            "selects": VIEWS["metrics"],  # an alias only where one is given
            "filters": VIEWS["filters"],
            "groupBy": ["country", "device_type"],
        },
        "startDate": "2026-11-20T05:00:00Z",  # local midnight in New York, as UTC
        "endDate": "2026-11-21T04:59:59Z",
        "timezone": "America/New_York",
        "granularity": "daily",
        "limit": 10_000,
    }


def test_hourly_ranges_follow_the_clock_changes() -> None:
    hourly = report(granularity="hourly")
    for day, hours in ((date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 6, 1), 24)):
        spans = request_ranges(hourly, day, "Europe/Berlin")
        assert len(spans) == hours
        assert all((s.end - s.start).total_seconds() == 3599 for s in spans)
        gaps = [(b.start - a.end).total_seconds() for a, b in pairwise(spans)]
        assert gaps == [1.0] * (hours - 1), "consecutive hours, no overlap, no gap"
    first = request_ranges(hourly, date(2026, 6, 1), "Europe/Berlin")[0]
    assert first.start == datetime(2026, 5, 31, 22, tzinfo=UTC) and first.hourly


def test_columns_are_typed() -> None:
    schema = report().spec().arrow_schema()
    types = {f.name: f.type for f in schema}
    assert report().table_name == "report_views_by_country_device"
    assert types["website_id"] == pa.string() and types["date"] == pa.date32()
    assert types["country"] == types["device_type"] == pa.string()
    assert types["views"] == types["uniq_path"] == pa.int64()  # counts
    assert types["avg_time_on_page"] == pa.float64()  # averages
    assert types["sum_load_time"] == pa.int64()  # sum of an integer column
    assert types["max_scroll_depth"] == pa.float64()  # max of a float column
    hourly = report(granularity="hourly")
    assert hourly.table_name == "report_views_by_country_device_hourly"
    assert hourly.spec().arrow_schema().field("hour").type == pa.timestamp("us", tz="UTC")
    assert hourly.spec().merge_key == ["website_id", "date"]


def test_descriptions_say_uniq_is_not_summable() -> None:
    text = report().description()
    assert "uniq_path: distinct values within the day, not summable across days." in text
    assert "At most 10000 groups a day: the top ones by views." in text
    assert "not summable" in report().column_descriptions()["uniq_path"]


def test_truncation_hint_says_how_to_narrow() -> None:
    hint = truncation_hint(report(limit=500))
    assert hint.startswith("report 'views_by_country_device' reached its limit of 500 groups")
    assert "raise limit to 10000, add a filter, drop a dimension, set granularity = 'hourly'" in (
        hint
    )


def test_custom_rate_limit_is_checked() -> None:
    from databuddy_source.options import resolve_options

    assert resolve_options(custom_rate_limit=60).custom_rate_limit == 60
    for bad in (0, -1, 2.5, "60", True):
        with pytest.raises(ConfigurationError, match=r"custom_rate_limit: .* at least 1"):
            resolve_options(custom_rate_limit=bad)


def test_the_custom_budget_is_its_own_and_shared_by_the_key() -> None:
    from databuddy_source.client import Databuddy

    key = "dbdy_" + "k" * 40
    with (
        Databuddy(key, rate_limit=60, custom_rate_limit=60) as one,
        Databuddy(key, rate_limit=60, custom_rate_limit=60) as two,
    ):
        assert one.custom_rate_limiter is two.custom_rate_limiter  # every report of the key
        assert one.custom_rate_limiter is not one.rate_limiter  # apart from /v1/query's
        assert (one.custom_rate_limiter.limit, one.custom_rate_limiter.window) == (60, 60.0)
