"""POST /v1/query/compile and POST /v1/query/custom over real HTTP.

Compiled SQL is run in the store and compared with ``expected_rows``; custom answers are
compared with DuckDB queries written independently against the same store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from databuddy_emulator import fixtures
from databuddy_emulator.app import Emulator
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.query import compile as query_compile
from databuddy_emulator.query import custom as query_custom
from databuddy_emulator.server import EmulatorServer
from databuddy_emulator.store import Store
from databuddy_emulator.truth import expected_rows

REQUEST_ID = re.compile(r"^req_[0-9a-f]{16}$")
PARSE_ERROR = {"success": False, "error": "Bad Request", "code": "PARSE"}
NOW = "2026-03-15 12:00:00"  # the frozen virtual clock of small_config


@pytest.fixture(scope="module")
def srv(small_config: EmulatorConfig, store: Store) -> Iterator[EmulatorServer]:
    """Serves the session store itself, so direct DuckDB queries see the same rows."""
    config = replace(small_config, rate_limit=1_000_000)
    with EmulatorServer(emulator=Emulator(config, store=store), keep_store=True) as server:
        yield server


@pytest.fixture()
def client(srv: EmulatorServer) -> Iterator[httpx.Client]:
    headers = {"x-api-key": srv.emulator.config.api_key}
    with httpx.Client(base_url=srv.url, headers=headers, timeout=60) as c:
        yield c


@pytest.fixture()
def anon(srv: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        yield c


def compile_(c: httpx.Client, body: Any, **query: str) -> httpx.Response:
    return c.post("/v1/query/compile", params=query, json=body)


def custom(c: httpx.Client, body: Any, **query: str) -> httpx.Response:
    return c.post("/v1/query/custom", params=query, json=body)


def error(r: httpx.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["code"] == code
    assert REQUEST_ID.match(body["requestId"])
    return str(body["error"])


def norm(value: Any) -> Any:
    """Values compared across DuckDB types: numbers as rounded floats, NaN as None."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | Decimal):
        f = float(value)
        return None if math.isnan(f) else round(f, 6)
    if isinstance(value, list | tuple):
        return [norm(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def norm_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: norm(v) for k, v in row.items()} for row in rows]


def db_rows(store: Store, sql: str) -> list[dict[str, Any]]:
    with store.cursor() as cur:
        result = cur.execute(sql)
        names = [d[0] for d in result.description or ()]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


# ---------------------------------------------------------------- compile


def test_compile_success_envelope(client: httpx.Client, demo_ids: dict[str, str]) -> None:
    site = demo_ids["website_id"]
    body = {"projectId": site, "type": "top_pages", "from": "2026-03-01", "to": "2026-03-07"}
    r = compile_(client, body, website_id=site)
    assert r.status_code == 200, r.text
    data = r.json()
    assert set(data) == {"success", "requestId", "sql", "params"}
    assert data["success"] is True and REQUEST_ID.match(data["requestId"])
    assert data["sql"].startswith("SELECT") and f"'{site}'" in data["sql"]
    params = data["params"]
    assert params["projectId"] == params["websiteId"] == site
    assert params["organizationId"] == demo_ids["organization_id"]
    assert (params["from"], params["to"]) == ("2026-03-01 00:00:00", "2026-03-07 23:59:59")
    assert (params["timezone"], params["granularity"]) == ("UTC", "daily")
    assert (params["limit"], params["offset"], params["visibleAt"]) == (100, 0, NOW)


US = [{"field": "country", "op": "eq", "value": "US"}]
COMPILE_CASES = [
    ("top_pages", "website_id", {}, {}),
    (
        "top_pages",
        "website_id",
        {"limit": 7, "orderBy": "visitors asc", "filters": US},
        {"limit": 7, "sort_by": "visitors", "sort_order": "asc", "filters": US},
    ),
    (
        "events_by_date",
        "website_id",
        {"timeUnit": "hour"},
        {"granularity": "hourly", "timezone": "Europe/Berlin"},
    ),
    ("link_clicks_by_day", "link_id", {}, {}),
    ("uptime_time_series", "schedule_id", {"timeUnit": "hour"}, {"granularity": "hourly"}),
]


