"""The Databuddy client against the emulator over real HTTP: surface, auth, classification."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pytest
from databuddy_emulator import fixtures
from databuddy_emulator.server import EmulatorServer
from databuddy_emulator.truth import expected_rows

from databuddy_source import (
    AccessDeniedError,
    AuthenticationError,
    ConfigurationError,
    Databuddy,
    FatalError,
    RetriableError,
    ValidationError,
)

from .conftest import add_fault


def test_sdk_example_from_the_docs_runs_as_written(emulator: EmulatorServer, site: str) -> None:
    client = Databuddy(api_key=emulator.emulator.config.api_key, base_url=emulator.url)
    with pytest.raises(ValidationError) as caught:
        client.query.execute(
            website_id=site,
            parameters=["traffic", "devices"],
            start_date="2026-03-01",
            end_date="2026-03-07",
        )
    error = caught.value
    assert error.status == 400 and error.code == "VALIDATION_ERROR"
    assert "Unknown query type: traffic" in str(error)  # no suggestion: none is close enough
    assert "Unknown query type: devices" in str(error)  # every detail, not only the first
    assert error.request_id and error.request_id in str(error)
    client.close()


def test_execute_returns_rows_by_label(
    client: Databuddy, emulator: EmulatorServer, site: str
) -> None:
    response = client.query.execute(
        website_id=site,
        start_date="2026-03-01",
        end_date="2026-03-07",
        parameters=[
            "events_by_date",
            {
                "name": "top_pages",
                "id": "day1",
                "start_date": "2026-03-01",
                "end_date": "2026-03-01",
            },
        ],
    )
    store = emulator.emulator.store
    assert response["events_by_date"] == expected_rows(
        store, "events_by_date", website_id=site, start_date="2026-03-01", end_date="2026-03-07"
    )
    assert response["day1"] == expected_rows(
        store, "top_pages", website_id=site, start_date="2026-03-01", end_date="2026-03-01"
    )
    assert response.request_id and response.request_id.startswith("req_")


def test_failed_parameter_is_classified(client: Databuddy, site: str) -> None:
    response = client.query.execute(
        website_id=site,
        preset="last_7d",
        parameters=["top_pages", "summary_metrics"],
        filters=[{"field": "utm_term", "op": "eq", "value": "x"}],
    )
    # the current API accepts only its 14 global filter fields for types without a list
    assert [r.parameter for r in response.failed] == ["top_pages", "summary_metrics"]
    with pytest.raises(ValidationError, match="Filter on field 'utm_term' is not permitted"):
        response.raise_for_failures()


def test_batch(client: Databuddy, site: str) -> None:
    answers = client.query.batch(
        [
            {"parameters": ["summary_metrics"], "preset": "yesterday", "id": "a"},
            {"parameters": ["events_by_date"], "startDate": "2026-03-01", "endDate": "2026-03-02"},
        ],
        website_id=site,
    )
    assert [a.query_id for a in answers] == ["a", ""]
    assert len(answers[1]["events_by_date"]) == 2


def test_websites_and_types(client: Databuddy) -> None:
    sites = client.query.websites()
    assert {"id", "name", "domain", "isPublic", "createdAt"} <= set(sites[0])
    catalogue = client.query.types(include_meta=True)
    assert len(catalogue["types"]) == 134 and "presets" in catalogue


def test_rpc_call_revives_dates_and_rest_twin_agrees(client: Databuddy) -> None:
    over_rpc = client.rpc.call("websites.list", {})
    over_rest = client.rpc.call("websites.list", {}, transport="rest")
    assert isinstance(over_rpc[0]["createdAt"], datetime)
    assert [w["id"] for w in over_rpc] == [w["id"] for w in over_rest]
    assert over_rest[0]["createdAt"].endswith("Z")
    assert client.rpc.list("links")
    one = client.rpc.get("websites.getById", id=over_rpc[0]["id"])
    assert one["id"] == over_rpc[0]["id"]


def test_unknown_rpc_procedure(client: Databuddy) -> None:
    with pytest.raises(ConfigurationError, match="Unknown RPC procedure"):
        client.rpc.call("websites.explode")


@pytest.mark.parametrize("auth", ["x-api-key", "bearer"])
def test_key_auth_methods(emulator: EmulatorServer, auth: str) -> None:
    with Databuddy(emulator.emulator.config.api_key, base_url=emulator.url, auth=auth) as c:  # type: ignore[arg-type]
        assert c.query.websites()


def test_session_auth(emulator: EmulatorServer) -> None:
    with Databuddy(
        base_url=emulator.url, auth="session", session_token=fixtures.OWNER_SESSION_TOKEN
    ) as c:
        assert c.query.websites()


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "",
        "dbdy_x",
        "sk_live_0123456789abcdef",
        "dbdy_" + "a" * 300,
        "dbdy_has space_0123456789",
    ],
)
def test_key_shape_checked_before_any_request(emulator: EmulatorServer, bad: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Databuddy(bad, base_url=emulator.url)
    if bad:
        assert bad.strip() not in str(caught.value)


def test_authentication_and_access_errors(emulator: EmulatorServer, site: str) -> None:
    with (
        Databuddy(fixtures.REVOKED_KEY, base_url=emulator.url) as c,
        pytest.raises(AuthenticationError) as caught,
    ):
        c.query.execute(website_id=site, parameters=["summary_metrics"], preset="today")
    assert caught.value.status == 401 and caught.value.code == "AUTH_REQUIRED"
    assert caught.value.request_id in str(caught.value)
    other = emulator.emulator.store.registry.websites_of(
        emulator.emulator.store.registry.other_org_id
    )[0]["id"]
    with (
        Databuddy(emulator.emulator.config.api_key, base_url=emulator.url) as c,
        pytest.raises(AccessDeniedError, match="Access denied to this website"),
    ):
        c.query.execute(website_id=other, parameters=["summary_metrics"], preset="today")


def test_422_is_a_validation_error(client: Databuddy, site: str) -> None:
    with pytest.raises(ValidationError, match=r"422 VALIDATION .*\"preset\":\"last_2d\""):
        client.query.execute(website_id=site, parameters=["summary_metrics"], preset="last_2d")


def test_plain_text_400_and_404(client: Databuddy, emulator: EmulatorServer, site: str) -> None:
    add_fault(emulator, kind="status", route="/v1/query", status=400, body="Bad Request", count=1)
    with pytest.raises(ValidationError, match="Bad Request"):
        client.query.execute(website_id=site, parameters=["summary_metrics"], preset="today")
    with pytest.raises(FatalError, match="HTTP 404"):
        client.request("POST", "/v2/nothing", json={})


def test_hourly_ranges_over_30_days_are_a_server_error_retried_then_raised(
    client: Databuddy, site: str, fake_time: Any
) -> None:
    # The current API lets the hourly cap escape as a plain 500 (the source never sends such a
    # range: one slice is one day); the client treats it as any 500.
    with pytest.raises(RetriableError, match="HTTP 500 UNKNOWN"):
        client.query.execute(
            website_id=site,
            parameters=["events_by_date"],
            start_date="2026-01-01",
            end_date="2026-03-01",
            granularity="hourly",
        )
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]


def test_secrets_never_shown(
    emulator: EmulatorServer, site: str, caplog: pytest.LogCaptureFixture
) -> None:
    key = emulator.emulator.config.api_key
    caplog.set_level(logging.DEBUG)
    add_fault(emulator, kind="status", route="/v1/query", status=503, count=1)
    with Databuddy(key, base_url=emulator.url, sleep=lambda s: None) as c:
        assert key not in repr(c)
        c.query.execute(website_id=site, parameters=["summary_metrics"], preset="today")
        try:
            c.query.execute(website_id="nope", parameters=["summary_metrics"], preset="today")
        except AccessDeniedError as exc:
            assert key not in str(exc) and key not in repr(exc)
    assert key not in caplog.text
    assert "retrying" in caplog.text


def test_typed_rpc_helpers(client: Databuddy, emulator: EmulatorServer) -> None:
    reg = emulator.emulator.store.registry
    sites = client.rpc.websites()
    assert {w["id"] for w in sites} == {w["id"] for w in reg.websites_of(reg.demo_org_id)}
    one = client.rpc.website(sites[0]["id"])
    assert isinstance(one["createdAt"], datetime) and one["organizationId"] == reg.demo_org_id
    links = client.rpc.links()
    assert client.rpc.link(links[0]["id"])["slug"] == links[0]["slug"]
    assert client.rpc.uptime_schedules() and client.rpc.funnels(sites[0]["id"]) is not None
    assert isinstance(client.rpc.goals(sites[0]["id"]), list)
