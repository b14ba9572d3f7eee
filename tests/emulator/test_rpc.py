"""The RPC API of the emulator over real HTTP: both transports, auth kinds, scopes, errors,
list behaviour and the test-only object surface (rpc.json)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from databuddy_emulator import fixtures as fx
from databuddy_emulator.config import DEFAULT_API_KEY, EmulatorConfig
from databuddy_emulator.server import serve
from databuddy_emulator.store import Store

from databuddy_source.contract import rpc_procedures

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
KEY = {"x-api-key": DEFAULT_API_KEY}
OWNER = {"cookie": f"__Secure-databuddy.session_token={fx.OWNER_SESSION_TOKEN}"}
VIEWER = {"cookie": f"databuddy-dev.session_token={fx.VIEWER_SESSION_TOKEN}"}
PROCS = {p["id"]: p for p in rpc_procedures()}
CHART_CONTEXT = {
    "dateRange": {"start_date": "2026-02-01", "end_date": "2026-03-01", "granularity": "daily"}
}


@pytest.fixture(scope="module")
def world(small_config: EmulatorConfig) -> Store:
    """A fresh small world for this module (tests here mutate it)."""
    return Store(small_config)


@pytest.fixture(scope="module")
def client(world: Store) -> Iterator[httpx.Client]:
    with serve(world) as base, httpx.Client(base_url=base, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def ids(world: Store, client: httpx.Client) -> dict[str, str]:
    reg = world.registry
    sites = {w["domain"]: w["id"] for w in reg.collection("websites").values()}
    return {
        "org": reg.demo_org_id,
        "other_org": reg.other_org_id,
        "store": sites["acme.example"],
        "docs": sites["docs.acme.example"],
        "blog": sites["blog.acme.example"],
        "deleted": sites["old.acme.example"],
        "globex": sites["globex.example"],
    }


def rpc(
    client: httpx.Client, pid: str, data: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {} if data is None else {"json": data}
    return client.post(
        PROCS[pid]["rpc_path"], json=body, headers=KEY if headers is None else headers
    )


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["json"]


def rest(
    client: httpx.Client, pid: str, data: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    return client.post(
        PROCS[pid]["openapi_path"],
        json=data if data is not None else {},
        headers=KEY if headers is None else headers,
    )


def expected_fields(node: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(fields that must be present, fields that may be present) of an object node."""
    fields = node.get("fields") or []
    must = {f["name"] for f in fields if f.get("required") or f.get("nullable")}
    return must, {f["name"] for f in fields}


def check_shape(value: Any, node: dict[str, Any] | None, where: str = "$") -> None:
    """``value`` has exactly the fields of the rpc.json tree (recursively)."""
    if node is None or value is None:
        return
    if node["type"] == "array":
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            check_shape(item, node.get("items"), f"{where}[{i}]")
    elif node["type"] == "object" and node.get("fields"):
        assert isinstance(value, dict), where
        must, may = expected_fields(node)
        assert must <= set(value) <= may, f"{where}: {sorted(value)} vs {sorted(may)}"
        for field in node["fields"]:
            if field["name"] in value:
                check_shape(value[field["name"]], field, f"{where}.{field['name']}")


# ------------------------------------------------------------------ envelopes and transports


def test_rpc_envelope_lists_every_date_in_meta(client: httpx.Client, ids: dict[str, str]) -> None:
    body = rpc(client, "websites.getById", {"id": ids["store"]}).json()
    assert set(body) == {"json", "meta"}
    assert body["meta"] == [[1, "createdAt"], [1, "updatedAt"]]
    assert ISO.match(body["json"]["createdAt"]) and body["json"]["deletedAt"] is None
    check_shape(body["json"], PROCS["websites.getById"]["output"])

    listing = rpc(client, "websites.list", {}).json()
    sites = listing["json"]
    expected = []
    for i, site in enumerate(sites):
        expected += [[1, i, "createdAt"], [1, i, "updatedAt"]]
        if site["deletedAt"] is not None:
            expected.append([1, i, "deletedAt"])
    assert listing["meta"] == expected
    assert any(s["deletedAt"] for s in sites), "websites.list keeps soft-deleted rows"


def test_meta_is_omitted_without_dates(client: httpx.Client, ids: dict[str, str]) -> None:
    body = rpc(client, "autocomplete.get", {"websiteId": ids["store"]}).json()
    assert set(body) == {"json"}
    assert "/" in body["json"]["pagePaths"] and "/pricing" in body["json"]["pagePaths"]
    assert "signup" in body["json"]["customEvents"]