@pytest.mark.parametrize(("qtype", "id_key", "extra", "truth"), COMPILE_CASES)
def test_compiled_sql_returns_the_rows_of_the_query_api(
    client: httpx.Client,
    store: Store,
    demo_ids: dict[str, str],
    qtype: str,
    id_key: str,
    extra: dict[str, Any],
    truth: dict[str, Any],
) -> None:
    project = demo_ids[id_key]
    timezone = truth.get("timezone", "UTC")
    body = {"projectId": project, "type": qtype, "from": "2026-03-02", "to": "2026-03-08", **extra}
    r = compile_(client, body, website_id=demo_ids["website_id"], timezone=timezone)
    assert r.status_code == 200, r.text
    got = db_rows(store, r.json()["sql"])
    want = expected_rows(
        store, qtype, start_date="2026-03-02", end_date="2026-03-08", **{id_key: project}, **truth
    )
    assert want, "the case should have rows"
    assert norm_rows(got) == norm_rows(want)


def test_compile_offset_pages_like_page(
    client: httpx.Client, store: Store, demo_ids: dict[str, str]
) -> None:
    site = demo_ids["website_id"]
    body = {"projectId": site, "type": "top_pages", "from": "2026-03-01", "to": "2026-03-14"}
    r = compile_(client, {**body, "limit": 5, "offset": 10}, website_id=site)
    assert r.status_code == 200, r.text
    assert r.json()["sql"].endswith("LIMIT 5 OFFSET 10")
    want = expected_rows(
        store,
        "top_pages",
        website_id=site,
        start_date="2026-03-01",
        end_date="2026-03-14",
        limit=5,
        page=3,
    )
    assert len(want) == 5
    assert norm_rows(db_rows(store, r.json()["sql"])) == norm_rows(want)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"from": "31/02/2026"}, "Invalid parameter date range"),
        ({"orderBy": "name desc"}, "Ordering by 'name desc' is not permitted."),
        ({"filters": [{"field": "utm_term", "op": "eq", "value": "x"}]}, "not permitted"),
        ({"timeUnit": "hour", "from": "2026-01-01"}, "Hourly granularity only supports"),
    ],
)
def test_compile_errors(
    client: httpx.Client, demo_ids: dict[str, str], change: dict[str, Any], message: str
) -> None:
    site = demo_ids["website_id"]
    body = {"projectId": site, "type": "top_pages", "from": "2026-03-01", "to": "2026-03-07"}
    r = compile_(client, {**body, **change}, website_id=site)
    assert message in error(r, 400, "COMPILATION_ERROR")


@pytest.mark.parametrize(
    "change",
    [
        {"type": "summry"},
        {"type": "llm_time_series"},  # a removed type is no registered name
        {"projectId": None},
        {"timeUnit": "year"},
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"filters": [{"field": "path", "op": "like", "value": "/"}]},
    ],
)
def test_compile_schema_violations_are_422(
    anon: httpx.Client, demo_ids: dict[str, str], change: dict[str, Any]
) -> None:
    site = demo_ids["website_id"]
    body = {"projectId": site, "type": "top_pages", "from": "2026-03-01", "to": "2026-03-07"}
    r = compile_(anon, {**body, **change}, website_id=site)  # checked before the caller
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION"
    assert orjson.loads(r.json()["error"]) == {
        "type": "validation",
        "on": "body",
        "found": {**body, **change},
    }


def test_compile_bad_time_zone_and_bad_json(client: httpx.Client, demo_ids: dict[str, str]) -> None:
    site = demo_ids["website_id"]
    body = {"projectId": site, "type": "top_pages", "from": "2026-03-01", "to": "2026-03-07"}
    r = compile_(client, body, website_id=site, timezone="Mars/Olympus")
    assert "Cannot load time zone" in error(r, 400, "COMPILATION_ERROR")
    r = client.post("/v1/query/compile", params={"website_id": site}, content=b"{nope")
    assert (r.status_code, r.json()) == (400, PARSE_ERROR)


