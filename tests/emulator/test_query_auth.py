"""Credentials and access on the Query API (docs/api-notes.md, "Access")."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from databuddy_emulator import fixtures

BODY = {"parameters": ["summary_metrics"], "preset": "last_7d"}


def query(
    client: httpx.Client, headers: dict[str, str] | None = None, **ids: str
) -> httpx.Response:
    return client.post("/v1/query", params=ids, json=BODY, headers=headers or {})


def assert_error(r: httpx.Response, status: int, code: str, error: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert r.headers["content-type"].startswith("application/json")
    assert {k: body[k] for k in ("success", "error", "code")} == {
        "success": False,
        "error": error,
        "code": code,
    }
    assert body["requestId"].startswith("req_")


def test_x_api_key_and_bearer(anon: httpx.Client, server: Any, demo_ids: dict[str, str]) -> None:
    key = server.emulator.config.api_key
    site = demo_ids["website_id"]
    assert query(anon, {"x-api-key": key}, website_id=site).status_code == 200
    assert query(anon, {"Authorization": f"Bearer {key}"}, website_id=site).status_code == 200


def test_bearer_used_when_x_api_key_is_malformed(
    anon: httpx.Client, server: Any, demo_ids: dict[str, str]
) -> None:
    key = server.emulator.config.api_key
    r = query(
        anon,
        {"x-api-key": "not-a-key", "Authorization": f"Bearer {key}"},
        website_id=demo_ids["website_id"],
    )
    assert r.status_code == 200


def test_session_cookie(anon: httpx.Client, demo_ids: dict[str, str]) -> None:
    cookie = f"{fixtures.SESSION_COOKIE_NAMES[0]}={fixtures.OWNER_SESSION_TOKEN}"
    r = query(anon, {"cookie": cookie}, website_id=demo_ids["website_id"])
    assert r.status_code == 200


@pytest.mark.parametrize(
    "key",
    [
        None,
        "dbdy_" + "x" * 48,
        "garbage",
        fixtures.DISABLED_KEY,
        fixtures.REVOKED_KEY,
        fixtures.EXPIRED_KEY,
        fixtures.NO_READ_DATA_KEY,
    ],
)
def test_unusable_keys_are_anonymous(
    anon: httpx.Client, demo_ids: dict[str, str], key: str | None
) -> None:
    headers = {"x-api-key": key} if key else {}
    assert_error(
        query(anon, headers, website_id=demo_ids["website_id"]),
        401,
        "AUTH_REQUIRED",
        "Authentication required",
    )
    # ... and public websites stay readable anonymously
    assert query(anon, headers, website_id=demo_ids["public_website_id"]).status_code == 200


def test_access_denied(anon: httpx.Client, demo_ids: dict[str, str], server: Any) -> None:
    key = {"x-api-key": server.emulator.config.api_key}
    assert_error(
        query(anon, key, website_id=demo_ids["other_org_website_id"]),
        403,
        "ACCESS_DENIED",
        "Access denied to this website",
    )
    assert_error(
        query(anon, key, website_id="no-such-site"),
        403,
        "ACCESS_DENIED",
        "Access denied to this website",
    )
    scoped = {"x-api-key": fixtures.WEBSITE_SCOPED_KEY}
    assert query(anon, scoped, website_id=demo_ids["website_id"]).status_code == 200
    assert_error(
        query(anon, scoped, website_id=demo_ids["docs_website_id"]),
        403,
        "ACCESS_DENIED",
        "Access denied to this website",
    )
    other = {"x-api-key": fixtures.OTHER_ORG_KEY}
    assert_error(
        query(anon, other, link_id=demo_ids["link_id"]),
        403,
        "ACCESS_DENIED",
        "Access denied to this link",
    )
    assert_error(
        query(anon, other, schedule_id=demo_ids["schedule_id"]),
        403,
        "ACCESS_DENIED",
        "Access denied to this monitor",
    )
    assert_error(
        query(anon, other, organization_id=demo_ids["organization_id"]),
        403,
        "ACCESS_DENIED",
        "Access denied to this organization",
    )


def test_unknown_website_anonymous_is_401_not_404(anon: httpx.Client) -> None:
    assert_error(
        query(anon, website_id="no-such-site"), 401, "AUTH_REQUIRED", "Authentication required"
    )


def test_missing_project_id(anon: httpx.Client) -> None:
    # a caller without an organization to fall back to (a website-scoped key) is told what is
    # missing; an anonymous one is told to authenticate first
    scoped = {"x-api-key": fixtures.WEBSITE_SCOPED_KEY}
    assert_error(
        query(anon, scoped),
        400,
        "MISSING_PROJECT_ID",
        "Missing resource identifier (website_id, schedule_id, link_id, or organization_id)",
    )
    assert_error(query(anon), 401, "AUTH_REQUIRED", "Authentication required")


def test_global_key_falls_back_to_its_organization(api: httpx.Client) -> None:
    r = api.post("/v1/query", json={"parameters": ["top_pages"], "preset": "last_7d"})
    assert r.status_code == 200
    assert r.json()["data"][0]["success"] is True


def test_id_precedence_link_over_website(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    r = api.post(
        "/v1/query",
        params={"website_id": "no-such-site", "link_id": demo_ids["link_id"]},
        json={"parameters": ["link_total_clicks"], "preset": "last_30d"},
    )
    assert r.status_code == 200 and r.json()["data"][0]["success"] is True
