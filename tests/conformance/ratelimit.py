"""The Query API's rate limit, real server against emulator: one burst of requests until the
first 429, compared by how many were admitted, the 429's status, body and headers, and the
headers of the admitted answers.

Each burst fills a bucket nobody else uses: anonymous requests to the public website with a
client IP of their own (``X-Forwarded-For``, a documentation address drawn per run: anonymous
callers are limited per IP); the ``read:links``-only key (``DATABUDDY_REAL_KEY_LINKS``), which
the Query API treats as anonymous, so also with an IP of its own; and a ``read:data`` key
limited per key (``DATABUDDY_REAL_KEY_DATALINKS``, the organization's read:data + read:links
key, the least used one). The window is a minute: that key is refused for up to a minute
afterwards, so run this last.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from databuddy_emulator import fixtures
from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.server import serve
from databuddy_emulator.store import Store

from .harness import DATA_END, REAL_SITE, SEED, RealServer

REAL_PUBLIC_SITE = "site_pub"
BODY = {"parameters": ["summary_metrics"], "startDate": "2026-11-24", "endDate": "2026-11-24"}
MAX_REQUESTS = 130  # more than any limit (120 per key, 60 per anonymous IP)
RESET_TOLERANCE = 2.0  # seconds between the two sides' "reset minus now"
_RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


@dataclass(slots=True)
class Burst:
    """Requests sent until the first 429 (or ``MAX_REQUESTS``)."""

    admitted: int = 0
    statuses: set[int] = field(default_factory=set)  # of the admitted answers
    status: int | None = None  # the first 429's, None when none came
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)  # the 429's (lower-case names)
    reset_in: float | None = None  # X-RateLimit-Reset minus the 429's arrival, in seconds
    ok_rate_headers: set[str] = field(default_factory=set)  # on admitted answers


def burst(base_url: str, website_id: str, *, key: str | None, ip: str | None) -> Burst:
    headers = {"content-type": "application/json"}
    if key:
        headers["x-api-key"] = key
    if ip:
        headers["x-forwarded-for"] = ip
    out = Burst()
    with httpx.Client(timeout=60) as http:
        for _ in range(MAX_REQUESTS):
            r = http.post(
                f"{base_url}/v1/query",
                params={"website_id": website_id},
                json=BODY,
                headers=headers,
            )
            if r.status_code != 429:
                out.admitted += 1
                out.statuses.add(r.status_code)
                out.ok_rate_headers |= {h for h in r.headers if h.lower().startswith("x-ratelimit")}
                continue
            arrived = time.time()
            out.status = r.status_code
            out.body = r.json()
            out.headers = {k.lower(): v for k, v in r.headers.items()}
            reset = out.headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                value = int(reset)
                out.reset_in = (value / 1000 if value > 10**11 else value) - arrived
            break
    return out


def compare(real: Burst, emu: Burst) -> list[str]:
    """How the emulator's burst differs from the real one (empty: identical)."""
    problems = []
    if real.admitted != emu.admitted:
        problems.append(f"admitted real {real.admitted} emulator {emu.admitted}")
    if real.statuses != emu.statuses:
        problems.append(f"admitted statuses real {real.statuses} emulator {emu.statuses}")
    if real.status != emu.status:
        problems.append(f"status real {real.status} emulator {emu.status}")
    if real.ok_rate_headers != emu.ok_rate_headers:
        problems.append(
            f"rate headers on admitted answers real {sorted(real.ok_rate_headers)} "
            f"emulator {sorted(emu.ok_rate_headers)}"
        )
    rb, eb = real.body, emu.body
    if isinstance(rb, dict) and isinstance(eb, dict):
        if sorted(rb) != sorted(eb):
            problems.append(f"body keys real {sorted(rb)} emulator {sorted(eb)}")
        for k in ("success", "error", "code"):
            if rb.get(k) != eb.get(k):
                problems.append(f"body {k} real {rb.get(k)!r} emulator {eb.get(k)!r}")
        for side, b in (("real", rb), ("emulator", eb)):
            if not re.fullmatch(r"req_\w+", str(b.get("requestId", ""))):
                problems.append(f"{side} requestId {b.get('requestId')!r}")
    elif rb != eb:
        problems.append(f"body real {rb!r} emulator {eb!r}")
    names = {"content-type", "retry-after", *_RATE_HEADERS}
    rnames = {h for h in real.headers if h in names or h.startswith("x-ratelimit")}
    enames = {h for h in emu.headers if h in names or h.startswith("x-ratelimit")}
    if rnames != enames:
        problems.append(f"429 headers real {sorted(rnames)} emulator {sorted(enames)}")
    for h in ("content-type", "x-ratelimit-limit", "x-ratelimit-remaining", "retry-after"):
        if real.headers.get(h) != emu.headers.get(h):
            problems.append(f"{h} real {real.headers.get(h)!r} emulator {emu.headers.get(h)!r}")
    if (real.reset_in is None) != (emu.reset_in is None) or (
        real.reset_in is not None
        and emu.reset_in is not None
        and abs(real.reset_in - emu.reset_in) > RESET_TOLERANCE
    ):
        problems.append(f"reset in (s) real {real.reset_in} emulator {emu.reset_in}")
    return problems


@dataclass(slots=True)
class RateLimitResult:
    case: str
    real: Burst
    emulator: Burst
    problems: list[str]


@contextmanager
def _emulator() -> Iterator[tuple[str, Store]]:
    """A fresh emulator with the API's own limits."""
    store = Store(EmulatorConfig(profile="small", seed=SEED, now=DATA_END, frozen=True))
    try:
        with serve(store) as url:
            yield url, store
    finally:
        store.close()


def run_rate_limits(real: RealServer) -> list[RateLimitResult]:
    """The anonymous burst, and the keyed ones whose real keys are configured."""
    ips = random.sample(range(1, 255), 2)  # this run's own anonymous buckets
    links_key = os.environ.get("DATABUDDY_REAL_KEY_LINKS")
    data_key = os.environ.get("DATABUDDY_REAL_KEY_DATALINKS")
    results = []
    with _emulator() as (url, store):
        sites = store.registry.websites_of(store.registry.demo_org_id)
        public = next(s["id"] for s in sites if s["isPublic"] and not s["deletedAt"])
        private = sites[0]["id"]
        Side = tuple[str, str | None]  # website, key
        cases: list[tuple[str, Side, Side, int | None]] = [
            ("anonymous, one client IP", (REAL_PUBLIC_SITE, None), (public, None), ips[0])
        ]
        if links_key:
            links = (REAL_SITE, links_key), (private, fixtures.LINKS_ONLY_KEY)
            cases.append(("read:links-only key, one client IP", *links, ips[1]))
        if data_key:
            data = (REAL_SITE, data_key), (private, store.config.api_key)
            cases.append(("read:data key", *data, None))
        for case, (rsite, rkey), (esite, ekey), client_ip in cases:
            client = f"198.51.100.{client_ip}" if client_ip else None
            r = burst(real.api_url, rsite, key=rkey, ip=client)
            e = burst(url, esite, key=ekey, ip=client)
            results.append(RateLimitResult(case, r, e, compare(r, e)))
    return results
