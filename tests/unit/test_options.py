"""Options are checked before any request, with one message naming the key and the fix."""

from __future__ import annotations

import pytest

from databuddy_source.catalog import DEFAULT_QUERY_TYPES
from databuddy_source.errors import ConfigurationError
from databuddy_source.options import resolve_options


def test_defaults() -> None:
    options = resolve_options()
    assert options.query_types == DEFAULT_QUERY_TYPES and options.lookback_days == 2
    assert options.rpc_collections and options.timezone == "UTC"


def test_all_and_comma_separated_names() -> None:
    # 134 current types - 3 that need a filter (profile_detail, profile_sessions: a visitor;
    # session_events: a session)
    assert len(resolve_options(queries="all").query_types) == 131
    assert resolve_options(queries="top_pages, country").query_types == ("top_pages", "country")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"queries": ["top_page"]}, "Did you mean 'top_pages'?"),
        ({"queries": ["profile_detail"]}, "needs a filter on one visitor"),
        ({"queries": ["session_events"]}, r"needs a filter on one session \(session_id\)"),
        ({"start_date": "2026-02-30"}, "is not a date"),
        ({"start_date": "2026-03-02", "end_date": "2026-03-01"}, "is before start_date"),
        ({"lookback_days": 0}, "lookback_days"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"granularity": "weekly"}, "is not daily or hourly"),
        ({"grain": "year"}, "is not day, week or month"),
        ({"filters": [{"field": "contry", "op": "eq", "value": "US"}]}, "Did you mean 'country'?"),
        ({"filters": [{"field": "country", "op": "like", "value": "US"}]}, "unknown operator"),
        ({"rpc_collections": ["funels"]}, "Did you mean 'funnels'?"),
        ({"max_parameters_per_request": 0}, "max_parameters_per_request"),
    ],
)
def test_bad_options(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        resolve_options(**kwargs)
    assert "sources.databuddy." in str(caught.value)
    assert "SOURCES__DATABUDDY__" in str(caught.value)
