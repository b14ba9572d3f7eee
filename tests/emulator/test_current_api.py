"""What the 2026-05 API changed, over HTTP to the emulator (docs/api-notes.md): the catalogue
without the removed types, the plan gate on the error types, the public-type rule for anonymous
callers, and request-level errors in the order the API checks them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest

from databuddy_source.contract import query_types
from databuddy_source.emulator import fixtures
from databuddy_source.emulator.config import EmulatorConfig
from databuddy_source.emulator.server import EmulatorServer

RANGE = {"startDate": "2026-03-01", "endDate": "2026-03-07"}
ERROR_TYPES = (
    "recent_errors",
    "error_types",
    "error_trends",
    "errors_by_page",
    "error_frequency",
    "error_summary",
    "error_chart_data",
    "errors_by_type",
)
FEATURE_UNAVAILABLE = {
    "success": False,
    "error": "This feature is not available on the plan",
    "code": "FEATURE_UNAVAILABLE",
}
REMOVED = [t.name for t in query_types(include_removed=True) if t.versions == ("2026-04",)]


@pytest.fixture(scope="module")
def own(small_config: EmulatorConfig) -> Iterator[EmulatorServer]:
    """A server of our own: plan tests change plans through the admin surface."""
    with EmulatorServer(replace(small_config, rate_limit=1_000_000)) as srv:
        yield srv


@pytest.fixture()
def admin(own: EmulatorServer) -> Iterator[httpx.Client]:
    reg = own.emulator.store.registry
    with httpx.Client(base_url=own.url, timeout=30) as c:
        yield c
        for org, plan in ((reg.demo_org_id, "pro"), (reg.other_org_id, "free")):
            c.post("/__emulator__/plans", json={"organization_id": org, "plan": plan})


def ask(srv: EmulatorServer, body: Any, key: str | None = None, **ids: str) -> httpx.Response:
    headers = {"x-api-key": key} if key else {}
    return httpx.post(f"{srv.url}/v1/query", params=ids, json=body, headers=headers, timeout=30)


def on_site(client: httpx.Client, site: str, body: Any) -> httpx.Response:
    return client.post("/v1/query", params={"website_id": site}, json=body)


def without_request_id(r: httpx.Response) -> dict[str, Any]:
    body = dict(r.json())
    assert str(body.pop("requestId")).startswith("req_")
    return body


def ids(srv: EmulatorServer) -> dict[str, str]:
    reg = srv.emulator.store.registry
    demo = reg.websites_of(reg.demo_org_id)
    return {
        "paid_site": demo[0]["id"],
        "public_site": next(w["id"] for w in demo if w["isPublic"]),
        "free_site": reg.websites_of(reg.other_org_id)[0]["id"],
        "demo_org": reg.demo_org_id,
        "other_org": reg.other_org_id,
        "key": srv.emulator.config.api_key,
    }


# ------------------------------------------------------------------------------ catalogue
def test_the_catalogue_lists_the_new_types_and_not_the_removed_ones(anon: httpx.Client) -> None:
    body = anon.get("/v1/query/types").json()
    assert len(REMOVED) == 21 and "llm_time_series" in REMOVED and "retention_rate" in REMOVED
    assert not set(REMOVED) & set(body["types"])
    assert body["types"].index("session_pages") == body["types"].index("session_flow") + 1
    assert body["types"][body["types"].index("session_pages") + 1] == "interesting_sessions"
    assert all(isinstance(c["publicAccess"], bool) for c in body["configs"].values())
    assert sum(c["publicAccess"] for c in body["configs"].values()) == 51
    assert body["configs"]["session_pages"] == {
        "allowedFilters": body["configs"]["events_by_date"]["allowedFilters"],
        "customizable": True,
        "defaultLimit": 100,
        "publicAccess": False,
    }


@pytest.mark.parametrize("name", REMOVED)
def test_a_removed_type_fails_the_whole_request(
    api: httpx.Client, demo_ids: dict[str, str], name: str
) -> None:
    site = demo_ids["website_id"]
    r = api.post(
        "/v1/query", params={"website_id": site}, json={"parameters": ["top_pages", name], **RANGE}
    )
    assert r.status_code == 400
    detail = {"field": "parameters[1]", "message": f"Unknown query type: {name}"}
    error = detail["message"]
    if name == "llm_latency_time_series":  # 14 of 23 letters in place: a suggestion
        detail["suggestion"] = "Did you mean 'performance_time_series'?"
        error += f". {detail['suggestion']}"
    assert without_request_id(r) == {
        "success": False,
        "error": error,
        "code": "VALIDATION_ERROR",
        "details": [detail],
    }


def test_a_removed_type_inside_a_batch_fails_the_whole_batch(
    api: httpx.Client, demo_ids: dict[str, str]
) -> None:
    batch = [
        {"parameters": ["summary_metrics"], **RANGE},
        {"parameters": ["llm_time_series"], **RANGE},
        {"parameters": ["retention_cohorts"], "limit": 0, **RANGE},
    ]
    r = api.post("/v1/query", params={"website_id": demo_ids["website_id"]}, json=batch)
    assert r.status_code == 400
    # the first element with a problem is the one reported
    assert r.json()["details"] == [
        {"field": "batch[1].parameters[0]", "message": "Unknown query type: llm_time_series"}
    ]


def test_the_new_session_pages_type_answers(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    r = on_site(api, demo_ids["website_id"], {"parameters": ["session_pages"], "limit": 5, **RANGE})
    rows = r.json()["data"][0]["data"]
    assert len(rows) == 5 and list(rows[0]) == ["name", "sessions", "visitors"]
    assert [x["sessions"] for x in rows] == sorted((x["sessions"] for x in rows), reverse=True)


# ------------------------------------------------------------------------------ plan gate
@pytest.mark.parametrize("name", ERROR_TYPES)
def test_an_error_type_on_a_free_plan_website_is_402(own: EmulatorServer, name: str) -> None:
    x = ids(own)
    r = ask(own, {"parameters": ["top_pages", name], **RANGE}, fixtures.OTHER_ORG_KEY,
            website_id=x["free_site"])  # fmt: skip
    assert r.status_code == 402
    assert without_request_id(r) == FEATURE_UNAVAILABLE
    assert list(r.json()) == ["success", "error", "code", "requestId"]


def test_the_gate_covers_batches_and_comes_before_validation(own: EmulatorServer) -> None:
    x = ids(own)
    free = {"website_id": x["free_site"]}
    batch = [{"parameters": ["top_pages"], **RANGE}, {"parameters": ["error_trends"], **RANGE}]
    assert ask(own, batch, fixtures.OTHER_ORG_KEY, **free).status_code == 402
    # an unknown type next to an error type, or no dates at all: still the plan's answer
    unknown = {"parameters": ["error_types", "llm_time_series"]}
    assert ask(own, unknown, fixtures.OTHER_ORG_KEY, **free).status_code == 402
    # ... but access comes first: another organization's key is denied, not told about plans
    denied = ask(own, {"parameters": ["error_types"], **RANGE}, x["key"], **free)
    assert denied.status_code == 403


def test_a_paid_plan_website_gets_its_error_types(own: EmulatorServer) -> None:
    x = ids(own)
    r = ask(own, {"parameters": list(ERROR_TYPES), **RANGE}, x["key"], website_id=x["paid_site"])
    assert r.status_code == 200
    assert [e["success"] for e in r.json()["data"]] == [True] * 8


def test_organization_link_and_monitor_requests_are_not_gated(
    own: EmulatorServer, admin: httpx.Client
) -> None:
    x = ids(own)
    admin.post("/__emulator__/plans", json={"organization_id": x["demo_org"], "plan": "free"})
    body = {"parameters": ["error_types"], **RANGE}
    assert ask(own, body, x["key"], website_id=x["paid_site"]).status_code == 402
    assert ask(own, body, x["key"], organization_id=x["demo_org"]).status_code == 200
    assert ask(own, body, x["key"]).status_code == 200  # the key's organization
    reg = own.emulator.store.registry
    link = sorted(reg.live("links"), key=lambda link: link["createdAt"])[0]["id"]
    assert ask(own, body, x["key"], link_id=link).status_code == 200
    schedule = next(iter(reg.collection("uptimeSchedules")))
    assert ask(own, body, x["key"], schedule_id=schedule).status_code == 200


def test_anonymous_callers_of_a_free_public_website_meet_the_gate(
    own: EmulatorServer, admin: httpx.Client
) -> None:
    x = ids(own)
    body = {"parameters": ["error_types"], **RANGE}
    assert ask(own, body, website_id=x["public_site"]).status_code == 200  # public, paid
    admin.post("/__emulator__/plans", json={"website_id": x["public_site"], "plan": "free"})
    r = ask(own, body, website_id=x["public_site"])
    assert r.status_code == 402 and without_request_id(r) == FEATURE_UNAVAILABLE


def test_plans_on_the_admin_surface(own: EmulatorServer, admin: httpx.Client) -> None:
    x = ids(own)
    seeded = admin.get("/__emulator__/plans").json()
    assert seeded == {x["demo_org"]: "pro", x["other_org"]: "free"}
    assert admin.get("/__emulator__/fixtures").json()["plans"] == seeded
    r = admin.post("/__emulator__/plans", json={"website_id": x["free_site"], "plan": "hobby"})
    assert r.json()[x["other_org"]] == "hobby"
    body = {"parameters": ["error_summary"], **RANGE}
    ok = ask(own, body, fixtures.OTHER_ORG_KEY, website_id=x["free_site"])
    assert ok.status_code == 200
    bad = admin.post("/__emulator__/plans", json={"organization_id": x["demo_org"], "plan": "gold"})
    assert bad.status_code == 400 and "plan must be one of free, hobby, pro, scale" in bad.text
    unknown = admin.post("/__emulator__/plans", json={"website_id": "nope", "plan": "pro"})
    assert unknown.status_code == 400 and "no website 'nope'" in unknown.text


# ------------------------------------------------------------------------------ public websites
def test_anonymous_callers_need_every_type_to_be_public(
    anon: httpx.Client, demo_ids: dict[str, str]
) -> None:
    public = {"website_id": demo_ids["public_website_id"]}
    ok = anon.post("/v1/query", params=public, json={"parameters": ["top_pages"], **RANGE})
    assert ok.status_code == 200
    for body in (
        {"parameters": ["top_pages", "screen_resolution"], **RANGE},
        [{"parameters": ["top_pages"], **RANGE}, {"parameters": ["utm_terms"], **RANGE}],
        [],  # an empty batch names no public type either
    ):
        r = anon.post("/v1/query", params=public, json=body)
        assert r.status_code == 401 and r.json()["code"] == "AUTH_REQUIRED", body


def test_an_empty_batch_of_a_keyed_caller_is_an_empty_answer(
    api: httpx.Client, demo_ids: dict[str, str]
) -> None:
    r = api.post("/v1/query", params={"website_id": demo_ids["website_id"]}, json=[])
    assert r.status_code == 200
    assert without_request_id(r) == {"success": True, "batch": True, "results": []}


def test_monitors_of_public_websites_are_not_public(
    anon: httpx.Client, server: EmulatorServer
) -> None:
    reg = server.emulator.store.registry
    sites = {w["id"]: w for w in reg.collection("websites").values()}
    public = next(
        s for s in reg.collection("uptimeSchedules").values() if sites[s["websiteId"]]["isPublic"]
    )
    r = anon.post(
        "/v1/query",
        params={"schedule_id": public["id"]},
        json={"parameters": ["uptime_overview"], **RANGE},
    )
    assert r.status_code == 401


def test_a_type_of_another_project_kind_runs_on_the_request_project(
    api: httpx.Client, demo_ids: dict[str, str]
) -> None:
    body = {"parameters": ["link_clicks_by_day", "uptime_time_series"], **RANGE}
    r = on_site(api, demo_ids["website_id"], body)
    assert [(e["success"], e["data"]) for e in r.json()["data"]] == [(True, []), (True, [])]


# ------------------------------------------------------------------------------ request errors
def test_the_body_is_checked_before_the_caller(anon: httpx.Client) -> None:
    body = {
        "parameters": ["top_pages"],
        **RANGE,
        "filters": [{"field": "a", "op": "gt", "value": 1}],
    }
    r = anon.post("/v1/query", params={"website_id": "no-such-site"}, json=body)
    assert r.status_code == 422
    assert r.json() == {
        "success": False,
        "error": orjson.dumps({"type": "validation", "on": "body", "found": body}).decode(),
        "code": "VALIDATION",
    }
    malformed = anon.post(
        "/v1/query", params={"website_id": "no-such-site"}, content=b'{"parameters":['
    )
    assert malformed.status_code == 400 and malformed.json()["code"] == "PARSE"


def test_a_number_the_database_returns_whole_is_written_without_fraction(
    api: httpx.Client, demo_ids: dict[str, str]
) -> None:
    r = on_site(api, demo_ids["website_id"], {"parameters": ["top_pages"], "limit": 200, **RANGE})
    shares = [row["percentage"] for row in r.json()["data"][0]["data"]]
    assert all(not (isinstance(s, float) and s.is_integer()) for s in shares)


# ------------------------------------------------------------------------------ 2026-04
@pytest.fixture(scope="module")
def previous(small_config: EmulatorConfig) -> Iterator[EmulatorServer]:
    with EmulatorServer(replace(small_config, api_version="2026-04")) as srv:
        yield srv


def test_the_previous_version_keeps_its_catalogue_without_gate(previous: EmulatorServer) -> None:
    types = httpx.get(f"{previous.url}/v1/query/types").json()
    assert len(types["types"]) == 153 and "llm_time_series" in types["types"]
    assert "session_pages" not in types["types"]
    assert all("publicAccess" not in c for c in types["configs"].values())
    x = ids(previous)
    free = ask(previous, {"parameters": ["error_types"], **RANGE}, fixtures.OTHER_ORG_KEY,
               website_id=x["free_site"])  # fmt: skip
    assert free.status_code == 200 and free.json()["data"][0]["success"] is True
    llm = ask(previous, {"parameters": ["llm_time_series"], **RANGE}, x["key"],
              website_id=x["paid_site"])  # fmt: skip
    assert llm.json()["data"][0]["success"] is True and llm.json()["data"][0]["data"]
    anonymous = ask(previous, {"parameters": ["screen_resolution"], **RANGE},
                    website_id=x["public_site"])  # fmt: skip
    assert anonymous.status_code == 200