def test_compile_access(client: httpx.Client, anon: httpx.Client, demo_ids: dict[str, str]) -> None:
    site = demo_ids["website_id"]
    body = {"projectId": site, "type": "top_pages", "from": "2026-03-01", "to": "2026-03-07"}
    assert error(compile_(anon, body, website_id=site), 401, "AUTH_REQUIRED") == (
        "Authentication required"
    )
    track_only = {"x-api-key": fixtures.NO_READ_DATA_KEY}
    r = anon.post("/v1/query/compile", params={"website_id": site}, json=body, headers=track_only)
    error(r, 401, "AUTH_REQUIRED")
    other = compile_(client, body, website_id=demo_ids["other_org_website_id"])
    assert error(other, 403, "ACCESS_DENIED") == "Access denied to this website"
    r = anon.post(
        "/v1/query/compile",
        params={"website_id": site},
        json=body,
        headers={"x-api-key": fixtures.OTHER_ORG_KEY},
    )
    error(r, 403, "ACCESS_DENIED")
    # as on /v1/query: a public website anonymously, and a global key's organization fallback
    assert compile_(anon, body, website_id=demo_ids["public_website_id"]).status_code == 200
    assert compile_(client, body).status_code == 200


# ---------------------------------------------------------------- custom


def where(site: str, start: str, end: str, time_col: str = "time") -> str:
    return (
        f"client_id = '{site}' AND ingested_at <= TIMESTAMP '{NOW}' "
        f"AND {time_col} >= TIMESTAMP '{start}' AND {time_col} <= TIMESTAMP '{end}'"
    )


