"""The retry policy (one tenacity factory) and the proactive rate limiter.

Both take their clock and sleep from the caller, so tests assert exact waits without sleeping.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import tenacity
from tenacity import RetryCallState

from . import settings
from .errors import APIError, RateLimitedError, RetriableError

log = logging.getLogger("databuddy_source")

Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. ``jitter`` is the most random seconds added to an exponential wait."""

    max_attempts: int = settings.MAX_ATTEMPTS
    max_delay: float = settings.MAX_RETRY_DELAY_SECONDS
    initial: float = settings.BACKOFF_INITIAL_SECONDS
    maximum: float = settings.BACKOFF_MAX_SECONDS
    jitter: float = settings.BACKOFF_JITTER_SECONDS

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_delay < 0 or self.initial < 0 or self.maximum < 0:
            raise ValueError("retry policy values must be positive (max_attempts >= 1)")


@dataclass(slots=True)
class RetryBudget:
    """Seconds that failing may cost: failed attempts and the waits after them (429 waits
    are not counted: the server said how long). A parent's budget draws on its run's too, so
    one dead website cannot eat the run. Thread-safe."""

    seconds: float
    run: RetryBudget | None = None
    spent: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def charge(self, seconds: float) -> None:
        with self._lock:
            self.spent += max(seconds, 0.0)
        if self.run is not None:
            self.run.charge(seconds)

    def remaining(self) -> float:
        with self._lock:
            left = self.seconds - self.spent
        return left if self.run is None else min(left, self.run.remaining())

    @property
    def exhausted(self) -> bool:
        return self.remaining() <= 0


@dataclass(slots=True)
class _WaitForServer(tenacity.wait.wait_base):
    """Wait what the server asked for on a 429, else back off exponentially with jitter."""

    policy: RetryPolicy
    rng: random.Random

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            return float(exc.retry_after)
        n = retry_state.attempt_number - 1
        base: float = min(self.policy.initial * 2.0**n, self.policy.maximum)
        jitter: float = self.rng.uniform(0, self.policy.jitter) if self.policy.jitter else 0.0
        return base + jitter


@dataclass(slots=True)
class _StopWhenSpent(tenacity.stop.stop_base):
    """Stop after ``max_attempts``, when the next wait would exceed ``max_delay`` in all, or
    after ``failure_budget`` retriable failures that are not 429s (the caller then splits)."""

    policy: RetryPolicy
    wait: _WaitForServer
    failure_budget: int | None = None
    failures: int = 0
    budget: RetryBudget | None = None

    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RetriableError):
            self.failures += 1
            if self.failure_budget is not None and self.failures >= self.failure_budget:
                return True
            upcoming = retry_state.upcoming_sleep or 0.0
            if self.budget is not None and self.budget.remaining() < upcoming:
                return True
        if retry_state.attempt_number >= self.policy.max_attempts:
            return True
        upcoming = retry_state.upcoming_sleep or 0.0
        return (retry_state.idle_for + upcoming) > self.policy.max_delay


def _log_retry(retry_state: RetryCallState) -> None:
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
    log.warning("retrying in %.1f s (attempt %d failed): %s", wait, retry_state.attempt_number, exc)


