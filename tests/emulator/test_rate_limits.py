"""Rate limits of POST /v1/query: the API's code behaviour (keyed and anonymous callers) and the
public docs' behaviour (docs/api-notes.md, "Rate limits")."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import httpx
import pytest
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.pytest_plugin import emulator_fixture
from databuddy_emulator.server import EmulatorServer

BODY = {"parameters": ["summary_metrics"], "preset": "yesterday"}


limited = emulator_fixture(scope="module", rate_limit=3, rate_window_seconds=1.5)


def _client(srv: EmulatorServer) -> httpx.Client:
    return httpx.Client(base_url=srv.url, headers={"x-api-key": srv.emulator.config.api_key})


def _site(srv: EmulatorServer) -> str:
    reg = srv.emulator.store.registry
    return str(reg.websites_of(reg.demo_org_id)[0]["id"])


def _send(c: httpx.Client, srv: EmulatorServer, body: Any = BODY, **extra: str) -> httpx.Response:
    return c.post("/v1/query", params={"website_id": _site(srv), **extra}, json=body)


def test_code_mode(limited: EmulatorServer) -> None:
    limited.emulator.limiter.configure(3, 1.5, "code")
    with _client(limited) as c:
        ok = [_send(c, limited) for _ in range(3)]
        assert all(r.status_code == 200 for r in ok)
        assert not any(k.lower().startswith("x-ratelimit") for k in ok[0].headers)
        before = time.time() * 1000
        r = _send(c, limited)
    assert r.status_code == 429
    assert r.json()["code"] == "RATE_LIMITED" and r.json()["error"] == "Rate limit exceeded"
    assert r.json()["requestId"].startswith("req_")
    assert r.headers["x-ratelimit-limit"] == "3"
    assert r.headers["x-ratelimit-remaining"] == "0"
    reset = int(r.headers["x-ratelimit-reset"])
    assert reset > 10**12, "reset is in epoch milliseconds"
    assert before + 1500 - 50 <= reset <= time.time() * 1000 + 1500 + 50
    assert "retry-after" not in r.headers


@pytest.mark.parametrize(
    ("record_rejected", "after"), [(False, [200] * 3), (True, [200, 200, 429])]
)
def test_rejected_attempts_are_not_counted(
    limited: EmulatorServer, record_rejected: bool, after: list[int]
) -> None:
    """A rejected attempt does not extend the lock-out (the 2026-04 API counted it)."""
    limiter = limited.emulator.limiter
    limiter.configure(3, 1.5, "code")
    limiter.record_rejected = record_rejected
    try:
        with _client(limited) as c:
            for _ in range(3):
                _send(c, limited)
            time.sleep(0.8)
            assert _send(c, limited).status_code == 429  # at t=0.8
            time.sleep(0.85)  # the first three left the window
            statuses = [_send(c, limited).status_code for _ in range(3)]
        assert statuses == after
    finally:
        limiter.record_rejected = False


def test_batch_counts_once(limited: EmulatorServer) -> None:
    limited.emulator.limiter.configure(3, 1.5, "code")
    with _client(limited) as c:
        r = _send(c, limited, [BODY] * 10)
        assert r.status_code == 200 and len(r.json()["results"]) == 10
        assert [_send(c, limited).status_code for _ in range(3)] == [200, 200, 429]


def _public(srv: EmulatorServer) -> str:
    reg = srv.emulator.store.registry
    return str(next(w["id"] for w in reg.websites_of(reg.demo_org_id) if w["isPublic"]))


def _anonymous(c: httpx.Client, srv: EmulatorServer, **headers: str) -> httpx.Response:
    """A keyless query of the public website; ``x_real_ip=...`` sends ``x-real-ip: ...``."""
    sent = {name.replace("_", "-"): value for name, value in headers.items()}
    return c.post("/v1/query", params={"website_id": _public(srv)}, json=BODY, headers=sent)


def test_anonymous_callers_get_60_a_minute_per_client_ip(limited: EmulatorServer) -> None:
    limited.emulator.limiter.configure(120, 30, "code")
    try:
        with httpx.Client(base_url=limited.url) as c:
            first = [
                _anonymous(c, limited, x_forwarded_for="203.0.113.9, 10.0.0.1") for _ in range(60)
            ]
            assert {r.status_code for r in first} == {200}
            r = _anonymous(c, limited, x_forwarded_for="203.0.113.9")
            assert r.status_code == 429 and r.json()["code"] == "RATE_LIMITED"
            assert r.headers["x-ratelimit-limit"] == "60"
            assert r.headers["x-ratelimit-remaining"] == "0"
            # cf-connecting-ip wins over x-forwarded-for; x-real-ip is the last resort
            other = _anonymous(
                c, limited, cf_connecting_ip="198.51.100.1", x_forwarded_for="203.0.113.9"
            )
            assert other.status_code == 200
            assert _anonymous(c, limited, x_real_ip="198.51.100.2").status_code == 200
            assert _anonymous(c, limited, x_real_ip="203.0.113.9").status_code == 429
            with _client(limited) as keyed:  # keyed callers have their own budget
                assert _send(keyed, limited).status_code == 200
    finally:
        limited.emulator.limiter.configure(3, 1.5, "code")


def test_anonymous_limit_is_the_lower_of_60_and_the_endpoint_limit(
    limited: EmulatorServer,
) -> None:
    limited.emulator.limiter.configure(3, 1.5, "code")
    with httpx.Client(base_url=limited.url) as c:
        codes = [_anonymous(c, limited).status_code for _ in range(4)]  # the "unknown" bucket
    assert codes == [200, 200, 200, 429]


def test_anonymous_callers_were_not_limited_before_2026_05(small_config: EmulatorConfig) -> None:
    config = replace(small_config, rate_limit=3, rate_window_seconds=30, api_version="2026-04")
    with EmulatorServer(config) as srv, httpx.Client(base_url=srv.url) as c:
        assert {_anonymous(c, srv).status_code for _ in range(6)} == {200}


def test_docs_mode(limited: EmulatorServer) -> None:
    limited.emulator.limiter.configure(3, 1.5, "docs")
    try:
        with _client(limited) as c:
            first = _send(c, limited)
            assert first.headers["x-ratelimit-limit"] == "3"
            assert first.headers["x-ratelimit-remaining"] == "2"
            reset = int(first.headers["x-ratelimit-reset"])
            assert 10**9 < reset < 10**11, "reset is in epoch seconds"
            _send(c, limited)
            _send(c, limited)
            r = _send(c, limited)
        assert r.status_code == 429
        body = r.json()
        assert body["code"] == "RATE_LIMIT_EXCEEDED"
        assert body["error"] == "Rate limit exceeded. Please try again later."
        assert body["limit"] == 3 and body["remaining"] == 0
        assert int(r.headers["retry-after"]) == body["retryAfter"] >= 1
        assert body["reset"].endswith("Z")
    finally:
        limited.emulator.limiter.configure(3, 1.5, "code")


def test_admin_reconfigures_the_limit(limited: EmulatorServer) -> None:
    with httpx.Client(base_url=limited.url) as admin:
        r = admin.post("/__emulator__/rate-limit", json={"limit": 2, "window_seconds": 1.0})
        assert r.json()["limit"] == 2
    with _client(limited) as c:
        assert [_send(c, limited).status_code for _ in range(3)] == [200, 200, 429]
    limited.emulator.limiter.configure(3, 1.5, "code")


def test_off_mode_neither_limits_nor_advertises_a_limit(limited: EmulatorServer) -> None:
    """With the limit off nothing is counted down: headers promising "0 remaining" would make a
    well-behaved client wait for a limit that does not exist."""
    limited.emulator.limiter.configure(mode="off")
    try:
        with _client(limited) as c:
            answers = [_send(c, limited) for _ in range(6)]
        assert [r.status_code for r in answers] == [200] * 6
        assert not any(k.lower().startswith("x-ratelimit") for r in answers for k in r.headers)
    finally:
        limited.emulator.limiter.configure(3, 1.5, "code")