@pytest.mark.parametrize(
    "pid, data",
    [
        ("websites.list", {}),
        ("links.list", {}),
        ("linkFolders.list", {}),
        ("flags.list", {"websiteId": "STORE"}),
        ("funnels.list", {"websiteId": "STORE"}),
        ("goals.list", {"websiteId": "STORE"}),
        ("targetGroups.list", {"websiteId": "STORE"}),
        ("uptime.listSchedules", {}),
        ("alarms.list", {}),
        ("apikeys.list", {"organizationId": "ORG"}),
        ("statusPage.listIncidents", None),
        ("websites.getById", {"id": "missing"}),
    ],
)
def test_rest_twin_answers_like_rpc(
    client: httpx.Client, ids: dict[str, str], world: Store, pid: str, data: dict[str, str] | None
) -> None:
    if data is None:
        page = next(
            p
            for p in world.registry.collection("statusPages").values()
            if p["organizationId"] == ids["org"]
        )
        data = {"statusPageId": page["id"]}
    data = {k: {"STORE": ids["store"], "ORG": ids["org"]}.get(v, v) for k, v in data.items()}
    via_rpc, via_rest = rpc(client, pid, data), rest(client, pid, data)
    assert via_rpc.status_code == via_rest.status_code
    assert via_rpc.json()["json"] == via_rest.json()
    assert via_rest.headers["content-type"].startswith("application/json")


def test_rest_twins_use_openapi_paths(client: httpx.Client, ids: dict[str, str]) -> None:
    assert PROCS["targetGroups.list"]["openapi_path"] == "/target-groups/list"
    body = client.post("/target-groups/list", json={"websiteId": ids["store"]}, headers=KEY)
    assert body.status_code == 200 and len(body.json()) == 2
    assert client.post("/link-folders/list", json={}, headers=KEY).status_code == 200


# ------------------------------------------------------------------ errors


def test_get_is_method_not_supported(client: httpx.Client) -> None:
    response = client.get("/rpc/websites/list", headers=KEY)
    assert response.status_code == 405
    assert response.json() == {
        "json": {
            "defined": False,
            "code": "METHOD_NOT_SUPPORTED",
            "status": 405,
            "message": "Method Not Supported",
        }
    }


@pytest.mark.parametrize("path", ["/rpc/websites/nope", "/rpc/unknown/list", "/rpc"])
def test_unknown_rpc_path_is_a_bare_404(client: httpx.Client, path: str) -> None:
    response = client.post(path, json={}, headers=KEY)
    assert response.status_code == 404
    assert response.text == "Not Found"
    assert response.headers["content-type"] == "application/octet-stream"


def test_input_validation_failure(client: httpx.Client) -> None:
    response = rpc(client, "websites.getById", {})
    assert response.status_code == 400
    assert response.json() == {
        "json": {
            "defined": False,
            "code": "BAD_REQUEST",
            "status": 400,
            "message": "Input validation failed",
            "data": {
                "issues": [
                    {
                        "expected": "string",
                        "code": "invalid_type",
                        "path": ["id"],
                        "message": "Invalid input: expected string, received undefined",
                    }
                ]
            },
        }
    }
    wrong = rest(client, "websites.getById", {"id": 42}).json()
    assert wrong["data"]["issues"][0]["message"] == (
        "Invalid input: expected string, received number"
    )
    enum = rpc(client, "flags.list", {"status": "bogus"}).json()["json"]["data"]["issues"][0]
    assert enum["code"] == "invalid_value" and enum["path"] == ["status"]
    nested = rpc(
        client,
        "funnels.create",
        {
            "websiteId": "w",
            "name": "n",
            "steps": [
                {"type": "PAGE_VIEW", "target": "/", "name": "a"},
                {"type": "NOPE", "target": "/x"},
            ],
        },
    )
    paths = [i["path"] for i in nested.json()["json"]["data"]["issues"]]
    assert paths == [["steps", 1, "type"], ["steps", 1, "name"]]
    assert rpc(client, "websites.getById", None).status_code == 400  # input required
    too_long = rpc(client, "links.create", {"name": "x" * 300, "targetUrl": "https://a.b"})
    assert too_long.json()["json"]["data"]["issues"][0]["code"] == "too_big"


