"""organizations.*, preferences.*, annotations.* and autocomplete.get."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...query.sql import lit, normalized_path
from ..context import Ctx
from ..errors import bad_request, not_found
from ..schema import parse_datetime
from .events import date_range, fetch, ts, visible
from .registry import procedure

AUTOCOMPLETE_LIMIT = 100
DEFAULT_PREFERENCES = {"timezone": "auto", "dateFormat": "MMM D, YYYY", "timeFormat": "h:mm a"}


# ------------------------------------------------------------------------ organizations
@procedure("organizations.updateAvatarSeed")
def update_avatar_seed(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    org = ctx.get("organizations", data["organizationId"], "organization")
    ctx.check(org["id"], "update", "config")
    ctx.update(org, {"avatarSeed": data["seed"]})
    return {"organization": org}


def _pending(ctx: Ctx, include_expired: bool) -> list[dict[str, Any]]:
    return ctx.rows(
        "invitations",
        where=lambda i: i["status"] == "pending" and (include_expired or i["expiresAt"] > ctx.now),
    )


@procedure("organizations.getPendingInvitations")
def pending_invitations(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    org = ctx.workspace(data["organizationId"])
    ctx.check(org, "read", "config")
    return [
        i for i in _pending(ctx, bool(data.get("includeExpired"))) if i["organizationId"] == org
    ]


@procedure("organizations.getUserPendingInvitations")
def user_pending_invitations(ctx: Ctx, data: Any) -> list[dict[str, Any]]:
    user = ctx.registry.users.get(ctx.user_id) or {}
    out = []
    for inv in _pending(ctx, False):
        if inv["email"] != user.get("email"):
            continue
        org = ctx.registry.get("organizations", inv["organizationId"]) or {}
        out.append(
            {**inv, "organizationName": org.get("name"), "organizationLogo": org.get("logo")}
        )
    return out


@procedure("organizations.clearExpiredInvitations")
def clear_expired(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    org = ctx.workspace(data["organizationId"])
    ctx.check(org, "delete", "config")
    expired = [
        i for i in _pending(ctx, True) if i["organizationId"] == org and i["expiresAt"] <= ctx.now
    ]
    for inv in expired:
        ctx.hard_delete("invitations", inv["id"])
    return {"deleted": len(expired)}


def _month_events(ctx: Ctx, org: str) -> int:
    sites = [w["id"] for w in ctx.registry.websites_of(org)]
    if not sites:
        return 0
    start = ctx.now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    ids = ", ".join(lit(s) for s in sites)
    return int(
        fetch(
            ctx,
            f"SELECT count(*) FROM events WHERE client_id IN ({ids}) "
            f"AND time >= {ts(start)} AND {visible(ctx)}",
        )[0][0]
    )


EVENT_LIMIT = 10_000_000


@procedure("organizations.getUsage")
def get_usage(ctx: Ctx, data: Any) -> dict[str, Any]:
    org = ctx.workspace(None)
    used = _month_events(ctx, org)
    return {
        "organizationId": org,
        "plan": ctx.registry.plan_of(org),
        "eventsThisMonth": used,
        "eventLimit": EVENT_LIMIT,
        "remaining": max(EVENT_LIMIT - used, 0),
        "websites": len([w for w in ctx.registry.websites_of(org) if not w["deletedAt"]]),
        "periodStart": ctx.now.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
    }


@procedure("organizations.getBillingContext")
def billing_context(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    org: str | None = None
    if data.get("websiteId"):
        site, _ = ctx.website_for_read(data["websiteId"])
        org = site["organizationId"]
    elif ctx.principal is not None:
        org = ctx.principal.organization_id
    plan = ctx.registry.plan_of(org) if org else "free"
    return {
        "organizationId": org,
        "plan": plan,
        "planName": plan.capitalize(),
        "isFreePlan": plan == "free",
        "canUserUpgrade": ctx.principal is not None,
        "features": {"funnels": True, "goals": True, "flags": True, "uptime": True},
    }


# ------------------------------------------------------------------------ email notifications
EMAIL_DEFAULTS: dict[str, dict[str, Any]] = {
    "anomalies": {"customEventEmails": False, "errorEmails": True, "trafficEmails": False},
    "billing": {"usageWarnings": True},
    "trackingHealth": {
        "cooldownMinutes": 360,
        "ignoredOrigins": [],
        "ignoredReasons": [],
        "mode": "critical_only",
    },
    "uptime": {"downEmails": True, "recoveryEmails": True},
}


def _email_settings(ctx: Ctx, org: str) -> dict[str, Any]:
    """An organization's settings: the defaults under what it saved."""
    saved = ctx.registry.collection("emailNotificationSettings").get(org, {})
    return {group: {**values, **saved.get(group, {})} for group, values in EMAIL_DEFAULTS.items()}


