"""websites.* procedures: the Website records of the registry."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

from ...query.sql import lit, lit_list, normalized_path
from ..context import Ctx
from ..errors import bad_request, conflict
from .events import date_range, fetch, ts, visible
from .registry import procedure

WEBSITES_CAP = 1000


def _org_websites(ctx: Ctx, organization_id: str | None) -> list[dict[str, Any]]:
    """Websites of the resolved workspace in database (insertion) order, soft-deleted rows
    included, capped at 1000."""
    org = ctx.workspace(organization_id)
    ctx.check(org, "read", "websites")
    readable = ctx.readable_websites(org)
    rows = [
        w
        for w in ctx.registry.collection("websites").values()
        if w["organizationId"] == org and readable(w)
    ]
    return rows[:WEBSITES_CAP]


@procedure("websites.list")
def list_websites(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    return _org_websites(ctx, data.get("organizationId"))


@procedure("websites.listWithCharts")
def list_with_charts(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    sites = _org_websites(ctx, data.get("organizationId"))
    ids = [w["id"] for w in sites]
    days = [ctx.now.date() - timedelta(days=6 - i) for i in range(7)]
    start = datetime.combine(days[0], datetime.min.time())
    counts: dict[tuple[str, str], int] = {}
    active: dict[str, int] = {}
    if ids:
        for site, day, n in fetch(
            ctx,
            f"""
                SELECT client_id, strftime(time, '%Y-%m-%d'), count(*) FROM events
                WHERE client_id IN {lit_list(ids)} AND time >= {ts(start)} AND {visible(ctx)}
                GROUP BY 1, 2""",
        ):
            counts[(site, day)] = int(n)
        for site, n in fetch(
            ctx,
            f"""
                SELECT client_id, count(DISTINCT anonymous_id) FROM events
                WHERE client_id IN {lit_list(ids)}
                  AND time >= {ts(ctx.now - timedelta(minutes=5))} AND {visible(ctx)}
                GROUP BY 1""",
        ):
            active[site] = int(n)
    chart: dict[str, Any] = {}
    for site_id in ids:
        points: list[dict[str, Any]] = [
            {"date": d.isoformat(), "value": counts.get((site_id, d.isoformat()), 0)} for d in days
        ]
        total = sum(p["value"] for p in points)
        chart[site_id] = {
            "data": points,
            "totalViews": total,
            "hasAnyData": total > 0,
            "trend": _trend([p["value"] for p in points]),
        }
    return {
        "websites": sites,
        "chartData": chart,
        "activeUsers": {site_id: active.get(site_id, 0) for site_id in ids},
    }


def _trend(values: list[int]) -> dict[str, Any] | None:
    """Average of the second half against the first half of the sparkline."""
    if not values:
        return None
    mid = len(values) // 2
    previous = sum(values[:mid]) / max(mid, 1)
    current = sum(values[mid:]) / max(len(values) - mid, 1)
    if previous == 0:
        return {"type": "up", "value": 100} if current > 0 else {"type": "neutral", "value": 0}
    change = (current - previous) / previous * 100
    kind = "up" if change > 5 else "down" if change < -5 else "neutral"
    return {"type": kind, "value": round(abs(change), 1)}


@procedure("websites.getById")
def get_by_id(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    site, _ = ctx.website_for_read(data["id"], "websites")
    return site


@procedure("websites.getPublicSummary")
def public_summary(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """A public website for anyone; a private one for those who may read it."""
    site, _ = ctx.website_for_read(data["id"], "websites")
    return {k: site[k] for k in PUBLIC_SUMMARY_FIELDS}


PUBLIC_SUMMARY_FIELDS = ("id", "domain", "name", "status", "isPublic", "createdAt", "updatedAt")


def _domain_taken(ctx: Ctx, org: str, domain: str, exclude: str | None = None) -> bool:
    return any(
        w["domain"] == domain
        and w["organizationId"] == org
        and not w.get("deletedAt")
        and w["id"] != exclude
        for w in ctx.registry.collection("websites").values()
    )


@procedure("websites.create")
def create(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    org = ctx.workspace(data.get("organizationId"))
    ctx.check(org, "create", "websites")
    domain = data["domain"].lower()
    if data.get("subdomain"):
        domain = f"{data['subdomain'].lower()}.{domain}"
    if _domain_taken(ctx, org, domain):
        raise conflict("A website with this domain already exists")
    return ctx.insert(
        "websites",
        {
            "id": ctx.new_id(),
            "domain": domain,
            "name": data["name"],
            "status": "ACTIVE",
            "isPublic": False,
            "organizationId": org,
            "deletedAt": None,
            "integrations": None,
            "settings": None,
            "createdAt": ctx.now,
            "updatedAt": ctx.now,
        },
    )


def _for_write(ctx: Ctx, website_id: str, permission: str = "update") -> dict[str, Any]:
    site = ctx.website(website_id)
    ctx.check(
        site["organizationId"],
        "delete" if permission == "delete" else "update",
        "websites",
        site["id"],
    )
    return site


@procedure("websites.update")
def update(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    site = _for_write(ctx, data["id"])
    changes: dict[str, Any] = {"name": data["name"]}
    if "domain" in data:
        domain = data["domain"].lower()
        if _domain_taken(ctx, site["organizationId"], domain, exclude=site["id"]):
            raise conflict("A website with this domain already exists")
        changes["domain"] = domain
    return ctx.update(site, changes)


@procedure("websites.togglePublic")
def toggle_public(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return ctx.update(_for_write(ctx, data["id"]), {"isPublic": data["isPublic"]})


@procedure("websites.updateSettings")
def update_settings(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    site = _for_write(ctx, data["id"])
    settings = dict(site.get("settings") or {})
    settings.update(data.get("settings") or {})
    return ctx.update(site, {"settings": settings or None})


@procedure("websites.delete")
def delete(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    ctx.soft_delete(_for_write(ctx, data["id"], "delete"))
    return {"success": True}


def _transfer(ctx: Ctx, website_id: str, target: str | None) -> dict[str, Any]:
    site = _for_write(ctx, website_id, "delete")
    if not target:
        raise bad_request("Organization ID is required")
    if ctx.registry.get("organizations", target) is None:
        raise bad_request("Target organization not found")
    ctx.check(target, "create", "websites")
    return ctx.update(site, {"organizationId": target})


@procedure("websites.transfer")
def transfer(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _transfer(ctx, data["websiteId"], data.get("organizationId"))


@procedure("websites.transferToOrganization")
def transfer_to_org(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _transfer(ctx, data["websiteId"], data["targetOrganizationId"])


@procedure("websites.isTrackingSetup")
def is_tracking_setup(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    site, _ = ctx.website_for_read(data["websiteId"], "websites")
    rows = fetch(
        ctx, f"SELECT count(*) FROM events WHERE client_id = {lit(site['id'])} AND {visible(ctx)}"
    )
    return {"tracking_setup": bool(rows[0][0]), "integration_type": "manual"}


EXPORT_COLUMNS = (
    "id",
    "anonymous_id",
    "session_id",
    "event_name",
    "time",
    "path",
    "referrer",
    "country",
    "device_type",
    "browser_name",
    "os_name",
)
EXPORT_CAP = 10_000


@procedure("websites.exportDownload")
def export_download(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    site = ctx.website(data["websiteId"])
    ctx.check(site["organizationId"], "read", "data", site["id"])
    lo, hi = date_range(ctx, data.get("startDate"), data.get("endDate"))
    cols = ", ".join(c if c != "path" else f"{normalized_path()} AS path" for c in EXPORT_COLUMNS)
    rows = fetch(
        ctx,
        f"""SELECT {cols} FROM events WHERE client_id = {lit(site["id"])}
        AND time BETWEEN {ts(lo)} AND {ts(hi)} AND {visible(ctx)}
        ORDER BY time, id LIMIT {EXPORT_CAP}""",
    )
    records = [
        {
            c: (v.isoformat(sep=" ") if isinstance(v, datetime) else v)
            for c, v in zip(EXPORT_COLUMNS, row, strict=True)
        }
        for row in rows
    ]
    fmt = data.get("format") or "json"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        text = buf.getvalue()
    elif fmt == "txt":
        text = "\n".join("\t".join(str(r[c] or "") for c in EXPORT_COLUMNS) for r in records)
    else:
        text = json.dumps(records)
        if fmt == "proto":
            text = base64.b64encode(text.encode()).decode()
    ext = {"csv": "csv", "txt": "txt", "proto": "pb"}.get(fmt, "json")
    return {
        "filename": f"databuddy-export-{site['domain']}-{lo.date()}-{hi.date()}.{ext}",
        "data": text,
        "metadata": {
            "websiteId": site["id"],
            "format": fmt,
            "startDate": lo.date().isoformat(),
            "endDate": hi.date().isoformat(),
            "rowCount": len(records),
            "truncated": len(records) >= EXPORT_CAP,
            "exportedAt": ctx.now,
        },
    }
