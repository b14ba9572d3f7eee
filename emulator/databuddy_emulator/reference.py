"""Reference answers computed in plain Python from the raw rows, independently of the SQL
builders, for the query types the connector syncs by default.

The emulator's answers come from DuckDB SQL (``query/types``); these come from Python loops over
the same raw rows, written from the documented semantics (docs/conformance.md lists what the real
server computes). Ground truth (:mod:`.truth`) uses them where they exist, so a test that
compares a destination with ground truth checks the connector against a second computation,
and ``tests/emulator/test_reference.py`` checks the SQL against this one.

Ties keep the emulator's documented tie-breakers (the real server leaves tied rows unordered).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from . import dimensions as dim
from .query.context import Filter, QueryContext
from .query.referrers import EXACT_HOSTS, KNOWN_SOURCES
from .query.types.common import ATTRIBUTED
from .store import Store

Row = dict[str, Any]
_EVENT_COLUMNS = (
    *ATTRIBUTED,
    *("event_name", "anonymous_id", "session_id", "time", "path", "region", "city"),
    *("timezone", "language", "viewport_size", "time_on_page"),
)
# Filters the reference applies itself (others: the caller falls back to the SQL answer).
_PLAIN_FILTER_FIELDS = frozenset(ATTRIBUTED) - {"referrer", "device_type"} | {
    *("region", "city", "timezone", "language", "path")
}
_ERROR_TYPES = frozenset({"error_types", "error_trends", "errors_by_page"})
_COUNTRY_NAMES = {c[0]: c[1] for c in dim.COUNTRIES}


# ------------------------------------------------------------------ small helpers
def round2(x: float) -> float:
    """Round to 2 decimals, a tie to the even digit (as ClickHouse rounds floats)."""
    return round(x, 2)


def share(part: int, whole: int) -> float:
    return 0.0 if whole == 0 else round2(100.0 * part / whole)


def median(values: Sequence[float]) -> float | None:
    """The interpolated median (50th percentile between the two middle values)."""
    if not values:
        return None
    s = sorted(values)
    pos = 0.5 * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def page_path(url: str | None) -> str:
    """A URL's path without trailing '/', root as '/'."""
    raw = url or ""
    path = urlsplit(raw).path if "://" in raw else raw.split("?")[0].split("#")[0]
    return path.rstrip("/") or "/"


def host_of(url: str | None) -> str:
    raw = url or ""
    if "://" not in raw:
        return ""
    return (urlsplit(raw).hostname or "").lower()


def family_url(referrer: str | None) -> str:
    """The referrer as one URL per site; the big search/social families share one."""
    host = host_of(referrer)
    for url, domains in (
        ("https://google.com", ("google.com",)),
        ("https://facebook.com", ("facebook.com",)),
        ("https://twitter.com", ("twitter.com", "x.com", "t.co")),
        ("https://instagram.com", ("instagram.com",)),
        ("https://linkedin.com", ("linkedin.com",)),
    ):
        if any(host.startswith(d) or f".{d}" in host for d in domains):
            return url
    return "https://" + host


def is_own(host: str, own: str) -> bool:
    return host in ("", "localhost", "127.0.0.1") or host == own or host.endswith("." + own)


def readable(url: str) -> tuple[str, str, str]:
    """(name, domain, type) of a referrer URL (no direct values reach here)."""
    host = host_of(url)
    bare = host.removeprefix("www.")
    hit = EXACT_HOSTS.get(host)
    parts = bare.split(".")
    for i in range(len(parts) - 1):
        hit = hit or KNOWN_SOURCES.get(".".join(parts[i:]))
    if hit:
        return hit[0], bare, hit[1]
    return bare, bare, "unknown"


def ms_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def _matches(value: Any, f: Filter) -> bool:
    values = f.value if isinstance(f.value, list) else [f.value]
    wanted = ["" if v is None else str(v) for v in values]
    got = "" if value is None else str(value)
    if f.field == "path":
        got = page_path(got)
        wanted = [w if w in ("", "/") else page_path(w) for w in wanted]
    first = wanted[0] if wanted else ""
    if f.op == "eq":
        return got == first
    if f.op == "ne":
        return got != first
    if f.op == "contains":
        return first in got
    if f.op == "not_contains":
        return first not in got
    if f.op == "starts_with":
        return got.startswith(first)
    if f.op == "in":
        return got in wanted
    return got not in wanted


