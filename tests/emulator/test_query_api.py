"""POST /v1/query, /v1/query/websites and /v1/query/types, held to docs/api-notes.md."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pytest
from databuddy_emulator.truth import expected_rows

from databuddy_source.contract import query_types, query_types_by_name

REQUEST_ID = re.compile(r"^req_[0-9a-f]{16}$")


def post(client: httpx.Client, body: Any, **query: str) -> httpx.Response:
    return client.post("/v1/query", params=query, json=body)


def entry(response: httpx.Response, index: int = 0) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["data"][index]


# ---------------------------------------------------------------- /v1/query/types


def test_types_lists_134_names_in_registry_order(anon: httpx.Client) -> None:
    body = anon.get("/v1/query/types").json()
    assert body["success"] is True and REQUEST_ID.match(body["requestId"])
    assert body["types"] == [t.name for t in query_types()]
    assert len(body["types"]) == 134
    assert body["presets"] == [
        "today",
        "yesterday",
        "last_7d",
        "last_14d",
        "last_30d",
        "last_90d",
        "this_week",
        "last_week",
        "this_month",
        "last_month",
        "this_year",
    ]
    assert body["configs"]["top_pages"]["defaultLimit"] == 100
    assert "defaultLimit" not in body["configs"]["events_by_date"]
    assert body["configs"]["events_by_date"]["allowedFilters"][:3] == [
        "path",
        "query_string",
        "referrer",
    ]
    assert all("meta" not in c for c in body["configs"].values())


def test_types_include_meta_only_for_types_that_define_it(anon: httpx.Client) -> None:
    configs = anon.get("/v1/query/types", params={"include_meta": "true"}).json()["configs"]
    with_meta = {name for name, c in configs.items() if "meta" in c}
    assert with_meta == {t.name for t in query_types() if t.raw["has_meta"]}
    assert len(with_meta) == 85  # as many as the real server describes
    meta = (
        configs["events_by_date"]["meta"]
        if "events_by_date" in with_meta
        else next(c["meta"] for c in configs.values() if "meta" in c)
    )
    assert set(meta) >= {
        "title",
        "description",
        "category",
        "tags",
        "output_fields",
        "default_visualization",
        "supports_granularity",
        "version",
    }


# ---------------------------------------------------------------- /v1/query/websites


def test_websites_of_a_global_key(api: httpx.Client, server: Any) -> None:
    body = api.get("/v1/query/websites").json()
    reg = server.emulator.store.registry
    expected = [w["id"] for w in reg.websites_of(reg.demo_org_id) if not w["deletedAt"]]
    assert [w["id"] for w in body["websites"]] == expected  # createdAt ascending, none deleted
    assert body["total"] == len(expected) == 3
    assert set(body["websites"][0]) == {"id", "name", "domain", "isPublic", "createdAt"}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", body["websites"][0]["createdAt"])


def test_websites_of_a_session_are_those_of_its_active_organization(
    anon: httpx.Client, server: Any
) -> None:
    from databuddy_emulator import fixtures

    reg = server.emulator.store.registry
    cookie = f"{fixtures.SESSION_COOKIE_NAMES[0]}={fixtures.OWNER_SESSION_TOKEN}"
    body = anon.get("/v1/query/websites", headers={"cookie": cookie}).json()
    live = [w["id"] for w in reg.websites_of(reg.demo_org_id) if not w["deletedAt"]]
    assert [w["id"] for w in body["websites"]] == live


def test_websites_of_a_website_scoped_key(anon: httpx.Client, demo_ids: dict[str, str]) -> None:
    from databuddy_emulator.fixtures import WEBSITE_SCOPED_KEY

    body = anon.get("/v1/query/websites", headers={"x-api-key": WEBSITE_SCOPED_KEY}).json()
    assert [w["id"] for w in body["websites"]] == [demo_ids["website_id"]]


def test_websites_requires_auth(anon: httpx.Client) -> None:
    r = anon.get("/v1/query/websites")
    assert r.status_code == 401
    body = r.json()
    assert {k: body[k] for k in ("success", "error", "code")} == {
        "success": False,
        "error": "Authentication required",
        "code": "AUTH_REQUIRED",
    }


# ---------------------------------------------------------------- envelopes


def test_single_request_envelope(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    params: list[Any] = [
        "summary_metrics",
        {
            "name": "top_pages",
            "id": "pages-first-half",
            "start_date": "2026-03-01",
            "end_date": "2026-03-07",
        },
        "error_summary",
    ]
    r = post(
        api,
        {
            "parameters": params,
            "startDate": "2026-03-01",
            "endDate": "2026-03-14",
            "id": "my-query",
            "filters": [{"field": "utm_term", "op": "eq", "value": "x"}],
        },
        website_id=demo_ids["website_id"],
    )
    body = r.json()
    assert list(body) == ["success", "requestId", "queryId", "data", "meta"]
    assert body["queryId"] == "my-query" and REQUEST_ID.match(body["requestId"])
    assert body["meta"] == {
        "parameters": params,
        "total_parameters": 3,
        "page": 1,
        "limit": 100,
        "filters_applied": 1,
    }
    labels = [(e["parameter"], e["success"]) for e in body["data"]]
    for e in body["data"]:
        if not e["success"]:
            assert e["data"] == [] and "error" in e
        else:
            assert "error" not in e
    assert labels == sorted(labels, key=lambda x: not x[1]), "failed entries must come last"


def test_failed_parameters_move_last_in_order(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    # utm_term is a field neither top_pages nor summary_metrics accepts; error_types accepts it
    r = post(
        api,
        {
            "parameters": [
                {"name": "top_pages", "id": "bad"},
                "summary_metrics",
                {"name": "session_events", "id": "ok"},
            ],
            "startDate": "2026-03-01",
            "endDate": "2026-03-02",
            "filters": [{"field": "session_id", "op": "eq", "value": "none"}],
        },
        website_id=demo_ids["website_id"],
    )
    data = r.json()["data"]
    assert [(d["parameter"], d["success"]) for d in data] == [
        ("ok", True),
        ("bad", False),
        ("summary_metrics", False),
    ]
    assert data[1]["error"].startswith(
        "Filter on field 'session_id' is not permitted. Allowed fields for this query: "
        "browser_name, city, country, device_type, language, os_name, path, query_string, "
    )
    assert list(data[1]) == ["parameter", "success", "data", "error"]


def test_sort_by_outside_the_whitelist_fails_the_parameter(
    api: httpx.Client, demo_ids: dict[str, str]
) -> None:
    r = post(
        api,
        {
            "parameters": ["top_pages"],
            "startDate": "2026-03-01",
            "endDate": "2026-03-02",
            "sortBy": "name",
            "sortOrder": "desc",
        },
        website_id=demo_ids["website_id"],
    )
    assert entry(r)["error"] == (
        "Ordering by 'name DESC' is not permitted. Use '<field> ASC|DESC' where field is one "
        "of: avg_scroll_depth, clicks, count, date, errors, p50_load_time, pageviews, revenue, "
        "samples, sessions, time, total, total_events, unique_users, uptime_percentage, visitors."
    )


def test_query_id_is_empty_when_absent(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    r = post(
        api,
        {"parameters": ["summary_metrics"], "preset": "last_7d"},
        website_id=demo_ids["website_id"],
    )
    assert r.json()["queryId"] == ""


def test_trailing_slash_route(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    r = api.post(
        "/v1/query/",
        params={"website_id": demo_ids["website_id"]},
        json={"parameters": ["summary_metrics"], "preset": "yesterday"},
    )
    assert r.status_code == 200 and r.json()["success"] is True


def test_batch_envelope(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    r = post(
        api,
        [
            {
                "parameters": ["events_by_date"],
                "startDate": "2026-03-01",
                "endDate": "2026-03-03",
                "id": "q1",
            },
            {"parameters": ["summary_metrics", "top_pages"], "preset": "yesterday"},
        ],
        website_id=demo_ids["website_id"],
    )
    body = r.json()
    assert list(body) == ["success", "requestId", "batch", "results"] and body["batch"] is True
    first, second = body["results"]
    assert list(first) == ["queryId", "data", "meta"] and first["queryId"] == "q1"
    assert second["queryId"] == ""
    assert [e["parameter"] for e in second["data"]] == ["summary_metrics", "top_pages"]


def test_batch_validation_rejects_whole_batch(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    r = post(
        api,
        [
            {"parameters": ["summary_metrics"], "preset": "today"},
            {
                "parameters": ["summary_metrics"],
                "startDate": "2026-03-01",
                "endDate": "2026-03-02",
                "limit": 0,
            },
        ],
        website_id=demo_ids["website_id"],
    )
    assert r.status_code == 400
    assert r.json()["details"] == [
        {"field": "batch[1].limit", "message": "Limit must be at least 1"}
    ]


def test_parameter_with_own_dates_equals_a_separate_request(
    api: httpx.Client, demo_ids: dict[str, str]
) -> None:
    site = demo_ids["website_id"]
    packed = post(
        api,
        {
            "parameters": [
                {
                    "name": "top_pages",
                    "id": "d1",
                    "start_date": "2026-03-02",
                    "end_date": "2026-03-02",
                }
            ],
            "startDate": "2026-03-01",
            "endDate": "2026-03-14",
        },
        website_id=site,
    )
    alone = post(
        api,
        {"parameters": ["top_pages"], "startDate": "2026-03-02", "endDate": "2026-03-02"},
        website_id=site,
    )
    assert entry(packed)["data"] == entry(alone)["data"] and entry(packed)["parameter"] == "d1"


# ---------------------------------------------------------------- dates


def _days(api: httpx.Client, site: str, **body: Any) -> list[str]:
    r = post(api, {"parameters": ["events_by_date"], **body}, website_id=site)
    return [row["date"] for row in entry(r)["data"]]


def test_range_is_inclusive(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    days = _days(api, demo_ids["website_id"], startDate="2026-03-02", endDate="2026-03-04")
    assert days == ["2026-03-02", "2026-03-03", "2026-03-04"]


def test_datetime_end_is_used_as_given(
    api: httpx.Client, demo_ids: dict[str, str], server: Any
) -> None:
    site = demo_ids["website_id"]
    r = post(
        api,
        {
            "parameters": ["summary_metrics"],
            "startDate": "2026-03-02T00:00",
            "endDate": "2026-03-02 11:59:59",
        },
        website_id=site,
    )
    half = entry(r)["data"][0]["pageviews"]
    full = entry(
        post(
            api,
            {"parameters": ["summary_metrics"], "startDate": "2026-03-02", "endDate": "2026-03-02"},
            website_id=site,
        )
    )["data"][0]["pageviews"]
    assert 0 < half < full
    with server.emulator.store.cursor() as cur:
        count = cur.execute(
            "SELECT count(*) FROM events WHERE client_id = ? AND event_name = 'screen_view' "
            "AND time BETWEEN '2026-03-02 00:00:00' AND '2026-03-02 11:59:59'",
            [site],
        ).fetchone()[0]
    assert half == count


def test_zoned_dates_are_converted_to_utc(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    site = demo_ids["website_id"]
    zoned = post(
        api,
        {
            "parameters": ["summary_metrics"],
            "startDate": "2026-03-02T05:00:00+05:00",
            "endDate": "2026-03-02T23:00:00Z",
        },
        website_id=site,
    )
    plain = post(
        api,
        {
            "parameters": ["summary_metrics"],
            "startDate": "2026-03-02 00:00:00",
            "endDate": "2026-03-02 23:00:00",
        },
        website_id=site,
    )
    assert entry(zoned)["data"] == entry(plain)["data"]


@pytest.mark.parametrize("bad", ["yesterday-ish", "2026-13-01", "2026-02-30", "03/01/2026x"])
def test_unparsable_date_is_a_validation_error(
    api: httpx.Client, demo_ids: dict[str, str], bad: str
) -> None:
    r = post(
        api,
        {"parameters": ["summary_metrics"], "startDate": bad, "endDate": "2026-03-02"},
        website_id=demo_ids["website_id"],
    )
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert body["error"] == f"Invalid date: {bad}. Could not parse as a valid date"
    assert body["details"][0]["field"] == "startDate"


def test_end_before_start_is_an_empty_range(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    r = post(
        api,
        {
            "parameters": ["top_pages", "events_by_date"],
            "startDate": "2026-03-05",
            "endDate": "2026-03-01",
        },
        website_id=demo_ids["website_id"],
    )
    assert r.json()["data"] == [
        {"parameter": "top_pages", "success": True, "data": []},
        {"parameter": "events_by_date", "success": True, "data": []},
    ]


def test_unparsable_parameter_dates_fail_that_parameter(
    api: httpx.Client, demo_ids: dict[str, str]
) -> None:
    r = post(
        api,
        {
            "parameters": [{"name": "top_pages", "start_date": "garbage"}, "summary_metrics"],
            "startDate": "2026-03-01",
            "endDate": "2026-03-01",
        },
        website_id=demo_ids["website_id"],
    )
    assert r.json()["data"][1] == {
        "parameter": "top_pages",
        "success": False,
        "error": "Invalid parameter date range",
        "data": [],
    }


def test_missing_dates(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    r = post(api, {"parameters": ["summary_metrics"]}, website_id=demo_ids["website_id"])
    assert r.status_code == 400
    assert r.json()["details"] == [
        {"field": "startDate", "message": "Either startDate or preset is required"},
        {"field": "endDate", "message": "Either endDate or preset is required"},
    ]


@pytest.mark.parametrize(
    ("preset", "timezone", "first", "last"),
    [
        ("today", "UTC", "2026-03-15", "2026-03-15"),
        ("yesterday", "UTC", "2026-03-14", "2026-03-14"),
        ("last_7d", "UTC", "2026-03-09", "2026-03-15"),
        ("this_week", "UTC", "2026-03-15", "2026-03-15"),  # 2026-03-15 is a Sunday
        ("last_week", "UTC", "2026-03-08", "2026-03-14"),
        ("this_month", "UTC", "2026-03-01", "2026-03-15"),
        ("last_month", "UTC", "2026-02-01", "2026-02-28"),
        # UTC+14: already the 16th; the range is read as UTC and buckets are local, so the UTC
        # day 2026-03-15 spans the local 15th and 16th
        ("yesterday", "Pacific/Kiritimati", "2026-03-15", "2026-03-16"),
    ],
)
def test_presets_resolve_in_the_request_timezone(
    api: httpx.Client, demo_ids: dict[str, str], preset: str, timezone: str, first: str, last: str
) -> None:
    r = post(
        api,
        {
            "parameters": ["events_by_date"],
            "preset": preset,
            "startDate": "2020-01-01",
            "endDate": "2020-01-02",
        },
        website_id=demo_ids["website_id"],
        timezone=timezone,
    )
    days = [row["date"] for row in entry(r)["data"]]
    assert days and days[0] == first and days[-1] <= last


def test_hourly_over_30_days(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    site = demo_ids["website_id"]
    body = {
        "parameters": ["events_by_date"],
        "startDate": "2026-01-01",
        "endDate": "2026-02-15",
        "granularity": "hourly",
    }
    single = post(api, body, website_id=site)
    assert single.status_code == 500
    assert single.json() == {
        "success": False,
        "error": "An internal server error occurred",
        "code": "UNKNOWN",
    }
    # in a batch the element answers one failed entry named after its first parameter, and has
    # no queryId of its own; the other elements run
    other = {"parameters": ["top_pages"], "startDate": "2026-02-01", "endDate": "2026-02-01"}
    batch = post(
        api, [{**body, "parameters": ["top_pages", "events_by_date"]}, other], website_id=site
    )
    failed, fine = batch.json()["results"]
    assert failed["data"] == [
        {
            "parameter": "top_pages",
            "success": False,
            "error": "Hourly granularity only supports up to 30 days",
            "data": [],
        }
    ]
    assert list(failed) == ["data", "meta"] and failed["meta"]["total_parameters"] == 2
    assert fine["data"][0]["success"] is True


def test_hourly_only_for_types_that_support_it(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    r = post(
        api,
        {
            "parameters": ["events_by_date", "error_trends"],
            "startDate": "2026-03-02",
            "endDate": "2026-03-02",
            "granularity": "hour",
        },
        website_id=demo_ids["website_id"],
    )
    hourly, daily = entry(r, 0)["data"], entry(r, 1)["data"]
    assert all(len(row["date"]) == 19 and row["date"].endswith(":00:00") for row in hourly)
    assert len(hourly) > 1 and all(len(row["date"]) == 10 for row in daily)


# ---------------------------------------------------------------- filters


def _pages(api: httpx.Client, site: str, *filters: dict[str, Any]) -> list[dict[str, Any]]:
    r = post(
        api,
        {
            "parameters": ["top_pages"],
            "startDate": "2026-03-01",
            "endDate": "2026-03-14",
            "limit": 10_000,
            "filters": list(filters),
        },
        website_id=site,
    )
    return entry(r)["data"]


@pytest.mark.parametrize(
    ("op", "value", "keep"),
    [
        ("eq", "/pricing", lambda n: n == "/pricing"),
        ("ne", "/pricing", lambda n: n != "/pricing"),
        ("contains", "item-00000", lambda n: "item-00000" in n),
        ("not_contains", "products", lambda n: "products" not in n),
        ("starts_with", "/blog", lambda n: n.startswith("/blog")),
        ("in", ["/", "/pricing"], lambda n: n in ("/", "/pricing")),
        ("not_in", ["/", "/pricing"], lambda n: n not in ("/", "/pricing")),
    ],
)
def test_path_filter_operators(
    api: httpx.Client, demo_ids: dict[str, str], op: str, value: Any, keep: Any
) -> None:
    site = demo_ids["website_id"]
    everything = {row["name"]: row["pageviews"] for row in _pages(api, site)}
    filtered = {
        row["name"]: row["pageviews"]
        for row in _pages(api, site, {"field": "path", "op": op, "value": value})
    }
    assert filtered == {k: v for k, v in everything.items() if keep(k)}
    assert filtered


def test_path_filter_matches_normalized_path(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    site = demo_ids["website_id"]
    exact = _pages(api, site, {"field": "path", "op": "eq", "value": "/pricing"})
    messy = _pages(api, site, {"field": "path", "op": "eq", "value": "/pricing/?x=1"})
    assert exact == messy and exact


def test_scalar_for_in_is_one_element_list(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    site = demo_ids["website_id"]
    assert _pages(api, site, {"field": "country", "op": "in", "value": "US"}) == _pages(
        api, site, {"field": "country", "op": "in", "value": ["US"]}
    )


def test_device_type_desktop_matches_empty(
    api: httpx.Client, demo_ids: dict[str, str], server: Any
) -> None:
    site = demo_ids["website_id"]
    r = post(
        api,
        {
            "parameters": ["summary_metrics"],
            "startDate": "2026-03-01",
            "endDate": "2026-03-14",
            "filters": [{"field": "device_type", "op": "eq", "value": "DESKTOP"}],
        },
        website_id=site,
    )
    with server.emulator.store.cursor() as cur:
        count = cur.execute(
            "SELECT count(*) FROM events WHERE client_id = ? AND device_type IN ('desktop', '') "
            "AND event_name = 'screen_view' "
            "AND time BETWEEN '2026-03-01' AND '2026-03-14 23:59:59'",
            [site],
        ).fetchone()[0]
    assert entry(r)["data"][0]["pageviews"] == count


def test_referrer_filter_maps_short_names(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    site = demo_ids["website_id"]
    a = _pages(api, site, {"field": "referrer", "op": "eq", "value": "google"})
    b = _pages(api, site, {"field": "referrer", "op": "eq", "value": "https://www.google.com/"})
    assert a == b and a


def test_filter_on_a_field_not_permitted(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    r = post(
        api,
        {
            "parameters": ["top_pages"],
            "preset": "last_7d",
            "filters": [{"field": "provider", "op": "eq", "value": "openai"}],
        },
        website_id=demo_ids["website_id"],
    )
    assert entry(r) == {
        "parameter": "top_pages",
        "success": False,
        "data": [],
        "error": "Filter on field 'provider' is not permitted. Allowed fields for this query: "
        "browser_name, city, country, device_type, language, os_name, path, query_string, "
        "referrer, region, timezone, utm_campaign, utm_medium, utm_source.",
    }


def test_unknown_operator_is_a_422(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    r = post(
        api,
        {
            "parameters": ["top_pages"],
            "preset": "last_7d",
            "filters": [{"field": "path", "op": "like", "value": "/"}],
        },
        website_id=demo_ids["website_id"],
    )
    assert r.status_code == 422
    body = r.json()
    assert list(body) == ["success", "error", "code"] and body["code"] == "VALIDATION"
    assert orjson.loads(body["error"]) == {
        "type": "validation",
        "on": "body",
        "found": {
            "parameters": ["top_pages"],
            "preset": "last_7d",
            "filters": [{"field": "path", "op": "like", "value": "/"}],
        },
    }


# ---------------------------------------------------------------- limit, page, sort


def _type_with(limit_applied: bool, offset_applied: bool, project: str = "website") -> str:
    return next(
        t.name
        for t in query_types()
        if t.limit_applied == limit_applied
        and t.offset_applied == offset_applied
        and t.project == project
        and not t.date_range_ignored
        and not t.raw.get("requires_filter")
        and t.name not in ("summary_metrics", "today_metrics")
    )


def _rows(api: httpx.Client, site: str, name: str, **body: Any) -> list[dict[str, Any]]:
    r = post(
        api,
        {"parameters": [name], "startDate": "2026-02-20", "endDate": "2026-03-14", **body},
        website_id=site,
    )
    return entry(r)["data"]


def test_paging_honours_offset_where_the_type_does(
    api: httpx.Client, demo_ids: dict[str, str]
) -> None:
    site = demo_ids["website_id"]
    both = _rows(api, site, "top_pages", limit=20)
    p1 = _rows(api, site, "top_pages", limit=10, page=1)
    p2 = _rows(api, site, "top_pages", limit=10, page=2)
    assert p1 + p2 == both and len(p2) == 10


def test_limit_without_offset_repeats_the_first_page(
    api: httpx.Client, demo_ids: dict[str, str]
) -> None:
    name = _type_with(True, False)
    site = demo_ids["website_id"]
    p1 = _rows(api, site, name, limit=3, page=1)
    p2 = _rows(api, site, name, limit=3, page=2)
    assert p1 == p2 and len(p1) == 3, name


def test_types_without_limit_return_everything(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    site = demo_ids["website_id"]
    rows = _rows(api, site, "events_by_date", limit=2)
    assert len(rows) == 23  # 2026-02-20 .. 2026-03-14, every day has data
    assert query_types_by_name()["events_by_date"].limit_applied is False


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"limit": 0}, "Limit must be at least 1"),
        ({"limit": 10_001}, "Limit cannot exceed 10000"),
        ({"page": 0}, "Page must be at least 1"),
        ({"parameters": []}, "At least one parameter is required"),
    ],
)
def test_limit_page_and_parameters_validation(
    api: httpx.Client, demo_ids: dict[str, str], body: dict[str, Any], message: str
) -> None:
    r = post(
        api,
        {"parameters": ["top_pages"], "preset": "today", **body},
        website_id=demo_ids["website_id"],
    )
    assert r.status_code == 400 and r.json()["error"] == message


def test_sort_by_a_permitted_column(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    rows = _rows(
        api, demo_ids["website_id"], "top_pages", limit=50, sortBy="visitors", sortOrder="asc"
    )
    visitors = [row["visitors"] for row in rows]
    assert visitors == sorted(visitors)


def test_unknown_type_suggests_a_name(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    r = post(
        api,
        {"parameters": ["summry_metrics", "top_pagez"], "preset": "today"},
        website_id=demo_ids["website_id"],
    )
    assert r.status_code == 400
    body = r.json()
    # the first problem is the message; a name too far from any type gets no suggestion
    assert body["error"] == "Unknown query type: summry_metrics"
    assert body["details"] == [
        {"field": "parameters[0]", "message": "Unknown query type: summry_metrics"},
        {
            "field": "parameters[1]",
            "message": "Unknown query type: top_pagez",
            "suggestion": "Did you mean 'top_pages'?",
        },
    ]


def test_parameters_as_a_string_are_read_letter_by_letter(
    api: httpx.Client, demo_ids: dict[str, str]
) -> None:
    r = post(api, {"parameters": "ab", "preset": "today"}, website_id=demo_ids["website_id"])
    assert r.status_code == 400
    assert [d["message"] for d in r.json()["details"]] == [
        "Unknown query type: a",
        "Unknown query type: b",
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"startDate": "2026-03-01"},
        {"parameters": 5, "preset": "today"},
        {"parameters": ["summary_metrics"], "preset": "last_2d"},
        {"parameters": ["summary_metrics"], "preset": "today", "limit": None},
        {"parameters": ["summary_metrics"], "preset": "today", "filters": {"field": "path"}},
        {"parameters": ["summary_metrics"], "preset": "today", "limit": "50"},
        {"parameters": ["summary_metrics"], "preset": "today", "granularity": "weekly"},
        {"parameters": [{"id": "x"}], "preset": "today"},
    ],
)
def test_schema_violations_are_422(
    api: httpx.Client, demo_ids: dict[str, str], body: dict[str, Any]
) -> None:
    r = post(api, body, website_id=demo_ids["website_id"])
    assert r.status_code == 422
    assert r.json()["code"] == "VALIDATION"
    assert orjson.loads(r.json()["error"])["found"] == body


def test_malformed_json_is_a_parse_error(api: httpx.Client, demo_ids: dict[str, str]) -> None:
    r = api.post(
        "/v1/query",
        params={"website_id": demo_ids["website_id"]},
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json() == {"success": False, "error": "Bad Request", "code": "PARSE"}


def test_unknown_path_is_plain_404(anon: httpx.Client) -> None:
    r = anon.get("/v1/nothing-here")
    assert r.status_code == 404 and r.text == "Not Found"


# ---------------------------------------------------------------- agreement with ground truth


@pytest.mark.parametrize(
    "name",
    [
        "events_by_date",
        "top_pages",
        "country",
        "error_trends",
        "custom_events",
        "sessions_time_series",
    ],
)
def test_http_answer_equals_ground_truth(
    api: httpx.Client, demo_ids: dict[str, str], server: Any, name: str
) -> None:
    site = demo_ids["website_id"]
    got = _rows(api, site, name, limit=500)
    truth = expected_rows(
        server.emulator.store,
        name,
        website_id=site,
        start_date="2026-02-20",
        end_date="2026-03-14",
        limit=500,
    )
    assert got == truth and got
