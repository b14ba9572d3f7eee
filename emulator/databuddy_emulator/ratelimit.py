"""Rate limits of the Query API, in the two behaviours the sources describe.

* ``code`` (the API's code, the default): 120 requests per sliding 60 s per key (anonymous
  callers: at most 60 per client IP); only admitted requests are recorded (before 2026-05 every
  attempt was, rejected ones too); a 429 carries ``X-RateLimit-Limit`` (the caller's limit),
  ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` in epoch **milliseconds** (now +
  window); no ``Retry-After``, and no rate-limit headers on successful responses.
* ``docs`` (the public docs): rejected attempts are not recorded; every response carries
  ``X-RateLimit-*`` with the reset in epoch **seconds**; a 429 adds ``Retry-After`` and the docs'
  body (``RATE_LIMIT_EXCEEDED``, ``limit``, ``remaining``, ``reset``, ``retryAfter``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .config import RateLimitMode

ANONYMOUS_LIMIT = 60
"""Requests per window one anonymous caller (client IP) may make, whatever the endpoint allows."""


def client_ip(headers: Mapping[str, str]) -> str:
    """The client IP the API keys anonymous callers by: ``cf-connecting-ip``, else the first
    ``x-forwarded-for`` entry, else ``x-real-ip``, else ``unknown`` (one bucket for all)."""
    forwarded = (headers.get("x-forwarded-for") or "").split(",")[0].strip()
    return headers.get("cf-connecting-ip") or forwarded or headers.get("x-real-ip") or "unknown"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    headers: dict[str, str]
    retry_after: float  # seconds until a slot frees (0 when allowed)
    limit: int
    reset_epoch: float


@dataclass(slots=True)
class RateLimiter:
    """A sliding-window log per key. ``clock`` returns epoch seconds (injectable for tests)."""

    limit: int = 120
    window: float = 60.0
    mode: RateLimitMode = "code"
    clock: Callable[[], float] = time.time
    _log: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    rejected: int = 0
    record_rejected: bool = False  # the 2026-04 API counted rejected attempts too
    anonymous_cap: int | None = ANONYMOUS_LIMIT  # None: anonymous callers are not limited

    def admit(self, key: str | None, headers: Mapping[str, str]) -> Decision | None:
        """Count one request of a caller (``key``; None for an anonymous one, keyed by client
        IP): the decision, or None when the caller is not limited at all."""
        if key is not None:
            return self.check(key)
        if self.anonymous_cap is None:
            return None
        return self.check(f"anon:{client_ip(headers)}", self.anonymous_cap)

    def configure(
        self,
        limit: int | None = None,
        window: float | None = None,
        mode: RateLimitMode | None = None,
    ) -> None:
        with self._lock:
            self.limit = limit or self.limit
            self.window = window or self.window
            self.mode = mode or self.mode
            self._log.clear()

    def check(self, key: str, cap: int | None = None) -> Decision:
        """Count one attempt of ``key`` and say whether it may proceed; ``cap`` lowers the limit
        for this caller (anonymous callers)."""
        now = self.clock()
        limit = min(self.limit, cap) if cap else self.limit
        with self._lock:
            log = self._log.setdefault(key, deque())
            while log and log[0] <= now - self.window:
                log.popleft()
            allowed = self.mode == "off" or len(log) < limit
            if allowed or (self.mode == "code" and self.record_rejected):
                log.append(now)
            if not allowed:
                self.rejected += 1
            used = len(log)
            oldest = log[0] if log else now
        if self.mode == "off":  # nothing is limited, so nothing is advertised
            return Decision(True, {}, 0.0, limit, now)
        if self.mode == "code":
            reset = now + self.window
            headers = (
                {}
                if allowed
                else {
                    "X-RateLimit-Limit": str(limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(reset * 1000)),
                }
            )
            return Decision(allowed, headers, 0.0 if allowed else self.window, limit, reset)
        reset = oldest + self.window
        retry_after = 0.0 if allowed else max(reset - now, 0.0)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(limit - used, 0)),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }
        if not allowed:
            headers["Retry-After"] = str(max(math.ceil(retry_after), 1))
        return Decision(allowed, headers, retry_after, self.limit, reset)

    def rejection_body(self, decision: Decision, request_id: str) -> dict[str, object]:
        if self.mode == "docs":
            return {
                "success": False,
                "error": "Rate limit exceeded. Please try again later.",
                "code": "RATE_LIMIT_EXCEEDED",
                "limit": decision.limit,
                "remaining": 0,
                "reset": datetime.fromtimestamp(decision.reset_epoch, UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "retryAfter": max(math.ceil(decision.retry_after), 1),
            }
        return {
            "success": False,
            "error": "Rate limit exceeded",
            "code": "RATE_LIMITED",
            "requestId": request_id,
        }