def test_not_found_carries_resource(client: httpx.Client) -> None:
    response = rpc(client, "links.get", {"id": "no-such-link"})
    assert response.status_code == 404
    err = response.json()["json"]
    assert err["defined"] is True and err["code"] == "NOT_FOUND" and err["status"] == 404
    assert err["data"] == {"resourceType": "link", "resourceId": "no-such-link"}
    assert rest(client, "links.get", {"id": "no-such-link"}).json() == err


def test_malformed_json_is_bad_request(client: httpx.Client) -> None:
    response = client.post("/rpc/websites/list", content=b"{not json", headers=KEY)
    assert response.status_code == 400
    assert response.json()["json"]["code"] == "BAD_REQUEST"


# ------------------------------------------------------------------ auth kinds


def test_protected_needs_credentials(client: httpx.Client) -> None:
    for headers in (
        {},
        {"x-api-key": fx.make_key("unknownKey")},
        {"x-api-key": fx.REVOKED_KEY},
        {"x-api-key": fx.EXPIRED_KEY},
        {"x-api-key": fx.DISABLED_KEY},
    ):
        response = rpc(client, "websites.list", {}, headers)
        assert response.status_code == 401
        assert response.json() == {
            "json": {
                "defined": True,
                "code": "UNAUTHORIZED",
                "status": 401,
                "message": "Authentication is required for this action",
            }
        }


def test_session_procedures_reject_api_keys(client: httpx.Client) -> None:
    response = rpc(client, "organizations.getUserPendingInvitations", None)
    assert response.status_code == 401
    assert response.json()["json"]["message"] == "Session required"
    invites = ok(rpc(client, "organizations.getUserPendingInvitations", None, OWNER))
    assert [i["email"] for i in invites] == ["ada@acme.example"]
    check_shape(invites, PROCS["organizations.getUserPendingInvitations"]["output"])
    assert rpc(client, "feedback.getCreditsBalance", None, {}).status_code == 401


def test_public_procedures_and_public_websites(client: httpx.Client, ids: dict[str, str]) -> None:
    blog = ok(rpc(client, "websites.getPublicSummary", {"id": ids["blog"]}, {}))
    assert blog["isPublic"] is True and blog["id"] == ids["blog"]
    assert list(blog) == ["id", "domain", "name", "status", "isPublic", "createdAt", "updatedAt"]
    for procedure, field in (("websites.getPublicSummary", "id"), ("websites.getById", "id")):
        assert rpc(client, procedure, {field: ids["store"]}, {}).status_code == 401
    # websites.getById needs a caller since 2026-05, even for a public website
    assert rpc(client, "websites.getById", {"id": ids["blog"]}, {}).status_code == 401
    flags = ok(rpc(client, "flags.list", {"websiteId": ids["blog"]}, {}))
    assert flags and all("id" not in f and "key" in f for f in flags)  # sanitized shape
    full = ok(rpc(client, "flags.list", {"websiteId": ids["blog"]}))
    assert all({"id", "targetGroups"} <= set(f) and "flagsToTargetGroups" not in f for f in full)
    notes = ok(
        rpc(
            client,
            "annotations.list",
            {"websiteId": ids["blog"], "chartType": "metrics", "chartContext": CHART_CONTEXT},
            {},
        )
    )
    assert notes and all(n["isPublic"] for n in notes)
    assert len(
        ok(
            rpc(
                client,
                "annotations.list",
                {"websiteId": ids["blog"], "chartType": "metrics", "chartContext": CHART_CONTEXT},
            )
        )
    ) > len(notes)


def test_workspace_resolution(client: httpx.Client, ids: dict[str, str]) -> None:
    by_key = {s["id"] for s in ok(rpc(client, "websites.list", {}))}
    by_session = {s["id"] for s in ok(rpc(client, "websites.list", {}, OWNER))}
    explicit = {s["id"] for s in ok(rpc(client, "websites.list", {"organizationId": ids["org"]}))}
    assert by_key == by_session == explicit and ids["store"] in by_key
    other = ok(rpc(client, "websites.list", {}, {"x-api-key": fx.OTHER_ORG_KEY}))
    assert [s["id"] for s in other] == [ids["globex"]]


# ------------------------------------------------------------------ scopes and roles


def forbidden(response: httpx.Response, message: str) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["json"] == {
        "defined": True,
        "code": "FORBIDDEN",
        "status": 403,
        "message": message,
    }


