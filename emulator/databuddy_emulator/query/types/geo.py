"""geo: country, region, city, timezone, language.

``country`` holds ISO 3166-1 alpha-2 codes; the normalizeGeo plugin adds ``country_code`` (the
code) and ``country_name`` (English name) to rows of country, region and city.
"""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..merge import merged_by_country
from ..sql import country_name
from .common import pageviews
from .pages import BY_VISITORS, VISITOR_SHARE, dim_breakdown, not_empty


@builder("country")
def country(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT g.name, g.pageviews, g.visitors, g.percentage,
               g.name AS country_code, {country_name("g.name")} AS country_name
        FROM ({dim_breakdown(ctx, "country", where=not_empty("country")).sql}) AS g""",
        BY_VISITORS,
        post=merged_by_country,
    )


def _place(ctx: QueryContext, column: str) -> Built:
    """Page views by region or city, each with its country."""
    return Built(
        f"""
        SELECT g.name, g.country, g.pageviews, g.visitors, g.percentage,
               g.country AS country_code, {country_name("g.country")} AS country_name
        FROM (SELECT {column} AS name, coalesce(country, '') AS country, count(*) AS pageviews,
                     count(DISTINCT anonymous_id) AS visitors, {VISITOR_SHARE} AS percentage
              FROM {pageviews(ctx)} AS pv
              WHERE {not_empty(column)}
              GROUP BY 1, 2) AS g""",
        f"{BY_VISITORS}, country ASC",
    )


@builder("region")
def region(ctx: QueryContext) -> Built:
    return _place(ctx, "region")


@builder("city")
def city(ctx: QueryContext) -> Built:
    return _place(ctx, "city")


@builder("timezone")
def timezone(ctx: QueryContext) -> Built:
    return dim_breakdown(ctx, "timezone", where=not_empty("timezone"), order=BY_VISITORS)


@builder("language")
def language(ctx: QueryContext) -> Built:
    return dim_breakdown(ctx, "language", where=not_empty("language"), order=BY_VISITORS)
