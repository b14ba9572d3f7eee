"""From one request parameter to a :class:`QueryContext` (or a per-parameter failure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from databuddy_source.contract import QueryType

from ..fixtures import Registry
from .context import Filter, ParameterError, QueryContext
from .dates import InvalidDate, hourly_too_long, normalize_date, range_end, range_start

# Fields any type accepts in filters, whatever its own list says.
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


class PreparationError(ParameterError):
    """A parameter that fails before it runs (its own dates, a missing resource or range)."""


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
    """Required filters present, and every field one the type accepts (the global fields and its
    own list; before 2026-05 a type without its own list accepted any field)."""
    required = str(qtype.raw.get("requires_filter") or "").split(" ", 1)[0]
    if required and not any(f.field == required for f in filters):
        raise ParameterError(f"Missing required filter: '{required}'.")
    accepted: frozenset[str]
    if "2026-05" in qtype.versions:
        accepted = frozenset(qtype.accepted_filters)
    elif qtype.builder_declares_filters:
        accepted = ALWAYS_ALLOWED_FILTERS | frozenset(qtype.allowed_filters)
    else:
        return  # before 2026-05 such types accepted any field (a bad column failed in the DB)
    for f in filters:
        if f.field not in accepted:
            raise ParameterError(
                f"Filter on field '{f.field}' is not permitted. Allowed fields for this query: "
                f"{', '.join(sorted(accepted))}."
            )


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
    # Every type runs against the request's project, whatever kind the type expects (a link
    # type under website_id= finds no rows); only the 2026-04 llm_* types read the owner org.
    project_id = scope.link_id or scope.schedule_id or scope.website_id or scope.organization_id
    website_id = None if scope.link_id or scope.schedule_id else scope.website_id
    if qtype.project == "organization":
        project_id = owner_organization(registry, scope)
        if project_id is None:
            raise ParameterError("Could not resolve owner for LLM query")
    try:
        start_n = normalize_date(start_date) if start_date else None
        end_n = normalize_date(end_date) if end_date else None
    except InvalidDate as exc:
        raise PreparationError("Invalid parameter date range") from exc
    if not project_id or not start_n or not end_n:
        raise PreparationError("Missing resource identifier, start_date, or end_date")
    start, end = range_start(start_n), range_end(end_n)  # start > end: an empty range
    if granularity == "hourly" and hourly_too_long(start_n, end_n):
        raise HourlyRangeTooLong(HourlyRangeTooLong.message)
    check_filters(qtype, filters)
    organization = owner_organization(registry, scope) or ""
    extra: dict[str, object] = {}
    if project_id == scope.organization_id and qtype.project != "organization":
        # an organization's request covers all of its websites that are not deleted
        extra["website_ids"] = [w["id"] for w in registry.live("websites")
                                if w["organizationId"] == scope.organization_id]  # fmt: skip
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
        extra=extra,
    )
