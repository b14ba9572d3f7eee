"""anomalies.*, insights.* and agentChats.* procedures."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from ...http import iso
from ...query.sql import lit
from ..context import Ctx
from ..errors import not_found
from .events import fetch, ts, visible
from .registry import procedure

METRIC_SOURCES = {
    "pageviews": ("events", "client_id", "time"),
    "custom_events": ("custom_events", "website_id", "timestamp"),
    "errors": ("error_spans", "client_id", "timestamp"),
}
DEFAULT_PROMPTS = [
    ("Traffic overview", "How did my traffic change over the last 7 days?"),
    ("Top pages", "Which pages got the most visitors this week?"),
    ("Referrers", "Where do my visitors come from?"),
    ("Errors", "Which errors affect the most users?"),
]


# ------------------------------------------------------------------------ anomalies
def _site_for_read(ctx: Ctx, website_id: str) -> dict[str, Any]:
    site = ctx.website(website_id)
    ctx.check(site["organizationId"], "read", "data", site["id"])
    return site


def _hourly(
    ctx: Ctx, website_id: str, metric: str, start: datetime, end: datetime
) -> dict[datetime, int]:
    table, key, col = METRIC_SOURCES[metric]
    rows = fetch(
        ctx,
        f"""SELECT date_trunc('hour', {col}) AS h, count(*) FROM {table}
        WHERE {key} = {lit(website_id)} AND {col} >= {ts(start)} AND {col} < {ts(end)}
          AND {visible(ctx, col)} GROUP BY 1""",
    )
    return {h: int(n) for h, n in rows}


def _hour_floor(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


@procedure("anomalies.timeSeries")
def time_series(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Hourly counts of the last ``days`` days (zero-filled, current hour included)."""
    site = _site_for_read(ctx, data["websiteId"])
    end = _hour_floor(ctx.now) + timedelta(hours=1)
    start = end - timedelta(days=data.get("days", 7))
    counts = _hourly(ctx, site["id"], data["metric"], start, end)
    hours = int((end - start).total_seconds() // 3600)
    return [
        {
            "hour": (h := start + timedelta(hours=i)).strftime("%Y-%m-%d %H:00:00"),
            "count": counts.get(h, 0),
        }
        for i in range(hours)
    ]


def detect(ctx: Ctx, site: dict[str, Any], config: dict[str, Any]) -> list[dict[str, Any]]:
    """The last complete hour of each metric against the same metric's hourly baseline."""
    warning = float(config.get("warningThreshold", 2.0))
    critical = float(config.get("criticalThreshold", 3.0))
    baseline_days = int(config.get("baselineDays", 7))
    min_count = int(config.get("minimumBaselineCount", 10))
    fallback = float(config.get("percentChangeFallback", 200.0))
    period_end = _hour_floor(ctx.now)
    period_start = period_end - timedelta(hours=1)
    base_start = period_start - timedelta(days=baseline_days)
    out = []
    for metric in METRIC_SOURCES:
        counts = _hourly(ctx, site["id"], metric, base_start, period_end)
        baseline = [
            counts.get(base_start + timedelta(hours=i), 0) for i in range(baseline_days * 24)
        ]
        current = counts.get(period_start, 0)
        mean = statistics.fmean(baseline) if baseline else 0.0
        if sum(baseline) < min_count:
            continue
        std = statistics.pstdev(baseline) if len(baseline) > 1 else 0.0
        change = (current - mean) / mean * 100 if mean else 0.0
        z = (current - mean) / std if std else 0.0
        if std:
            severity = (
                "critical" if abs(z) >= critical else "warning" if abs(z) >= warning else None
            )
        else:
            severity = "warning" if abs(change) >= fallback else None
        if severity is None:
            continue
        out.append(
            {
                "metric": metric,
                "type": "spike" if current > mean else "drop",
                "severity": severity,
                "currentValue": current,
                "baselineMean": round(mean, 2),
                "baselineStdDev": round(std, 2),
                "zScore": round(z, 2),
                "percentChange": round(change, 2),
                "detectedAt": iso(ctx.now),
                "periodStart": iso(period_start),
                "periodEnd": iso(period_end),
            }
        )
    return out


@procedure("anomalies.detect")
def detect_anomalies(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    return detect(ctx, _site_for_read(ctx, data["websiteId"]), data.get("config") or {})


@procedure("anomalies.notify")
def notify(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Detects; the emulator sends no notification."""
    site = ctx.website(data["websiteId"])
    ctx.check(site["organizationId"], "update", "config", site["id"])
    return {"anomaliesFound": len(detect(ctx, site, {})), "notificationsSent": 0}


# ------------------------------------------------------------------------ insights votes
@procedure("insights.getVotes")
def get_votes(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    user = ctx.user_id
    votes = {}
    for insight_id in data["insightIds"]:
        row = ctx.registry.get("insightVotes", f"{user}:{insight_id}")
        if row is not None:
            votes[insight_id] = row["vote"]
    return {"votes": votes}


@procedure("insights.setVote")
def set_vote(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    key = f"{ctx.user_id}:{data['insightId']}"
    if data["vote"] is None:
        ctx.hard_delete("insightVotes", key)
    else:
        ctx.insert(
            "insightVotes",
            {
                "id": key,
                "userId": ctx.user_id,
                "insightId": data["insightId"],
                "vote": data["vote"],
            },
        )
    return {"success": True}


# ------------------------------------------------------------------------ agent chats
def _chat(ctx: Ctx, chat_id: str) -> dict[str, Any]:
    chat = ctx.registry.get("agentChats", chat_id)
    if chat is None or chat.get("userId") != ctx.user_id:
        raise not_found("agentChat", chat_id, "Chat not found")
    return chat


@procedure("agentChats.list")
def list_chats(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    site = _site_for_read(ctx, data["websiteId"])
    return ctx.rows(
        "agentChats",
        order="updatedAt",
        where=lambda c: c["websiteId"] == site["id"] and c.get("userId") == ctx.user_id,
    )


@procedure("agentChats.get")
def get_chat(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    chat = _chat(ctx, data["id"])
    return {"messages": [], "activeStreamId": None, **chat}


@procedure("agentChats.rename")
def rename_chat(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    ctx.update(_chat(ctx, data["id"]), {"title": data["title"]})
    return {"success": True}


@procedure("agentChats.delete")
def delete_chat(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    ctx.hard_delete("agentChats", _chat(ctx, data["id"])["id"])
    return {"success": True}


@procedure("agentChats.suggestedPrompts")
def suggested_prompts(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    _site_for_read(ctx, data["websiteId"])
    return [
        {"label": label, "prompt": prompt, "source": "default"} for label, prompt in DEFAULT_PROMPTS
    ]
