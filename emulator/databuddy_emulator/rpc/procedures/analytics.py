"""Funnel and goal analytics computed from the raw event tables (``events``,
``custom_events``, ``error_spans``) at virtual now.

A visitor (``anonymous_id``) enters a funnel with its first step in the range and completes
step *k* when the step's event happens after step *k-1* in the same session (page views match
the normalized path; ``*`` in a target is a wildcard; EVENT/CUSTOM steps match custom event
names). Each visitor counts once, with the session that got furthest.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from ...query.sql import lit, lit_list, normalized_path
from ..context import Ctx
from .events import fetch, ts, visible

EVENT_COLUMNS = frozenset(
    {
        "path",
        "query_string",
        "referrer",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "country",
        "region",
        "city",
        "timezone",
        "language",
        "device_type",
        "browser_name",
        "browser_version",
        "os_name",
        "os_version",
        "screen_resolution",
        "viewport_size",
        "connection_type",
        "event_name",
    }
)


def _norm_target(target: str) -> str:
    bare = target.split("?")[0].split("#")[0].rstrip("/")
    return bare or "/"


def _step_condition(step: dict[str, Any]) -> tuple[str, str]:
    """(table, SQL condition) matching one step."""
    target = str(step.get("target", ""))
    if step.get("type") == "PAGE_VIEW":
        norm = _norm_target(target)
        if "*" in norm:
            like = norm.replace("%", "\\%").replace("_", "\\_").replace("*", "%")
            return "events", f"{normalized_path()} LIKE {lit(like)} ESCAPE '\\'"
        return "events", f"{normalized_path()} = {lit(norm)}"
    return "custom_events", f"event_name = {lit(target)}"


def filter_conditions(filters: list[dict[str, Any]] | None) -> list[str]:
    """SQL conditions for funnel/goal filters on the ``events`` table (unknown fields are
    ignored)."""
    out = []
    for f in filters or []:
        field, op, value = f.get("field"), f.get("operator"), f.get("value")
        if field not in EVENT_COLUMNS:
            continue
        col = normalized_path() if field == "path" else str(field)
        values = value if isinstance(value, list) else [value]
        if op in ("in", "not_in") or (isinstance(value, list) and op in ("equals", "not_equals")):
            neg = "NOT " if op in ("not_in", "not_equals") else ""
            out.append(
                f"{col} {neg}IN {lit_list(values)}" if values else ("TRUE" if neg else "FALSE")
            )
        elif op == "equals":
            out.append(f"{col} = {lit(value)}")
        elif op == "not_equals":
            out.append(f"{col} <> {lit(value)}")
        elif op == "contains":
            out.append(f"{col} ILIKE {lit('%' + str(value).replace('%', '') + '%')}")
    return out


def _step_rows(
    ctx: Ctx,
    website_id: str,
    steps: list[dict[str, Any]],
    lo: datetime,
    hi: datetime,
    filters: list[str],
) -> list[tuple[str, str, datetime, int, str]]:
    parts = []
    for i, step in enumerate(steps):
        table, cond = _step_condition(step)
        if table == "events":
            where = " AND ".join(
                [
                    f"client_id = {lit(website_id)}",
                    f"time BETWEEN {ts(lo)} AND {ts(hi)}",
                    visible(ctx),
                    cond,
                    *filters,
                ]
            )
            parts.append(
                f"SELECT anonymous_id, session_id, time, {i} AS step, "
                f"coalesce(referrer, '') AS referrer FROM events WHERE {where}"
            )
        else:
            where = " AND ".join(
                [
                    f"website_id = {lit(website_id)}",
                    f"timestamp BETWEEN {ts(lo)} AND {ts(hi)}",
                    visible(ctx, "timestamp"),
                    cond,
                ]
            )
            parts.append(
                f"SELECT anonymous_id, session_id, timestamp, {i}, '' "
                f"FROM custom_events WHERE {where}"
            )
    if not parts:
        return []
    return fetch(ctx, " UNION ALL ".join(parts) + " ORDER BY 3, 4")


def _walk(
    rows: list[tuple[str, str, datetime, int, str]], n_steps: int
) -> dict[str, tuple[list[datetime], str]]:
    """visitor -> (time of each completed step, referrer of the entry), for the visitor's
    session that got furthest (earliest on ties): a funnel is walked within one session."""
    sessions: dict[tuple[str, str], tuple[list[datetime], str]] = {}
    for visitor, session, when, step, referrer in rows:
        times, ref = sessions.get((visitor, session), ([], ""))
        if len(times) < n_steps and step == len(times):
            if not times:
                ref = referrer
            times.append(when)
            sessions[(visitor, session)] = (times, ref)
    progress: dict[str, tuple[list[datetime], str]] = {}
    for (visitor, _session), (times, ref) in sessions.items():
        best = progress.get(visitor)
        if (
            best is None
            or len(times) > len(best[0])
            or (len(times) == len(best[0]) and times[0] < best[0][0])
        ):
            progress[visitor] = (times, ref)
    return progress


def format_duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s"
    return f"{s // 3600}h {s % 3600 // 60}m"


def _errors(
    ctx: Ctx, website_id: str, lo: datetime, hi: datetime
) -> list[tuple[str, str, str, str, str]]:
    return fetch(
        ctx,
        f"""SELECT anonymous_id, session_id, {normalized_path()}, message,
        error_type FROM error_spans WHERE client_id = {lit(website_id)}
        AND timestamp BETWEEN {ts(lo)} AND {ts(hi)} AND {visible(ctx, "timestamp")}""",
    )


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def summarize(
    ctx: Ctx,
    website_id: str,
    steps: list[dict[str, Any]],
    progress: dict[str, tuple[list[datetime], str]],
    lo: datetime,
    hi: datetime,
    totals: list[int] | None = None,
) -> dict[str, Any]:
    """The analytics object of rpc.json (funnels.getAnalytics) from per-visitor progress.
    ``totals`` overrides the user count of each step (goals: the site's visitors)."""
    n = len(steps)
    reached: list[set[str]] = [set() for _ in range(n)]
    durations: list[list[float]] = [[] for _ in range(n)]
    for visitor, (times, _ref) in progress.items():
        for i, when in enumerate(times):
            reached[i].add(visitor)
            durations[i].append((when - times[0]).total_seconds())
    errors = _errors(ctx, website_id, lo, hi) if progress else []
    entrants = set(progress)
    completed = {v for v, (t, _) in progress.items() if len(t) == n}
    step_paths = [
        (_norm_target(str(s.get("target", ""))) if s.get("type") == "PAGE_VIEW" else None)
        for s in steps
    ]
    analytics: list[dict[str, Any]] = []
    entered = totals[0] if totals else len(reached[0]) if n else 0
    for i, step in enumerate(steps):
        users = len(reached[i])
        previous = (totals[i] if totals else len(reached[i - 1])) if (i or totals) else users
        step_errors = [e for e in errors if e[0] in reached[i] and e[2] == step_paths[i]]
        top = Counter((e[3], e[4]) for e in step_errors).most_common(3)
        dropoffs = max(previous - users, 0)
        analytics.append(
            {
                "step_number": i + 1,
                "step_name": str(step.get("name") or step.get("target")),
                "users": users,
                "total_users": entered,
                "conversion_rate": _pct(users, entered),
                "dropoffs": dropoffs,
                "dropoff_rate": _pct(dropoffs, previous),
                "avg_time_to_complete": round(sum(durations[i]) / len(durations[i]), 2)
                if durations[i]
                else 0,
                "error_count": len(step_errors),
                "error_rate": _pct(len(step_errors), users),
                "top_errors": [{"message": m, "error_type": t, "count": c} for (m, t), c in top],
            }
        )
    worst = max(
        analytics[1:] if totals is None else analytics,
        key=lambda a: a["dropoff_rate"],
        default=None,
    )
    total_time = [
        (t[-1] - t[0]).total_seconds() for v, (t, _) in progress.items() if v in completed
    ]
    avg_time = round(sum(total_time) / len(total_time), 2) if total_time else 0
    funnel_errors = [e for e in errors if e[0] in entrants]
    dropped = entrants - completed
    dropped_with_errors = {e[0] for e in funnel_errors if e[0] in dropped}
    return {
        "overall_conversion_rate": _pct(len(completed), entered),
        "total_users_entered": entered,
        "total_users_completed": len(completed),
        "avg_completion_time": avg_time,
        "avg_completion_time_formatted": format_duration(avg_time),
        "biggest_dropoff_step": worst["step_number"] if worst else 1,
        "biggest_dropoff_rate": worst["dropoff_rate"] if worst else 0,
        "steps_analytics": analytics,
        "time_series": _time_series(progress, n),
        "error_insights": {
            "total_errors": len(funnel_errors),
            "sessions_with_errors": len({e[1] for e in funnel_errors}),
            "dropoffs_with_errors": len(dropped_with_errors),
            "error_correlation_rate": _pct(len(dropped_with_errors), len(dropped)),
        },
    }


def _time_series(progress: dict[str, tuple[list[datetime], str]], n: int) -> list[dict[str, Any]]:
    by_day: dict[str, list[list[datetime]]] = defaultdict(list)
    for times, _ref in progress.values():
        by_day[times[0].date().isoformat()].append(times)
    out = []
    for day in sorted(by_day):
        entries = by_day[day]
        done = [t for t in entries if len(t) == n]
        avg = sum((t[-1] - t[0]).total_seconds() for t in done) / len(done) if done else 0
        out.append(
            {
                "date": day,
                "users": len(entries),
                "conversions": len(done),
                "conversion_rate": _pct(len(done), len(entries)),
                "dropoffs": len(entries) - len(done),
                "avg_time": round(avg, 2),
            }
        )
    return out


def funnel_progress(
    ctx: Ctx,
    website_id: str,
    steps: list[dict[str, Any]],
    filters: list[dict[str, Any]] | None,
    lo: datetime,
    hi: datetime,
) -> dict[str, tuple[list[datetime], str]]:
    rows = _step_rows(ctx, website_id, steps, lo, hi, filter_conditions(filters))
    return _walk(rows, len(steps))


def funnel_analytics(
    ctx: Ctx,
    website_id: str,
    steps: list[dict[str, Any]],
    filters: list[dict[str, Any]] | None,
    lo: datetime,
    hi: datetime,
    only_visitors: set[str] | None = None,
) -> dict[str, Any]:
    progress = funnel_progress(ctx, website_id, steps, filters, lo, hi)
    if only_visitors is not None:
        progress = {v: p for v, p in progress.items() if v in only_visitors}
    return summarize(ctx, website_id, steps, progress, lo, hi)


def goal_analytics(ctx: Ctx, goal: dict[str, Any], lo: datetime, hi: datetime) -> dict[str, Any]:
    """A goal is a one-step funnel measured against all visitors of the site in the range."""
    website_id = goal["websiteId"]
    filters = filter_conditions(goal.get("filters"))
    where = " AND ".join(
        [
            f"client_id = {lit(website_id)}",
            f"time BETWEEN {ts(lo)} AND {ts(hi)}",
            visible(ctx),
            *filters,
        ]
    )
    total = int(fetch(ctx, f"SELECT count(DISTINCT anonymous_id) FROM events WHERE {where}")[0][0])
    step = {"type": goal["type"], "target": goal["target"], "name": goal["name"]}
    progress = funnel_progress(ctx, website_id, [step], goal.get("filters"), lo, hi)
    return summarize(ctx, website_id, [step], progress, lo, hi, totals=[total])


def parse_referrer(url: str) -> dict[str, str]:
    if not url:
        return {"name": "Direct", "type": "direct", "domain": ""}
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":")[0].lower().removeprefix("www.")
    known = {
        "google": ("Google", "search"),
        "bing": ("Bing", "search"),
        "duckduckgo": ("DuckDuckGo", "search"),
        "t.co": ("Twitter", "social"),
        "twitter": ("Twitter", "social"),
        "x.com": ("X", "social"),
        "facebook": ("Facebook", "social"),
        "linkedin": ("LinkedIn", "social"),
        "reddit": ("Reddit", "social"),
        "news.ycombinator": ("Hacker News", "social"),
        "github": ("GitHub", "referral"),
        "youtube": ("YouTube", "social"),
    }
    for needle, (name, kind) in known.items():
        if needle in host:
            return {"name": name, "type": kind, "domain": host}
    return {"name": host, "type": "referral", "domain": host}


def by_referrer(
    ctx: Ctx,
    website_id: str,
    steps: list[dict[str, Any]],
    filters: list[dict[str, Any]] | None,
    lo: datetime,
    hi: datetime,
) -> dict[str, Any]:
    progress = funnel_progress(ctx, website_id, steps, filters, lo, hi)
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for times, ref in progress.values():
        key = ref.split("?")[0]
        groups[key][0] += 1
        groups[key][1] += int(len(times) == len(steps))
    rows: list[dict[str, Any]] = [
        {
            "referrer": ref or "direct",
            "referrer_parsed": parse_referrer(ref),
            "total_users": t,
            "completed_users": c,
            "conversion_rate": _pct(c, t),
        }
        for ref, (t, c) in groups.items()
    ]
    rows.sort(key=lambda r: (-int(r["total_users"]), str(r["referrer"])))
    return {"referrer_analytics": rows}
