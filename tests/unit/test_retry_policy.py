"""The retry policy, over ``httpx.MockTransport``: what is retried, how long each wait is (the
clock is fake: the tests assert exact waits and never sleep), and when it gives up."""

from __future__ import annotations

import logging
import random

import httpx
import pytest

from databuddy_source.errors import (
    AccessDeniedError,
    APIError,
    AuthenticationError,
    FatalError,
    RateLimitedError,
    RetriableError,
    UnreachableError,
    ValidationError,
)
from databuddy_source.retry import RetryBudget, RetryPolicy, build_retrying

from ..fake_time import FakeTime
from .scripted import OK, query, scripted, status


@pytest.fixture()
def fake() -> FakeTime:
    return FakeTime()


def test_server_errors_back_off_exponentially_then_succeed(fake: FakeTime) -> None:
    api, script = scripted(status(503), status(500), status(502), status(504), fake=fake)
    assert query(api) == {"success": True, "data": []}
    assert fake.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert len(script.requests) == 5
    assert api.stats.snapshot() == {"requests": 5, "retries": 4, "rate_limited": 0}


def test_the_backoff_is_capped_and_the_last_error_raised_after_max_attempts(
    fake: FakeTime,
) -> None:
    policy = RetryPolicy(max_attempts=5, initial=10.0, maximum=25.0, jitter=0.0)
    api, script = scripted(
        *[status(500, {"error": f"boom {i}"}) for i in range(6)], fake=fake, policy=policy
    )
    with pytest.raises(RetriableError, match="boom 4"):
        query(api)
    assert fake.sleeps == [10.0, 20.0, 25.0, 25.0]
    assert len(script.requests) == 5


def test_jitter_adds_at_most_its_seconds_drawn_from_the_injected_rng(fake: FakeTime) -> None:
    policy = RetryPolicy(jitter=0.5)
    api, _ = scripted(status(500), status(500), status(500), fake=fake, policy=policy)
    query(api)
    draws = random.Random(0)
    assert fake.sleeps == [round(base + draws.uniform(0, 0.5), 3) for base in (1.0, 2.0, 4.0)]
    assert all(base <= s <= base + 0.5 for base, s in zip((1, 2, 4), fake.sleeps, strict=True))


def test_a_429_waits_what_the_server_said_not_the_backoff(fake: FakeTime) -> None:
    api, _ = scripted(status(429, retry_after="30"), status(429, retry_after="3"), fake=fake)
    query(api)
    assert fake.sleeps == [30.0, 3.0]
    assert api.stats.snapshot() == {"requests": 3, "retries": 2, "rate_limited": 2}


def test_a_429_without_a_wait_backs_off(fake: FakeTime) -> None:
    api, _ = scripted(status(429), status(429), fake=fake)
    query(api)
    assert fake.sleeps == [1.0, 2.0]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (status(400), ValidationError),
        (status(401), AuthenticationError),
        (status(403), AccessDeniedError),
        (status(404), FatalError),
        (status(422), ValidationError),
        (status(200, {"success": False, "error": "Website not found"}), FatalError),
    ],
)
def test_what_retrying_cannot_fix_is_raised_at_once(
    fake: FakeTime, answer: httpx.Response, expected: type[APIError]
) -> None:
    api, script = scripted(answer, fake=fake)
    with pytest.raises(expected):
        query(api)
    assert len(script.requests) == 1 and fake.sleeps == []
    assert api.stats.snapshot()["retries"] == 0


def test_a_malformed_success_and_a_timeout_are_retried(fake: FakeTime) -> None:
    truncated = httpx.Response(200, content=b'{"success": true, "data": [')
    api, script = scripted(truncated, httpx.ReadTimeout("read timed out"), fake=fake)
    assert query(api)["success"] is True
    assert fake.sleeps == [1.0, 2.0] and len(script.requests) == 3


def test_no_waiting_past_max_delay(fake: FakeTime) -> None:
    policy = RetryPolicy(max_delay=5.0, jitter=0.0)
    api, script = scripted(*[status(500)] * 5, fake=fake, policy=policy)
    with pytest.raises(RetriableError):
        query(api)
    assert fake.sleeps == [1.0, 2.0], "a third wait (4 s) would make 7 s > max_delay 5 s"
    assert len(script.requests) == 3


