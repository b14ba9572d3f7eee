"""traffic: top_referrers, utm_sources, utm_mediums, utm_campaigns, utm_terms, utm_content,
traffic_sources."""

from __future__ import annotations

from ..context import QueryContext
from ..engine import Built, builder
from ..referrers import merged_by_source
from ..sql import lit, normalized_referrer, url_host
from .common import ATTRIBUTED, attributed
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


def _own_domain(ctx: QueryContext) -> str:
    return (
        f"(SELECT lower(domain) FROM site_lookup WHERE client_id = {lit(ctx.project_id)} LIMIT 1)"
    )


def _by_source(ctx: QueryContext, name: str, where: str) -> Built:
    """Session-attributed page views grouped by a referrer URL expression, a page of them in
    visitors order, then merged by readable source."""
    return Built(
        f"""
        SELECT {name} AS name, count(*) AS pageviews,
               count(DISTINCT anonymous_id) AS visitors, {VISITOR_SHARE} AS percentage,
               {_own_domain(ctx)} AS own_domain
        FROM {attributed(ctx)} AS pv
        WHERE event_name = 'screen_view' AND {where}
        GROUP BY 1""",
        "visitors DESC, name ASC",
        post=merged_by_source(None),
    )


@builder("top_referrers")
def top_referrers(ctx: QueryContext) -> Built:
    # Referred page views only: no direct traffic, no self-referrals, no localhost.
    host = url_host("referrer")
    own = _own_domain(ctx)
    where = (
        f"coalesce(referrer, '') != '' AND {host} != {own} "
        f"AND NOT {host} ILIKE '%.' || {own} AND {host} NOT IN ('localhost', '127.0.0.1')"
    )
    return _by_source(ctx, normalized_referrer("referrer"), where)


@builder("traffic_sources")
def traffic_sources(ctx: QueryContext) -> Built:
    # Every page view; direct, self-referrals and localhost together as direct.
    host = url_host("referrer")
    own = _own_domain(ctx)
    name = (
        f"(CASE WHEN {host} = {own} OR {host} LIKE '%.' || {own} THEN 'direct' "
        f"ELSE {normalized_referrer('referrer', own_domain='localhost')} END)"
    )
    return _by_source(ctx, name, "TRUE")


def _utm(ctx: QueryContext, column: str) -> Built:
    # utm_source/medium/campaign are the session's first values; term and content the event's.
    return dim_breakdown(ctx, column, where=not_empty(column), by_session=column in ATTRIBUTED)


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