def supported(ctx: QueryContext) -> bool:
    """Whether the reference can answer this parameter itself (the error table has only the
    path among the filterable columns)."""
    fields = {"path"} if ctx.qtype.name in _ERROR_TYPES else _PLAIN_FILTER_FIELDS
    return (
        ctx.qtype.name in REFERENCE
        and ctx.website_id is not None
        and ctx.sort_by is None
        and all(f.field in fields for f in ctx.filters)
    )


# ------------------------------------------------------------------ raw rows
class Raw:
    """The website's raw rows visible at the virtual now, inside the parameter's range."""

    def __init__(self, store: Store, ctx: QueryContext) -> None:
        self.store, self.ctx = store, ctx
        self.own = self._one("SELECT lower(domain) FROM site_lookup WHERE client_id = ?") or ""

    def _one(self, sql: str) -> Any:
        with self.store.cursor() as cur:
            row = cur.execute(sql, [self.ctx.project_id]).fetchone()
        return row[0] if row else None

    def rows(self, table: str, columns: Iterable[str], time_col: str, key: str) -> list[Row]:
        cols = list(columns)
        sql = (
            f"SELECT {', '.join(cols)} FROM {table} WHERE {key} = ? AND ingested_at <= ? "
            f"AND {time_col} BETWEEN ? AND ?"
        )
        c = self.ctx
        with self.store.cursor() as cur:
            got = cur.execute(sql, [c.project_id, c.now, c.start_utc, c.end_utc]).fetchall()
        return [dict(zip(cols, r, strict=True)) for r in got]

    def events(self) -> list[Row]:
        return self.rows("events", _EVENT_COLUMNS, "time", "client_id")

    def filtered(self, rows: list[Row]) -> list[Row]:
        if not self.ctx.qtype.filters_applied:
            return rows
        return [r for r in rows if all(_matches(r.get(f.field), f) for f in self.ctx.filters)]

    def views(self) -> list[Row]:
        """Page views with their own values, filtered."""
        return self.filtered([r for r in self.events() if r["event_name"] == "screen_view"])

    def attributed(self) -> list[Row]:
        """Events of sessions, the attributed columns taken from the session's first non-null
        value (over its events in range), then filtered."""
        events = [r for r in self.events() if r["session_id"]]
        first: dict[str, dict[str, Any]] = defaultdict(dict)
        for r in sorted(events, key=lambda r: r["time"]):
            seen = first[r["session_id"]]
            for c in ATTRIBUTED:
                if c not in seen and r[c] is not None:
                    seen[c] = r[c]
        out = []
        for r in events:
            s = first[r["session_id"]]
            out.append({**r, **{c: s.get(c) for c in ATTRIBUTED}})
        return self.filtered(out)

    def bucket(self, t: datetime) -> str:
        c = self.ctx
        if c.qtype.timezone_aware and c.timezone != "UTC":
            t = t.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(c.timezone))
        if c.hourly:
            return t.strftime("%Y-%m-%d %H:00:00")
        return t.strftime("%Y-%m-%d")


def _page(ctx: QueryContext, rows: list[Row]) -> list[Row]:
    qt = ctx.qtype
    if not qt.limit_applied:
        return rows
    start = (ctx.page - 1) * ctx.limit if qt.offset_applied else 0
    return rows[start : start + ctx.limit]


def _count(
    rows: Iterable[Row], key: Callable[[Row], Any]
) -> tuple[dict[Any, int], dict[Any, set[str]]]:
    """Rows and distinct visitors per key."""
    views: dict[Any, int] = defaultdict(int)
    visitors: dict[Any, set[str]] = defaultdict(set)
    for r in rows:
        k = key(r)
        views[k] += 1
        visitors[k].add(r["anonymous_id"])
    return views, visitors