def query_body(table: str, selects: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    q = {"table": table, "selects": selects}
    q.update({k: extra.pop(k) for k in ("filters", "groupBy") if k in extra})
    return {"query": q, "startDate": "2026-03-01", "endDate": "2026-03-08", **extra}


def test_custom_count_without_group_by(
    client: httpx.Client, store: Store, demo_ids: dict[str, str]
) -> None:
    site = demo_ids["website_id"]
    r = custom(
        client, query_body("events", [{"field": "*", "aggregate": "count"}]), website_id=site
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"success", "data", "meta", "requestId"}
    assert body["success"] is True and REQUEST_ID.match(body["requestId"])
    assert body["meta"]["rowCount"] == 1 and isinstance(body["meta"]["executionTime"], int)
    want = db_rows(
        store,
        "SELECT count(*) AS count_all FROM events "
        f"WHERE {where(site, '2026-03-01 00:00:00', '2026-03-08 00:00:00')}",
    )
    assert body["data"] == want and want[0]["count_all"] > 1000


def test_custom_uniq_avg_grouped(
    client: httpx.Client, store: Store, demo_ids: dict[str, str]
) -> None:
    site = demo_ids["website_id"]
    selects = [
        {"field": "path", "aggregate": "uniq"},
        {"field": "load_time", "aggregate": "avg", "alias": "mean_load"},
        {"field": "*", "aggregate": "count"},
    ]
    r = custom(client, query_body("events", selects, groupBy=["country"]), website_id=site)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert list(data[0]) == ["country", "uniq_path", "mean_load", "count_all"]
    assert [row["uniq_path"] for row in data] == sorted(
        (row["uniq_path"] for row in data), reverse=True
    )
    want = db_rows(
        store,
        "SELECT country, count(DISTINCT path) AS uniq_path, avg(load_time) AS mean_load, "
        "count(*) AS count_all FROM events "
        f"WHERE {where(site, '2026-03-01 00:00:00', '2026-03-08 00:00:00')} GROUP BY country",
    )
    key = lambda row: row["country"]  # noqa: E731
    assert sorted(norm_rows(data), key=key) == sorted(norm_rows(want), key=key)
    assert len(data) > 3


def test_custom_range_is_read_in_the_time_zone_and_granularity_is_ignored(
    client: httpx.Client, store: Store, demo_ids: dict[str, str]
) -> None:
    site = demo_ids["website_id"]
    selects = [{"field": "*", "aggregate": "count"}, {"field": "city", "aggregate": "uniq"}]
    answers = []
    for granularity in (None, "daily", "hourly"):
        extra = {"granularity": granularity} if granularity else {}
        body = query_body("events", selects, timezone="America/New_York", **extra)
        r = custom(client, body, website_id=site)
        assert r.status_code == 200, r.text
        answers.append(r.json()["data"])
    # the range is read in New York time: 2026-03-01 00:00 EST .. 2026-03-08 00:00 EST (UTC-5),
    # and no granularity adds a time bucket (the API accepts it and does not use it)
    want = db_rows(
        store,
        "SELECT count(*) AS count_all, count(DISTINCT city) AS uniq_city FROM events "
        f"WHERE {where(site, '2026-03-01 05:00:00', '2026-03-08 05:00:00')}",
    )
    assert answers == [want, want, want]


def test_custom_grouped_and_filtered(
    client: httpx.Client, store: Store, demo_ids: dict[str, str]
) -> None:
    site = demo_ids["website_id"]
    body = query_body(
        "web_vitals_spans",
        [{"field": "metric_value", "aggregate": "avg"}, {"field": "*", "aggregate": "count"}],
        groupBy=["metric_name", "path"],
        filters=[
            {"field": "metric_name", "operator": "in", "value": ["LCP", "INP"]},
            {"field": "metric_value", "operator": "gt", "value": 100},
            {"field": "path", "operator": "starts_with", "value": "https://"},  # full URLs
        ],
        granularity="hourly",
        startDate="2026-03-03T00:00:00Z",
        endDate="2026-03-03T23:59:59Z",
    )
    r = custom(client, body, website_id=site)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    # each group field is put in front of the selects in turn: the last one comes first
    assert list(data[0]) == ["path", "metric_name", "avg_metric_value", "count_all"]
    values = [row["avg_metric_value"] for row in data]
    assert values == sorted(values, reverse=True)  # first select descending
    want = db_rows(
        store,
        "SELECT path, metric_name, avg(metric_value) AS avg_metric_value, count(*) AS count_all "
        "FROM web_vitals_spans "
        f"WHERE {where(site, '2026-03-03 00:00:00', '2026-03-03 23:59:59', 'timestamp')} "
        "AND metric_name IN ('LCP', 'INP') AND metric_value > 100 AND path LIKE 'https://%' "
        "GROUP BY 1, 2",
    )
    key = lambda row: (row["path"], row["metric_name"])  # noqa: E731
    assert sorted(norm_rows(data), key=key) == sorted(norm_rows(want), key=key)
    assert {row["metric_name"] for row in data} == {"LCP", "INP"}


def test_custom_aggregates_over_no_rows(client: httpx.Client, demo_ids: dict[str, str]) -> None:
    selects = [
        {"field": "metric_value", "aggregate": aggregate} for aggregate in ("sum", "min", "avg")
    ]
    body = query_body("web_vitals_spans", selects, startDate="2020-01-01", endDate="2020-01-02")
    r = custom(client, body, website_id=demo_ids["website_id"])
    assert r.json()["data"] == [
        {"sum_metric_value": 0, "min_metric_value": 0, "avg_metric_value": None}
    ]
    body = query_body(
        "events",
        [{"field": "load_time", "aggregate": "max"}],
        **{"startDate": "2020-01-01", "endDate": "2020-01-02"},
    )
    assert custom(client, body, website_id=demo_ids["website_id"]).json()["data"] == [
        {"max_load_time": None}
    ]


def test_custom_text_filters_and_other_tables(
    client: httpx.Client, store: Store, demo_ids: dict[str, str]
) -> None:
    site = demo_ids["website_id"]
    body = query_body(
        "outgoing_links",
        [
            {"field": "href", "aggregate": "uniq"},
            {"field": "*", "aggregate": "count", "alias": "n"},
        ],
        filters=[
            {"field": "href", "operator": "contains", "value": "acme"},
            {"field": "text", "operator": "ne", "value": "Status"},
        ],
    )
    r = custom(client, body, website_id=site)
    assert r.status_code == 200, r.text
    want = db_rows(
        store,
        "SELECT count(DISTINCT href) AS uniq_href, count(*) AS n FROM outgoing_links "
        f"WHERE {where(site, '2026-03-01 00:00:00', '2026-03-08 00:00:00', 'timestamp')} "
        "AND href LIKE '%acme%' AND text != 'Status'",
    )
    assert r.json()["data"] == want and want[0]["n"] > 0


def test_custom_sees_only_rows_ingested_by_now(
    client: httpx.Client, store: Store, demo_ids: dict[str, str]
) -> None:
    site = demo_ids["website_id"]
    body = query_body(
        "events",
        [{"field": "*", "aggregate": "count"}],
        startDate="2026-03-13",
        endDate="2026-03-20",
    )
    r = custom(client, body, website_id=site)
    assert r.status_code == 200, r.text
    span = "time >= TIMESTAMP '2026-03-13 00:00:00' AND time <= TIMESTAMP '2026-03-20 00:00:00'"
    visible, everything = db_rows(
        store,
        f"SELECT count(*) FILTER (WHERE ingested_at <= TIMESTAMP '{NOW}') AS v, count(*) AS a "
        f"FROM events WHERE client_id = '{site}' AND {span}",
    )[0].values()
    assert r.json()["data"] == [{"count_all": visible}]
    assert everything > visible  # late and future rows exist, and are hidden


GROUPS = ["path", "city", "referrer", "browser_name", "os_name"]


def test_custom_limit_is_clamped(
    client: httpx.Client, store: Store, demo_ids: dict[str, str]
) -> None:
    site = demo_ids["website_id"]

    def rows(limit: int | None) -> int:
        extra = {} if limit is None else {"limit": limit}
        body = query_body(
            "events",
            [{"field": "*", "aggregate": "count"}],
            groupBy=GROUPS,
            startDate="2026-01-01",
            endDate="2026-03-16",
            **extra,
        )
        r = custom(client, body, website_id=site)
        assert r.status_code == 200, r.text
        assert r.json()["meta"]["rowCount"] == len(r.json()["data"])
        return len(r.json()["data"])

    groups = db_rows(
        store,
        f"SELECT count(*) AS n FROM (SELECT DISTINCT {', '.join(GROUPS)} FROM events "
        f"WHERE {where(site, '2026-01-01 00:00:00', '2026-03-16 00:00:00')})",
    )[0]["n"]
    assert groups > 10_000
    assert rows(3) == 3
    assert rows(-5) == 1
    assert rows(None) == rows(0) == 1000
    assert rows(50_000) == 10_000


def test_custom_missing_website_id(client: httpx.Client) -> None:
    r = custom(client, query_body("events", [{"field": "*", "aggregate": "count"}]))
    assert error(r, 400, "MISSING_WEBSITE_ID") == "website_id is required"


def sel(field: str, aggregate: str, **alias: str) -> dict[str, Any]:
    return {"selects": [{"field": field, "aggregate": aggregate, **alias}]}


def flt(field: str, operator: str, value: Any) -> dict[str, Any]:
    return {"filters": [{"field": field, "operator": operator, "value": value}]}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"table": "users"}, "Invalid table 'users'. Valid tables: events, error_spans"),
        ({"table": "custom_events"}, "Invalid table 'custom_events'"),
        (sel("anonymous_id", "uniq"), "Invalid select column 'anonymous_id' for table 'events'"),
        (sel("path; DROP TABLE events", "count"), "Invalid select column"),
        (sel("path", "sum"), "Column 'path' cannot be used with aggregate \"sum\""),
        (sel("*", "avg"), 'Aggregate "avg" requires a specific column'),
        (sel("*", "count", alias="x y"), "Invalid alias 'x y'"),
        ({"selects": []}, "'query.selects' must be an array of 1 to 10 items"),
        (flt("session_id", "eq", "s"), "Invalid filter column 'session_id'"),
        ({"groupBy": ["client_id"]}, "Invalid GROUP BY column 'client_id'"),
    ],
)
def test_custom_query_errors(
    client: httpx.Client, demo_ids: dict[str, str], query: dict[str, Any], message: str
) -> None:
    q = {"table": "events", "selects": [{"field": "*", "aggregate": "count"}], **query}
    body = {"query": q, "startDate": "2026-03-01", "endDate": "2026-03-08"}
    r = custom(client, body, website_id=demo_ids["website_id"])
    assert error(r, 400, "QUERY_ERROR") == INVALID
    assert message in r.headers["x-emulator-detail"]


