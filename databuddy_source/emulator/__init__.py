"""A local emulator of the Databuddy API (Query API, RPC API, docs), for tests, benchmarks and
offline development. Start it with ``python -m databuddy_source.emulator``.

Requires the ``emulator`` extra (starlette, uvicorn, numpy, orjson).
"""

from __future__ import annotations

from .config import DEFAULT_API_KEY, EmulatorConfig

__all__ = ["DEFAULT_API_KEY", "EmulatorConfig"]