def _breakdown(ctx: QueryContext, rows: Iterable[Row], key: Callable[[Row], Any]) -> list[Row]:
    views, visitors = _count(rows, key)
    whole = sum(len(v) for v in visitors.values())
    out = [
        {
            "name": k,
            "pageviews": views[k],
            "visitors": len(visitors[k]),
            "percentage": share(len(visitors[k]), whole),
        }
        for k in views
    ]
    out.sort(key=lambda r: (-r["visitors"], -r["pageviews"], str(r["name"])))
    return _page(ctx, out)


# ------------------------------------------------------------------ sessions
def _rollups(rows: list[Row]) -> dict[str, dict[str, Any]]:
    per: dict[str, dict[str, Any]] = {}
    for r in rows:
        s = per.setdefault(
            r["session_id"], {"views": 0, "engaged": 0, "duration": None, "first_view": None}
        )
        if r["event_name"] == "screen_view":
            s["views"] += 1
            if s["first_view"] is None or r["time"] < s["first_view"]:
                s["first_view"] = r["time"]
        elif r["event_name"] != "page_exit":
            s["engaged"] += 1
        elif r["time_on_page"] is not None and r["time_on_page"] > 0:
            s["duration"] = (s["duration"] or 0.0) + r["time_on_page"]
    return per


def _bounced(s: dict[str, Any]) -> bool:
    return bool(
        s["views"] == 1 and s["duration"] is not None and s["duration"] < 10 and s["engaged"] == 0
    )


def summary_metrics(raw: Raw) -> list[Row]:
    base = raw.attributed()
    per = _rollups(base)
    if not per:
        return []
    viewed = [s for s in per.values() if s["views"] >= 1]
    durations = [s["duration"] for s in viewed if s["duration"] is not None and s["duration"] >= 0]
    med = median(durations)
    return [
        {
            "pageviews": sum(1 for r in base if r["event_name"] == "screen_view"),
            "unique_visitors": len(
                {r["anonymous_id"] for r in base if r["event_name"] == "screen_view"}
            ),
            "sessions": len(viewed),
            "bounce_rate": min(100.0, share(sum(map(_bounced, viewed)), len(viewed)))
            if viewed
            else None,
            "median_session_duration": None if med is None else round2(med),
            "total_events": len(base),
        }
    ]


def events_by_date(raw: Raw) -> list[Row]:
    base = raw.attributed()
    per = _rollups(base)
    starts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in per.values():
        if s["first_view"] is not None:
            starts[raw.bucket(s["first_view"])].append(s)
    views: dict[str, int] = defaultdict(int)
    visitors: dict[str, set[str]] = defaultdict(set)
    for r in base:
        b = raw.bucket(r["time"])
        views.setdefault(b, 0)  # a bucket exists once it has any event
        if r["event_name"] == "screen_view":
            views[b] += 1
            visitors[b].add(r["anonymous_id"])
    out = []
    for b in sorted(views):
        # a bucket where no session starts still counts one empty session
        sessions = starts.get(b) or [{"views": 0, "engaged": 0, "duration": None}]
        durations = [s["duration"] for s in sessions if s["duration"] is not None]
        med = median(durations)
        out.append(
            {
                "date": b,
                "pageviews": views[b],
                "visitors": len(visitors[b]),
                "sessions": len(sessions),
                "bounce_rate": min(100.0, share(sum(map(_bounced, sessions)), len(sessions))),
                "median_session_duration": None if med is None else round2(med),
                "pages_per_session": round2(views[b] / len(sessions)),
            }
        )
    return out


def _session_ends(raw: Raw, last: bool) -> list[Row]:
    views = [r for r in raw.attributed() if r["event_name"] == "screen_view"]
    ends: dict[str, Row] = {}
    for r in views:
        e = ends.get(r["session_id"])
        if e is None or (r["time"] > e["time"] if last else r["time"] < e["time"]):
            ends[r["session_id"]] = r
    first_anon: dict[str, tuple[datetime, str]] = {}
    for r in views:
        f = first_anon.get(r["session_id"])
        if f is None or r["time"] < f[0]:
            first_anon[r["session_id"]] = (r["time"], r["anonymous_id"])
    return [
        {"path": page_path(e["path"]), "anonymous_id": first_anon[sid][1]}
        for sid, e in ends.items()
    ]