def test_links_only_key(client: httpx.Client, ids: dict[str, str]) -> None:
    """Links need their own scope and the workspace's read:data as well."""
    links_key = {"x-api-key": fx.LINKS_ONLY_KEY}
    missing_data = "API key missing required scope: read:data"
    forbidden(rpc(client, "links.list", {}, links_key), missing_data)
    forbidden(rpc(client, "linkFolders.list", {}, links_key), missing_data)
    forbidden(
        rpc(client, "links.create", {"name": "x", "targetUrl": "https://a.example/"}, links_key),
        "API key missing write:links scope",
    )
    forbidden(rpc(client, "websites.list", {}, links_key), missing_data)
    forbidden(rpc(client, "websites.getById", {"id": ids["store"]}, links_key), missing_data)
    assert len(ok(rpc(client, "links.list", {}, KEY))) >= 5  # read:data and read:links


def test_tracking_only_key(client: httpx.Client) -> None:
    track = {"x-api-key": fx.NO_READ_DATA_KEY}
    missing_data = "API key missing required scope: read:data"
    forbidden(rpc(client, "websites.list", {}, track), missing_data)
    forbidden(rpc(client, "links.list", {}, track), "API key missing read:links scope")
    forbidden(rpc(client, "uptime.listSchedules", {}, track), missing_data)


def test_other_org_key(client: httpx.Client, ids: dict[str, str]) -> None:
    other = {"x-api-key": fx.OTHER_ORG_KEY}
    message = "API key does not have access to this workspace"
    forbidden(rpc(client, "websites.list", {"organizationId": ids["org"]}, other), message)
    forbidden(rpc(client, "websites.getById", {"id": ids["store"]}, other), message)
    # read:data only, like the real paid organization's key: the scope is checked first there
    scope = "API key missing read:links scope"
    forbidden(rpc(client, "links.list", {"organizationId": ids["org"]}, other), scope)
    forbidden(rpc(client, "goals.list", {"websiteId": ids["store"]}, other), message)


def test_website_scoped_key(client: httpx.Client, ids: dict[str, str]) -> None:
    scoped = {"x-api-key": fx.WEBSITE_SCOPED_KEY}
    assert [s["id"] for s in ok(rpc(client, "websites.list", {}, scoped))] == [ids["store"]]
    assert ok(rpc(client, "funnels.list", {"websiteId": ids["store"]}, scoped))
    forbidden(
        rpc(client, "funnels.list", {"websiteId": ids["docs"]}, scoped),
        "API key does not have access to this website",
    )


def test_viewer_session_reads_only(client: httpx.Client, ids: dict[str, str]) -> None:
    assert ok(rpc(client, "websites.list", {}, VIEWER))
    assert ok(rpc(client, "goals.list", {"websiteId": ids["store"]}, VIEWER))
    forbidden(
        rpc(client, "websites.create", {"name": "Nope", "domain": "nope.example"}, VIEWER),
        "You do not have permission to perform this action",
    )
    forbidden(
        rpc(client, "websites.list", {"organizationId": ids["other_org"]}, VIEWER),
        "You do not have access to this workspace",
    )


def test_every_procedure_answers_without_server_error(client: httpx.Client) -> None:
    for proc in rpc_procedures():
        for headers in (KEY, OWNER, {}):
            response = client.post(proc["rpc_path"], json={"json": {}}, headers=headers)
            assert response.status_code < 500, (proc["id"], response.text)
            assert set(response.json()) <= {"json", "meta"}


# ------------------------------------------------------------------ behaviour over the registry


def test_links_list_filters_and_order(client: httpx.Client, world: Store) -> None:
    links = ok(rpc(client, "links.list", {}))
    created = [link["createdAt"] for link in links]
    assert created == sorted(created, reverse=True)
    assert any(link["deletedAt"] for link in links)  # deletedAt is not filtered (rpc.json)
    check_shape(links, PROCS["links.list"]["output"])
    folder = links[0]["folderId"] or next(link["folderId"] for link in links if link["folderId"])
    in_folder = ok(rpc(client, "links.list", {"folderId": folder}))
    assert in_folder and {link["folderId"] for link in in_folder} == {folder}
    no_folder = ok(rpc(client, "links.list", {"folderId": None}))
    assert no_folder and all(link["folderId"] is None for link in no_folder)
    assert [x["id"] for x in ok(rpc(client, "links.list", {"externalId": "ext-2"}))] == [
        next(x["id"] for x in links if x["externalId"] == "ext-2")
    ]
    by_domain = ok(rpc(client, "links.list", {"targetDomain": "acme.example"}))
    assert by_domain and all(x["targetDomain"] == "acme.example" for x in by_domain)
    folders = [f["name"] for f in ok(rpc(client, "linkFolders.list", {}))]
    assert folders == sorted(folders)


