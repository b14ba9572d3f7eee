"""devices: browser_name, os_name, screen_resolution, browsers_grouped, device_types, browsers,
browser_versions, operating_systems, os_versions, screen_resolutions, viewport_vs_resolution,
viewport_patterns. Ordered by visitors, as Databuddy's device builders are."""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from .common import pageviews
from .pages import BY_VISITORS, VISITOR_SHARE, dim_breakdown, not_empty

DEVICE_LABEL = (
    "(CASE WHEN coalesce(device_type, '') = '' THEN 'Desktop' "
    "ELSE upper(device_type[1]) || lower(device_type[2:]) END)"
)


@builder("browser_name", "browsers")
def browser_name(ctx: QueryContext) -> Built:
    return dim_breakdown(ctx, "browser_name", where=not_empty("browser_name"), order=BY_VISITORS)


@builder("os_name", "operating_systems")
def os_name(ctx: QueryContext) -> Built:
    return dim_breakdown(ctx, "os_name", where=not_empty("os_name"), order=BY_VISITORS)


@builder("device_types")
def device_types(ctx: QueryContext) -> Built:
    return dim_breakdown(ctx, DEVICE_LABEL, order=BY_VISITORS)


@builder("screen_resolution")
def screen_resolution(ctx: QueryContext) -> Built:
    # one row per (viewport size, device type): a viewport seen on two device types is listed
    # twice
    return Built(
        f"""
        SELECT viewport_size AS name, count(*) AS pageviews,
               count(DISTINCT anonymous_id) AS visitors, device_type,
               {VISITOR_SHARE} AS percentage
        FROM {pageviews(ctx)} AS pv WHERE {not_empty("viewport_size")}
        GROUP BY viewport_size, device_type""",
        f"{BY_VISITORS}, device_type ASC NULLS FIRST",
    )


@builder("screen_resolutions")
def screen_resolutions(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT viewport_size AS name, count(*) AS pageviews,
               count(DISTINCT anonymous_id) AS visitors
        FROM {pageviews(ctx)} AS pv
        WHERE {not_empty("viewport_size")}
        GROUP BY viewport_size""",
        BY_VISITORS,
    )


@builder("browsers_grouped")
def browsers_grouped(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT browser_name || ' ' || browser_version AS name, browser_name, browser_version,
               count(*) AS pageviews, count(DISTINCT anonymous_id) AS visitors,
               count(DISTINCT session_id) AS sessions
        FROM {pageviews(ctx)} AS pv
        WHERE {not_empty("browser_name")} AND {not_empty("browser_version")}
        GROUP BY browser_name, browser_version""",
        "visitors DESC, pageviews DESC, browser_name ASC, browser_version ASC",
    )


@builder("browser_versions")
def browser_versions(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT browser_name, browser_version, count(*) AS pageviews,
               count(DISTINCT anonymous_id) AS visitors, {VISITOR_SHARE} AS percentage
        FROM {pageviews(ctx)} AS pv
        WHERE {not_empty("browser_name")} AND {not_empty("browser_version")}
        GROUP BY browser_name, browser_version""",
        "visitors DESC, pageviews DESC, browser_name ASC, browser_version ASC",
    )


@builder("os_versions")
def os_versions(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT os_name || ' ' || os_version AS name, count(*) AS pageviews,
               count(DISTINCT anonymous_id) AS visitors
        FROM {pageviews(ctx)} AS pv
        WHERE {not_empty("os_name")} AND {not_empty("os_version")}
        GROUP BY os_name, os_version""",
        BY_VISITORS,
    )


@builder("viewport_vs_resolution")
def viewport_vs_resolution(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT viewport_size, count(DISTINCT anonymous_id) AS visitors, count(*) AS pageviews,
               coalesce(device_type, '') AS device_type
        FROM {pageviews(ctx)} AS pv
        WHERE {not_empty("viewport_size")}
        GROUP BY viewport_size, coalesce(device_type, '')""",
        "visitors DESC, pageviews DESC, viewport_size ASC, device_type ASC",
    )


@builder("viewport_patterns")
def viewport_patterns(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT viewport_size, count(DISTINCT anonymous_id) AS visitors,
               count(DISTINCT session_id) AS sessions, {VISITOR_SHARE} AS percentage
        FROM {pageviews(ctx)} AS pv
        WHERE {not_empty("viewport_size")}
        GROUP BY viewport_size""",
        "visitors DESC, sessions DESC, viewport_size ASC",
    )
