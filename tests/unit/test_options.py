"""Options are checked before any request, with one message naming the key and the fix."""

from __future__ import annotations

import inspect
import re

import pytest

from databuddy_source.catalog import DEFAULT_QUERY_TYPES
from databuddy_source.errors import ConfigurationError
from databuddy_source.options import OPTIONS, resolve_options


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


def test_the_source_signature_is_the_options_table() -> None:
    from databuddy_source import databuddy

    parameters = inspect.signature(databuddy).parameters
    assert list(parameters) == [o.name for o in OPTIONS]
    for option in OPTIONS:
        if not option.secret:
            assert parameters[option.name].default == option.default, option.name


def test_dlt_config_reaches_the_source_and_building_it_sends_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from databuddy_source import databuddy

    monkeypatch.setenv("SOURCES__DATABUDDY__LOOKBACK_DAYS", "5")
    monkeypatch.setenv("SOURCES__DATABUDDY__QUERIES", '["top_pages"]')
    # nothing listens on the discard port: building the source must not ask it anything
    source = databuddy(api_key="dbdy_" + "x" * 40, base_url="http://127.0.0.1:9")
    assert source.options.lookback_days == 5 and source.options.query_types == ("top_pages",)
    assert "top_pages" in source.resources
    assert source.source_run.client.stats.first_sent is None, "a request was sent"
    assert source.with_resources("top_pages").report is source.report


def test_the_sync_flags_are_the_options_declared_as_flags() -> None:
    from databuddy_source.cli.sync_args import build_parser, parse_args, source_kwargs

    text = build_parser().format_help()
    for option in OPTIONS:
        flag = "--" + option.name.replace("_", "-")
        shown = re.search(rf"(?<![\w-]){flag}(?![\w-])", text) is not None
        assert shown == option.flag, flag
    args = parse_args(
        ["--lookback-days", "5", "--queries", "top_pages, country", "--include-today"]
    )
    assert source_kwargs(args) == {
        "lookback_days": 5,
        "queries": ["top_pages", "country"],
        "include_today": True,
    }
    assert source_kwargs(parse_args([])) == {}, "unset flags leave dlt config alone"
