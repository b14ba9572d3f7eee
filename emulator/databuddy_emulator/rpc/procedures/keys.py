"""apikeys.* procedures. Records never carry the secret; ``registry.key_secrets`` maps secrets
to key ids, so keys created here authenticate immediately."""

from __future__ import annotations

import secrets
import string
from typing import Any

from ...auth import resolve_key
from ..context import Ctx
from ..errors import bad_request
from ..schema import parse_datetime
from .registry import procedure

_ALPHABET = string.ascii_letters + string.digits
ROLES_WITH_SCOPE_EDIT = frozenset({"owner", "admin"})


def _new_secret() -> str:
    return "dbdy_" + "".join(secrets.choice(_ALPHABET) for _ in range(48))


def _key(ctx: Ctx, key_id: str, permission: str = "read") -> dict[str, Any]:
    key = ctx.get("apikeys", key_id, "apiKey")
    ctx.check(key["organizationId"], "read" if permission == "read" else "update", "config")
    return key


def _expiry(raw: str | None) -> Any:
    if raw is None:
        return None
    parsed = parse_datetime(raw)
    if parsed is None:
        raise bad_request(f"Invalid expiresAt: {raw}")
    return parsed


@procedure("apikeys.getMyRole")
def get_my_role(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """The session user's role in the organization (viewers and non-members: null)."""
    role = ctx.require_principal().memberships.get(data["organizationId"])
    role = role if role in ("owner", "admin", "member") else None
    return {"role": role, "canEditScopes": role in ROLES_WITH_SCOPE_EDIT}


@procedure("apikeys.list")
def list_keys(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    org = ctx.workspace(data["organizationId"])
    ctx.check(org, "read", "config")
    return ctx.rows("apikeys", where=lambda k: k["organizationId"] == org)


@procedure("apikeys.getById")
def get_key(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _key(ctx, data["id"])


def _register(ctx: Ctx, key: dict[str, Any], secret: str) -> None:
    with ctx.store.lock:
        for old in [s for s, kid in ctx.registry.key_secrets.items() if kid == key["id"]]:
            del ctx.registry.key_secrets[old]
        ctx.registry.key_secrets[secret] = key["id"]


@procedure("apikeys.create")
def create_key(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    org = ctx.workspace(data["organizationId"])
    ctx.check(org, "create", "config")
    secret = _new_secret()
    ratelimit = {"enabled": False, "max": None, "window": None, **(data.get("ratelimit") or {})}
    key = ctx.insert(
        "apikeys",
        {
            "id": ctx.new_id(),
            "name": data["name"],
            "prefix": "dbdy",
            "start": secret[:8],
            "type": data.get("type") or "user",
            "enabled": True,
            "scopes": data.get("scopes") or [],
            "tags": data.get("tags") or [],
            "expiresAt": _expiry(data.get("expiresAt")),
            "revokedAt": None,
            "lastUsedAt": None,
            "description": data.get("description"),
            "resources": data.get("resources") or {},
            "ratelimit": ratelimit,
            "organizationId": org,
            "userId": ctx.user_id,
        },
    )
    _register(ctx, key, secret)
    return {"id": key["id"], "secret": secret, "prefix": key["prefix"], "start": key["start"]}


@procedure("apikeys.update")
def update_key(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    key = _key(ctx, data["id"], "update")
    changes = {k: v for k, v in data.items() if k not in ("id", "ratelimit", "expiresAt")}
    if "expiresAt" in data:
        changes["expiresAt"] = _expiry(data["expiresAt"])
    if "resources" in changes and changes["resources"] is None:
        changes["resources"] = {}
    if "tags" in changes and changes["tags"] is None:
        changes["tags"] = []
    if "ratelimit" in data:
        changes["ratelimit"] = {**(key.get("ratelimit") or {}), **data["ratelimit"]}
    return ctx.update(key, changes)


@procedure("apikeys.revoke")
def revoke_key(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    key = _key(ctx, data["id"], "update")
    ctx.update(key, {"revokedAt": key.get("revokedAt") or ctx.now, "enabled": False})
    return {"success": True}


@procedure("apikeys.rotate")
def rotate_key(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    key = _key(ctx, data["id"], "update")
    secret = _new_secret()
    ctx.update(key, {"start": secret[:8]})
    _register(ctx, key, secret)
    return {"id": key["id"], "secret": secret, "prefix": key["prefix"], "start": key["start"]}


@procedure("apikeys.delete")
def delete_key(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    key = ctx.get("apikeys", data["id"], "apiKey")
    ctx.check(key["organizationId"], "delete", "config")
    with ctx.store.lock:
        for old in [s for s, kid in ctx.registry.key_secrets.items() if kid == key["id"]]:
            del ctx.registry.key_secrets[old]
    ctx.hard_delete("apikeys", key["id"])
    return {"success": True}


@procedure("apikeys.verify")
def verify_key(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    secret = data.get("secret")
    if not secret:
        return {"valid": False, "error": "API key is required", "errorCode": "missing"}
    outcome, principal = resolve_key(ctx.registry, secret, ctx.now)
    if principal is None:
        return {"valid": False, "error": f"API key is {outcome}", "errorCode": outcome}
    resource = data.get("resource")
    website = resource.split(":", 1)[1] if resource and resource.startswith("website:") else None
    scopes = set(principal.effective_scopes)
    if website:
        scopes |= set(principal.resources.get(f"website:{website}", []))
    required = data.get("requiredScopes") or []
    matched = [s for s in required if s in scopes]
    missing = [s for s in required if s not in scopes]
    ok = not required or (bool(matched) if data.get("mode", "any") == "any" else not missing)
    if not ok:
        return {
            "valid": False,
            "error": "API key lacks the required scopes",
            "errorCode": "insufficient_scope",
            "scopes": sorted(scopes),
            "matched": matched,
            "missing": missing,
        }
    record = ctx.registry.get("apikeys", principal.id) or {}
    if data.get("trackUsage", True):
        ctx.update(record, {"lastUsedAt": ctx.now}, touch=False)
    return {
        "valid": True,
        "keyId": principal.id,
        "ownerId": record.get("userId"),
        "scopes": sorted(scopes),
    }