def test_a_failure_budget_stops_after_that_many_failures_429s_aside(fake: FakeTime) -> None:
    api, script = scripted(status(504), status(504), status(200), fake=fake)
    with pytest.raises(RetriableError):
        query(api, failure_budget=2)  # a packed request: the caller splits it instead
    assert len(script.requests) == 2 and fake.sleeps == [1.0]
    fake2 = FakeTime()
    api, script = scripted(
        status(429, retry_after="1"), status(504), status(429, retry_after="1"), fake=fake2
    )
    assert query(api, failure_budget=2)["success"] is True
    assert len(script.requests) == 4 and fake2.sleeps == [1.0, 2.0, 1.0]


def test_a_retry_budget_is_charged_the_waits_and_stops_before_overrunning(fake: FakeTime) -> None:
    budget = RetryBudget(3.5)
    api, script = scripted(*[status(500)] * 5, fake=fake)
    with pytest.raises(RetriableError):
        query(api, budget=budget)
    assert fake.sleeps == [1.0, 2.0], "the next wait (4 s) is more than the budget has left"
    assert len(script.requests) == 3
    # the waits, and (once failing) the failed attempts' own seconds: here next to nothing
    assert 3.0 <= budget.spent < 3.2


def test_a_run_budget_is_charged_through_its_parents(fake: FakeTime) -> None:
    run = RetryBudget(10.0)
    parent = RetryBudget(100.0, run=run)
    api, _ = scripted(*[status(503)] * 3, fake=fake)
    query(api, budget=parent)
    assert parent.spent == pytest.approx(run.spent, abs=0.5) and run.spent >= 7.0
    assert parent.remaining() <= 3.0, "a parent has no more than its run has left"


def test_429_waits_are_not_charged_to_the_budget(fake: FakeTime) -> None:
    budget = RetryBudget(1.0)
    api, _ = scripted(status(429, retry_after="20"), fake=fake)
    query(api, budget=budget)
    assert fake.sleeps == [20.0] and budget.spent == 0.0


def test_a_host_that_never_answered_is_unreachable_and_not_retried(fake: FakeTime) -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    api, script = scripted(refused, fake=fake)
    with pytest.raises(UnreachableError, match="connection refused") as caught:
        query(api)
    assert caught.value.url == "https://api.test"
    assert len(script.requests) == 1 and fake.sleeps == []


def test_once_the_api_has_answered_a_dropped_connection_is_retried(fake: FakeTime) -> None:
    api, script = scripted(
        OK, httpx.ConnectError("reset"), httpx.RemoteProtocolError("eof"), fake=fake
    )
    query(api)
    assert query(api)["success"] is True
    assert fake.sleeps == [1.0, 2.0] and len(script.requests) == 4


def test_each_retry_is_logged_once_with_the_error(
    fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    body = {"error": "Query failed", "requestId": "req_7"}
    api, _ = scripted(status(500, body), status(500, body), fake=fake)
    with caplog.at_level(logging.WARNING, logger="databuddy_source"):
        query(api)
    lines = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert lines == [
        "retrying in 1.0 s (attempt 1 failed): HTTP 500 (/v1/query): Query failed, requestId req_7",
        "retrying in 2.0 s (attempt 2 failed): HTTP 500 (/v1/query): Query failed, requestId req_7",
    ]


def test_the_policy_retries_by_exception_type_only() -> None:
    sleeps: list[float] = []
    retrying = build_retrying(RetryPolicy(jitter=0.0), sleep=sleeps.append)
    failures: list[Exception] = [RetriableError("a"), RateLimitedError("b", retry_after=4.0)]

    def attempt() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    assert retrying(attempt) == "done" and sleeps == [1.0, 4.0]
    with pytest.raises(KeyError):  # not an APIError: never retried
        build_retrying(RetryPolicy(), sleep=sleeps.append)(lambda: {}["x"])
    assert sleeps == [1.0, 4.0]


@pytest.mark.parametrize("bad", [{"max_attempts": 0}, {"max_delay": -1}, {"initial": -1}])
def test_a_policy_with_impossible_values_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="retry policy"):
        RetryPolicy(**bad)  # type: ignore[arg-type]
