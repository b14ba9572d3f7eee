"""A host that is not there fails at once (retries are for answers that fail); once the API has
answered, a lost connection is retried as before. And the rate limiter tells how long requests
wait, for the progress display."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.server import EmulatorServer

from databuddy_source import Databuddy, RateLimiter, RetriableError, RetryPolicy, UnreachableError

from .conftest import FakeTime


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_on_the_first_request_is_not_retried(fake_time: FakeTime) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    client = Databuddy("dbdy_" + "a" * 48, base_url=url, sleep=fake_time.sleep)
    with client, pytest.raises(UnreachableError) as caught:
        client.query.websites()
    assert fake_time.sleeps == [], "no retry, no wait"
    assert caught.value.url == url
    assert f"cannot connect to {url} (connection refused" in str(caught.value)
    assert client.stats.snapshot()["retries"] == 0


def test_a_host_name_that_does_not_resolve_is_not_retried(fake_time: FakeTime) -> None:
    url = "https://databuddy-api.invalid"  # .invalid never resolves (RFC 2606)
    client = Databuddy("dbdy_" + "a" * 48, base_url=url, sleep=fake_time.sleep)
    with client, pytest.raises(UnreachableError, match="the host name"):
        client.query.websites()
    assert fake_time.sleeps == []


def test_once_the_api_answered_a_lost_connection_is_retried(
    small_config: EmulatorConfig, fake_time: FakeTime
) -> None:
    with EmulatorServer(replace(small_config, rate_limit=1_000_000)) as srv:
        client = Databuddy(
            srv.emulator.config.api_key,
            base_url=srv.url,
            retry=RetryPolicy(max_attempts=3, jitter=0),
            sleep=fake_time.sleep,
        )
        assert client.query.websites()  # the API answered this client
    with client, pytest.raises(RetriableError, match="connection failed"):
        client.query.websites()  # the server is gone now: a transient failure, retried
    assert fake_time.sleeps == [1.0, 2.0]


def test_the_limiter_says_how_long_requests_wait(fake_time: FakeTime) -> None:
    limiter = RateLimiter(limit=1, window=10.0, clock=fake_time.monotonic)
    seen: list[float] = []

    def sleep(seconds: float) -> None:  # what a progress display reads during the wait
        seen.append(limiter.waiting())
        fake_time.sleep(seconds)

    limiter.sleep = sleep
    assert limiter.waiting() == 0.0
    limiter.acquire()
    limiter.release()
    assert limiter.waiting() == 0.0, "nobody waits: nothing to show"
    limiter.acquire()  # the second request waits for the first one's window to pass
    assert seen == [10.0]
    limiter.release()
    fake_time.sleep(10.0)  # the window is free again
    limiter.block_for(7.0)  # a 429 said to wait
    assert limiter.waiting() == 7.0
