"""Per-call context of a procedure: the caller, workspace resolution and permission checks
plus small registry helpers shared by the procedure modules."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ..auth import Principal
from ..fixtures import Registry
from ..store import Store
from .errors import RpcError, bad_request, forbidden, not_found, unauthorized

Permission = Literal["read", "create", "update", "delete"]
Area = Literal["data", "websites", "links", "flags", "config"]

# API key scopes by area: (read scopes, write scopes); any one of a tuple suffices.
AREA_SCOPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "data": (("read:data",), ("manage:config",)),
    "websites": (("read:data",), ("manage:websites",)),
    "links": (("read:data",), ("manage:config",)),  # after the links scope of the procedure
    "flags": (("read:data",), ("manage:flags", "manage:config")),
    "config": (("read:data",), ("manage:config",)),
}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": frozenset({"read", "create", "update", "delete"}),
    "admin": frozenset({"read", "create", "update", "delete"}),
    "member": frozenset({"read", "create", "update"}),
    "viewer": frozenset({"read"}),
}


@dataclass(slots=True)
class Ctx:
    """What a procedure handler gets besides its input."""

    store: Store
    procedure: dict[str, Any]
    principal: Principal | None
    now: datetime  # naive UTC, virtual

    @property
    def registry(self) -> Registry:
        return self.store.registry

    @property
    def public(self) -> bool:
        return bool(self.procedure["auth"] == "public")

    # ------------------------------------------------------------------ identity
    def require_principal(self) -> Principal:
        """The caller; a handler reached without one (a public procedure on a private
        resource) answers the workspace check's bare "Unauthorized"."""
        if self.principal is None:
            raise unauthorized("Unauthorized")
        return self.principal

    @property
    def user_id(self) -> str:
        """The acting user: the session user, or for API keys the key's owner (the first owner
        of the key's organization)."""
        p = self.require_principal()
        if p.kind == "session":
            return p.id
        record = self.registry.get("apikeys", p.id) or {}
        if record.get("userId"):
            return str(record["userId"])
        for user_id, orgs in sorted(self.registry.memberships.items()):
            if orgs.get(p.organization_id or "") == "owner":
                return user_id
        return p.id

    # ------------------------------------------------------------------ workspace
    def workspace(
        self, organization_id: str | None = None, website: dict[str, Any] | None = None
    ) -> str:
        """organizationId from input, else the website's org, else the key's org, else the
        session's active org."""
        org = organization_id or (website or {}).get("organizationId")
        if not org and self.principal is not None:
            org = self.principal.organization_id
        if not org:
            raise bad_request("Organization ID is required")
        return str(org)

    def check(
        self,
        org_id: str,
        permission: Permission,
        area: Area = "data",
        website_id: str | None = None,
    ) -> None:
        """Raise 401/403 unless the caller may ``permission`` in ``org_id``."""
        p = self.require_principal()
        if p.kind == "key":
            # a procedure's own scope (the links family) is checked first, then the workspace:
            # its organization, and the scope its resource and permission need
            for scope in self.procedure.get("required_api_key_scopes") or ():
                if not p.has_scope(scope, website_id):
                    raise forbidden(f"API key missing {scope} scope")
            if org_id != p.organization_id:
                raise forbidden("API key does not have access to this workspace")
            scopes = self._scopes(permission, area)
            if not any(p.has_scope(s, website_id) for s in scopes):
                raise forbidden(f"API key missing required scope: {scopes[0]}")
            if (
                website_id
                and area != "links"
                and not p.global_access
                and website_id not in p.website_ids()
            ):
                raise forbidden("API key does not have access to this website")
            return
        role = p.memberships.get(org_id)
        if role is None:
            raise forbidden("You do not have access to this workspace")
        if permission not in ROLE_PERMISSIONS.get(role, frozenset()):
            raise forbidden()

    def _scopes(self, permission: Permission, area: Area) -> tuple[str, ...]:
        read, write = AREA_SCOPES[area]
        return read if permission == "read" else write

    def check_website(
        self, website: dict[str, Any], permission: Permission, area: Area = "data"
    ) -> bool:
        """Check access to a website. Public procedures may read public websites without
        access; returns False then (the caller sees the public view), True for full access."""
        try:
            self.check(website["organizationId"], permission, area, website["id"])
            return True
        except RpcError:
            if self.public and permission == "read" and website.get("isPublic"):
                return False
            raise

    def readable_websites(self, org_id: str) -> Callable[[dict[str, Any]], bool]:
        """A predicate for websites of ``org_id`` the caller may list (website-scoped keys
        see only their websites)."""
        p = self.require_principal()
        if p.kind == "key" and not p.global_access:
            allowed = p.website_ids()
            return lambda w: w["id"] in allowed
        return lambda w: True

    # ------------------------------------------------------------------ registry
    def get(
        self, collection: str, object_id: str, resource_type: str, *, include_deleted: bool = False
    ) -> dict[str, Any]:
        obj = self.registry.get(collection, object_id)
        if obj is None or (obj.get("deletedAt") and not include_deleted):
            raise not_found(resource_type, object_id)
        return obj

    def website(self, website_id: str, *, include_deleted: bool = False) -> dict[str, Any]:
        return self.get("websites", website_id, "website", include_deleted=include_deleted)

    def website_for_read(self, website_id: str, area: Area = "data") -> tuple[dict[str, Any], bool]:
        site = self.website(website_id)
        return site, self.check_website(site, "read", area)

    def rows(
        self,
        collection: str,
        *,
        include_deleted: bool = False,
        where: Callable[[dict[str, Any]], bool] | None = None,
        order: str | None = "createdAt",
        descending: bool = True,
        cap: int | None = None,
    ) -> list[dict[str, Any]]:
        rows: Iterable[dict[str, Any]] = self.registry.collection(collection).values()
        out = [
            r
            for r in rows
            if (include_deleted or not r.get("deletedAt")) and (where is None or where(r))
        ]
        if order:
            out.sort(key=lambda r: (_sort_key(r.get(order)), r.get("id", "")), reverse=descending)
        return out[:cap] if cap is not None else out

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def insert(self, collection: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj.setdefault("id", self.new_id())
        obj.setdefault("createdAt", self.now)
        obj.setdefault("updatedAt", self.now)
        with self.store.lock:
            self.registry.collection(collection)[obj["id"]] = obj
        return obj

    def update(
        self, obj: dict[str, Any], changes: dict[str, Any], *, touch: bool = True
    ) -> dict[str, Any]:
        with self.store.lock:
            obj.update(changes)
            if touch:
                obj["updatedAt"] = self.now
        return obj

    def soft_delete(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self.update(obj, {"deletedAt": self.now})

    def hard_delete(self, collection: str, object_id: str) -> None:
        with self.store.lock:
            self.registry.collection(collection).pop(object_id, None)


def _sort_key(value: Any) -> Any:
    if value is None:
        return (0, "")
    if isinstance(value, datetime):
        return (1, value.isoformat())
    return (1, str(value).lower() if isinstance(value, str) else str(value))


def pick(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """The entries of ``data`` among ``names`` that are present."""
    return {n: data[n] for n in names if n in data}
