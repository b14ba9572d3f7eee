"""Request-level behaviour (status, envelope, error text, entries, columns, JSON types) of the
real-server harness's probes answers the same on the emulator as on the real server, or differs
for the reason ``probes.probes_explained()`` gives. About 50 requests to the real server."""

from __future__ import annotations

import pytest

from .harness import real_server_or_skip
from .probes import ProbeResult, harness_dir, probes_explained, run_probes

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
    unexplained = [f"{r.name}: {'; '.join(r.problems)}" for r in probes if r.problems]
    explained = probes_explained()
    unexplained = [u for u in unexplained if u.split(":")[0] not in explained]
    assert not unexplained, "\n".join(unexplained)


def test_explained_probes_still_differ(probes: list[ProbeResult]) -> None:
    """An explanation is dropped once its probe answers like the real server."""
    explained = probes_explained()
    stale = [r.name for r in probes if r.name in explained and not r.problems]
    assert not stale, f"identical now, remove from probes.probes_explained(): {stale}"
