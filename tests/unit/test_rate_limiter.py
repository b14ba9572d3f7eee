"""The proactive rate limiter: a budget of requests per sliding window, shared by every client
and thread of a key, corrected by the server's headers and blocked by a 429. Time is fake:
the tests assert each wait exactly and never sleep."""

from __future__ import annotations

import pytest

from databuddy_source.errors import RateLimitedError
from databuddy_source.retry import RateLimiter, RetryPolicy

from ..fake_time import FakeTime
from .scripted import KEY, query, scripted, status


@pytest.fixture()
def fake() -> FakeTime:
    return FakeTime()


def limiter(fake: FakeTime, limit: int = 3, window: float = 10.0) -> RateLimiter:
    def sleep(seconds: float) -> None:
        assert len(fake.sleeps) < 100, f"still waiting after {sum(fake.sleeps):.0f} s"
        fake.sleep(seconds)

    return RateLimiter(limit, window, clock=fake.monotonic, sleep=sleep)


def send(lim: RateLimiter, fake: FakeTime, took: float = 0.0, **headers: str) -> None:
    """One request through the limiter, answered ``took`` seconds after it left."""
    lim.acquire()
    fake.mono += took
    lim.release({k.replace("_", "-"): v for k, v in headers.items()}, wall_clock=fake.time)


def test_the_request_after_the_budget_waits_for_the_oldest_slot_to_leave_the_window(
    fake: FakeTime,
) -> None:
    lim = limiter(fake)
    for _ in range(3):
        send(lim, fake)
    assert fake.sleeps == [] and lim.in_window == 3
    fake.mono += 4.0
    send(lim, fake)
    assert fake.sleeps == [6.0], "slot 1 (t=0) frees at t=10"
    assert lim.in_window == 1, "the three of t=0 have left the window"


def test_a_slot_is_stamped_when_its_answer_arrives_not_when_it_left(fake: FakeTime) -> None:
    lim = limiter(fake, limit=1)
    send(lim, fake, took=4.0)  # the server may have counted it as late as t=4
    send(lim, fake)
    assert fake.sleeps == [10.0], "freed at 4 + 10, not at 0 + 10"


def test_requests_in_flight_hold_their_slots(fake: FakeTime) -> None:
    lim = limiter(fake, limit=2)
    lim.acquire()
    lim.acquire()
    assert lim.in_window == 2
    lim.release()
    lim.release()
    assert lim.in_window == 2, "answered: now stamped in the window"


def test_the_servers_remaining_zero_blocks_until_its_reset(fake: FakeTime) -> None:
    lim = limiter(fake, limit=100)
    send(lim, fake, x_ratelimit_remaining="0", x_ratelimit_reset=str(fake.wall + 25))
    send(lim, fake)
    assert fake.sleeps == [10.0, 10.0, 5.0], "25 s, in sleeps of at most one window"


def test_a_reset_in_milliseconds_is_read_as_such(fake: FakeTime) -> None:
    lim = limiter(fake, limit=100)
    reset_ms = str(int((fake.wall + 7) * 1000))
    send(lim, fake, x_ratelimit_remaining="0", x_ratelimit_reset=reset_ms)
    send(lim, fake)
    assert fake.sleeps == [pytest.approx(7.0, abs=0.01)]


def test_the_servers_remaining_count_is_spent_before_its_reset(fake: FakeTime) -> None:
    lim = limiter(fake, limit=100)
    send(lim, fake, x_ratelimit_remaining="2", x_ratelimit_reset=str(fake.wall + 8))
    send(lim, fake)
    send(lim, fake)
    assert fake.sleeps == []
    send(lim, fake)
    assert fake.sleeps == [8.0], "two left at t=0: the third request waits for the reset"


def test_headers_without_a_reset_change_nothing(fake: FakeTime) -> None:
    lim = limiter(fake, limit=100)
    send(lim, fake, x_ratelimit_remaining="0")
    send(lim, fake, x_ratelimit_remaining="0", x_ratelimit_reset="soon")
    send(lim, fake)
    assert fake.sleeps == []


def test_a_429_blocks_everyone_and_the_wait_is_shown(fake: FakeTime) -> None:
    lim = limiter(fake, limit=100)
    assert lim.waiting() == 0.0
    lim.block_for(7.0)
    assert lim.waiting() == 7.0, "what a progress display shows"
    send(lim, fake)
    assert fake.sleeps == [7.0] and lim.waiting() == 0.0


def test_limits_that_allow_nothing_are_refused() -> None:
    with pytest.raises(ValueError, match="rate limit"):
        RateLimiter(0, 60.0)
    with pytest.raises(ValueError, match="rate limit"):
        RateLimiter(10, 0.0)


def test_the_transport_paces_query_requests_and_not_others(fake: FakeTime) -> None:
    api, script = scripted(fake=fake, rate_limit=2, rate_window=60.0)
    for _ in range(3):
        query(api)
    assert fake.sleeps == [60.0], "the third query waits for the first's slot"
    api.request("GET", "/v1/query/websites")
    assert fake.sleeps == [60.0], "only POST /v1/query spends the query budget"
    assert len(script.requests) == 4


def test_a_429_stops_every_client_of_the_key_until_it_is_over(fake: FakeTime) -> None:
    clocks = {"sleep": fake.sleep, "monotonic": fake.monotonic}  # one process: the same clocks
    once = RetryPolicy(max_attempts=1)
    first, _ = scripted(status(429, retry_after="20"), fake=fake, policy=once, **clocks)
    second, _ = scripted(fake=fake, **clocks)
    assert first.rate_limiter is second.rate_limiter, "one limiter per key in the process"
    with pytest.raises(RateLimitedError):
        query(first)
    assert fake.sleeps == []
    query(second)
    assert fake.sleeps == [20.0], "the other client waits out the first one's 429"


def test_keys_and_endpoints_have_budgets_of_their_own(fake: FakeTime) -> None:
    one, _ = scripted(fake=fake)
    other, _ = scripted(fake=fake, key=KEY.replace("k", "q"))
    assert one.rate_limiter is not other.rate_limiter
    assert one.custom_rate_limiter is not one.rate_limiter
    assert (one.custom_rate_limiter.limit, one.rate_limiter.limit) == (60, 120)
