"""A local emulator of the Databuddy API (Query API, RPC API, docs), for tests, benchmarks and
offline development. Start it with ``databuddy-emulator`` (or ``python -m databuddy_emulator``);
in pytest, use the fixtures of :mod:`databuddy_emulator.pytest_plugin`.

It serves the API that ``databuddy_source.contract`` describes; the connector never imports it.
"""

from __future__ import annotations

from .config import DEFAULT_API_KEY, EmulatorConfig

__all__ = ["DEFAULT_API_KEY", "EmulatorConfig"]
