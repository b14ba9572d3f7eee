"""integrations.* (new in 2026-05) and tracker.* procedures.

The emulator's world has no Slack workspace connected: the list is empty and uninstalling
answers NOT_FOUND. Tracker versions are seeded (``rpc/seed.py``).
"""

from __future__ import annotations

from typing import Any

from ..context import Ctx
from ..errors import not_found
from .registry import procedure

VERSION_FIELDS = ("version", "filename", "sriHash", "sizeBytes", "deployedAt")


@procedure("integrations.list")
def list_integrations(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    org = ctx.workspace(data.get("organizationId"))
    ctx.check(org, "read", "config")
    return {"slack": []}


@procedure("integrations.uninstallSlack")
def uninstall_slack(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    org = ctx.workspace(data.get("organizationId"))
    ctx.check(org, "update", "config")
    raise not_found("Slack integration", str(data.get("integrationId") or ""))


def _versions(ctx: Ctx) -> list[dict[str, Any]]:
    rows = ctx.registry.collection("trackerVersions").values()
    return sorted(rows, key=lambda v: (v["filename"], -v["version"]))


@procedure("tracker.getCurrentVersions")
def current_versions(ctx: Ctx, data: Any) -> list[dict[str, Any]]:
    return [{k: v[k] for k in VERSION_FIELDS} for v in _versions(ctx) if v["isCurrent"]]


@procedure("tracker.listVersions")
def list_versions(ctx: Ctx, data: Any) -> list[dict[str, Any]]:
    filename = (data or {}).get("filename") or "databuddy.js"
    return [{k: v[k] for k in VERSION_FIELDS} for v in _versions(ctx) if v["filename"] == filename]
