"""Who is calling: an API key (``x-api-key`` or Bearer), a session cookie, or nobody."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .fixtures import SESSION_COOKIE_NAMES, Registry

KeyOutcome = Literal["ok", "missing", "invalid", "disabled", "revoked", "expired"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. ``kind`` is ``key`` or ``session``."""

    kind: Literal["key", "session"]
    id: str  # API key id or user id
    organization_id: str | None  # the key's org, or the session's active org
    scopes: frozenset[str] = frozenset()
    resources: Mapping[str, list[str]] = field(default_factory=dict)
    memberships: Mapping[str, str] = field(default_factory=dict)  # org -> role (sessions)

    @property
    def rate_limit_key(self) -> str:
        return f"apikey:{self.id}" if self.kind == "key" else f"user:{self.id}"

    @property
    def effective_scopes(self) -> frozenset[str]:
        return self.scopes | frozenset(self.resources.get("global", []))

    def has_scope(self, scope: str, website_id: str | None = None) -> bool:
        if self.kind == "session":
            return True
        scopes = self.effective_scopes
        if website_id is not None:
            scopes |= frozenset(self.resources.get(f"website:{website_id}", []))
        return scope in scopes

    @property
    def global_access(self) -> bool:
        return bool(self.resources.get("global"))

    def website_ids(self) -> set[str]:
        """Website ids a website-scoped key names (empty for global keys and sessions)."""
        return {k.split(":", 1)[1] for k in self.resources if k.startswith("website:")}

    def can_access_website(self, website: Mapping[str, Any]) -> bool:
        org = website["organizationId"]
        if self.kind == "session":
            return org in self.memberships
        if org != self.organization_id:
            return False
        return self.global_access or website["id"] in self.website_ids()

    def can_access_org(self, org_id: str) -> bool:
        if self.kind == "session":
            return org_id in self.memberships
        return org_id == self.organization_id


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value.strip() if value else None


def key_shape_ok(secret: str | None) -> bool:
    """An API key is ``dbdy_`` + random characters, 10-200 characters in all."""
    return secret is not None and secret.startswith("dbdy_") and 10 <= len(secret) <= 200


def resolve_key(
    registry: Registry, secret: str, now: datetime
) -> tuple[KeyOutcome, Principal | None]:
    """Look a key up like the API's key resolver: it must exist, be enabled, not revoked or
    expired."""
    if not key_shape_ok(secret):
        return "invalid", None
    key_id = registry.key_secrets.get(secret)
    record = registry.get("apikeys", key_id) if key_id else None
    if record is None:
        return "missing", None
    if not record["enabled"]:
        return "disabled", None
    if record["revokedAt"] is not None:
        return "revoked", None
    if record["expiresAt"] is not None and record["expiresAt"] <= now:
        return "expired", None
    return "ok", Principal(
        kind="key",
        id=record["id"],
        organization_id=record["organizationId"],
        scopes=frozenset(record["scopes"]),
        resources=dict(record.get("resources") or {}),
    )


def _cookie(headers: Mapping[str, str]) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name in SESSION_COOKIE_NAMES and value:
            return value
    return None


def authenticate(registry: Registry, headers: Mapping[str, str], now: datetime) -> Principal | None:
    """The caller, or None. ``x-api-key`` is tried first; a Bearer token is used only if the
    x-api-key value is absent or malformed. A session cookie comes last."""
    api_key = _header(headers, "x-api-key")
    bearer = None
    auth = _header(headers, "authorization")
    if auth and auth[:7].lower() == "bearer ":
        bearer = auth[7:].strip()
    candidates = [api_key] if key_shape_ok(api_key) else []
    if bearer and not candidates:
        candidates.append(bearer)
    for secret in candidates:
        outcome, principal = resolve_key(registry, secret or "", now)
        if outcome == "ok":
            return principal
        return None
    token = _cookie(headers)
    if token and token in registry.sessions:
        session = registry.sessions[token]
        user_id = session["userId"]
        return Principal(
            kind="session",
            id=user_id,
            organization_id=session.get("activeOrganizationId"),
            memberships=dict(registry.memberships.get(user_id, {})),
        )
    return None
