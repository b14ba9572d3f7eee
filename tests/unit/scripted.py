"""A scripted API over ``httpx.MockTransport``: each request gets the next scripted answer (a
response, or a transport error raised as the network would), and a :class:`Transport` that
sends to it under a fake clock."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from databuddy_source.retry import RetryPolicy
from databuddy_source.transport import Transport

from ..fake_time import FakeTime

KEY = "dbdy_" + "k" * 40
Answer = httpx.Response | Exception


def status(code: int, body: Any = None, **headers: str) -> httpx.Response:
    """An answer with this status, JSON body (a plain error envelope by default) and headers
    (``retry_after="3"`` -> ``retry-after: 3``)."""
    if body is None:
        body = {"success": True, "data": []} if code < 300 else {"error": f"status {code}"}
    names = {k.replace("_", "-"): v for k, v in headers.items()}
    return httpx.Response(code, json=body, headers=names)


OK = status(200)


@dataclass
class Script:
    """Answers in order; once they run out, every request is answered ``OK``."""

    answers: deque[Answer] = field(default_factory=deque)
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.popleft() if self.answers else OK
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(
            answer.status_code, headers=answer.headers, content=answer.content, request=request
        )


def scripted(
    *answers: Answer,
    fake: FakeTime,
    policy: RetryPolicy | None = None,
    key: str = KEY,
    **options: Any,
) -> tuple[Transport, Script]:
    """A transport whose requests get ``answers`` in order, waiting on ``fake``'s clock
    (``options`` may override any setting of the transport)."""
    script = Script(deque(answers))
    settings: dict[str, Any] = {
        "base_url": "https://api.test",
        "transport": httpx.MockTransport(script.handle),
        "retry": policy or RetryPolicy(jitter=0.0),
        "sleep": fake.sleep,
        "clock": fake.time,
        "monotonic": fake.monotonic,
        "rng": random.Random(0),
    }
    return Transport(key, **(settings | options)), script


def query(transport: Transport, **kw: Any) -> Any:
    """One ``POST /v1/query`` under the key's rate limiter, as the Query API sends it."""
    return transport.request("POST", "/v1/query", json={"parameters": []}, rate_limited=True, **kw)
