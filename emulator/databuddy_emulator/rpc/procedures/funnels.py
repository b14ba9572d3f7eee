"""funnels.* and goals.* procedures: definitions in the registry, analytics from events."""

from __future__ import annotations

from typing import Any

from ..context import Ctx
from ..errors import bad_request, not_found
from . import analytics
from .events import date_range
from .registry import procedure

FUNNEL_LIST_FIELDS = (
    "id",
    "name",
    "description",
    "steps",
    "filters",
    "isActive",
    "ignoreHistoricData",
    "createdAt",
    "updatedAt",
)


def _funnel(
    ctx: Ctx, funnel_id: str, permission: str = "read", website_id: str | None = None
) -> dict[str, Any]:
    funnel = ctx.get("funnels", funnel_id, "funnel")
    if website_id is not None and funnel["websiteId"] != website_id:
        raise not_found("funnel", funnel_id)
    site = ctx.website(funnel["websiteId"])
    if permission == "read":
        ctx.check_website(site, "read")
    else:
        ctx.check(
            site["organizationId"],
            "delete" if permission == "delete" else "update",
            "data",
            site["id"],
        )
    return funnel


@procedure("funnels.list")
def list_funnels(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Non-deleted funnels with at least 2 steps, createdAt desc."""
    site, _ = ctx.website_for_read(data["websiteId"])
    rows = ctx.rows(
        "funnels", where=lambda f: f["websiteId"] == site["id"] and len(f.get("steps") or []) >= 2
    )
    return [{k: f.get(k) for k in FUNNEL_LIST_FIELDS} for f in rows]


@procedure("funnels.getById")
def get_funnel(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _funnel(ctx, data["id"])


def _check_steps(steps: list[dict[str, Any]]) -> None:
    if len(steps) < 2:
        raise bad_request("A funnel needs at least 2 steps")


@procedure("funnels.create")
def create_funnel(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    site = ctx.website(data["websiteId"])
    ctx.check(site["organizationId"], "create", "data", site["id"])
    _check_steps(data["steps"])
    return ctx.insert(
        "funnels",
        {
            "id": ctx.new_id(),
            "websiteId": site["id"],
            "name": data["name"],
            "description": data.get("description"),
            "steps": data["steps"],
            "filters": data.get("filters") or [],
            "isActive": True,
            "ignoreHistoricData": bool(data.get("ignoreHistoricData", False)),
            "createdBy": ctx.user_id,
            "deletedAt": None,
        },
    )


@procedure("funnels.update")
def update_funnel(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    funnel = _funnel(ctx, data["id"], "update")
    changes = {k: v for k, v in data.items() if k != "id"}
    if "steps" in changes:
        _check_steps(changes["steps"])
    return ctx.update(funnel, changes)


@procedure("funnels.delete")
def delete_funnel(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    ctx.soft_delete(_funnel(ctx, data["id"], "delete"))
    return {"success": True}


def _analytics_input(ctx: Ctx, data: dict[str, Any]) -> tuple[dict[str, Any], Any, Any]:
    site, _ = ctx.website_for_read(data["websiteId"])
    funnel = _funnel(ctx, data["funnelId"], website_id=site["id"])
    lo, hi = date_range(ctx, data.get("startDate"), data.get("endDate"))
    return funnel, lo, hi


@procedure("funnels.getAnalytics")
def funnel_analytics(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    funnel, lo, hi = _analytics_input(ctx, data)
    return analytics.funnel_analytics(
        ctx, funnel["websiteId"], funnel.get("steps") or [], funnel.get("filters"), lo, hi
    )


@procedure("funnels.getAnalyticsByReferrer")
def funnel_by_referrer(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    funnel, lo, hi = _analytics_input(ctx, data)
    return analytics.by_referrer(
        ctx, funnel["websiteId"], funnel.get("steps") or [], funnel.get("filters"), lo, hi
    )


@procedure("funnels.getAnalyticsByLink")
def funnel_by_link(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Link clicks are not tied to visitors in the emulator's data, so no visitor is attributed
    to a link: the analytics have the funnel's steps with zero users."""
    funnel, lo, hi = _analytics_input(ctx, data)
    link = ctx.get("links", data["linkId"], "link")
    site = ctx.website(funnel["websiteId"])
    if link["organizationId"] != site["organizationId"]:
        raise not_found("link", data["linkId"])
    return analytics.funnel_analytics(
        ctx,
        funnel["websiteId"],
        funnel.get("steps") or [],
        funnel.get("filters"),
        lo,
        hi,
        only_visitors=set(),
    )


# ------------------------------------------------------------------------------ goals
def _goal(ctx: Ctx, goal_id: str, permission: str = "read") -> dict[str, Any]:
    goal = ctx.get("goals", goal_id, "goal")
    site = ctx.website(goal["websiteId"])
    if permission == "read":
        ctx.check_website(site, "read")
    else:
        ctx.check(
            site["organizationId"],
            "delete" if permission == "delete" else "update",
            "data",
            site["id"],
        )
    return goal


@procedure("goals.list")
def list_goals(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    site, _ = ctx.website_for_read(data["websiteId"])
    return ctx.rows("goals", where=lambda g: g["websiteId"] == site["id"])


@procedure("goals.getById")
def get_goal(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _goal(ctx, data["id"])


@procedure("goals.create")
def create_goal(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    site = ctx.website(data["websiteId"])
    ctx.check(site["organizationId"], "create", "data", site["id"])
    return ctx.insert(
        "goals",
        {
            "id": ctx.new_id(),
            "websiteId": site["id"],
            "type": data["type"],
            "target": data["target"],
            "name": data["name"],
            "description": data.get("description"),
            "filters": data.get("filters"),
            "ignoreHistoricData": bool(data.get("ignoreHistoricData", False)),
            "isActive": True,
            "createdBy": ctx.user_id,
            "deletedAt": None,
        },
    )


@procedure("goals.update")
def update_goal(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    goal = _goal(ctx, data["id"], "update")
    return ctx.update(goal, {k: v for k, v in data.items() if k != "id"})


@procedure("goals.delete")
def delete_goal(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    ctx.soft_delete(_goal(ctx, data["id"], "delete"))
    return {"success": True}


@procedure("goals.getAnalytics")
def goal_analytics(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    site, _ = ctx.website_for_read(data["websiteId"])
    goal = _goal(ctx, data["goalId"])
    if goal["websiteId"] != site["id"]:
        raise not_found("goal", data["goalId"])
    lo, hi = date_range(ctx, data.get("startDate"), data.get("endDate"))
    return analytics.goal_analytics(ctx, goal, lo, hi)


@procedure("goals.bulkAnalytics")
def bulk_goal_analytics(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """goalId -> analytics (or ``{"error": ...}`` for unknown goals)."""
    site, _ = ctx.website_for_read(data["websiteId"])
    lo, hi = date_range(ctx, data.get("startDate"), data.get("endDate"))
    out: dict[str, Any] = {}
    for goal_id in data["goalIds"]:
        goal = ctx.registry.get("goals", goal_id)
        if goal is None or goal.get("deletedAt") or goal["websiteId"] != site["id"]:
            out[goal_id] = {"error": "Goal not found"}
        else:
            out[goal_id] = analytics.goal_analytics(ctx, goal, lo, hi)
    return out