@procedure("organizations.getEmailNotificationSettings")
def get_email_settings(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    org = ctx.workspace(data.get("organizationId"))
    ctx.check(org, "read", "config")
    return _email_settings(ctx, org)


@procedure("organizations.updateEmailNotificationSettings")
def update_email_settings(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    org = ctx.workspace(data.get("organizationId"))
    ctx.check(org, "update", "config")
    settings = data.get("settings")
    if not isinstance(settings, dict):
        raise bad_request("settings: expected an object")
    merged = _email_settings(ctx, org)
    for group, values in settings.items():
        if group not in EMAIL_DEFAULTS or not isinstance(values, dict):
            raise bad_request(f"settings.{group}: unknown setting group")
        for key, value in values.items():
            default = EMAIL_DEFAULTS[group].get(key)
            if default is None or type(value) is not type(default):
                raise bad_request(f"settings.{group}.{key}: invalid value")
            merged[group][key] = value
    cooldown = merged["trackingHealth"]["cooldownMinutes"]
    merged["trackingHealth"]["cooldownMinutes"] = min(max(cooldown, 15), 7 * 24 * 60)
    with ctx.store.lock:
        ctx.registry.collection("emailNotificationSettings")[org] = merged
    return merged


# ------------------------------------------------------------------------ preferences
def _preferences(ctx: Ctx) -> dict[str, Any]:
    user = ctx.user_id
    prefs = ctx.registry.get("userPreferences", user)
    if prefs is None:
        prefs = ctx.insert("userPreferences", {"id": user, "userId": user, **DEFAULT_PREFERENCES})
    return prefs


@procedure("preferences.getUserPreferences")
def get_preferences(ctx: Ctx, data: Any) -> dict[str, Any]:
    return _preferences(ctx)


@procedure("preferences.updateUserPreferences")
def update_preferences(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return ctx.update(_preferences(ctx), data)


# ------------------------------------------------------------------------ annotations
def _annotation(ctx: Ctx, annotation_id: str, permission: str = "read") -> dict[str, Any]:
    ann = ctx.get("annotations", annotation_id, "annotation")
    site = ctx.website(ann["websiteId"])
    if permission == "read":
        if not ctx.check_website(site, "read") and not ann.get("isPublic"):
            raise not_found("annotation", annotation_id)
    else:
        ctx.check(
            site["organizationId"],
            "delete" if permission == "delete" else "update",
            "data",
            site["id"],
        )
    return ann


@procedure("annotations.list")
def list_annotations(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    """All non-deleted annotations of the website and chart type, createdAt desc (the
    dateRange is required but not used to filter). Public viewers see public ones only."""
    site, full = ctx.website_for_read(data["websiteId"])
    return ctx.rows(
        "annotations",
        where=lambda a: (
            a["websiteId"] == site["id"]
            and a["chartType"] == data["chartType"]
            and bool(full or a.get("isPublic"))
        ),
    )


@procedure("annotations.getById")
def get_annotation(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _annotation(ctx, data["id"])


def _x(raw: str | None, name: str) -> datetime | None:
    if raw is None:
        return None
    parsed = parse_datetime(raw)
    if parsed is None:
        raise bad_request(f"Invalid {name}: {raw}")
    return parsed


@procedure("annotations.create")
def create_annotation(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    site = ctx.website(data["websiteId"])
    ctx.check(site["organizationId"], "create", "data", site["id"])
    return ctx.insert(
        "annotations",
        {
            "id": ctx.new_id(),
            "websiteId": site["id"],
            "chartType": data["chartType"],
            "chartContext": data["chartContext"],
            "annotationType": data["annotationType"],
            "xValue": _x(data["xValue"], "xValue"),
            "xEndValue": _x(data.get("xEndValue"), "xEndValue"),
            "yValue": data.get("yValue"),
            "text": data["text"],
            "tags": data.get("tags") or [],
            "color": data.get("color") or "#3B82F6",
            "isPublic": bool(data.get("isPublic")),
            "createdBy": ctx.user_id,
            "deletedAt": None,
        },
    )


@procedure("annotations.update")
def update_annotation(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    ann = _annotation(ctx, data["id"], "update")
    return ctx.update(ann, {k: v for k, v in data.items() if k != "id"})


@procedure("annotations.delete")
def delete_annotation(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    ctx.soft_delete(_annotation(ctx, data["id"], "delete"))
    return {"success": True}


# ------------------------------------------------------------------------ autocomplete
_AUTOCOMPLETE_COLUMNS = {
    "pagePaths": normalized_path(),
    "browsers": "browser_name",
    "operatingSystems": "os_name",
    "countries": "country",
    "deviceTypes": "device_type",
    "utmSources": "utm_source",
    "utmMediums": "utm_medium",
    "utmCampaigns": "utm_campaign",
}


@procedure("autocomplete.get")
def autocomplete(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Distinct values seen in the range (default last 30 days), most frequent first."""
    site, _ = ctx.website_for_read(data["websiteId"])
    lo, hi = date_range(ctx, data.get("startDate"), data.get("endDate"))
    base = (
        f"client_id = {lit(site['id'])} AND time BETWEEN {ts(lo)} AND {ts(hi)} AND {visible(ctx)}"
    )
    out: dict[str, list[str]] = {}
    for key, col in _AUTOCOMPLETE_COLUMNS.items():
        rows = fetch(
            ctx,
            f"""SELECT {col} AS v, count(*) AS n FROM events WHERE {base}
            AND coalesce({col}, '') <> '' GROUP BY 1 ORDER BY 2 DESC, 1
            LIMIT {AUTOCOMPLETE_LIMIT}""",
        )
        out[key] = [str(r[0]) for r in rows]
    rows = fetch(
        ctx,
        f"""SELECT event_name, count(*) FROM custom_events
        WHERE website_id = {lit(site["id"])} AND timestamp BETWEEN {ts(lo)} AND {ts(hi)}
          AND {visible(ctx, "timestamp")} GROUP BY 1 ORDER BY 2 DESC, 1
        LIMIT {AUTOCOMPLETE_LIMIT}""",
    )
    out["customEvents"] = [str(r[0]) for r in rows]
    return out
