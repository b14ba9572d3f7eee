"""Every current website query type answers the same on the emulator as on the real server.

Runs only with a real server (see ``harness.SKIP_REASON``; the link and monitor types also need
its Postgres, ``projects.DB_SKIP_REASON``); one run of the whole matrix per session (about 50
requests, paced under the real rate limit), then one test per type and time
zone. A column listed in ``explained.EXPLAINED`` is left out of its type's comparison (the rest is
compared) and expected to differ, for the reason given there.
"""

from __future__ import annotations

import pytest

from .explained import EXPLAINED
from .harness import TIMEZONES, all_current_types, real_server_or_skip
from .matrix import Run
from .session import conformance_run

pytestmark = pytest.mark.conformance

CASES = [(t["name"], tz) for t in all_current_types() for tz in TIMEZONES]


@pytest.fixture(scope="module")
def run() -> Run:
    real = real_server_or_skip()
    return conformance_run(real, log=lambda _m: None)


@pytest.mark.parametrize(("name", "tz"), CASES, ids=[f"{n}-{tz}" for n, tz in CASES])
def test_type_answers_like_the_real_server(run: Run, name: str, tz: str) -> None:
    if name in run.not_run:
        pytest.skip(run.not_run[name])
    outcome = run.outcomes.get((name, tz))
    assert outcome is not None, f"{name} was not compared in {tz}"
    assert outcome.identical, "\n".join(f"{c}: {'; '.join(p)}" for c, p in outcome.diffs.items())


def test_explained_columns_still_differ(run: Run) -> None:
    """An explanation is dropped once its column answers like the real server everywhere."""
    stale = [
        name
        for name in EXPLAINED
        if not any(out.explained_cases for (n, _tz), out in run.outcomes.items() if n == name)
    ]
    assert not stale, f"identical now, remove from explained.py: {stale}"