def _by_source(raw: Raw, rows: list[Row], name: Callable[[Row], str]) -> list[Row]:
    views, visitors = _count(rows, name)
    urls = sorted(views, key=lambda k: (-len(visitors[k]), k))
    page: list[Row] = [
        {"url": k, "pageviews": views[k], "visitors": len(visitors[k])} for k in urls
    ]
    merged: dict[str, Row] = {}
    for p in _page(raw.ctx, page):
        url = p["url"]
        if url == "direct":
            label, domain, kind, key, source = "Direct", "", "direct", "direct", "direct"
        else:
            label, domain, kind = readable(url)
            key, source = label.lower(), url
        if key in merged:
            merged[key]["pageviews"] += p["pageviews"]
            merged[key]["visitors"] += p["visitors"]
            continue
        merged[key] = {
            "name": label,
            "pageviews": p["pageviews"],
            "visitors": p["visitors"],
            "percentage": 0.0,
            "referrer": source,
            "source": source,
            "domain": domain,
            "referrer_type": kind,
        }
    out = list(merged.values())
    whole = sum(r["visitors"] for r in out)
    for r in out:
        r["percentage"] = math.floor(r["visitors"] / whole * 10_000 + 0.5) / 100 if whole else 0
    out.sort(key=lambda r: -r["visitors"])  # stable
    return out


def top_referrers(raw: Raw) -> list[Row]:
    views = [
        r
        for r in raw.attributed()
        if r["event_name"] == "screen_view"
        and r["referrer"]
        and not is_own(host_of(r["referrer"]), raw.own)
    ]
    return _by_source(raw, views, lambda r: family_url(r["referrer"]))


def traffic_sources(raw: Raw) -> list[Row]:
    views = [r for r in raw.attributed() if r["event_name"] == "screen_view"]

    def name(r: Row) -> str:
        ref = r["referrer"] or ""
        if ref in ("", "direct") or is_own(host_of(ref), raw.own):
            return "direct"
        return family_url(ref)

    return _by_source(raw, views, name)


# ------------------------------------------------------------------ registry
def _views_by(column: str, *, attributed: bool = False) -> Callable[[Raw], list[Row]]:
    def compute(raw: Raw) -> list[Row]:
        rows = (
            [r for r in raw.attributed() if r["event_name"] == "screen_view"]
            if attributed
            else raw.views()
        )
        return _breakdown(raw.ctx, (r for r in rows if r[column]), lambda r: r[column])

    return compute


def _top_pages(raw: Raw) -> list[Row]:
    views = [r for r in raw.attributed() if r["event_name"] == "screen_view" and r["path"]]
    return _breakdown(raw.ctx, views, lambda r: unquote(page_path(r["path"])))


def _ends(last: bool) -> Callable[[Raw], list[Row]]:
    def compute(raw: Raw) -> list[Row]:
        return _breakdown(raw.ctx, _session_ends(raw, last), lambda r: r["path"])

    return compute


def _country(raw: Raw) -> list[Row]:
    rows = _breakdown(raw.ctx, (r for r in raw.views() if r["country"]), lambda r: r["country"])
    whole = sum(r["visitors"] for r in rows)
    for r in rows:
        r["percentage"] = math.floor(r["visitors"] / whole * 10_000 + 0.5) / 100 if whole else 0
        r["country_code"] = r["name"]
        r["country_name"] = _COUNTRY_NAMES.get(r["name"], "")
    return sorted(rows, key=lambda r: -r["visitors"])


