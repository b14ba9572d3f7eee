"""The RPC half of the emulator: both transports of the 132 procedures of
rpc.json, the OpenAPI document, the HTML reference and a test-only object surface."""

from __future__ import annotations

from starlette.routing import BaseRoute

from ..store import Store
from .admin import admin_routes
from .seed import seed_collections
from .transport import call, transport_routes


def routes(store: Store) -> list[BaseRoute]:
    """``/rpc/<router>/<procedure>``, the REST twins, ``/spec.json`` and ``/``."""
    seed_collections(store)
    return transport_routes(store)


__all__ = ["admin_routes", "call", "routes", "seed_collections"]
