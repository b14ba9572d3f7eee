"""Readable referrer sources, and rows merged by them (``top_referrers``, ``traffic_sources``,
``realtime_referrers``, ``link_top_referrers``).

Databuddy turns each referrer URL of a breakdown page into a readable source (``Google``,
``Hacker News``; an unknown host stays its host name), then merges rows of the same source,
summing page views and visitors, recomputing the visitors' share over the merged page and
sorting by visitors (a stable sort).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qs, urlsplit

# host (without 'www.') -> (readable name, referrer type); a host also matches by its parent
# domains ('m.facebook.com' -> 'facebook.com').
KNOWN_SOURCES: dict[str, tuple[str, str]] = {
    "google.com": ("Google", "search"),
    "google.de": ("Google", "search"),
    "google.co.uk": ("Google", "search"),
    "bing.com": ("Bing", "search"),
    "duckduckgo.com": ("DuckDuckGo", "search"),
    "search.brave.com": ("Brave Search", "search"),
    "t.co": ("Twitter", "social"),
    "twitter.com": ("Twitter", "social"),
    "x.com": ("Twitter", "social"),
    "linkedin.com": ("LinkedIn", "social"),
    "news.ycombinator.com": ("Hacker News", "social"),
    "reddit.com": ("Reddit", "social"),
    "github.com": ("GitHub", "social"),
    "facebook.com": ("Facebook", "social"),
    "instagram.com": ("Instagram", "social"),
    "youtube.com": ("Youtube", "social"),
    "stackoverflow.com": ("StackOverflow", "social"),
    "chatgpt.com": ("ChatGPT", "ai"),
    "perplexity.ai": ("Perplexity", "ai"),
}
# Hosts listed as written (checked before the 'www.'-less host).
EXACT_HOSTS: dict[str, tuple[str, str]] = {"www.youtube.com": ("YouTube", "social")}
_DIRECT = frozenset({"", "direct", "(direct)", "none"})


def _lookup(host: str) -> tuple[str, str] | None:
    parts = host.split(".")
    for i in range(len(parts) - 1):
        hit = KNOWN_SOURCES.get(".".join(parts[i:]))
        if hit:
            return hit
    return None


def referrer_info(url: str, own_domain: str | None) -> dict[str, str]:
    """``name``, ``referrer``/``source`` (the URL, or 'direct'), ``domain`` and
    ``referrer_type`` of one referrer value."""
    raw = (url or "").strip()
    direct = {
        "name": "Direct",
        "referrer": "direct",
        "source": "direct",
        "domain": "",
        "referrer_type": "direct",
    }
    if raw.lower() in _DIRECT:
        return direct
    has_scheme = raw.lower().startswith(("http://", "https://"))
    if " " in raw or not (has_scheme or "." in raw or raw.lower().startswith("localhost")):
        return {
            "name": raw,
            "referrer": raw,
            "source": raw,
            "domain": "",
            "referrer_type": "unknown",
        }
    parts = urlsplit(raw if has_scheme else "https://" + raw)
    host = (parts.hostname or "").lower().removeprefix("www.")
    own = (own_domain or "").lower().removeprefix("www.")
    if (
        not host
        or host in ("localhost", "127.0.0.1")
        or (own and (host == own or host.endswith("." + own)))
    ):
        return direct
    hit = EXACT_HOSTS.get((parts.hostname or "").lower()) or _lookup(host)
    if hit:
        name, kind = hit
    else:
        query = parse_qs(parts.query)
        name, kind = host, "search" if {"q", "query", "search"} & set(query) else "unknown"
    return {"name": name, "referrer": raw, "source": raw, "domain": host, "referrer_type": kind}


def merged_by_source(own_domain: str | None) -> Any:
    """A ``Built.post``: rows with ``name`` = referrer URL become rows per readable source."""

    def post(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        merged: dict[str, dict[str, Any]] = {}
        for row in rows:
            info = referrer_info(str(row["name"] or ""), row.get("own_domain", own_domain))
            key = "direct" if info["referrer_type"] == "direct" else info["name"].lower()
            if not key:
                continue
            if key in merged:
                merged[key]["pageviews"] += row["pageviews"]
                merged[key]["visitors"] += row["visitors"]
            else:
                merged[key] = {
                    "name": info["name"],
                    "pageviews": row["pageviews"],
                    "visitors": row["visitors"],
                    "percentage": row["percentage"],
                    "referrer": info["referrer"],
                    "source": info["source"],
                    "domain": info["domain"],
                    "referrer_type": info["referrer_type"],
                }
        return _by_share(list(merged.values()), "visitors")

    return post


def merged_live_referrers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``realtime_referrers``' ``Built.post``: rows of (referrer domain or 'Direct', visitors)
    parsed like ``top_referrers``' and merged by readable source, visitors summed, each with its
    share of the merged rows' visitors."""
    return _merged_counts(rows, "visitors")


def merged_link_referrers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``link_top_referrers``' ``Built.post``: rows of (referrer URL or 'Direct', clicks) parsed
    like ``top_referrers``' (a link has no own domain) and merged by readable source, clicks
    summed, each with its share of the merged rows' clicks; a merged row keeps the URL of its
    first row."""
    order = ("name", "referrer", "clicks", "source", "domain", "referrer_type", "percentage")
    return [{k: r[k] for k in order} for r in _merged_counts(rows, "clicks")]


def _merged_counts(rows: list[dict[str, Any]], count: str) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        info = referrer_info(str(row["referrer"] or ""), None)
        key = "direct" if info["referrer_type"] == "direct" else info["name"].lower()
        if key in merged:
            merged[key][count] += row[count]
            continue
        merged[key] = {"referrer": info["referrer"], count: row[count]}
        merged[key] |= {k: info[k] for k in ("name", "source", "domain", "referrer_type")}
    return _by_share(list(merged.values()), count)


def _by_share(rows: list[dict[str, Any]], count: str) -> list[dict[str, Any]]:
    """Merged rows, each with its share of their ``count`` (half up, 2 decimals), most first."""
    total = sum(r[count] for r in rows)
    for r in rows:
        r["percentage"] = math.floor(r[count] / total * 10_000 + 0.5) / 100 if total else 0
    rows.sort(key=lambda r: -r[count])
    return rows
