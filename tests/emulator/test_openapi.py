"""GET /spec.json and GET /: a valid OpenAPI 3.1 document generated from rpc.json that
truly describes what the REST twins answer, checked by jsonschema and by a schemathesis run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from databuddy_emulator import fixtures as fx
from databuddy_emulator.config import DEFAULT_API_KEY, EmulatorConfig
from databuddy_emulator.server import serve
from databuddy_emulator.store import Store
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from databuddy_source.contract import rpc_procedures

KEY = {"x-api-key": DEFAULT_API_KEY}
OWNER_COOKIE = f"__Secure-databuddy.session_token={fx.OWNER_SESSION_TOKEN}"
DOCUMENTED = [
    p
    for p in rpc_procedures()
    if p["router"] not in ("revenue", "uptime", "billing") and not p["hidden_from_openapi_docs"]
]
DESCRIBED_TAGS = [
    "Alarms",
    "Annotations",
    "API Keys",
    "Autocomplete",
    "Feedback",
    "Flags",
    "Funnels",
    "Goals",
    "Links",
    "Organizations",
    "Preferences",
    "Target Groups",
    "Websites",
]


@pytest.fixture(scope="module")
def world(small_config: EmulatorConfig) -> Store:
    return Store(small_config)


@pytest.fixture(scope="module")
def base_url(world: Store) -> Iterator[str]:
    with serve(world) as base:
        yield base


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def spec(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/spec.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def test_spec_is_valid_openapi_31(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] == "Databuddy API" and spec["info"]["version"] == "1.0.0"
    assert spec["servers"] == [{"url": "https://api.databuddy.cc"}]
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }


def test_spec_covers_documented_procedures_only(spec: dict[str, Any]) -> None:
    assert set(spec["paths"]) == {p["openapi_path"] for p in DOCUMENTED}
    assert not any(
        path.startswith(("/revenue/", "/uptime/", "/billing/")) for path in spec["paths"]
    )
    for proc in DOCUMENTED:
        item = spec["paths"][proc["openapi_path"]]
        assert list(item) == ["post"]
        op = item["post"]
        assert op["tags"] == [proc["tag"]] and op["summary"] == proc["summary"]
        assert set(op["responses"]) == {"200", "400", "401", "403", "404", "409", "500"}
        for status in ("400", "401", "403", "404", "409", "500"):
            assert (
                len(op["responses"][status]["content"]["application/json"]["schema"]["oneOf"]) == 2
            )
        if proc["router"] in ("links", "linkFolders"):
            assert op["x-required-scopes"] == proc["required_api_key_scopes"]
        else:
            assert "x-required-scopes" not in op
    assert [t["name"] for t in spec["tags"]] == DESCRIBED_TAGS
    used = {op["post"]["tags"][0] for op in spec["paths"].values()}
    assert {"AgentChats", "Anomalies", "Insights", "StatusPage", "Integrations", "Tracker"} <= used


def test_spec_schemas_follow_rpc_json(spec: dict[str, Any]) -> None:
    site = spec["paths"]["/websites/getById"]["post"]
    out = site["responses"]["200"]["content"]["application/json"]["schema"]
    assert out["properties"]["createdAt"] == {"type": "string", "format": "date-time"}
    assert out["properties"]["deletedAt"] == {"type": ["string", "null"], "format": "date-time"}
    assert out["properties"]["name"] == {"type": ["string", "null"]}
    assert "deletedAt" in out["required"]
    body = site["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}
    create = spec["paths"]["/links/create"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert create["properties"]["slug"]["pattern"] == "^[a-zA-Z0-9_-]+$"
    assert create["required"] == ["name", "targetUrl"]


def response_schema(spec: dict[str, Any], path: str, status: int) -> dict[str, Any]:
    schema: dict[str, Any] = spec["paths"][path]["post"]["responses"][str(status)]["content"][
        "application/json"
    ]["schema"]
    return schema


def conforms(spec: dict[str, Any], path: str, response: httpx.Response) -> None:
    validator = Draft202012Validator(
        response_schema(spec, path, response.status_code),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    errors = [e.message for e in validator.iter_errors(response.json())]
    assert not errors, (path, response.status_code, errors[:3])


def test_answers_conform_to_the_spec(
    spec: dict[str, Any], client: httpx.Client, world: Store
) -> None:
    reg = world.registry
    site = next(w["id"] for w in reg.websites_of(reg.demo_org_id))
    funnel = next(
        f["id"]
        for f in reg.collection("funnels").values()
        if f["websiteId"] == site and not f["deletedAt"]
    )
    page = next(p["id"] for p in reg.collection("statusPages").values())
    chart = {
        "dateRange": {"start_date": "2026-03-01", "end_date": "2026-03-10", "granularity": "daily"}
    }
    calls: list[tuple[str, dict[str, Any]]] = [
        ("/websites/list", {}),
        ("/websites/getById", {"id": site}),
        ("/websites/listWithCharts", {}),
        ("/links/list", {}),
        ("/link-folders/list", {}),
        ("/flags/list", {"websiteId": site}),
        ("/target-groups/list", {"websiteId": site}),
        ("/funnels/list", {"websiteId": site}),
        ("/funnels/getById", {"id": funnel}),
        ("/funnels/getAnalytics", {"funnelId": funnel, "websiteId": site}),
        ("/funnels/getAnalyticsByReferrer", {"funnelId": funnel, "websiteId": site}),
        ("/goals/list", {"websiteId": site}),
        ("/autocomplete/get", {"websiteId": site}),
        ("/annotations/list", {"websiteId": site, "chartType": "metrics", "chartContext": chart}),
        ("/apikeys/list", {"organizationId": reg.demo_org_id}),
        ("/alarms/list", {}),
        ("/statusPage/list", {"organizationId": reg.demo_org_id}),
        ("/statusPage/listIncidents", {"statusPageId": page}),
        ("/statusPage/getBySlug", {"slug": "acme-status"}),
        ("/statusPage/listPublic", {}),
        ("/organizations/getPendingInvitations", {"organizationId": reg.demo_org_id}),
        ("/preferences/getUserPreferences", {}),
        ("/anomalies/time-series", {"websiteId": site, "metric": "pageviews"}),
        # errors: 400, 401, 403, 404
        ("/websites/getById", {}),
        ("/links/get", {"id": "nope"}),
    ]
    for path, body in calls:
        response = client.post(path, json=body, headers=KEY)
        assert response.status_code in (200, 400, 404), (path, response.text)
        conforms(spec, path, response)
    conforms(spec, "/websites/list", client.post("/websites/list", json={}))
    conforms(
        spec,
        "/websites/list",
        client.post("/websites/list", json={}, headers={"x-api-key": fx.NO_READ_DATA_KEY}),
    )
    session = {"cookie": OWNER_COOKIE}
    for path, body in [
        ("/organizations/getUserPendingInvitations", {}),
        ("/feedback/list", {}),
        ("/feedback/getRewardTiers", {}),
        ("/agent-chats/list", {"websiteId": site}),
    ]:
        response = client.post(path, json=body, headers=session)
        assert response.status_code == 200, (path, response.text)
        conforms(spec, path, response)


def test_reference_page(client: httpx.Client, spec: dict[str, Any]) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<title>Databuddy API</title>" in html
    assert "<script" not in html and "cdn" not in html.lower()  # self-contained
    for tag in {op["post"]["tags"][0] for op in spec["paths"].values()}:
        assert f">{tag}</h2>" in html
    for path in spec["paths"]:
        assert f"<code>{path}</code>" in html
    assert "auth: protected · scopes: read:links" in html
    assert "<code>steps_analytics[].step_name</code>" in html  # output fields, nested
    assert "/uptime/listSchedules" not in html


def test_schemathesis_finds_no_server_errors(small_config: EmulatorConfig, tmp_path: Path) -> None:
    """Generated requests (authenticated as the owner session, so every procedure runs its
    handler) never get a 5xx and every answer matches its documented schema."""
    binary = Path(sys.executable).with_name("schemathesis")
    with serve(Store(small_config)) as base:
        run = subprocess.run(
            [
                str(binary),
                "run",
                f"{base}/spec.json",
                "--url",
                base,
                "-H",
                f"cookie: {OWNER_COOKIE}",
                "--max-examples",
                "5",
                "--seed",
                "1",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--phases",
                "coverage,fuzzing",
                "--workers",
                "2",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
            env={
                "PATH": str(binary.parent),
                "SCHEMATHESIS_HOOKS": "",
                "HOME": str(tmp_path),
                "NO_COLOR": "1",
            },
        )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "113/113" in run.stdout