def test_link_lifecycle(client: httpx.Client) -> None:
    created = ok(
        rpc(
            client,
            "links.create",
            {
                "name": "Promo",
                "targetUrl": "https://shop.acme.example/promo",
                "slug": "promo-x1",
                "externalId": "crm-9",
            },
        )
    )
    check_shape(created, PROCS["links.create"]["output"])
    assert created["targetDomain"] == "shop.acme.example" and created["createdBy"]
    assert (
        rpc(
            client,
            "links.create",
            {"name": "Dup", "targetUrl": "https://a.example", "slug": "promo-x1"},
        ).status_code
        == 409
    )
    updated = ok(rpc(client, "links.update", {"id": created["id"], "name": "Promo 2"}))
    assert updated["name"] == "Promo 2" and updated["slug"] == "promo-x1"
    assert ok(rpc(client, "links.delete", {"id": created["id"]})) == {"success": True}
    gone = ok(rpc(client, "links.get", {"id": created["id"]}))
    assert gone["deletedAt"] is not None
    assert rpc(client, "links.update", {"id": created["id"], "name": "x"}).status_code == 404


def test_website_lifecycle(client: httpx.Client, world: Store) -> None:
    site = ok(
        rpc(
            client,
            "websites.create",
            {"name": "Landing", "domain": "landing.example", "subdomain": "www"},
        )
    )
    assert site["domain"] == "www.landing.example" and site["organizationId"]
    assert (
        rpc(
            client,
            "websites.create",
            {"name": "Again", "domain": "landing.example", "subdomain": "www"},
        ).status_code
        == 409
    )
    assert (
        ok(rpc(client, "websites.update", {"id": site["id"], "name": "Landing 2"}))["name"]
        == "Landing 2"
    )
    assert ok(rpc(client, "websites.togglePublic", {"id": site["id"], "isPublic": True}))[
        "isPublic"
    ]
    settings = ok(
        rpc(
            client,
            "websites.updateSettings",
            {"id": site["id"], "settings": {"allowedOrigins": ["https://landing.example"]}},
        )
    )
    assert settings["settings"] == {"allowedOrigins": ["https://landing.example"]}
    assert ok(rpc(client, "websites.delete", {"id": site["id"]})) == {"success": True}
    listed = {s["id"]: s for s in ok(rpc(client, "websites.list", {}))}
    assert listed[site["id"]]["deletedAt"] == world.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert rpc(client, "websites.getById", {"id": site["id"]}).status_code == 404


def test_list_with_charts_counts_last_7_days(
    client: httpx.Client, world: Store, ids: dict[str, str]
) -> None:
    body = ok(rpc(client, "websites.listWithCharts", {}))
    chart = body["chartData"][ids["store"]]
    now = world.now()
    days = [(now.date() - timedelta(days=6 - i)).isoformat() for i in range(7)]
    assert [p["date"] for p in chart["data"]] == days
    with world.cursor() as cur:
        expected = cur.execute(
            "SELECT count(*) FROM events WHERE client_id = ? AND time >= ?::DATE "
            "AND time <= ? AND ingested_at <= ?",
            [ids["store"], days[0], now, now],
        ).fetchall()[0][0]
    assert chart["totalViews"] == expected == sum(p["value"] for p in chart["data"]) > 0
    assert chart["hasAnyData"] is True and chart["trend"]["type"] in ("up", "down", "neutral")
    assert set(body["activeUsers"]) == set(body["chartData"]) == {s["id"] for s in body["websites"]}


