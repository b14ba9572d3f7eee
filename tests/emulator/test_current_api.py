"""What the 2026-05 API changed, over HTTP to the emulator (docs/api-notes.md): the catalogue
without the removed types, the plan gate on the error types, the public-type rule for anonymous
callers, and request-level errors in the order the API checks them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from databuddy_emulator import fixtures
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

from databuddy_source.contract import query_types

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


# A server of our own: plan tests change plans through the admin surface.
own = emulator_fixture(scope="module")


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
previous = emulator_fixture(scope="module", api_version="2026-04")


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


def test_an_unknown_time_zone_fails_only_the_types_that_read_it(
    api: httpx.Client, demo_ids: dict[str, str]
) -> None:
    r = api.post(
        "/v1/query",
        params={"website_id": demo_ids["website_id"], "timezone": "Mars/Olympus"},
        json={"parameters": ["top_pages", "events_by_date"], "limit": 1, **RANGE},
    )
    ok, failed = r.json()["data"]
    assert (ok["parameter"], ok["success"], len(ok["data"])) == ("top_pages", True, 1)
    assert failed["parameter"] == "events_by_date"
    assert failed["error"].startswith("Cannot load time zone Mars/Olympus")


def test_an_organization_request_covers_all_its_live_websites(
    api: httpx.Client, server: EmulatorServer
) -> None:
    reg = server.emulator.store.registry
    body = {"parameters": ["summary_metrics"], **RANGE}
    org = api.post("/v1/query", params={"organization_id": reg.demo_org_id}, json=body)
    total = org.json()["data"][0]["data"][0]
    per_site = [
        on_site(api, w["id"], body).json()["data"][0]["data"]
        for w in reg.websites_of(reg.demo_org_id)
        if not w["deletedAt"]
    ]
    assert total["pageviews"] == sum(rows[0]["pageviews"] for rows in per_site if rows) > 0
    # visitors are counted once across the websites
    assert total["unique_visitors"] <= sum(rows[0]["unique_visitors"] for rows in per_site if rows)
    # the key's organization is the fallback when no id is given
    fallback = api.post("/v1/query", json=body).json()["data"][0]["data"][0]
    assert fallback == total


def test_interesting_sessions_rank_by_their_score(
    api: httpx.Client, demo_ids: dict[str, str]
) -> None:
    def rows(**paging: int) -> list[dict[str, Any]]:
        body = {"parameters": ["interesting_sessions"], **RANGE, **paging}
        data: list[dict[str, Any]] = on_site(api, demo_ids["website_id"], body).json()["data"][0][
            "data"
        ]
        return data

    top = rows(limit=40)
    assert len(top) == 40 and next(iter(top[0])) == "bs.session_id"  # the server's column name
    for r in top:
        engagement = min(r["analytics_engagement_events"] + r["custom_events"], 20)
        assert r["interesting_score"] == (
            min(r["page_views"], 10) * 2
            + min(r["unique_pages"], 8) * 3
            + engagement
            + min(r["errors"], 10) * 2
            + (5 if r["duration_seconds"] >= 120 else 0)
        )
        assert r["page_views"] > 0 and len(set(r["paths"])) == len(r["paths"]) <= 12
        assert len(r["paths"]) == min(r["unique_pages"], 12)
    keys = [(r["interesting_score"], r["last_visit"]) for r in top]
    assert keys == sorted(keys, reverse=True)
    assert rows(limit=20, page=2) == top[20:]


def test_a_fractional_limit_is_refused_by_the_database_where_a_limit_applies(
    api: httpx.Client, demo_ids: dict[str, str]
) -> None:
    def errors(limit: float, page: int = 1) -> dict[str, str | None]:
        body = {
            "parameters": ["top_pages", "session_list", "recent_errors", "events_by_date"],
            "limit": limit,
            "page": page,
            **RANGE,
        }
        r = on_site(api, demo_ids["website_id"], body)
        assert r.json()["meta"]["limit"] == limit
        return {e["parameter"]: e.get("error") for e in r.json()["data"]}

    # messages as the real server's database wrote them for these three kinds of query
    assert errors(2.5) == {
        "events_by_date": None,  # no LIMIT in its query
        "top_pages": "The value 2.5 of LIMIT expression is not representable as UInt64 or "
        "Int64 or Float64 in the range (0, 1). ",
        "session_list": "Value 2.5 cannot be parsed as Int32 for query parameter 'limit' "
        "because it isn't parsed completely: only 1 of 3 bytes was parsed: 2. ",
        "recent_errors": "Value 2.5 cannot be parsed as UInt32 for query parameter 'limit' "
        "because it isn't parsed completely: only 1 of 3 bytes was parsed: 2. ",
    }
    assert errors(10.25, page=2)["session_list"] == (
        "Value 10.25 cannot be parsed as Int32 for query parameter 'offset' because it isn't "
        "parsed completely: only 2 of 5 bytes was parsed: 10. "
    )
