"""flags.* and targetGroups.* procedures: free-form database rows (rpc.json notes)."""

from __future__ import annotations

from typing import Any

from ..context import Ctx
from ..errors import bad_request, conflict, not_found
from .registry import procedure

FLAGS_CAP = 200
PUBLIC_FLAG_FIELDS = (
    "key",
    "name",
    "description",
    "type",
    "status",
    "defaultValue",
    "persistAcrossAuth",
    "rolloutPercentage",
    "rolloutBy",
    "environment",
    "dependencies",
    "variants",
)
FLAG_DEFAULTS: dict[str, Any] = {
    "name": None,
    "description": None,
    "payload": None,
    "rules": [],
    "persistAcrossAuth": False,
    "rolloutBy": None,
    "variants": [],
    "dependencies": [],
    "targetGroupIds": [],
    "environment": None,
}


def _flag_org(ctx: Ctx, flag: dict[str, Any]) -> str:
    if flag.get("websiteId"):
        site = ctx.registry.get("websites", flag["websiteId"])
        if site is not None:
            return str(site["organizationId"])
    return str(flag.get("organizationId") or "")


def with_relations(ctx: Ctx, flag: dict[str, Any]) -> dict[str, Any]:
    """A flag row plus ``flagsToTargetGroups`` and ``targetGroups`` (live groups only)."""
    groups = [
        g
        for gid in flag.get("targetGroupIds") or []
        if (g := ctx.registry.get("targetGroups", gid)) and not g.get("deletedAt")
    ]
    return {
        **flag,
        "flagsToTargetGroups": [
            {"flagId": flag["id"], "targetGroupId": g["id"], "targetGroup": g} for g in groups
        ],
        "targetGroups": groups,
    }


def _scope(ctx: Ctx, data: dict[str, Any], permission: str = "read") -> tuple[str, str, bool]:
    """("website"|"organization", id, full access) of a flags call."""
    if data.get("websiteId"):
        site = ctx.website(data["websiteId"])
        if permission == "read":
            return "website", site["id"], ctx.check_website(site, "read", "flags")
        ctx.check(site["organizationId"], "create", "flags", site["id"])
        return "website", site["id"], True
    org = ctx.workspace(data.get("organizationId"))
    ctx.check(org, "read" if permission == "read" else "create", "flags")
    return "organization", org, True


def _in_scope(flag: dict[str, Any], kind: str, scope_id: str) -> bool:
    if kind == "website":
        return bool(flag.get("websiteId") == scope_id)
    return bool(flag.get("organizationId") == scope_id and not flag.get("websiteId"))


def _present(ctx: Ctx, flag: dict[str, Any], full: bool) -> dict[str, Any]:
    if full:
        return with_relations(ctx, flag)
    return {k: flag.get(k) for k in PUBLIC_FLAG_FIELDS}


