"""Who may query what: the 401, 403 and 400 ``MISSING_PROJECT_ID`` decisions, and the plan gate
(402 ``FEATURE_UNAVAILABLE``) on the error query types (docs/api-notes.md, "Access")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from databuddy_source.contract import ApiVersion, query_types_by_name

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
FEATURE_UNAVAILABLE = Denial(
    402, "This feature is not available on the plan", "FEATURE_UNAVAILABLE"
)

# Plans whose features include error tracking (every plan but free).
ERROR_TRACKING_PLANS = frozenset({"hobby", "pro", "scale"})


def _refused(principal: Principal | None, what: str) -> Denial:
    """Anonymous callers are told to authenticate; authenticated ones are denied."""
    if principal is None:
        return AUTH_REQUIRED
    return Denial(403, f"Access denied to this {what}", "ACCESS_DENIED")


def all_public(names: Sequence[str], api_version: ApiVersion) -> bool:
    """True when a request names at least one type and every type may be read anonymously
    (before 2026-05 any type could be read on a public website)."""
    if api_version != "2026-05":
        return True
    types = query_types_by_name(api_version)
    return bool(names) and all(n in types and types[n].public_access for n in names)


def _website_access(
    principal: Principal | None, site: dict[str, Any] | None, public_request: bool
) -> bool:
    if site is None:
        return False
    if site["isPublic"] and public_request:
        return True
    if principal is None or not site.get("organizationId"):
        return False
    return principal.can_access_website(site)


def _schedule_access(
    registry: Registry, principal: Principal | None, schedule: dict[str, Any] | None
) -> bool:
    if schedule is None or principal is None:
        return False
    if principal.kind == "session":
        return principal.can_access_org(schedule["organizationId"])
    if schedule["organizationId"] != principal.organization_id:
        return False
    return principal.global_access or schedule.get("websiteId") in principal.website_ids()


def _link_access(principal: Principal | None, link: dict[str, Any] | None) -> bool:
    if link is None or link.get("deletedAt") or principal is None:
        return False
    if principal.kind == "session":
        return principal.can_access_org(link["organizationId"])
    return principal.global_access and link["organizationId"] == principal.organization_id


def check_access(
    registry: Registry,
    principal: Principal | None,
    scope: Scope,
    names: Sequence[str],
    api_version: ApiVersion,
) -> tuple[Denial | None, Scope]:
    """A denial, or None and the scope to run with (an organization fallback filled in).

    ``names`` are every query type of the request (all batch elements): a public website is
    open to anyone only when each of them is public."""
    if scope.link_id:
        link = registry.get("links", scope.link_id)
        return (None if _link_access(principal, link) else _refused(principal, "link")), scope
    if scope.schedule_id:
        schedule = registry.get("uptimeSchedules", scope.schedule_id)
        allowed = _schedule_access(registry, principal, schedule)
        return (None if allowed else _refused(principal, "monitor")), scope
    if scope.website_id:
        site = registry.get("websites", scope.website_id)
        allowed = _website_access(principal, site, all_public(names, api_version))
        return (None if allowed else _refused(principal, "website")), scope
    org_id = scope.organization_id
    if org_id is None and principal and (principal.kind == "session" or principal.global_access):
        org_id = principal.organization_id
    if org_id:
        allowed = principal is not None and principal.can_access_org(org_id)
        return (None if allowed else _refused(principal, "organization")), Scope(
            organization_id=org_id
        )
    return (AUTH_REQUIRED if principal is None else MISSING_PROJECT_ID), scope


def check_plan(
    registry: Registry, scope: Scope, names: Sequence[str], api_version: ApiVersion
) -> Denial | None:
    """402 when a website request names a plan-gated type and the website's organization is on
    a plan without that feature (link, monitor and organization requests are not gated)."""
    if api_version != "2026-05" or not scope.website_id or scope.link_id or scope.schedule_id:
        return None
    site = registry.get("websites", scope.website_id)
    if site is None or not site.get("organizationId"):
        return None
    types = query_types_by_name(api_version)
    gated = {types[n].plan_gated for n in names if n in types and types[n].plan_gated}
    if gated and registry.plan_of(site["organizationId"]) not in ERROR_TRACKING_PLANS:
        return FEATURE_UNAVAILABLE
    return None