INVALID = "Invalid query configuration. Please check your query parameters."
FAILED = "Query execution failed. Please try again or contact support."


def test_custom_database_errors(client: httpx.Client, demo_ids: dict[str, str]) -> None:
    site = demo_ids["website_id"]
    count = {"field": "*", "aggregate": "count"}
    for body, message in [
        (query_body("events", [count], **flt("load_time", "gte", "fast")), "needs a number"),
        (query_body("events", [count], **flt("load_time", "contains", "5")), "needs a text column"),
        (
            query_body("events", [{**count, "alias": "country"}], groupBy=["country"]),
            "also an aggregate's alias",
        ),
    ]:
        r = custom(client, body, website_id=site)
        assert error(r, 400, "QUERY_ERROR") == FAILED
        assert message in r.headers["x-emulator-detail"]


def test_custom_compares_text_as_text(
    client: httpx.Client, store: Store, demo_ids: dict[str, str]
) -> None:
    site = demo_ids["website_id"]
    body = query_body("events", [{"field": "*", "aggregate": "count"}], **flt("path", "gt", "/p"))
    r = custom(client, body, website_id=site)
    want = db_rows(
        store,
        "SELECT count(*) AS count_all FROM events "
        f"WHERE {where(site, '2026-03-01 00:00:00', '2026-03-08 00:00:00')} AND path > '/p'",
    )
    assert r.json()["data"] == want and want[0]["count_all"] > 0


