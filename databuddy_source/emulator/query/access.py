"""Who may query what (SPEC 2.3): 401, 403 and 400 ``MISSING_PROJECT_ID`` decisions."""

from __future__ import annotations

from dataclasses import dataclass

from ..auth import Principal
from ..fixtures import Registry
from .resolve import Scope


@dataclass(frozen=True, slots=True)
class Denial:
    status: int
    error: str
    code: str


AUTH_REQUIRED = Denial(401, "Authentication required", "AUTH_REQUIRED")
MISSING_PROJECT_ID = Denial(
    400,
    "Missing resource identifier (website_id, schedule_id, link_id, or organization_id)",
    "MISSING_PROJECT_ID",
)


def _denied(what: str) -> Denial:
    return Denial(403, f"Access denied to this {what}", "ACCESS_DENIED")


def _org_access(principal: Principal, org_id: str) -> bool:
    if principal.kind == "key":
        return principal.global_access and principal.can_access_org(org_id)
    return principal.can_access_org(org_id)


def check_access(
    registry: Registry, principal: Principal | None, scope: Scope
) -> tuple[Denial | None, Scope]:
    """A denial, or None and the scope to run with (an org fallback filled in)."""
    if scope.link_id:
        link = registry.get("links", scope.link_id)
        if principal is None:
            return AUTH_REQUIRED, scope
        if link is None or not _org_access(principal, link["organizationId"]):
            return _denied("link"), scope
        return None, scope
    if scope.schedule_id:
        schedule = registry.get("uptimeSchedules", scope.schedule_id)
        site = (
            registry.get("websites", schedule["websiteId"])
            if schedule and schedule.get("websiteId")
            else None
        )
        if site is not None and site["isPublic"]:
            return None, scope
        if principal is None:
            return AUTH_REQUIRED, scope
        allowed = schedule is not None and (
            principal.can_access_website(site)
            if site
            else _org_access(principal, schedule["organizationId"])
        )
        return (None if allowed else _denied("monitor")), scope
    if scope.website_id:
        site = registry.get("websites", scope.website_id)
        if site is not None and site["isPublic"]:
            return None, scope
        if principal is None:
            return AUTH_REQUIRED, scope
        if site is None or not principal.can_access_website(site):
            return _denied("website"), scope
        return None, scope
    if scope.organization_id:
        if principal is None:
            return AUTH_REQUIRED, scope
        if not _org_access(principal, scope.organization_id):
            return _denied("organization"), scope
        return None, scope
    fallback = None
    if principal is not None and (principal.kind == "session" or principal.global_access):
        fallback = principal.organization_id
    if not fallback:
        return MISSING_PROJECT_ID, scope
    return None, Scope(organization_id=fallback)
