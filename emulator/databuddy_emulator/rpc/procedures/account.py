"""featureInvite.*, feedback.*, billing.* and revenue.* procedures (session-scoped state)."""

from __future__ import annotations

import secrets
from typing import Any

from ...query.sql import lit
from ..context import Ctx
from ..errors import bad_request, forbidden, not_found
from .events import date_range, days_between, fetch, ts, visible
from .registry import procedure

INVITES_PER_FLAG = 3
REWARD_TIERS = [
    (50 * (i + 1) * (i + 1), kind, amount)
    for i, (kind, amount) in enumerate(
        [
            ("events", 10_000),
            ("events", 50_000),
            ("events", 100_000),
            ("credits", 5),
            ("events", 250_000),
            ("credits", 15),
            ("events", 1_000_000),
            ("credits", 50),
        ]
    )
]


# ------------------------------------------------------------------------ feature invites
def _invites(ctx: Ctx, flag_key: str) -> list[dict[str, Any]]:
    return ctx.rows(
        "featureInvites",
        where=lambda i: i["flagKey"] == flag_key and i["invitedById"] == ctx.user_id,
    )


def _by_token(ctx: Ctx, token: str) -> dict[str, Any]:
    for invite in ctx.registry.collection("featureInvites").values():
        if invite["token"] == token:
            return invite
    raise not_found("featureInvite", None, "Invite link not found")


