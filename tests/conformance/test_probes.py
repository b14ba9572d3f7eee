"""Request-level behaviour (status, envelope, error text, entries, columns, JSON types) of the
real-server harness's probes answers the same on the emulator as on the real server, or differs
for a reason outside the emulator's behaviour (``ProbeResult.why``). About 50 requests to the
real server."""

from __future__ import annotations

import pytest

from .harness import real_server_or_skip
from .probes import ProbeResult, harness_dir, run_probes

pytestmark = pytest.mark.conformance


@pytest.fixture(scope="module")
def probes() -> list[ProbeResult]:
    real = real_server_or_skip()
    harness = harness_dir()
    if harness is None:
        pytest.skip("set DATABUDDY_REAL_HARNESS to the folder of probes.sh and shape_diff.py")
    return run_probes(real, harness)


def test_every_probe_answers_like_the_real_server(probes: list[ProbeResult]) -> None:
    assert len(probes) > 40, f"only {len(probes)} probes ran"
    unexplained = [f"{r.name}: {'; '.join(r.problems)}" for r in probes if r.problems and not r.why]
    assert not unexplained, "\n".join(unexplained)