def test_custom_body_errors(client: httpx.Client, demo_ids: dict[str, str]) -> None:
    site = demo_ids["website_id"]
    base = query_body("events", [{"field": "*", "aggregate": "count"}])
    for change, message in [
        ({"startDate": "soon"}, "Invalid date: soon"),
        ({"timezone": "Mars/Olympus"}, "Invalid timezone"),
    ]:
        r = custom(client, {**base, **change}, website_id=site)
        assert error(r, 400, "QUERY_ERROR") == FAILED
        assert message in r.headers["x-emulator-detail"]
    r = client.post("/v1/query/custom", params={"website_id": site}, content=b"[")
    assert (r.status_code, r.json()) == (400, PARSE_ERROR)


@pytest.mark.parametrize(
    "change",
    [
        {"query": {"table": "events", "selects": [{"field": "*", "aggregate": "median"}]}},
        {
            "query": {
                "table": "events",
                "selects": [{"field": "*", "aggregate": "count"}],
                "filters": [{"field": "path", "operator": "like", "value": "/"}],
            }
        },
        {"query": {"table": 3, "selects": []}},
        {"granularity": "weekly"},
        {"limit": "10"},
        {"timezone": None},
        {"startDate": 20260301},
    ],
)
def test_custom_body_shape_is_checked_first(
    client: httpx.Client, anon: httpx.Client, change: dict[str, Any]
) -> None:
    body = {**query_body("events", [{"field": "*", "aggregate": "count"}]), **change}
    for caller in (client, anon):  # before credentials, website_id and the rate limit
        r = caller.post("/v1/query/custom", json=body)
        assert r.status_code == 422, r.text
        answer = r.json()
        assert set(answer) == {"success", "error", "code"} and answer["code"] == "VALIDATION"
        assert orjson.loads(answer["error"]) == {"type": "validation", "on": "body", "found": body}


def test_custom_access(client: httpx.Client, anon: httpx.Client, demo_ids: dict[str, str]) -> None:
    body = query_body("events", [{"field": "*", "aggregate": "count"}])
    r = custom(anon, body, website_id=demo_ids["website_id"])
    assert error(r, 401, "AUTH_REQUIRED") == "Authentication required"
    r = custom(client, body, website_id=demo_ids["other_org_website_id"])
    assert error(r, 403, "ACCESS_DENIED") == "Access denied to this website"
    store_only = {"x-api-key": fixtures.WEBSITE_SCOPED_KEY}
    r = anon.post(
        "/v1/query/custom",
        params={"website_id": demo_ids["docs_website_id"]},
        json=body,
        headers=store_only,
    )
    error(r, 403, "ACCESS_DENIED")
    r = anon.post(
        "/v1/query/custom",
        params={"website_id": demo_ids["website_id"]},
        json=body,
        headers=store_only,
    )
    assert r.status_code == 200, r.text
    # a custom query names no query type, so a public website is no open door for it
    r = custom(anon, body, website_id=demo_ids["public_website_id"])
    assert error(r, 401, "AUTH_REQUIRED") == "Authentication required"


