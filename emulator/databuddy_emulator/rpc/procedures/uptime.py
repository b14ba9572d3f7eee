"""uptime.* and alarms.* procedures."""

from __future__ import annotations

from collections import deque
from typing import Any

from ..context import Ctx
from ..errors import RpcError, conflict, not_found
from .registry import procedure

UPTIME_CAP = 100
ALARMS_CAP = 100
CRON = {
    "minute": "* * * * *",
    "five_minutes": "*/5 * * * *",
    "ten_minutes": "*/10 * * * *",
    "thirty_minutes": "*/30 * * * *",
    "hour": "0 * * * *",
    "six_hours": "0 */6 * * *",
    "twelve_hours": "0 */12 * * *",
    "day": "0 0 * * *",
}
MANUAL_CHECKS_PER_MINUTE = 5
_manual_checks: dict[str, deque[float]] = {}


def _website_ref(ctx: Ctx, schedule: dict[str, Any]) -> dict[str, Any] | None:
    site = ctx.registry.get("websites", schedule.get("websiteId") or "")
    if site is None:
        return None
    return {"id": site["id"], "name": site["name"], "domain": site["domain"]}


def _present(ctx: Ctx, schedule: dict[str, Any]) -> dict[str, Any]:
    return {**schedule, "website": _website_ref(ctx, schedule), "schedulerStatus": "active"}


def _schedule(ctx: Ctx, schedule_id: str, permission: str = "read") -> dict[str, Any]:
    schedule = ctx.get("uptimeSchedules", schedule_id, "schedule")
    ctx.check(
        schedule["organizationId"],
        "read" if permission == "read" else "delete" if permission == "delete" else "update",
        "config",
    )
    return schedule