@procedure("featureInvite.peekLink")
def peek_link(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    invite = _by_token(ctx, data["token"])
    return {"flagKey": invite["flagKey"], "status": invite["status"]}


@procedure("featureInvite.generateLinks")
def generate_links(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Creates the caller's remaining invite links for the flag (3 per user and flag)."""
    existing = [i for i in _invites(ctx, data["flagKey"]) if i["status"] != "revoked"]
    return [
        ctx.insert(
            "featureInvites",
            {
                "id": ctx.new_id(),
                "flagKey": data["flagKey"],
                "token": secrets.token_urlsafe(16),
                "status": "pending",
                "invitedById": ctx.user_id,
                "redeemedById": None,
                "redeemedAt": None,
            },
        )
        for _ in range(max(INVITES_PER_FLAG - len(existing), 0))
    ]


@procedure("featureInvite.listLinks")
def list_links(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    return _invites(ctx, data["flagKey"])


@procedure("featureInvite.revokeLink")
def revoke_link(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    invite = ctx.registry.get("featureInvites", data["inviteId"])
    if invite is None or invite["invitedById"] != ctx.user_id:
        raise not_found("featureInvite", data["inviteId"], "Invite link not found")
    if invite["status"] != "pending":
        raise bad_request("Only pending invite links can be revoked")
    return ctx.update(invite, {"status": "revoked"})


@procedure("featureInvite.redeemLink")
def redeem_link(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    invite = _by_token(ctx, data["token"])
    if invite["status"] != "pending":
        raise bad_request("This invite link is no longer valid")
    if invite["invitedById"] == ctx.user_id:
        raise forbidden("You cannot redeem your own invite link")
    ctx.update(invite, {"status": "redeemed", "redeemedById": ctx.user_id, "redeemedAt": ctx.now})
    return {"flagKey": invite["flagKey"]}


@procedure("featureInvite.getInviteCount")
def invite_count(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    used = len([i for i in _invites(ctx, data["flagKey"]) if i["status"] == "redeemed"])
    return {"used": used, "limit": INVITES_PER_FLAG, "remaining": max(INVITES_PER_FLAG - used, 0)}


@procedure("featureInvite.checkAccess")
def check_access(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    redeemed = any(
        i["flagKey"] == data["flagKey"] and i.get("redeemedById") == ctx.user_id
        for i in ctx.registry.collection("featureInvites").values()
    )
    return {"hasAccess": redeemed}


# ------------------------------------------------------------------------ feedback
def _balance(ctx: Ctx) -> dict[str, int]:
    earned = sum(
        int(f.get("creditsAwarded") or 0)
        for f in ctx.rows("feedback")
        if f["userId"] == ctx.user_id
    )
    spent = sum(
        int(r["credits"]) for r in ctx.rows("feedbackRedemptions") if r["userId"] == ctx.user_id
    )
    return {"totalEarned": earned, "totalSpent": spent, "available": earned - spent}


@procedure("feedback.submit")
def submit_feedback(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return ctx.insert(
        "feedback",
        {
            "id": ctx.new_id(),
            "userId": ctx.user_id,
            "organizationId": ctx.workspace(None),
            "title": data["title"],
            "description": data["description"],
            "category": data["category"],
            "status": "pending",
            "creditsAwarded": 0,
            "adminNotes": None,
            "reviewedBy": None,
            "reviewedAt": None,
        },
    )


@procedure("feedback.list")
def list_feedback(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    status = data.get("status")
    return ctx.rows(
        "feedback",
        where=lambda f: f["userId"] == ctx.user_id and (status is None or f["status"] == status),
    )


@procedure("feedback.getCreditsBalance")
def credits_balance(ctx: Ctx, data: Any) -> dict[str, Any]:
    return _balance(ctx)


@procedure("feedback.getRewardTiers")
def reward_tiers(ctx: Ctx, data: Any) -> list[dict[str, Any]]:
    return [{"creditsRequired": c, "rewardType": t, "rewardAmount": a} for c, t, a in REWARD_TIERS]


@procedure("feedback.redeemCredits")
def redeem_credits(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    required, kind, amount = REWARD_TIERS[data["tierIndex"]]
    balance = _balance(ctx)
    if balance["available"] < required:
        raise bad_request("Not enough credits for this reward")
    ctx.insert(
        "feedbackRedemptions",
        {
            "id": ctx.new_id(),
            "userId": ctx.user_id,
            "credits": required,
            "tierIndex": data["tierIndex"],
        },
    )
    return {
        "success": True,
        "rewardType": kind,
        "rewardAmount": amount,
        "creditsSpent": required,
        "remainingCredits": balance["available"] - required,
    }


# ------------------------------------------------------------------------ billing
def _billing(ctx: Ctx, section: str, data: dict[str, Any]) -> dict[str, Any]:
    org = ctx.workspace(None)
    ctx.check(org, "update", "config")
    row = ctx.registry.get("billingSettings", org) or ctx.insert(
        "billingSettings", {"id": org, "organizationId": org}
    )
    ctx.update(row, {section: dict(data)})
    return dict(data)


@procedure("billing.setAutoTopup")
def set_auto_topup(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _billing(ctx, "autoTopup", data)


@procedure("billing.setUsageAlert")
def set_usage_alert(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _billing(ctx, "usageAlert", data)


@procedure("billing.setSpendLimit")
def set_spend_limit(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _billing(ctx, "spendLimit", data)


@procedure("billing.getUsage")
def billing_usage(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Events per day of the organization's websites in the range (default last 30 days)."""
    org = ctx.workspace(data.get("organizationId"))
    ctx.check(org, "read", "config")
    lo, hi = date_range(ctx, data.get("startDate"), data.get("endDate"))
    sites = [w["id"] for w in ctx.registry.websites_of(org)]
    per_day: dict[str, int] = {}
    if sites:
        ids = ", ".join(lit(s) for s in sites)
        per_day = {
            d: int(n)
            for d, n in fetch(
                ctx,
                f"""
            SELECT strftime(time, '%Y-%m-%d'), count(*) FROM events
            WHERE client_id IN ({ids}) AND time BETWEEN {ts(lo)} AND {ts(hi)}
              AND {visible(ctx)} GROUP BY 1""",
            )
        }
    daily = [
        {"date": d.isoformat(), "events": per_day.get(d.isoformat(), 0)}
        for d in days_between(lo, hi)
    ]
    return {
        "organizationId": org,
        "startDate": lo.date().isoformat(),
        "endDate": hi.date().isoformat(),
        "totalEvents": sum(per_day.values()),
        "daily": daily,
    }


# ------------------------------------------------------------------------ revenue config
def _revenue_owner(ctx: Ctx, data: dict[str, Any], permission: str) -> str:
    if data.get("websiteId"):
        site = ctx.website(data["websiteId"])
        ctx.check(
            site["organizationId"],
            "read" if permission == "read" else "update",
            "config",
            site["id"],
        )
        return str(site["id"])
    org = ctx.workspace(None)
    ctx.check(org, "read" if permission == "read" else "update", "config")
    return org


def _present_revenue(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "ownerId": row["ownerId"],
        "currency": row["currency"],
        "webhookHash": row["webhookHash"],
        "stripeConfigured": bool(row.get("stripeWebhookSecret")),
        "paddleConfigured": bool(row.get("paddleWebhookSecret")),
        "createdAt": row["createdAt"],
        "updatedAt": row["updatedAt"],
    }


@procedure("revenue.get")
def get_revenue(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    owner = _revenue_owner(ctx, data, "read")
    row = ctx.registry.get("revenueConfigs", owner)
    if row is None:
        return {"ownerId": owner, "configured": False}
    return {**_present_revenue(row), "configured": True}


@procedure("revenue.upsert")
def upsert_revenue(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    owner = _revenue_owner(ctx, data, "update")
    row = ctx.registry.get("revenueConfigs", owner) or ctx.insert(
        "revenueConfigs",
        {"id": owner, "ownerId": owner, "currency": "USD", "webhookHash": secrets.token_hex(16)},
    )
    names = ("stripeWebhookSecret", "paddleWebhookSecret", "currency")
    changes: dict[str, Any] = {k: data[k] for k in names if k in data}
    ctx.update(row, changes)
    return {**_present_revenue(row), "configured": True}


@procedure("revenue.regenerateHash")
def regenerate_hash(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    owner = _revenue_owner(ctx, data, "update")
    row = ctx.registry.get("revenueConfigs", owner)
    if row is None:
        raise not_found("revenueConfig", owner)
    ctx.update(row, {"webhookHash": secrets.token_hex(16)})
    return {"webhookHash": row["webhookHash"]}


@procedure("revenue.delete")
def delete_revenue(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    owner = _revenue_owner(ctx, data, "update")
    if ctx.registry.get("revenueConfigs", owner) is None:
        raise not_found("revenueConfig", owner)
    ctx.hard_delete("revenueConfigs", owner)
    return {"deleted": True}