def test_funnel_analytics_from_events(
    client: httpx.Client, world: Store, ids: dict[str, str]
) -> None:
    funnels = ok(rpc(client, "funnels.list", {"websiteId": ids["store"]}))
    assert all(len(f["steps"]) >= 2 for f in funnels)
    assert [f["createdAt"] for f in funnels] == sorted(
        (f["createdAt"] for f in funnels), reverse=True
    )
    signup = next(f for f in funnels if f["name"] == "Signup funnel")
    body = ok(
        rpc(
            client,
            "funnels.getAnalytics",
            {
                "funnelId": signup["id"],
                "websiteId": ids["store"],
                "startDate": "2026-02-14",
                "endDate": "2026-03-15",
            },
        )
    )
    check_shape(body, PROCS["funnels.getAnalytics"]["output"])
    steps = body["steps_analytics"]
    assert [s["step_number"] for s in steps] == [1, 2, 3]
    users = [s["users"] for s in steps]
    assert users == sorted(users, reverse=True) and users[0] > users[1] > 0
    with world.cursor() as cur:
        entered = cur.execute(
            "SELECT count(DISTINCT anonymous_id) FROM events WHERE client_id = ? "
            "AND event_name = 'screen_view' "
            "AND rtrim(regexp_replace(path, '^[a-z]+://[^/?#]*|[?#].*$', '', 'g'), '/') = '' "
            "AND time BETWEEN '2026-02-14' AND '2026-03-15 23:59:59.999' "
            "AND time <= ? AND ingested_at <= ?",
            [ids["store"], world.now(), world.now()],
        ).fetchall()[0][0]
    assert body["total_users_entered"] == users[0] == entered
    assert body["total_users_completed"] == users[-1]
    assert body["overall_conversion_rate"] == round(100 * users[-1] / users[0], 2)
    assert sum(d["users"] for d in body["time_series"]) == users[0]
    by_ref = ok(
        rpc(
            client,
            "funnels.getAnalyticsByReferrer",
            {"funnelId": signup["id"], "websiteId": ids["store"]},
        )
    )
    assert (
        sum(r["total_users"] for r in by_ref["referrer_analytics"])
        == ok(
            rpc(
                client,
                "funnels.getAnalytics",
                {"funnelId": signup["id"], "websiteId": ids["store"]},
            )
        )["total_users_entered"]
    )


def test_goals(client: httpx.Client, ids: dict[str, str]) -> None:
    goals = ok(rpc(client, "goals.list", {"websiteId": ids["store"]}))
    check_shape(goals, PROCS["goals.list"]["output"])
    assert all(g["deletedAt"] is None for g in goals)
    pricing = next(g for g in goals if g["target"] == "/pricing")
    body = ok(
        rpc(client, "goals.getAnalytics", {"goalId": pricing["id"], "websiteId": ids["store"]})
    )
    assert 0 < body["total_users_completed"] < body["total_users_entered"]
    bulk = ok(
        rpc(
            client,
            "goals.bulkAnalytics",
            {"websiteId": ids["store"], "goalIds": [pricing["id"], "nope"]},
        )
    )
    assert bulk[pricing["id"]] == body and "error" in bulk["nope"]


def test_flags_and_target_groups(client: httpx.Client, ids: dict[str, str]) -> None:
    flags = ok(rpc(client, "flags.list", {"websiteId": ids["store"]}))
    keys = [f["key"] for f in flags]
    assert "old-experiment" not in keys and "legacy-banner" in keys
    assert [f["createdAt"] for f in flags] == sorted((f["createdAt"] for f in flags), reverse=True)
    archived = ok(rpc(client, "flags.list", {"websiteId": ids["store"], "status": "archived"}))
    assert [f["key"] for f in archived] == ["legacy-banner"]
    assert ok(rpc(client, "flags.list", {}))[0]["key"] == "beta-features"  # organization scope
    by_key = ok(rpc(client, "flags.getByKey", {"key": "new-checkout", "websiteId": ids["store"]}))
    assert by_key["targetGroups"][0]["name"] == "Beta testers"
    assert (
        rpc(client, "flags.getByKey", {"key": "dark-mode", "websiteId": ids["store"]}).status_code
        == 404
    )  # inactive
    groups = ok(rpc(client, "targetGroups.list", {"websiteId": ids["store"]}))
    assert {g["name"] for g in groups} == {"Beta testers", "Pro plan users"}
    assert (
        ok(rpc(client, "targetGroups.getById", {"id": groups[0]["id"], "websiteId": ids["store"]}))[
            "id"
        ]
        == groups[0]["id"]
    )


def test_annotations_lifecycle(client: httpx.Client, ids: dict[str, str]) -> None:
    base = {"websiteId": ids["store"], "chartType": "metrics", "chartContext": CHART_CONTEXT}
    before = ok(rpc(client, "annotations.list", base))
    made = ok(
        rpc(
            client,
            "annotations.create",
            {
                **base,
                "annotationType": "point",
                "xValue": "2026-03-01T00:00:00.000Z",
                "text": "Emulator test",
            },
        )
    )
    check_shape(made, PROCS["annotations.create"]["output"])
    after = ok(rpc(client, "annotations.list", base))
    assert after[0]["id"] == made["id"] and len(after) == len(before) + 1
    assert (
        ok(rpc(client, "annotations.update", {"id": made["id"], "text": "Edited"}))["text"]
        == "Edited"
    )
    assert ok(rpc(client, "annotations.delete", {"id": made["id"]})) == {"success": True}
    assert made["id"] not in {a["id"] for a in ok(rpc(client, "annotations.list", base))}