@procedure("uptime.listSchedules")
def list_schedules(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    org = ctx.workspace(data.get("organizationId"))
    ctx.check(org, "read", "config")
    rows = ctx.rows("uptimeSchedules", where=lambda s: s["organizationId"] == org, cap=UPTIME_CAP)
    return [{**s, "website": _website_ref(ctx, s)} for s in rows]


@procedure("uptime.getSchedule")
def get_schedule(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _present(ctx, _schedule(ctx, data["scheduleId"]))


@procedure("uptime.getScheduleByWebsiteId")
def get_schedule_by_website(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    site = ctx.website(data["websiteId"])
    ctx.check(site["organizationId"], "read", "config", site["id"])
    for schedule in ctx.rows("uptimeSchedules"):
        if schedule.get("websiteId") == site["id"]:
            return _present(ctx, schedule)
    raise not_found("schedule", data["websiteId"], "No uptime schedule for this website")


@procedure("uptime.createSchedule")
def create_schedule(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    site = ctx.website(data["websiteId"]) if data.get("websiteId") else None
    org = ctx.workspace(data.get("organizationId"), site)
    ctx.check(org, "create", "config", site["id"] if site else None)
    if site and any(s.get("websiteId") == site["id"] for s in ctx.rows("uptimeSchedules")):
        raise conflict("This website already has an uptime schedule")
    schedule = ctx.insert(
        "uptimeSchedules",
        {
            "id": ctx.new_id(),
            "websiteId": site["id"] if site else None,
            "organizationId": org,
            "url": data["url"],
            "name": data.get("name"),
            "granularity": data["granularity"],
            "cron": CRON[data["granularity"]],
            "isPaused": False,
            "timeout": data.get("timeout", 10000),
            "cacheBust": bool(data.get("cacheBust", False)),
            "jsonParsingConfig": data.get("jsonParsingConfig"),
        },
    )
    return _present(ctx, schedule)


@procedure("uptime.updateSchedule")
def update_schedule(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    schedule = _schedule(ctx, data["scheduleId"], "update")
    changes = {k: v for k, v in data.items() if k != "scheduleId"}
    if "granularity" in changes:
        changes["cron"] = CRON[changes["granularity"]]
    return _present(ctx, ctx.update(schedule, changes))


@procedure("uptime.deleteSchedule")
def delete_schedule(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    schedule = _schedule(ctx, data["scheduleId"], "delete")
    ctx.hard_delete("uptimeSchedules", schedule["id"])
    return {"success": True}


def _pause(ctx: Ctx, schedule_id: str, paused: bool) -> dict[str, Any]:
    ctx.update(_schedule(ctx, schedule_id, "update"), {"isPaused": paused})
    return {"success": True, "isPaused": paused}


@procedure("uptime.togglePause")
def toggle_pause(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _pause(ctx, data["scheduleId"], data["pause"])


@procedure("uptime.pauseSchedule")
def pause_schedule(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _pause(ctx, data["scheduleId"], True)


@procedure("uptime.resumeSchedule")
def resume_schedule(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _pause(ctx, data["scheduleId"], False)


@procedure("uptime.transfer")
def transfer_schedule(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    schedule = _schedule(ctx, data["scheduleId"], "delete")
    target = data["targetOrganizationId"]
    if ctx.registry.get("organizations", target) is None:
        raise not_found("organization", target)
    ctx.check(target, "create", "config")
    ctx.update(schedule, {"organizationId": target})
    return {"success": True}


@procedure("uptime.manualCheck")
def manual_check(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """5 manual checks per minute and monitor (virtual clock), else RATE_LIMITED."""
    schedule = _schedule(ctx, data["scheduleId"], "update")
    now = ctx.now.timestamp()
    with ctx.store.lock:
        window = _manual_checks.setdefault(f"{id(ctx.store)}:{schedule['id']}", deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= MANUAL_CHECKS_PER_MINUTE:
            retry = int(window[0] + 60 - now) + 1
            raise RpcError(
                "RATE_LIMITED",
                "Too many manual checks, try again later",
                data={"retryAfter": retry},
            )
        window.append(now)
    return {"success": True}


# ------------------------------------------------------------------------------ alarms
def _alarm(ctx: Ctx, alarm_id: str, permission: str = "read") -> dict[str, Any]:
    alarm = ctx.get("alarms", alarm_id, "alarm")
    ctx.check(
        alarm["organizationId"],
        "read" if permission == "read" else "delete" if permission == "delete" else "update",
        "config",
    )
    return alarm


def _destinations(ctx: Ctx, alarm_id: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": ctx.new_id(),
            "alarmId": alarm_id,
            "type": d["type"],
            "identifier": d.get("identifier", ""),
            "config": d.get("config") or {},
            "createdAt": ctx.now,
            "updatedAt": ctx.now,
        }
        for d in items
    ]


@procedure("alarms.list")
def list_alarms(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    org = ctx.workspace(data.get("organizationId"))
    ctx.check(org, "read", "config")
    return ctx.rows("alarms", where=lambda a: a["organizationId"] == org, cap=ALARMS_CAP)


@procedure("alarms.get")
def get_alarm(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _alarm(ctx, data["alarmId"])


@procedure("alarms.create")
def create_alarm(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    org = ctx.workspace(data["organizationId"])
    site = ctx.website(data["websiteId"]) if data.get("websiteId") else None
    ctx.check(org, "create", "config", site["id"] if site else None)
    if site is not None and site["organizationId"] != org:
        raise not_found("website", site["id"])
    alarm_id = ctx.new_id()
    return ctx.insert(
        "alarms",
        {
            "id": alarm_id,
            "organizationId": org,
            "websiteId": site["id"] if site else None,
            "name": data["name"],
            "description": data.get("description"),
            "enabled": data.get("enabled", True),
            "triggerType": data["triggerType"],
            "triggerConditions": data.get("triggerConditions") or {},
            "createdBy": ctx.user_id,
            "deletedAt": None,
            "destinations": _destinations(ctx, alarm_id, data["destinations"]),
        },
    )


@procedure("alarms.update")
def update_alarm(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    alarm = _alarm(ctx, data["alarmId"], "update")
    changes = {k: v for k, v in data.items() if k not in ("alarmId", "destinations")}
    if changes.get("websiteId"):
        site = ctx.website(changes["websiteId"])
        if site["organizationId"] != alarm["organizationId"]:
            raise not_found("website", site["id"])
    if "destinations" in data:
        changes["destinations"] = _destinations(ctx, alarm["id"], data["destinations"])
    return ctx.update(alarm, changes)


@procedure("alarms.delete")
def delete_alarm(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    ctx.soft_delete(_alarm(ctx, data["alarmId"], "delete"))
    return {"success": True}


@procedure("alarms.test")
def test_alarm(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """The emulator sends nothing; every destination reports success."""
    alarm = _alarm(ctx, data["alarmId"], "update")
    return {
        "results": [
            {"success": True, "channel": d["type"]} for d in alarm.get("destinations") or []
        ]
    }
