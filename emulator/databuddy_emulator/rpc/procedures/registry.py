"""The table of procedure handlers, filled by the ``procedure`` decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..context import Ctx

Handler = Callable[[Ctx, Any], Any]
HANDLERS: dict[str, Handler] = {}


def procedure(*ids: str) -> Callable[[Handler], Handler]:
    """Register a handler for one or more procedure ids (``router.procedure``)."""

    def register(fn: Handler) -> Handler:
        for pid in ids:
            if pid in HANDLERS:
                raise ValueError(f"duplicate handler for {pid}")
            HANDLERS[pid] = fn
        return fn

    return register