def _place(column: str) -> Callable[[Raw], list[Row]]:
    def compute(raw: Raw) -> list[Row]:
        views = [r for r in raw.views() if r[column]]
        counts, visitors = _count(views, lambda r: (r[column], r["country"] or ""))
        whole = sum(len(v) for v in visitors.values())
        out: list[Row] = [
            {
                "name": k[0],
                "country": k[1],
                "pageviews": counts[k],
                "visitors": len(visitors[k]),
                "percentage": share(len(visitors[k]), whole),
                "country_code": k[1],
                "country_name": _COUNTRY_NAMES.get(k[1], ""),
            }
            for k in counts
        ]
        out.sort(key=lambda r: (-r["visitors"], -r["pageviews"], r["name"], r["country"]))
        return _page(raw.ctx, out)

    return compute


def _device_types(raw: Raw) -> list[Row]:
    def label(r: Row) -> str:
        d = r["device_type"] or ""
        return "Desktop" if d == "" else d[:1].upper() + d[1:].lower()

    return _breakdown(raw.ctx, raw.views(), label)


def _sessions_time_series(raw: Raw) -> list[Row]:
    days: dict[str, list[Row]] = defaultdict(list)
    for r in raw.views():
        days[r["time"].strftime("%Y-%m-%d")].append(r)
    out = []
    for d in sorted(days):
        tops = [r["time_on_page"] / 1000 for r in days[d] if (r["time_on_page"] or 0) > 0]
        out.append(
            {
                "date": d,
                "sessions": len({r["session_id"] for r in days[d]}),
                "visitors": len({r["anonymous_id"] for r in days[d]}),
                "avg_session_duration": round2(sum(tops) / len(tops)) if tops else None,
            }
        )
    return _page(raw.ctx, out)


def _errors(raw: Raw) -> list[Row]:
    rows = raw.rows(
        "error_spans", ("anonymous_id", "timestamp", "path", "message"), "timestamp", "client_id"
    )
    return raw.filtered([r for r in rows if r["message"]])


def _error_types(raw: Raw) -> list[Row]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in _errors(raw):
        groups[r["message"]].append(r)
    out: list[Row] = [
        {
            "name": m,
            "count": len(g),
            "users": len({r["anonymous_id"] for r in g}),
            "last_seen": ms_time(max(r["timestamp"] for r in g)),
        }
        for m, g in groups.items()
    ]
    out.sort(key=lambda r: (-r["count"], r["name"]))
    return _page(raw.ctx, out)


def _error_trends(raw: Raw) -> list[Row]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in _errors(raw):
        groups[raw.bucket(r["timestamp"])].append(r)
    out = [
        {"date": d, "errors": len(g), "users": len({r["anonymous_id"] for r in g})}
        for d, g in sorted(groups.items())
    ]
    return _page(raw.ctx, out)


def _errors_by_page(raw: Raw) -> list[Row]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in _errors(raw):
        if r["path"]:
            groups[page_path(r["path"])].append(r)
    out: list[Row] = [
        {"name": p, "errors": len(g), "users": len({r["anonymous_id"] for r in g})}
        for p, g in groups.items()
    ]
    out.sort(key=lambda r: (-r["errors"], r["name"]))
    return _page(raw.ctx, out)


REFERENCE: dict[str, Callable[[Raw], list[Row]]] = {
    "summary_metrics": summary_metrics,
    "events_by_date": events_by_date,
    "top_pages": _top_pages,
    "entry_pages": _ends(last=False),
    "exit_pages": _ends(last=True),
    "top_referrers": top_referrers,
    "traffic_sources": traffic_sources,
    "utm_sources": _views_by("utm_source", attributed=True),
    "utm_mediums": _views_by("utm_medium", attributed=True),
    "utm_campaigns": _views_by("utm_campaign", attributed=True),
    "country": _country,
    "region": _place("region"),
    "city": _place("city"),
    "browser_name": _views_by("browser_name"),
    "os_name": _views_by("os_name"),
    "device_types": _device_types,
    "language": _views_by("language"),
    "timezone": _views_by("timezone"),
    "sessions_time_series": _sessions_time_series,
    "error_types": _error_types,
    "error_trends": _error_trends,
    "errors_by_page": _errors_by_page,
}


def reference_rows(store: Store, ctx: QueryContext) -> list[Row]:
    """The reference answer of one parameter (see :func:`supported`)."""
    return REFERENCE[ctx.qtype.name](Raw(store, ctx))
