"""From one request parameter to a :class:`QueryContext` (or a per-parameter failure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ...contract import QueryType
from ..fixtures import Registry
from .context import Filter, ParameterError, QueryContext
from .dates import InvalidDate, hourly_too_long, normalize_date, range_end, range_start

# Fields any type accepts in filters, whatever its own list says (SPEC 3.3).
ALWAYS_ALLOWED_FILTERS = frozenset(
    {
        "path",
        "query_string",
        "country",
        "region",
        "city",
        "timezone",
        "language",
        "device_type",
        "browser_name",
        "os_name",
        "referrer",
        "utm_source",
        "utm_medium",
        "utm_campaign",
    }
)


@dataclass(frozen=True, slots=True)
class Scope:
    """The ids a request carries (query string), and the organization they resolve to."""

    website_id: str | None = None
    link_id: str | None = None
    schedule_id: str | None = None
    organization_id: str | None = None


class HourlyRangeTooLong(Exception):
    """Hourly granularity over more than 30 days: a 500 for a single request, a failed entry
    inside a batch."""

    message = "Hourly granularity only supports up to 30 days"


def owner_organization(registry: Registry, scope: Scope) -> str | None:
    """The organization a request's ids belong to (website, link, monitor, or the given org)."""
    if scope.website_id:
        site = registry.get("websites", scope.website_id)
        if site:
            return str(site["organizationId"])
    if scope.link_id:
        link = registry.get("links", scope.link_id)
        if link:
            return str(link["organizationId"])
    if scope.schedule_id:
        sch = registry.get("uptimeSchedules", scope.schedule_id)
        if sch:
            return str(sch["organizationId"])
    return scope.organization_id


def check_filters(qtype: QueryType, filters: list[Filter]) -> None:
    if not qtype.builder_declares_filters:
        return  # the server does not check; an unknown column fails in the database
    allowed = ALWAYS_ALLOWED_FILTERS | set(qtype.allowed_filters)
    for f in filters:
        if f.field not in allowed:
            raise ParameterError(f"Filter on field '{f.field}' is not permitted.")


def make_context(
    registry: Registry,
    qtype: QueryType,
    scope: Scope,
    *,
    start_date: str | None,
    end_date: str | None,
    timezone: str,
    granularity: Literal["daily", "hourly"],
    filters: list[Filter],
    limit: int,
    page: int,
    now: datetime,
    sort_by: str | None = None,
    sort_order: Literal["asc", "desc"] | None = None,
) -> QueryContext:
    """Resolve one parameter. Raises :class:`ParameterError` for a failed entry and
    :class:`HourlyRangeTooLong` for the hourly cap."""
    if qtype.project == "link":
        project_id, website_id = scope.link_id, None
    elif qtype.project == "schedule":
        project_id, website_id = scope.schedule_id, None
    elif qtype.project == "organization":
        project_id, website_id = owner_organization(registry, scope), scope.website_id
        if project_id is None:
            raise ParameterError("Could not resolve owner for LLM query")
    elif scope.website_id is None and qtype.category == "custom_events" and scope.organization_id:
        project_id, website_id = scope.organization_id, None  # org-wide custom events
    else:
        project_id, website_id = scope.website_id, scope.website_id
    if not project_id or not start_date or not end_date:
        raise ParameterError("Missing resource identifier, start_date, or end_date")
    try:
        start_n, end_n = normalize_date(start_date), normalize_date(end_date)
    except InvalidDate as exc:
        raise ParameterError(str(exc)) from exc
    start, end = range_start(start_n), range_end(end_n)
    if start > end:
        raise ParameterError("Invalid parameter date range")
    if granularity == "hourly" and hourly_too_long(start_n, end_n):
        raise HourlyRangeTooLong(HourlyRangeTooLong.message)
    check_filters(qtype, filters)
    organization = owner_organization(registry, scope) or ""
    return QueryContext(
        qtype=qtype,
        project_id=project_id,
        website_id=website_id,
        organization_id=organization,
        start=start,
        end=end,
        timezone=timezone,
        granularity=granularity,
        filters=filters,
        limit=limit,
        page=page,
        now=now,
        sort_by=sort_by,
        sort_order=sort_order,
    )