def test_api_keys_never_expose_secrets(client: httpx.Client, ids: dict[str, str]) -> None:
    keys = ok(rpc(client, "apikeys.list", {"organizationId": ids["org"]}))
    check_shape(keys, PROCS["apikeys.list"]["output"])
    assert all("secret" not in k and k["prefix"] == "dbdy" for k in keys)
    made = ok(
        rpc(
            client,
            "apikeys.create",
            {
                "name": "ETL",
                "organizationId": ids["org"],
                "scopes": ["read:data"],
                "resources": {"global": ["read:data"]},
            },
        )
    )
    assert made["secret"].startswith("dbdy_") and len(made["secret"]) == 53
    assert made["start"] == made["secret"][:8]
    assert ok(rpc(client, "websites.list", {}, {"x-api-key": made["secret"]}))
    fetched = ok(rpc(client, "apikeys.getById", {"id": made["id"]}))
    assert "secret" not in fetched and fetched["name"] == "ETL"
    assert ok(rpc(client, "apikeys.revoke", {"id": made["id"]})) == {"success": True}
    assert rpc(client, "websites.list", {}, {"x-api-key": made["secret"]}).status_code == 401


def test_monitoring_and_status_pages(client: httpx.Client, ids: dict[str, str]) -> None:
    schedules = ok(rpc(client, "uptime.listSchedules", {}))
    check_shape(schedules, PROCS["uptime.listSchedules"]["output"])
    assert schedules[0]["website"]["domain"]
    one = ok(rpc(client, "uptime.getSchedule", {"scheduleId": schedules[0]["id"]}))
    assert one["schedulerStatus"] == "active"
    assert ok(rpc(client, "uptime.getScheduleByWebsiteId", {"websiteId": ids["store"]}))["url"]
    alarms = ok(rpc(client, "alarms.list", {}))
    assert alarms and all(a["destinations"] is not None for a in alarms)
    pages = ok(rpc(client, "statusPage.list", {"organizationId": ids["org"]}))
    incidents = ok(rpc(client, "statusPage.listIncidents", {"statusPageId": pages[0]["id"]}))
    assert {i["status"] for i in incidents} == {"resolved", "monitoring"}
    public = ok(rpc(client, "statusPage.getBySlug", {"slug": pages[0]["slug"], "days": 7}, {}))
    check_shape(public, PROCS["statusPage.getBySlug"]["output"])
    assert len(public["monitors"]) == 2 and len(public["monitors"][0]["dailyData"]) == 7
    assert public["overallStatus"] in ("operational", "degraded", "outage")
    pending = ok(rpc(client, "organizations.getPendingInvitations", {"organizationId": ids["org"]}))
    assert [i["email"] for i in pending] == ["new.hire@acme.example"]
    with_expired = ok(
        rpc(
            client,
            "organizations.getPendingInvitations",
            {"organizationId": ids["org"], "includeExpired": True},
        )
    )
    assert len(with_expired) == 2
    prefs = ok(rpc(client, "preferences.getUserPreferences", None))
    assert prefs["timezone"] == "auto"


# ------------------------------------------------------------------ caps and the object surface


def test_list_caps(small_config: EmulatorConfig) -> None:
    store = Store(small_config)
    with serve(store) as base, httpx.Client(base_url=base, timeout=30) as c:
        org = store.registry.demo_org_id
        site = next(w["id"] for w in store.registry.websites_of(org))
        for i in range(205):
            c.post(
                "/__emulator__/objects/flags",
                json={
                    "key": f"bulk-{i}",
                    "status": "active",
                    "websiteId": site,
                    "createdAt": f"2026-03-0{1 + i % 9}T00:00:{i % 60:02d}.000Z",
                },
            ).raise_for_status()
        for i in range(105):
            c.post(
                "/__emulator__/objects/uptimeSchedules",
                json={
                    "organizationId": org,
                    "websiteId": None,
                    "url": f"https://m{i}.example",
                    "granularity": "hour",
                    "cron": "0 * * * *",
                    "isPaused": False,
                    "cacheBust": False,
                },
            ).raise_for_status()
            c.post(
                "/__emulator__/objects/alarms",
                json={"organizationId": org, "name": f"a{i}", "destinations": []},
            ).raise_for_status()
        flags = ok(rpc(c, "flags.list", {"websiteId": site}))
        assert len(flags) == 200
        created = [f["createdAt"] for f in flags]
        assert created == sorted(created, reverse=True)
        assert len(ok(rpc(c, "uptime.listSchedules", {}))) == 100
        assert len(ok(rpc(c, "alarms.list", {}))) == 100
        for i in range(1000):
            store.registry.collection("websites")[f"bulk-{i}"] = {
                **store.registry.collection("websites")[site],
                "id": f"bulk-{i}",
            }
        assert len(ok(rpc(c, "websites.list", {}))) == 1000