def build_retrying(
    policy: RetryPolicy,
    *,
    sleep: Sleep = time.sleep,
    rng: random.Random | None = None,
    failure_budget: int | None = None,
    on_retry: Callable[[APIError], None] | None = None,
    budget: RetryBudget | None = None,
) -> tenacity.Retrying:
    """A ``tenacity.Retrying`` that retries :class:`RateLimitedError` and
    :class:`RetriableError` only, waits as :class:`_WaitForServer` says, stops when attempts or
    total delay are spent (or, with ``failure_budget``, after that many non-429 failures),
    logs each retry once, and re-raises the last error. With ``budget``, a retriable failure
    is not retried once the wait would overrun what the budget has left, and each wait is
    charged to it."""
    effective = policy
    wait = _WaitForServer(effective, rng or random.Random())

    def before_sleep(retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if on_retry is not None and isinstance(exc, APIError):
            on_retry(exc)
        if budget is not None and isinstance(exc, RetriableError) and retry_state.next_action:
            budget.charge(retry_state.next_action.sleep)
        _log_retry(retry_state)

    return tenacity.Retrying(
        sleep=sleep,
        stop=_StopWhenSpent(effective, wait, failure_budget, budget=budget),
        wait=wait,
        retry=tenacity.retry_if_exception_type((RateLimitedError, RetriableError)),
        before_sleep=before_sleep,
        reraise=True,
    )


@dataclass(slots=True)
class RateLimiter:
    """Spends a budget of ``limit`` requests per sliding ``window`` seconds, shared by threads.

    A slot is taken before a request is sent and stamped with the time its response arrived (the
    server counted the request no later than that), so the client's window never frees a slot
    before the server's does. Servers that send ``X-RateLimit-*`` headers correct the budget, and
    a 429 blocks everyone until its reset.
    """

    limit: int = settings.QUERY_RATE_LIMIT
    window: float = settings.QUERY_RATE_WINDOW_SECONDS
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    _stamps: list[float] = field(default_factory=list)  # completed requests, oldest first
    _in_flight: int = 0
    _blocked_until: float = 0.0
    _server_remaining: int | None = None
    _server_reset: float = 0.0
    _waiters: int = 0  # threads asleep in acquire()
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= 0:
            raise ValueError("rate limit must be >= 1 request per positive window")

    def _wait_time(self, now: float) -> float:
        """Seconds until a slot is free (0 if free now). Caller holds the lock."""
        while self._stamps and self._stamps[0] <= now - self.window:
            self._stamps.pop(0)
        waits = [self._blocked_until - now]
        used = len(self._stamps) + self._in_flight
        if used >= self.limit:
            if len(self._stamps) > used - self.limit:
                waits.append(self._stamps[used - self.limit] + self.window - now)
            else:
                waits.append(0.05)  # every slot is in flight: wait for a response
        if self._server_remaining is not None and self._server_remaining <= 0:
            waits.append(self._server_reset - now)
        return max(max(waits), 0.0)

    def acquire(self) -> None:
        """Block until a request may be sent, then take its slot."""
        while True:
            with self._cond:
                now = self.clock()
                wait = self._wait_time(now)
                if wait <= 0.001:  # a millisecond is noise, not a reason to sleep
                    self._in_flight += 1
                    if self._server_remaining is not None:
                        self._server_remaining -= 1
                    return
                self._waiters += 1
            try:
                self.sleep(min(wait, self.window))
            finally:
                with self._cond:
                    self._waiters -= 1

    def waiting(self) -> float:
        """Seconds until a request may go, when one is waiting for it or a 429 said to wait
        (else 0): what a progress display shows as "waiting for the rate limit"."""
        with self._cond:
            now = self.clock()
            if not self._waiters and self._blocked_until <= now:
                return 0.0
            return self._wait_time(now)

    def release(
        self, headers: Mapping[str, str] | None = None, wall_clock: Clock = time.time
    ) -> None:
        """The request's response arrived (or it failed): stamp its slot, read the headers."""
        with self._cond:
            now = self.clock()
            self._in_flight = max(self._in_flight - 1, 0)
            self._stamps.append(now)
            if headers:
                self._observe(headers, now, wall_clock())
            self._cond.notify_all()

    def _observe(self, headers: Mapping[str, str], now: float, wall: float) -> None:
        # The server's remaining count and reset are authoritative; its limit alone says
        # nothing about its window, so the local budget stays as configured.
        remaining = headers.get("x-ratelimit-remaining")
        reset = headers.get("x-ratelimit-reset")
        if reset:
            try:
                epoch = float(reset)
            except ValueError:
                return
            epoch = epoch / 1000.0 if epoch > 1e12 else epoch
            reset_in = max(epoch - wall, 0.0)
            if remaining is not None and remaining.isdigit():
                self._server_remaining = int(remaining)
                self._server_reset = now + reset_in
                if int(remaining) == 0:
                    self._blocked_until = max(self._blocked_until, now + reset_in)

    def block_for(self, seconds: float) -> None:
        """A 429 said to wait: nobody sends before then."""
        with self._cond:
            self._blocked_until = max(self._blocked_until, self.clock() + max(seconds, 0.0))

    @property
    def in_window(self) -> int:
        with self._cond:
            now = self.clock()
            return sum(1 for s in self._stamps if s > now - self.window) + self._in_flight
