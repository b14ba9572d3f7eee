"""Fault injection, per route, by probability or by script (admin: ``/__emulator__/faults``).

A rule matches requests whose path starts with ``route`` (and ``method``, and whose query string
contains ``query``, if given: ``website_id=x`` makes one website fail). It skips the
first ``after`` matches, then fires on each match with ``probability`` until it has fired
``count`` times (``None``: forever). Kinds:

``status``            answer ``status`` (default 500) with a plain-text or JSON ``body`` and
                      extra ``headers`` (e.g. a 429 with ``Retry-After`` as an HTTP date)
``rate_limit``        a 429 exactly as the rate limiter's current mode sends it
``delay``             wait ``seconds`` and then answer normally (a client timeout if long enough)
``drop``              start a response and close the connection before the body is complete
``truncate``          the real response with its JSON body cut in half (Content-Length matches)
``malformed``         HTTP 200 with a body that is not JSON
``failed_parameter``  HTTP 200, but the named ``parameter`` (or every one) fails inside the body
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .http import dumps, request_id
from .ratelimit import RateLimiter

FaultKind = Literal[
    "status", "rate_limit", "delay", "drop", "truncate", "malformed", "failed_parameter"
]
FAULT_KINDS: tuple[str, ...] = (
    "status",
    "rate_limit",
    "delay",
    "drop",
    "truncate",
    "malformed",
    "failed_parameter",
)
ADMIN_PREFIX = "/__emulator__"


@dataclass(slots=True)
class FaultRule:
    kind: FaultKind
    route: str = "/"
    method: str | None = None
    query: str | None = None
    probability: float = 1.0
    count: int | None = None
    after: int = 0
    status: int = 500
    body: str | None = None
    seconds: float = 0.0
    parameter: str | None = None
    message: str = "Query failed"
    headers: dict[str, str] = field(default_factory=dict)
    id: int = 0
    matched: int = 0
    fired: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class FaultInjector:
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_id: int = 1
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def add(self, spec: dict[str, Any]) -> FaultRule:
        if spec.get("kind") not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        allowed = set(FaultRule.__dataclass_fields__) - {"id", "matched", "fired"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        rule = FaultRule(**spec)
        if not 0.0 <= rule.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def pick(self, path: str, method: str, query: str = "") -> FaultRule | None:
        """The first rule that fires for this request (counting it), or None."""
        with self._lock:
            for rule in self.rules:
                if not path.startswith(rule.route):
                    continue
                if rule.query and rule.query not in query:
                    continue
                if rule.method and rule.method.upper() != method.upper():
                    continue
                if rule.count is not None and rule.fired >= rule.count:
                    continue
                rule.matched += 1
                if rule.matched <= rule.after:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                return rule
        return None


_STATUS_TEXT = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class FaultMiddleware:
    """ASGI middleware applying :class:`FaultInjector` rules before the routes run."""

    def __init__(self, app: ASGIApp, injector: FaultInjector, limiter: RateLimiter) -> None:
        self.app = app
        self.injector = injector
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        rule = self.injector.pick(scope["path"], scope["method"], query)
        if rule is None:
            await self.app(scope, receive, send)
        elif rule.kind == "delay":
            await asyncio.sleep(rule.seconds)
            await self.app(scope, receive, send)
        elif rule.kind == "failed_parameter":
            scope.setdefault("state", {})["failed_parameter"] = rule
            await self.app(scope, receive, send)
        elif rule.kind == "truncate":
            await self._truncated(scope, receive, send)
        else:
            await self._synthetic(rule, send)

    async def _synthetic(self, rule: FaultRule, send: Send) -> None:
        if rule.kind == "rate_limit":
            decision = self.limiter.check("__fault__" + str(rule.id))
            headers = dict(decision.headers)
            if self.limiter.mode == "code":
                headers = {
                    "X-RateLimit-Limit": str(self.limiter.limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(decision.reset_epoch * 1000)),
                }
            else:
                headers.update(
                    {"X-RateLimit-Remaining": "0", "Retry-After": str(max(int(rule.seconds), 1))}
                )
            decision_body = self.limiter.rejection_body(decision, request_id())
            headers.update(rule.headers)
            await _send(send, 429, dumps(decision_body), "application/json", headers)
        elif rule.kind == "drop":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"4096"),
                    ],
                }
            )
            await send(
                {"type": "http.response.body", "body": b'{"success":true,"da', "more_body": False}
            )
        elif rule.kind == "malformed":
            body = (rule.body or "<html><body>upstream error</body></html>").encode()
            await _send(send, 200, body, "application/json")
        else:
            text = rule.body or _STATUS_TEXT.get(rule.status, "Error")
            kind = "application/json" if text.startswith("{") else "text/plain;charset=utf-8"
            await _send(send, rule.status, text.encode(), kind, rule.headers)

    async def _truncated(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        cut = body[: max(len(body) // 2, 1)]
        status = start["status"] if start else 200
        headers = [
            (k, v) for k, v in (start["headers"] if start else []) if k.lower() != b"content-length"
        ]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(cut)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": cut})


async def _send(
    send: Send, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> None:
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