def test_admin_soft_delete_is_visible_per_procedure(small_config: EmulatorConfig) -> None:
    store = Store(small_config)
    with serve(store) as base, httpx.Client(base_url=base, timeout=30) as c:
        org = store.registry.demo_org_id
        now = "2026-03-15T12:00:00.000Z"  # the frozen virtual clock
        site = next(w for w in ok(rpc(c, "websites.list", {})) if w["name"] == "Acme Docs")
        deleted = c.delete(f"/__emulator__/objects/websites/{site['id']}").json()
        assert deleted["deletedAt"] == now
        listed = {w["id"]: w for w in ok(rpc(c, "websites.list", {"organizationId": org}))}
        assert listed[site["id"]]["deletedAt"] == now  # websites.list keeps deleted rows
        assert rpc(c, "websites.getById", {"id": site["id"]}).status_code == 404

        folder = ok(rpc(c, "linkFolders.list", {}))[0]
        c.delete(f"/__emulator__/objects/linkFolders/{folder['id']}").raise_for_status()
        assert folder["id"] not in {f["id"] for f in ok(rpc(c, "linkFolders.list", {}))}

        link = ok(rpc(c, "links.list", {}))[0]
        c.delete(f"/__emulator__/objects/links/{link['id']}").raise_for_status()
        after = {x["id"]: x for x in ok(rpc(c, "links.list", {}))}
        assert after[link["id"]]["deletedAt"] == now  # links.list does not filter deletedAt

        store_id = next(w["id"] for w in store.registry.websites_of(org))
        goal = ok(rpc(c, "goals.list", {"websiteId": store_id}))[0]
        c.delete(f"/__emulator__/objects/goals/{goal['id']}").raise_for_status()
        assert goal["id"] not in {
            g["id"] for g in ok(rpc(c, "goals.list", {"websiteId": store_id}))
        }
        assert rpc(c, "goals.getById", {"id": goal["id"]}).status_code == 404
        everything = c.get("/__emulator__/objects/goals").json()
        assert any(g["id"] == goal["id"] and g["deletedAt"] == now for g in everything)

        c.delete(f"/__emulator__/objects/goals/{goal['id']}", params={"hard": "true"})
        assert goal["id"] not in {g["id"] for g in c.get("/__emulator__/objects/goals").json()}


def test_admin_create_and_patch(small_config: EmulatorConfig) -> None:
    store = Store(small_config)
    with serve(store) as base, httpx.Client(base_url=base, timeout=30) as c:
        org = store.registry.demo_org_id
        made = c.post(
            "/__emulator__/objects/linkFolders",
            json={
                "organizationId": org,
                "createdBy": "usr_demo_owner",
                "name": "Aardvark",
                "slug": "aardvark",
                "deletedAt": None,
                "createdAt": "2026-01-01T00:00:00Z",
            },
        )
        assert made.status_code == 201 and made.json()["createdAt"] == "2026-01-01T00:00:00.000Z"
        folders = ok(rpc(c, "linkFolders.list", {}))
        assert folders[0]["name"] == "Aardvark"  # name ascending
        check_shape(folders, PROCS["linkFolders.list"]["output"])
        store.clock.advance(timedelta(minutes=5))
        patched = c.patch(
            f"/__emulator__/objects/linkFolders/{made.json()['id']}", json={"name": "Zebra"}
        ).json()
        assert patched["name"] == "Zebra" and patched["updatedAt"] == "2026-03-15T12:05:00.000Z"
        assert ok(rpc(c, "linkFolders.list", {}))[-1]["name"] == "Zebra"
        assert c.patch("/__emulator__/objects/linkFolders/nope", json={}).status_code == 404