@procedure("flags.list")
def list_flags(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    kind, scope_id, full = _scope(ctx, data)
    status = data.get("status")
    rows = ctx.rows(
        "flags",
        cap=FLAGS_CAP,
        where=lambda f: (
            _in_scope(f, kind, scope_id) and (status is None or f.get("status") == status)
        ),
    )
    return [_listed(_present(ctx, f, full), full) for f in rows]


def _listed(row: dict[str, Any], full: bool) -> dict[str, Any]:
    """A row of flags.list: no ``flagsToTargetGroups`` (since 2026-05), and no rules for
    readers of a public website's flags."""
    row = {k: v for k, v in row.items() if k != "flagsToTargetGroups"}
    if not full and "rules" in row:
        row["rules"] = []
    return row


def _find(ctx: Ctx, data: dict[str, Any], match: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    if data.get("websiteId") or data.get("organizationId"):
        kind, scope_id, full = _scope(ctx, data)
        candidates = ctx.rows("flags", where=lambda f: _in_scope(f, kind, scope_id))
    else:  # no scope given: the caller's organization first
        own = ctx.principal.organization_id if ctx.principal else None
        candidates = sorted(ctx.rows("flags"), key=lambda f: _flag_org(ctx, f) != own)
        full = True
    for flag in candidates:
        if all(flag.get(k) == v for k, v in match.items()):
            if not (data.get("websiteId") or data.get("organizationId")):
                full = _flag_access(ctx, flag)
            return flag, full
    raise not_found("flag", match.get("id") or match.get("key"))


def _flag_access(ctx: Ctx, flag: dict[str, Any]) -> bool:
    if flag.get("websiteId"):
        site = ctx.website(flag["websiteId"])
        return ctx.check_website(site, "read", "flags")
    ctx.check(_flag_org(ctx, flag), "read", "flags")
    return True


@procedure("flags.getById")
def get_flag(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    flag, full = _find(ctx, data, {"id": data["id"]})
    return _present(ctx, flag, full)


@procedure("flags.getByKey")
def get_flag_by_key(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Only active, non-deleted flags."""
    flag, full = _find(ctx, data, {"key": data["key"], "status": "active"})
    return _present(ctx, flag, full)


@procedure("flags.create")
def create_flag(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    kind, scope_id, _ = _scope(ctx, data, "create")
    if any(
        f.get("key") == data["key"]
        for f in ctx.rows("flags", where=lambda f: _in_scope(f, kind, scope_id))
    ):
        raise conflict("A flag with this key already exists in this scope")
    flag = {
        **FLAG_DEFAULTS,
        **{k: v for k, v in data.items() if k not in ("websiteId", "organizationId")},
    }
    flag.update(
        {
            "id": ctx.new_id(),
            "websiteId": scope_id if kind == "website" else None,
            "organizationId": scope_id if kind == "organization" else None,
            "userId": None,
            "createdBy": ctx.user_id,
            "deletedAt": None,
        }
    )
    if flag["name"] is None:
        flag["name"] = data["key"]
    return with_relations(ctx, ctx.insert("flags", flag))


def _flag_for_write(ctx: Ctx, flag_id: str, permission: str) -> dict[str, Any]:
    flag = ctx.get("flags", flag_id, "flag")
    ctx.check(
        _flag_org(ctx, flag),
        "delete" if permission == "delete" else "update",
        "flags",
        flag.get("websiteId"),
    )
    return flag


@procedure("flags.update")
def update_flag(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    flag = _flag_for_write(ctx, data["id"], "update")
    changes = {k: v for k, v in data.items() if k != "id"}
    return with_relations(ctx, ctx.update(flag, changes))


@procedure("flags.delete")
def delete_flag(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    ctx.soft_delete(_flag_for_write(ctx, data["id"], "delete"))
    return {"success": True}


# ------------------------------------------------------------------------- target groups
@procedure("targetGroups.list")
def list_groups(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    site, _ = ctx.website_for_read(data["websiteId"], "flags")
    return ctx.rows("targetGroups", where=lambda g: g.get("websiteId") == site["id"])


@procedure("targetGroups.getById")
def get_group(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    site, _ = ctx.website_for_read(data["websiteId"], "flags")
    group = ctx.get("targetGroups", data["id"], "targetGroup")
    if group.get("websiteId") != site["id"]:
        raise not_found("targetGroup", data["id"])
    return group


def _group_for_write(ctx: Ctx, group_id: str, permission: str) -> dict[str, Any]:
    group = ctx.get("targetGroups", group_id, "targetGroup")
    site = ctx.website(group["websiteId"])
    ctx.check(
        site["organizationId"],
        "delete" if permission == "delete" else "update",
        "flags",
        site["id"],
    )
    return group


@procedure("targetGroups.create")
def create_group(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    site = ctx.website(data["websiteId"])
    ctx.check(site["organizationId"], "create", "flags", site["id"])
    return ctx.insert(
        "targetGroups",
        {
            "id": ctx.new_id(),
            "name": data["name"],
            "description": data.get("description"),
            "color": data["color"],
            "rules": data["rules"],
            "websiteId": site["id"],
            "createdBy": ctx.user_id,
            "deletedAt": None,
        },
    )


@procedure("targetGroups.update")
def update_group(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    group = _group_for_write(ctx, data["id"], "update")
    changes = {k: v for k, v in data.items() if k != "id"}
    if not changes:
        raise bad_request("Nothing to update")
    return ctx.update(group, changes)


@procedure("targetGroups.delete")
def delete_group(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    ctx.soft_delete(_group_for_write(ctx, data["id"], "delete"))
    return {"success": True}
