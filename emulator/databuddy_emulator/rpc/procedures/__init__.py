"""Procedure handlers, one module per router group; importing this package registers them."""

from __future__ import annotations

from . import (  # noqa: F401  (imported for their registrations)
    account,
    flags,
    funnels,
    insights,
    integrations,
    keys,
    links,
    statuspage,
    uptime,
    websites,
    workspace,
)
from .registry import HANDLERS, Handler

__all__ = ["HANDLERS", "Handler"]