# ---------------------------------------------------------------- rate limits


@pytest.mark.parametrize(
    ("base", "compile_limit", "custom_limit"),
    [(120, 300, 60), (4, 10, 2), (3, 8, 2), (1, 3, 1), (10, 25, 5)],
)
def test_budgets_scale_with_the_config(
    small_config: EmulatorConfig, base: int, compile_limit: int, custom_limit: int
) -> None:
    config = replace(small_config, rate_limit=base, rate_window_seconds=7.0, rate_limit_mode="docs")
    for make, limit in (
        (query_compile.limiter, compile_limit),
        (query_custom.limiter, custom_limit),
    ):
        limiter = make(config)
        assert (limiter.limit, limiter.window, limiter.mode) == (limit, 7.0, "docs")


# /v1/query 4, compile 10 and custom 2 requests per 30 s.
limited = emulator_fixture(scope="module", rate_limit=4, rate_window_seconds=30)


@pytest.fixture()
def fresh(limited: EmulatorServer) -> Iterator[httpx.Client]:
    emulator = limited.emulator
    for limiter in (emulator.limiter, emulator.compile_limiter, emulator.custom_limiter):
        limiter.configure()  # same limits, empty windows
    headers = {"x-api-key": emulator.config.api_key}
    with httpx.Client(base_url=limited.url, headers=headers, timeout=60) as c:
        yield c


def _site(srv: EmulatorServer, public: bool = False) -> str:
    reg = srv.emulator.store.registry
    return str(next(w["id"] for w in reg.websites_of(reg.demo_org_id) if w["isPublic"] == public))


def _rate_limited(r: httpx.Response, limit: int) -> None:
    assert error(r, 429, "RATE_LIMITED") == "Rate limit exceeded"
    assert r.headers["x-ratelimit-limit"] == str(limit)
    assert r.headers["x-ratelimit-remaining"] == "0"
    assert int(r.headers["x-ratelimit-reset"]) > 10**12  # epoch milliseconds


def test_compile_rate_limit(fresh: httpx.Client, limited: EmulatorServer) -> None:
    site = _site(limited)
    body = {"projectId": site, "type": "top_pages", "from": "2026-03-01", "to": "2026-03-07"}
    assert [compile_(fresh, body, website_id=site).status_code for _ in range(10)] == [200] * 10
    _rate_limited(compile_(fresh, body, website_id=site), 10)
    # the other endpoints keep their own budgets
    q = fresh.post(
        "/v1/query",
        params={"website_id": site},
        json={"parameters": ["summary_metrics"], "preset": "today"},
    )
    assert q.status_code == 200, q.text
    assert (
        custom(
            fresh, query_body("events", [{"field": "*", "aggregate": "count"}]), website_id=site
        ).status_code
        == 200
    )


def test_custom_rate_limit(fresh: httpx.Client, limited: EmulatorServer) -> None:
    site = _site(limited)
    body = query_body("events", [{"field": "*", "aggregate": "count"}])
    assert [custom(fresh, body, website_id=site).status_code for _ in range(2)] == [200, 200]
    _rate_limited(custom(fresh, body, website_id=site), 2)
    _rate_limited(custom(fresh, body), 2)  # the limit is checked before the website id
    compiled = {"projectId": site, "type": "top_pages", "from": "2026-03-01", "to": "2026-03-07"}
    assert compile_(fresh, compiled, website_id=site).status_code == 200


def test_anonymous_public_calls_share_the_lower_limit(
    fresh: httpx.Client, limited: EmulatorServer
) -> None:
    """Anonymous callers are limited per client IP to the endpoint's limit, at most 60."""
    public = _site(limited, public=True)
    compiled = {"projectId": public, "type": "top_pages", "from": "2026-03-01", "to": "2026-03-07"}
    with httpx.Client(base_url=limited.url, timeout=60) as anon:
        codes = [compile_(anon, compiled, website_id=public).status_code for _ in range(10)]
        assert codes == [200] * 10
        _rate_limited(compile_(anon, compiled, website_id=public), 10)
