"""The benchmark-only result cache: byte-identical answers, cleared by anything that changes one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.server import EmulatorServer

BODY = {
    "parameters": [
        "top_pages",
        "country",
        {"name": "top_pages", "id": "w", "start_date": "2026-03-01"},
    ],
    "startDate": "2026-03-10",
    "endDate": "2026-03-12",
    "limit": 50,
    "page": 2,
}


def _answers(config: EmulatorConfig, site: str, times: int) -> list[dict[str, Any]]:
    out = []
    with EmulatorServer(config) as srv, httpx.Client(base_url=srv.url) as http:
        for _ in range(times):
            r = http.post(
                f"/v1/query?website_id={site}", json=BODY, headers={"x-api-key": config.api_key}
            )
            body = orjson.loads(r.content)
            assert body.pop("requestId").startswith("req_")  # still new for every request
            out.append(body)
    return out


def test_cached_answers_equal_computed_ones(
    small_config: EmulatorConfig, demo_ids: dict[str, str]
) -> None:
    plain = _answers(small_config, demo_ids["website_id"], 1)[0]
    cached = _answers(replace(small_config, result_cache=True), demo_ids["website_id"], 3)
    assert plain["data"][0]["data"], "the answer must hold rows"
    assert all(a == plain for a in cached)


def test_the_cache_needs_a_frozen_clock(small_config: EmulatorConfig) -> None:
    with pytest.raises(ValueError, match="frozen"):
        replace(small_config, frozen=False, result_cache=True)


def test_moving_the_clock_or_an_rpc_change_clears_it(
    small_config: EmulatorConfig, demo_ids: dict[str, str]
) -> None:
    config = replace(small_config, result_cache=True)
    with EmulatorServer(config) as srv, httpx.Client(base_url=srv.url) as http:
        cache = srv.emulator.store.results
        assert cache is not None
        url = f"/v1/query?website_id={demo_ids['website_id']}"
        headers = {"x-api-key": config.api_key}
        http.post(url, json=BODY, headers=headers)
        http.post(url, json=BODY, headers=headers)
        assert (cache.hits, cache.misses) == (3, 3)
        http.post("/__emulator__/clock", json={"advance_seconds": 3600})
        http.post(url, json=BODY, headers=headers)
        assert cache.misses == 6
        assert http.post("/rpc/websites/list", json={}, headers=headers).status_code == 200
        http.post(url, json=BODY, headers=headers)
        assert cache.misses == 6, "a read leaves it"
        rename = {"id": demo_ids["docs_website_id"], "name": "Renamed"}
        assert (
            http.post("/rpc/websites/update", json={"json": rename}, headers=headers).status_code
            == 200
        )
        http.post(url, json=BODY, headers=headers)
        assert cache.misses == 9
