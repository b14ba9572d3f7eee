"""The 429 of the Query API and its headers answer the same on the emulator as on the real
server: anonymous callers per client IP, the read:links-only key (anonymous to the Query API)
and a read:data key per key (see ``ratelimit``; up to about 250 quick requests, each burst in
a bucket nobody else uses)."""

from __future__ import annotations

import pytest

from .harness import real_server_or_skip
from .ratelimit import RateLimitResult, run_rate_limits

pytestmark = pytest.mark.conformance


@pytest.fixture(scope="module")
def bursts() -> list[RateLimitResult]:
    real = real_server_or_skip()
    return run_rate_limits(real)


def test_rate_limits_answer_like_the_real_server(bursts: list[RateLimitResult]) -> None:
    assert bursts and all(b.real.status == 429 for b in bursts), "no burst reached a 429"
    differing = [f"{b.case}: {'; '.join(b.problems)}" for b in bursts if b.problems]
    assert not differing, "\n".join(differing)
