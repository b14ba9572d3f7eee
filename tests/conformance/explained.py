"""Types whose answers cannot be identical, and why (shown in docs/conformance.md)."""

from __future__ import annotations

EXPLAINED: dict[str, str] = {}
