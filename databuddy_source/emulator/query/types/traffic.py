"""traffic: top_referrers, utm_sources, utm_mediums, utm_campaigns, utm_terms, utm_content,
traffic_sources."""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..sql import lit, normalized_referrer, referrer_host
from .common import pageviews
from .pages import VISITOR_SHARE, dim_breakdown, not_empty

# Readable source names the parseReferrers plugin gives known hosts (host without 'www.').
_KNOWN_HOSTS: dict[str, tuple[str, ...]] = {
    "Google": ("google.com",),
    "Bing": ("bing.com",),
    "DuckDuckGo": ("duckduckgo.com",),
    "Brave Search": ("search.brave.com",),
    "Twitter": ("t.co", "twitter.com", "x.com"),
    "LinkedIn": ("linkedin.com", "lnkd.in"),
    "Facebook": ("facebook.com", "l.facebook.com", "m.facebook.com"),
    "Reddit": ("reddit.com", "old.reddit.com"),
    "Hacker News": ("news.ycombinator.com",),
    "GitHub": ("github.com",),
    "YouTube": ("youtube.com", "m.youtube.com"),
    "Stack Overflow": ("stackoverflow.com",),
    "Product Hunt": ("producthunt.com",),
    "DEV Community": ("dev.to",),
    "Medium": ("medium.com",),
    "ChatGPT": ("chatgpt.com", "chat.openai.com"),
    "Perplexity": ("perplexity.ai",),
}


def readable_source(host: str) -> str:
    """SQL: a readable source name for a referrer host column ('Direct' when empty)."""
    whens = [
        f"WHEN {host} = '' THEN 'Direct'",
        f"WHEN regexp_matches({host}, '^(.+\\.)?google\\.[a-z.]+$') THEN 'Google'",
    ]
    whens += [
        f"WHEN {host} IN ({', '.join(lit(h) for h in hosts)}) THEN {lit(name)}"
        for name, hosts in _KNOWN_HOSTS.items()
    ]
    return f"(CASE {' '.join(whens)} ELSE {host} END)"


def _by_referrer(ctx: QueryContext, *, exclude_self: bool) -> str:
    """Page views grouped by normalized referrer: name, domain, pageviews, visitors, percentage."""
    where = "TRUE"
    if exclude_self:
        own = (
            f"(SELECT regexp_replace(lower(domain), '^www\\.', '') FROM site_lookup "
            f"WHERE client_id = {lit(ctx.project_id)})"
        )
        where = f"{referrer_host('referrer')} NOT IN {own}"
    return f"""(
        SELECT {normalized_referrer("referrer")} AS name, {referrer_host("referrer")} AS domain,
               count(*) AS pageviews, count(DISTINCT anonymous_id) AS visitors,
               {VISITOR_SHARE} AS percentage
        FROM {pageviews(ctx)} AS pv
        WHERE {where}
        GROUP BY 1, 2)"""


@builder("top_referrers")
def top_referrers(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT name, pageviews, visitors, percentage,
               {readable_source("domain")} AS referrer, domain
        FROM {_by_referrer(ctx, exclude_self=True)} AS r""",
        "pageviews DESC, visitors DESC, name ASC",
    )


@builder("traffic_sources")
def traffic_sources(ctx: QueryContext) -> Built:
    return Built(
        f"""
        SELECT name AS source, pageviews, visitors,
               {readable_source("domain")} AS referrer, domain
        FROM {_by_referrer(ctx, exclude_self=False)} AS r""",
        "pageviews DESC, visitors DESC, source ASC",
    )


def _utm(ctx: QueryContext, column: str) -> Built:
    return dim_breakdown(ctx, column, where=not_empty(column))


@builder("utm_sources")
def utm_sources(ctx: QueryContext) -> Built:
    return _utm(ctx, "utm_source")


@builder("utm_mediums")
def utm_mediums(ctx: QueryContext) -> Built:
    return _utm(ctx, "utm_medium")


@builder("utm_campaigns")
def utm_campaigns(ctx: QueryContext) -> Built:
    return _utm(ctx, "utm_campaign")


@builder("utm_terms")
def utm_terms(ctx: QueryContext) -> Built:
    return _utm(ctx, "utm_term")


@builder("utm_content")
def utm_content(ctx: QueryContext) -> Built:
    return _utm(ctx, "utm_content")
