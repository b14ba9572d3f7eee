"""The transport: one pooled ``httpx.Client``, authentication, and every request sent under the
retry policy (:mod:`.retry`), the key's rate limiter and :func:`errors.classify`.

It knows nothing of the API's surfaces: :mod:`.query_api` and :mod:`.rpc_api` build on it, and
:class:`client.Databuddy` puts the three together."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

import httpx
import orjson

from . import settings
from .errors import (
    APIError,
    ConfigurationError,
    RateLimitedError,
    RetriableError,
    UnreachableError,
    classify,
)
from .retry import Clock, RateLimiter, RetryBudget, RetryPolicy, Sleep, build_retrying

AuthMethod = Literal["x-api-key", "bearer", "session"]

log = logging.getLogger("databuddy_source")

_LIMITERS: dict[str, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


class Secret:
    """A credential that never shows itself in reprs, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def fingerprint(self) -> str:
        """A short, non-reversible id for the secret (to share state per key)."""
        return hashlib.sha256(self._value.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__


def check_api_key(api_key: object) -> Secret:
    """Check a key's shape before any request; the error never echoes the key."""
    if not isinstance(api_key, str) or not api_key.strip():
        raise ConfigurationError(
            "No Databuddy API key given: pass api_key, or set SOURCES__DATABUDDY__API_KEY "
            "(create a key in the Databuddy dashboard under Organization settings > API keys)"
        )
    key = api_key.strip()
    if not key.startswith(settings.API_KEY_PREFIX) or not (
        settings.API_KEY_MIN_LENGTH <= len(key) <= settings.API_KEY_MAX_LENGTH
    ):
        raise ConfigurationError(
            f"The Databuddy API key is malformed (got {len(key)} characters"
            f"{', not starting with dbdy_' if not key.startswith('dbdy_') else ''}): a key "
            f"starts with 'dbdy_' and has {settings.API_KEY_MIN_LENGTH}-"
            f"{settings.API_KEY_MAX_LENGTH} characters. Copy it again from the dashboard."
        )
    if any(c.isspace() for c in key):
        raise ConfigurationError("The Databuddy API key contains whitespace: copy it again.")
    return Secret(key)


def _connect_cause(exc: httpx.TransportError) -> str:
    """Why a connection could not be made, in words (the OS's text kept)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no answer to the connection within {settings.CONNECT_TIMEOUT:.0f} s"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return f"the host name does not resolve: {text}"
    if "Temporary failure in name resolution" in text:
        return f"the host name could not be resolved (DNS): {text}"
    if "Connection refused" in text:
        return f"connection refused, nothing listens there: {text}"
    return text


def rate_limit_wait() -> float:
    """Seconds a request of this process is waiting for a key's rate limit (0 when none is):
    what a progress display shows."""
    with _LIMITERS_LOCK:
        limiters = list(_LIMITERS.values())
    return max((limiter.waiting() for limiter in limiters), default=0.0)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name: resolved elsewhere, so not known to stay on this machine
        return False


def check_base_url(base_url: object, allow_insecure_http: bool) -> str:
    """The base URL without its trailing slash. Plain ``http://`` would send the key in the
    clear: it is refused for any host but a loopback one unless ``allow_insecure_http``."""
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"base_url must be an http(s) URL such as {settings.DEFAULT_BASE_URL}"
        )
    host = httpx.URL(base_url).host
    if base_url.startswith("http://") and not allow_insecure_http and not is_loopback(host):
        raise ConfigurationError(
            f"base_url {base_url!r} is plain http:// to {host!r}, which is not this machine: "
            "the API key would travel unencrypted. Use https://, or, if that network is "
            "trusted, opt in with allow_insecure_http=True "
            "(SOURCES__DATABUDDY__ALLOW_INSECURE_HTTP=true)"
        )
    return base_url.rstrip("/")


def shared_rate_limiter(
    secret: Secret,
    limit: int,
    window: float,
    clock: Clock,
    sleep: Sleep,
    endpoint: str = "query",
) -> RateLimiter:
    """One limiter per key and endpoint budget (``query``: ``/v1/query``; ``custom``:
    ``/v1/query/custom``), shared by every client and thread of this process."""
    key = f"{endpoint}:{secret.fingerprint()}:{limit}:{window}:{id(clock)}:{id(sleep)}"
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = _LIMITERS[key] = RateLimiter(limit, window, clock=clock, sleep=sleep)
        return limiter


@dataclass(slots=True)
class RequestStats:
    """What a client has done so far (thread-safe counters)."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    mine: threading.local = field(default_factory=threading.local, repr=False)
    first_sent: float | None = None  # time.monotonic() of the first and the latest request
    last_sent: float | None = None

    def add(self, *, requests: int = 0, retries: int = 0, rate_limited: int = 0) -> None:
        with self.lock:
            if requests:
                self.last_sent = time.monotonic()
                self.first_sent = self.first_sent or self.last_sent
            self.requests += requests
            self.retries += retries
            self.rate_limited += rate_limited
        counts = self.mine.__dict__
        counts["requests"] = counts.get("requests", 0) + requests
        counts["retries"] = counts.get("retries", 0) + retries
        counts["rate_limited"] = counts.get("rate_limited", 0) + rate_limited

    def thread_snapshot(self) -> dict[str, int]:
        """The counts of the calling thread's requests alone (a unit's cost under concurrency)."""
        counts = self.mine.__dict__
        return {k: counts.get(k, 0) for k in ("requests", "retries", "rate_limited")}

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "rate_limited": self.rate_limited,
            }


