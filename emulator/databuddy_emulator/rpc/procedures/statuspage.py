"""statusPage.* procedures: pages, their monitors (uptime schedules) and incidents; the public
page (getBySlug) is computed from the ``uptime_monitor`` checks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ...http import iso
from ...query.sql import lit
from ..context import Ctx
from ..errors import conflict, not_found
from .events import fetch, ts, visible
from .registry import procedure

PAGE_FIELDS = (
    "description",
    "logoUrl",
    "faviconUrl",
    "websiteUrl",
    "supportUrl",
    "theme",
    "hideBranding",
    "customCss",
)
CHECK_INTERVAL_SECONDS = 600


def _page(ctx: Ctx, page_id: str, permission: str = "read") -> dict[str, Any]:
    page = ctx.get("statusPages", page_id, "statusPage")
    ctx.check(
        page["organizationId"],
        "read" if permission == "read" else "delete" if permission == "delete" else "update",
        "config",
    )
    return page


def _monitors(ctx: Ctx, page_id: str) -> list[dict[str, Any]]:
    rows = ctx.rows(
        "statusPageMonitors",
        where=lambda m: m["statusPageId"] == page_id,
        order="order",
        descending=False,
    )
    out = []
    for m in rows:
        schedule = ctx.registry.get("uptimeSchedules", m["uptimeScheduleId"])
        out.append({**m, "uptimeSchedule": schedule})
    return out


def _incidents(ctx: Ctx, page_id: str) -> list[dict[str, Any]]:
    return ctx.rows("statusPageIncidents", where=lambda i: i["statusPageId"] == page_id)


@procedure("statusPage.listPublic")
def list_public(ctx: Ctx, data: Any) -> list[dict[str, Any]]:
    return [
        {"slug": p["slug"], "updatedAt": p["updatedAt"]}
        for p in ctx.rows("statusPages", order="slug", descending=False)
    ]


@procedure("statusPage.list")
def list_pages(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    org = ctx.workspace(data["organizationId"])
    ctx.check(org, "read", "config")
    rows = ctx.rows("statusPages", where=lambda p: p["organizationId"] == org)
    return [{**p, "monitorCount": len(_monitors(ctx, p["id"]))} for p in rows]


@procedure("statusPage.get")
def get_page(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    page = _page(ctx, data["statusPageId"])
    return {**page, "monitors": _monitors(ctx, page["id"])}


@procedure("statusPage.create")
def create_page(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    org = ctx.workspace(data["organizationId"])
    ctx.check(org, "create", "config")
    if any(p["slug"] == data["slug"] for p in ctx.rows("statusPages")):
        raise conflict("A status page with this slug already exists")
    page = {
        "id": ctx.new_id(),
        "organizationId": org,
        "name": data["name"],
        "slug": data["slug"],
        "description": None,
        "logoUrl": None,
        "faviconUrl": None,
        "websiteUrl": None,
        "supportUrl": None,
        "theme": "system",
        "hideBranding": False,
        "customCss": None,
    }
    page.update({k: data[k] for k in PAGE_FIELDS if k in data})
    return ctx.insert("statusPages", page)


@procedure("statusPage.update")
def update_page(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    page = _page(ctx, data["statusPageId"], "update")
    if "slug" in data and any(
        p["slug"] == data["slug"] and p["id"] != page["id"] for p in ctx.rows("statusPages")
    ):
        raise conflict("A status page with this slug already exists")
    return ctx.update(page, {k: v for k, v in data.items() if k != "statusPageId"})


@procedure("statusPage.delete")
def delete_page(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    page = _page(ctx, data["statusPageId"], "delete")
    for coll in ("statusPageMonitors", "statusPageIncidents"):
        for row in list(ctx.registry.collection(coll).values()):
            if row["statusPageId"] == page["id"]:
                ctx.hard_delete(coll, row["id"])
    ctx.hard_delete("statusPages", page["id"])
    return {"success": True}


@procedure("statusPage.transfer")
def transfer_page(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    page = _page(ctx, data["statusPageId"], "delete")
    target = data["targetOrganizationId"]
    if ctx.registry.get("organizations", target) is None:
        raise not_found("organization", target)
    ctx.check(target, "create", "config")
    ctx.update(page, {"organizationId": target})
    if data.get("includeMonitors", True):
        for monitor in _monitors(ctx, page["id"]):
            if monitor["uptimeSchedule"] is not None:
                ctx.update(monitor["uptimeSchedule"], {"organizationId": target})
    return {"success": True}


@procedure("statusPage.addMonitor")
def add_monitor(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    page = _page(ctx, data["statusPageId"], "update")
    schedule = ctx.get("uptimeSchedules", data["uptimeScheduleId"], "schedule")
    if schedule["organizationId"] != page["organizationId"]:
        raise not_found("schedule", schedule["id"])
    existing = _monitors(ctx, page["id"])
    if any(m["uptimeScheduleId"] == schedule["id"] for m in existing):
        raise conflict("This monitor is already on the status page")
    return ctx.insert(
        "statusPageMonitors",
        {
            "id": ctx.new_id(),
            "statusPageId": page["id"],
            "uptimeScheduleId": schedule["id"],
            "displayName": None,
            "hideUrl": False,
            "hideUptimePercentage": False,
            "hideLatency": False,
            "order": len(existing),
        },
    )


@procedure("statusPage.removeMonitor")
def remove_monitor(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    page = _page(ctx, data["statusPageId"], "update")
    for monitor in _monitors(ctx, page["id"]):
        if monitor["uptimeScheduleId"] == data["uptimeScheduleId"]:
            ctx.hard_delete("statusPageMonitors", monitor["id"])
            return {"success": True}
    raise not_found("statusPageMonitor", data["uptimeScheduleId"])


@procedure("statusPage.updateMonitorSettings")
def update_monitor(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    monitor = ctx.get("statusPageMonitors", data["monitorId"], "statusPageMonitor")
    _page(ctx, monitor["statusPageId"], "update")
    return ctx.update(monitor, {k: v for k, v in data.items() if k != "monitorId"})


def _incident(ctx: Ctx, incident_id: str) -> dict[str, Any]:
    incident = ctx.get("statusPageIncidents", incident_id, "incident")
    _page(ctx, incident["statusPageId"], "update")
    return incident


@procedure("statusPage.createIncident")
def create_incident(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    page = _page(ctx, data["statusPageId"], "update")
    monitor_ids = {m["id"] for m in _monitors(ctx, page["id"])}
    for affected in data.get("affectedMonitors") or []:
        if affected["statusPageMonitorId"] not in monitor_ids:
            raise not_found("statusPageMonitor", affected["statusPageMonitorId"])
    return ctx.insert(
        "statusPageIncidents",
        {
            "id": ctx.new_id(),
            "statusPageId": page["id"],
            "title": data["title"],
            "status": "investigating",
            "severity": data.get("severity") or "minor",
            "resolvedAt": None,
            "affectedMonitors": data.get("affectedMonitors") or [],
            "updates": [
                {
                    "id": ctx.new_id(),
                    "status": "investigating",
                    "message": data["message"],
                    "createdAt": ctx.now,
                }
            ],
        },
    )


@procedure("statusPage.updateIncident")
def update_incident(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    incident = _incident(ctx, data["incidentId"])
    updates = [
        *incident["updates"],
        {
            "id": ctx.new_id(),
            "status": data["status"],
            "message": data["message"],
            "createdAt": ctx.now,
        },
    ]
    resolved = ctx.now if data["status"] == "resolved" else None
    return ctx.update(
        incident, {"status": data["status"], "updates": updates, "resolvedAt": resolved}
    )


@procedure("statusPage.deleteIncident")
def delete_incident(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    incident = _incident(ctx, data["incidentId"])
    ctx.hard_delete("statusPageIncidents", incident["id"])
    return {"success": True}


@procedure("statusPage.listIncidents")
def list_incidents(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    page = _page(ctx, data["statusPageId"])
    return _incidents(ctx, page["id"])


# ------------------------------------------------------------------------------ public page
def _daily(ctx: Ctx, schedule_id: str, since: datetime) -> list[dict[str, Any]]:
    rows = fetch(
        ctx,
        f"""SELECT strftime(timestamp, '%Y-%m-%d') AS day, count(*),
            sum(status), avg(total_ms), quantile_cont(total_ms, 0.95)
        FROM uptime_monitor WHERE site_id = {lit(schedule_id)} AND timestamp >= {ts(since)}
          AND {visible(ctx, "timestamp")}
        GROUP BY 1 ORDER BY 1""",
    )
    return [
        {
            "date": day,
            "uptime_percentage": round(100.0 * int(ok) / int(n), 2),
            "total_checks": int(n),
            "successful_checks": int(ok),
            "downtime_seconds": (int(n) - int(ok)) * CHECK_INTERVAL_SECONDS,
            "avg_response_time": round(float(avg), 1),
            "p95_response_time": round(float(p95), 1),
        }
        for day, n, ok, avg, p95 in rows
    ]


def _last_check(ctx: Ctx, schedule_id: str) -> tuple[str, datetime | None]:
    rows = fetch(
        ctx,
        f"""SELECT status, timestamp FROM uptime_monitor
        WHERE site_id = {lit(schedule_id)} AND {visible(ctx, "timestamp")}
        ORDER BY timestamp DESC LIMIT 1""",
    )
    if not rows:
        return "unknown", None
    return ("up" if rows[0][0] else "down"), rows[0][1]


@procedure("statusPage.getBySlug")
def get_by_slug(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    page = next((p for p in ctx.rows("statusPages") if p["slug"] == data["slug"]), None)
    if page is None:
        raise not_found("statusPage", data["slug"], "Status page not found")
    org = ctx.registry.get("organizations", page["organizationId"]) or {}
    since = datetime.combine(
        ctx.now.date() - timedelta(days=data.get("days", 90) - 1), datetime.min.time()
    )
    monitors, names = [], {}
    for m in _monitors(ctx, page["id"]):
        schedule = m["uptimeSchedule"]
        if schedule is None:
            continue
        daily = _daily(ctx, schedule["id"], since)
        total = sum(d["total_checks"] for d in daily)
        status, last = _last_check(ctx, schedule["id"])
        name = m.get("displayName") or schedule.get("name") or schedule["url"]
        names[m["id"]] = name
        monitor: dict[str, Any] = {
            "id": m["id"],
            "name": name,
            "currentStatus": status,
            "dailyData": daily,
            "lastCheckedAt": iso(last) if last else None,
        }
        if not m.get("hideUrl"):
            monitor["domain"] = schedule["url"].split("://", 1)[-1].split("/", 1)[0]
        if not m.get("hideUptimePercentage"):
            ok = sum(d["successful_checks"] for d in daily)
            monitor["uptimePercentage"] = round(100.0 * ok / total, 2) if total else 100.0
        monitors.append(monitor)
    incidents = []
    for inc in _incidents(ctx, page["id"]):
        incidents.append(
            {
                "id": inc["id"],
                "title": inc["title"],
                "status": inc["status"],
                "severity": inc["severity"],
                "createdAt": iso(inc["createdAt"]),
                "resolvedAt": iso(inc["resolvedAt"]) if inc.get("resolvedAt") else None,
                "updates": [
                    {
                        "id": u["id"],
                        "status": u["status"],
                        "message": u["message"],
                        "createdAt": iso(u["createdAt"]),
                    }
                    for u in inc["updates"]
                ],
                "affectedMonitors": [
                    {
                        "statusPageMonitorId": a["statusPageMonitorId"],
                        "monitorName": names.get(a["statusPageMonitorId"], ""),
                        "impact": a["impact"],
                    }
                    for a in inc["affectedMonitors"]
                ],
            }
        )
    overall = (
        "outage"
        if any(m["currentStatus"] == "down" for m in monitors)
        else "degraded"
        if any(i["status"] != "resolved" for i in incidents)
        else "operational"
    )
    return {
        "organization": {
            "name": org.get("name", ""),
            "slug": org.get("slug", ""),
            "logo": org.get("logo"),
        },
        "statusPage": {"name": page["name"], **{k: page.get(k) for k in PAGE_FIELDS}},
        "overallStatus": overall,
        "monitors": monitors,
        "incidents": incidents,
    }
