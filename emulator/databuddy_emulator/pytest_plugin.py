"""pytest fixtures: a Databuddy emulator over real HTTP on a free loopback port.

Installed with the package (entry point ``pytest11``), so any test can ask for:

* ``databuddy_emulator``: one emulator for the whole session, built from
  ``databuddy_emulator_config``. Tests must not move its clock, add faults or edit its objects.
* ``databuddy_emulator_factory``: ``databuddy_emulator_factory(**changes)`` starts a fresh
  emulator (the session config with ``changes`` applied) that is stopped after the test.
* ``databuddy_emulator_config``: the configuration both use, a small frozen world with the admin
  routes on; override this fixture in a ``conftest.py`` to change it for a whole suite.

The emulators these fixtures start have the rate limit out of reach (``UNLIMITED`` requests per
window), so that a suite never waits on it; pass ``rate_limit=`` to test the 429 path.

For another scope, declare a fixture with :func:`emulator_fixture`::

    server = emulator_fixture(scope="module", rate_limit=100_000)

Every emulator answers at ``server.url`` with the key ``server.emulator.config.api_key``;
``server.emulator`` holds the in-process state (store, clock, faults) and
:func:`databuddy_emulator.truth.expected_rows` the ground truth of its data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from .config import EmulatorConfig
from .server import EmulatorServer

# A fixed virtual "now", so that the data, and every answer, is the same on every run.
DEFAULT_NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)

UNLIMITED = 1_000_000

StartEmulator = Callable[..., EmulatorServer]


def _configured(config: EmulatorConfig, changes: dict[str, Any]) -> EmulatorConfig:
    return replace(config, **{"rate_limit": UNLIMITED, **changes})


@pytest.fixture(scope="session")
def databuddy_emulator_config() -> EmulatorConfig:
    """A small frozen world (seed 7, virtual now ``DEFAULT_NOW``) with the admin routes on."""
    return EmulatorConfig(profile="small", now=DEFAULT_NOW, frozen=True, seed=7, admin=True)


def emulator_fixture(scope: str = "function", **changes: Any) -> Any:
    """A pytest fixture of the given scope yielding a running emulator built from
    ``databuddy_emulator_config`` with ``changes`` applied (e.g. ``rate_limit=5``)."""

    @pytest.fixture(scope=scope)  # type: ignore[call-overload, untyped-decorator]
    def _emulator(databuddy_emulator_config: EmulatorConfig) -> Iterator[EmulatorServer]:
        with EmulatorServer(_configured(databuddy_emulator_config, changes)) as server:
            yield server

    return _emulator


databuddy_emulator = emulator_fixture(scope="session")


@pytest.fixture()
def databuddy_emulator_factory(
    databuddy_emulator_config: EmulatorConfig,
) -> Iterator[StartEmulator]:
    """Start fresh emulators inside one test: ``databuddy_emulator_factory(rate_limit=3)``."""
    started: list[EmulatorServer] = []

    def start(**changes: Any) -> EmulatorServer:
        server = EmulatorServer(_configured(databuddy_emulator_config, changes)).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()