class Transport:
    """Requests to the Databuddy API (``api.databuddy.cc`` or a compatible server).

    One pooled ``httpx.Client`` serves every request; use the transport as a context manager or
    call :meth:`close`. ``sleep``/``clock``/``monotonic`` are injectable for tests. A plain
    ``http://`` base URL is refused for any host but a loopback one (the key would travel in
    the clear) unless ``allow_insecure_http=True``.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str = settings.DEFAULT_BASE_URL,
        auth: AuthMethod = "x-api-key",
        session_token: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: int = settings.QUERY_RATE_LIMIT,
        rate_window: float = settings.QUERY_RATE_WINDOW_SECONDS,
        custom_rate_limit: int = settings.CUSTOM_RATE_LIMIT,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
        rng: random.Random | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        if auth not in ("x-api-key", "bearer", "session"):
            raise ConfigurationError("auth must be 'x-api-key', 'bearer' or 'session'")
        base_url = check_base_url(base_url, allow_insecure_http)
        headers = {"user-agent": settings.USER_AGENT, "accept": "application/json"}
        if auth == "session":
            if not session_token:
                raise ConfigurationError(
                    "auth='session' needs session_token (the value of the "
                    f"{settings.SESSION_COOKIE_NAME} cookie)"
                )
            self._secret = Secret(session_token)
            headers["cookie"] = f"{settings.SESSION_COOKIE_NAME}={session_token}"
        else:
            self._secret = check_api_key(api_key)
            if auth == "bearer":
                headers["authorization"] = f"Bearer {self._secret.reveal()}"
            else:
                headers["x-api-key"] = self._secret.reveal()
        self.base_url = base_url
        self.retry_policy = retry or RetryPolicy()
        self.stats = RequestStats()
        self.answered = False  # has the API answered this client yet (see UnreachableError)
        self._sleep, self._clock, self._rng = sleep, clock, rng or random.Random()
        self.rate_limiter = shared_rate_limiter(
            self._secret, rate_limit, rate_window, monotonic, sleep
        )
        self.custom_rate_limiter = shared_rate_limiter(  # POST /v1/query/custom's own budget
            self._secret,
            custom_rate_limit,
            rate_window,  # 60 s for both budgets on the API
            monotonic,
            sleep,
            endpoint="custom",
        )
        if timeout is None:
            timeout = httpx.Timeout(
                connect=settings.CONNECT_TIMEOUT,
                read=settings.READ_TIMEOUT,
                write=settings.WRITE_TIMEOUT,
                pool=settings.POOL_TIMEOUT,
            )
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key=****)"

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ sending
    def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Any,
        limiter: RateLimiter | None,
        decode: Callable[[bytes], Any] | None = None,
        budget: RetryBudget | None = None,
    ) -> Any:
        content = orjson.dumps(body) if body is not None else None
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        if budget is not None and budget.spent > 0:  # failing already: wait no longer than left
            read = min(self._http.timeout.read or settings.READ_TIMEOUT, budget.remaining())
            timeout = httpx.Timeout(**(self._http.timeout.as_dict() | {"read": max(read, 1.0)}))
        headers = {"content-type": "application/json"} if content is not None else None
        if limiter is not None:
            limiter.acquire()
        response_headers: Mapping[str, str] | None = None
        try:
            self.stats.add(requests=1)
            request = self._http.build_request(
                method, path, params=params, content=content, headers=headers, timeout=timeout
            )
            # Streamed and joined here, not response.read(): httpx's Response is in a reference
            # cycle, so a body it keeps lives until a full garbage collection (hundreds of MB
            # over a long run); this body is freed as soon as it is decoded.
            sent = time.monotonic()
            response = self._http.send(request, stream=True)
            try:
                body = b"".join(response.iter_bytes())
            finally:
                response.close()
            response_headers = response.headers
            self.answered = True
            log.debug(
                "%s %s -> %d, %d bytes in %.2f s",
                method,
                path,
                response.status_code,
                len(body),
                time.monotonic() - sent,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if not self.answered:  # nothing there: retrying would only delay the news
                raise UnreachableError(
                    f"cannot connect to {self.base_url} ({_connect_cause(exc)})",
                    url=self.base_url,
                    path=path,
                ) from None
            raise RetriableError(
                f"connection failed ({type(exc).__name__}: {exc})", path=path
            ) from None
        except httpx.TimeoutException as exc:
            raise RetriableError(f"timed out ({type(exc).__name__})", path=path) from None
        except httpx.TransportError as exc:
            raise RetriableError(
                f"connection failed ({type(exc).__name__}: {exc})", path=path
            ) from None
        finally:
            if limiter is not None:
                limiter.release(response_headers, self._clock)
        try:
            return classify(response, clock=self._clock, content=body, decode=decode)
        except RateLimitedError as exc:
            self.stats.add(rate_limited=1)
            if limiter is not None and exc.retry_after is not None:
                limiter.block_for(exc.retry_after)
            raise

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        rate_limited: bool = False,
        limiter: RateLimiter | None = None,
        failure_budget: int | None = None,
        decode: Callable[[bytes], Any] | None = None,
        budget: RetryBudget | None = None,
    ) -> Any:
        """Send one request under the retry policy; the decoded body, or an :class:`APIError`.

        ``rate_limited`` requests (``POST /v1/query``) spend the key's shared budget first;
        ``limiter`` names another budget (``custom_rate_limiter`` for ``/v1/query/custom``).
        ``decode`` may read a successful body its own way; when it returns ``None`` the body is
        decoded as JSON. ``budget`` bounds the seconds its failures may cost (see
        :class:`RetryBudget`).
        """

        def count_retry(_: APIError) -> None:
            self.stats.add(retries=1)

        retrying = build_retrying(
            self.retry_policy,
            sleep=self._sleep,
            rng=self._rng,
            failure_budget=failure_budget,
            on_retry=count_retry,
            budget=budget,
        )
        pace = limiter or (self.rate_limiter if rate_limited else None)

        def attempt() -> Any:
            # Once failing has cost something, a failed attempt's own seconds count too (so a
            # server that hangs is bounded); a first failure costs only the wait after it (so a
            # slow answer to a big request does not spend the budget at once).
            failing = budget is not None and budget.spent > 0
            started = time.monotonic()
            try:
                return self._send_once(method, path, params, json, pace, decode, budget)
            except RetriableError:
                if budget is not None and failing:
                    budget.charge(time.monotonic() - started)
                raise

        return retrying(attempt)
