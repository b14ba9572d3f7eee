"""The retry policy and the rate limiter, against scripted faults (sleep is injected: no test
really waits for a backoff)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.server import EmulatorServer
from databuddy_emulator.truth import expected_rows

from databuddy_source import (
    Databuddy,
    RateLimitedError,
    RetriableError,
    RetryPolicy,
    ValidationError,
)
from databuddy_source.fetching import fetch_slices
from databuddy_source.slices import Slice, SliceOptions

from .conftest import FakeTime, add_fault, served

BODY: dict[str, Any] = {"parameters": ["summary_metrics"], "preset": "yesterday"}


def run(client: Databuddy, site: str) -> Any:
    return client.query.execute(website_id=site, **BODY)


def test_5xx_burst_backs_off_exponentially(
    client: Databuddy, emulator: EmulatorServer, site: str, fake_time: FakeTime
) -> None:
    add_fault(emulator, kind="status", route="/v1/query", status=503, count=2)
    add_fault(emulator, kind="status", route="/v1/query", status=500, count=1)
    add_fault(emulator, kind="status", route="/v1/query", status=502, count=1)
    assert run(client, site)["summary_metrics"]
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert served(emulator) == {"503": 2, "500": 1, "502": 1, "200": 1}
    assert client.stats.snapshot() == {"requests": 5, "retries": 4, "rate_limited": 0}


def real_clock_client(srv: EmulatorServer, fake_time: FakeTime, **kw: Any) -> Databuddy:
    """Waits computed against the real wall clock (the server's resets are real times), while
    sleeps are only recorded."""
    return Databuddy(
        srv.emulator.config.api_key,
        base_url=srv.url,
        sleep=fake_time.sleep,
        clock=time.time,
        monotonic=fake_time.monotonic,
        **kw,
    )


def test_429_storm_waits_for_the_reset_in_milliseconds(
    emulator: EmulatorServer, site: str, fake_time: FakeTime
) -> None:
    add_fault(emulator, kind="rate_limit", route="/v1/query", count=3)
    with real_clock_client(emulator, fake_time, retry=RetryPolicy(jitter=0)) as c:
        assert run(c, site)["summary_metrics"]
        assert c.stats.snapshot()["rate_limited"] == 3
    # X-RateLimit-Reset = server time + 60 s, in epoch milliseconds: each wait is 60 s
    waits = [s for s in fake_time.sleeps if s > 0.01]  # (the limiter may pace a millisecond)
    assert len(waits) == 3
    assert all(59.8 <= s <= 60.0 for s in waits), fake_time.sleeps


def test_retry_after_seconds_and_http_date(
    client: Databuddy, emulator: EmulatorServer, site: str, fake_time: FakeTime
) -> None:
    add_fault(
        emulator,
        kind="status",
        route="/v1/query",
        status=429,
        count=1,
        body='{"success":false,"error":"Rate limit exceeded","code":"RATE_LIMITED"}',
        headers={"Retry-After": "7"},
    )
    when = datetime.fromtimestamp(fake_time.wall, UTC).replace(microsecond=0) + timedelta(
        seconds=30
    )
    add_fault(
        emulator,
        kind="status",
        route="/v1/query",
        status=429,
        count=1,
        body='{"success":false,"error":"Rate limit exceeded","code":"RATE_LIMITED"}',
        headers={"Retry-After": format_datetime(when, usegmt=True)},
    )
    fake_time.wall = when.timestamp() - 30  # an HTTP date has whole seconds
    assert run(client, site)["summary_metrics"]
    assert fake_time.sleeps == [7.0, 23.0]  # 30 s after the clock, minus the 7 s already waited


def test_reset_in_epoch_seconds(
    client: Databuddy, emulator: EmulatorServer, site: str, fake_time: FakeTime
) -> None:
    fake_time.wall = 1_800_000_000.0
    add_fault(
        emulator,
        kind="status",
        route="/v1/query",
        status=429,
        count=1,
        body='{"success":false,"error":"Rate limit exceeded","code":"RATE_LIMITED"}',
        headers={"X-RateLimit-Reset": "1800000012", "X-RateLimit-Remaining": "0"},
    )
    assert run(client, site)["summary_metrics"]
    assert fake_time.sleeps == [12.0]


def test_docs_mode_429_body_and_retry_after(small_config: EmulatorConfig, site: str) -> None:
    with EmulatorServer(
        replace(small_config, rate_limit=2, rate_window_seconds=1.0, rate_limit_mode="docs")
    ) as srv:
        slept: list[float] = []

        def sleep(s: float) -> None:
            slept.append(s)
            time.sleep(s)

        with Databuddy(
            srv.emulator.config.api_key, base_url=srv.url, rate_limit=1000, sleep=sleep
        ) as c:
            for _ in range(4):  # the client thinks it has 1000/min: the server corrects it
                c.query.execute(website_id=site, **BODY)
        assert served(srv).get("429", 0) <= 1
        assert c.stats.snapshot()["requests"] == 4 + served(srv).get("429", 0)


def test_auth_and_validation_are_never_retried(
    client: Databuddy, emulator: EmulatorServer, site: str, fake_time: FakeTime
) -> None:
    with pytest.raises(ValidationError):
        client.query.execute(website_id=site, parameters=["nope"], preset="today")
    add_fault(
        emulator,
        kind="status",
        route="/v1/query",
        status=401,
        count=1,
        body='{"success":false,"error":"Authentication required","code":"AUTH_REQUIRED",'
        '"requestId":"req_0000000000000001"}',
    )
    with pytest.raises(Exception, match="req_0000000000000001"):
        run(client, site)
    assert fake_time.sleeps == []
    assert sum(served(emulator).values()) == 2


def test_attempts_are_bounded(emulator: EmulatorServer, site: str, fake_time: FakeTime) -> None:
    add_fault(emulator, kind="status", route="/v1/query", status=503)
    with (
        Databuddy(
            emulator.emulator.config.api_key,
            base_url=emulator.url,
            retry=RetryPolicy(max_attempts=4, jitter=0),
            sleep=fake_time.sleep,
            clock=fake_time.time,
            monotonic=fake_time.monotonic,
        ) as c,
        pytest.raises(RetriableError, match="HTTP 503"),
    ):
        run(c, site)
    assert fake_time.sleeps == [1.0, 2.0, 4.0]


def test_total_delay_is_bounded(emulator: EmulatorServer, site: str, fake_time: FakeTime) -> None:
    add_fault(emulator, kind="rate_limit", route="/v1/query")
    with (
        real_clock_client(
            emulator, fake_time, retry=RetryPolicy(max_attempts=100, max_delay=150, jitter=0)
        ) as c,
        pytest.raises(RateLimitedError),
    ):
        run(c, site)
    assert len(fake_time.sleeps) == 2 and sum(fake_time.sleeps) <= 150  # a third 60 s wait
    # would pass 150 s in all


@pytest.mark.parametrize("kind", ["malformed", "truncate", "drop"])
def test_broken_bodies_and_connections_are_retried(
    client: Databuddy, emulator: EmulatorServer, site: str, fake_time: FakeTime, kind: str
) -> None:
    add_fault(emulator, kind=kind, route="/v1/query", count=1)
    assert run(client, site)["summary_metrics"]
    assert fake_time.sleeps == [1.0]


def test_timeouts_are_retried(emulator: EmulatorServer, site: str, fake_time: FakeTime) -> None:
    add_fault(emulator, kind="delay", route="/v1/query", seconds=1.5, count=1)
    with Databuddy(
        emulator.emulator.config.api_key,
        base_url=emulator.url,
        retry=RetryPolicy(jitter=0),
        timeout=0.5,
        sleep=fake_time.sleep,
        clock=fake_time.time,
        monotonic=fake_time.monotonic,
    ) as c:
        assert run(c, site)["summary_metrics"]
    assert fake_time.sleeps == [1.0]
    deadline = time.monotonic() + 5  # let the abandoned request finish before the next test
    while "499" not in served(emulator) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served(emulator) == {"200": 1, "499": 1}


def test_each_retry_logged_once_with_request_id(
    client: Databuddy, emulator: EmulatorServer, site: str, caplog: pytest.LogCaptureFixture
) -> None:
    add_fault(emulator, kind="rate_limit", route="/v1/query", count=2)
    run(client, site)
    lines = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(lines) == 2 and all("requestId req_" in line for line in lines)


def test_packed_slices_map_back(client: Databuddy, emulator: EmulatorServer, site: str) -> None:
    days = [f"2026-03-{d:02d}" for d in range(1, 11)]
    slices = [
        Slice(name, day, day, f"{name}:{day}")
        for day in days
        for name in ("top_pages", "country", "events_by_date")
    ]
    options = SliceOptions(website_id=site, limit=1000)
    outcomes = list(fetch_slices(client.query, slices, options, parameters_per_request=12))
    assert [o.slice for o in outcomes] == slices
    assert served(emulator) == {"200": 3}  # 30 slices, 12 per request
    store = emulator.emulator.store
    for o in outcomes:
        assert o.error is None
        assert o.rows == expected_rows(
            store,
            o.slice.name,
            website_id=site,
            start_date=o.slice.start_date,
            end_date=o.slice.end_date,
            limit=1000,
        )


def test_failing_packed_request_is_split(
    client: Databuddy, emulator: EmulatorServer, site: str
) -> None:
    slices = [
        Slice("top_pages", f"2026-03-{d:02d}", f"2026-03-{d:02d}", f"d{d}") for d in range(1, 9)
    ]
    add_fault(emulator, kind="status", route="/v1/query", status=504, count=3)
    outcomes = list(fetch_slices(client.query, slices, SliceOptions(website_id=site)))
    assert [o.slice for o in outcomes] == slices and all(o.error is None for o in outcomes)
    assert served(emulator) == {"504": 3, "200": 2}


def test_transient_failed_parameter_is_fetched_again(
    client: Databuddy, emulator: EmulatorServer, site: str
) -> None:
    slices = [
        Slice("top_pages", "2026-03-01", "2026-03-01", "a"),
        Slice("country", "2026-03-01", "2026-03-01", "b"),
    ]
    add_fault(
        emulator,
        kind="failed_parameter",
        route="/v1/query",
        parameter="b",
        count=1,
        message="Code: 159. Timeout exceeded: elapsed 30.1 seconds",
    )
    outcomes = {
        o.slice.id: o for o in fetch_slices(client.query, slices, SliceOptions(website_id=site))
    }
    assert outcomes["a"].error is None and outcomes["b"].error is None and outcomes["b"].rows
    assert served(emulator) == {"200": 2}


def test_proactive_limiter_avoids_429_across_threads(
    small_config: EmulatorConfig, site: str
) -> None:
    with EmulatorServer(replace(small_config, rate_limit=5, rate_window_seconds=1.0)) as srv:
        errors: list[BaseException] = []

        def worker(c: Databuddy) -> None:
            try:
                for _ in range(5):
                    c.query.execute(website_id=site, **BODY)
            except BaseException as exc:
                errors.append(exc)

        with Databuddy(
            srv.emulator.config.api_key,
            base_url=srv.url,
            rate_limit=5,
            rate_window=1.0,
            retry=RetryPolicy(max_attempts=1),
        ) as c:
            began = time.monotonic()
            threads = [threading.Thread(target=worker, args=(c,)) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - began
        assert not errors, errors
        assert served(srv) == {"200": 15}
        assert elapsed >= 2.0  # 15 requests at 5 per second need two full windows
