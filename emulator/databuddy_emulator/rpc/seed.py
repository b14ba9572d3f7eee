"""Deterministic extra collections for the RPC API (flags, target groups, funnels, goals,
annotations, alarms, status pages, invitations, ...), derived from the config's seed and clock
start. ``seed_collections`` is idempotent per Store."""

from __future__ import annotations

import base64
import random
import weakref
from datetime import datetime, timedelta
from typing import Any

from ..fixtures import seeded_uuid
from ..store import Store

_seeded: weakref.WeakSet[Store] = weakref.WeakSet()
OWNER = "usr_demo_owner"


class _Seeder:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.reg = store.registry
        self.rng = random.Random(f"databuddy-rpc:{store.config.seed}")
        self.now = store.config.now.replace(tzinfo=None, microsecond=0)
        sites = {w["domain"]: w for w in self.reg.collection("websites").values()}
        self.store_site = sites["acme.example"]
        self.docs = sites["docs.acme.example"]
        self.blog = sites["blog.acme.example"]
        self.globex = sites["globex.example"]

    def uid(self) -> str:
        return seeded_uuid(self.rng)

    def ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days, minutes=self.rng.randint(0, 600))

    def add(self, collection: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj.setdefault("updatedAt", obj["createdAt"])
        self.reg.collection(collection)[obj["id"]] = obj
        return obj

    # -------------------------------------------------------------------- collections
    def target_groups(self) -> dict[str, str]:
        specs = [
            (
                "beta",
                self.store_site,
                "Beta testers",
                "#8B5CF6",
                [
                    {
                        "type": "email",
                        "operator": "ends_with",
                        "value": "@acme.example",
                        "enabled": True,
                        "batch": False,
                    }
                ],
                False,
            ),
            (
                "pro",
                self.store_site,
                "Pro plan users",
                "#10B981",
                [
                    {
                        "type": "property",
                        "operator": "equals",
                        "field": "plan",
                        "value": "pro",
                        "enabled": True,
                        "batch": False,
                    }
                ],
                False,
            ),
            (
                "team",
                self.docs,
                "Internal team",
                "#F59E0B",
                [
                    {
                        "type": "user_id",
                        "operator": "in",
                        "values": ["u_1", "u_2", "u_3"],
                        "enabled": True,
                        "batch": True,
                        "batchValues": ["u_1", "u_2", "u_3"],
                    }
                ],
                False,
            ),
            ("old", self.store_site, "Old cohort", "#6B7280", [], True),
        ]
        ids = {}
        for i, (label, site, name, color, rules, deleted) in enumerate(specs):
            created = self.ago(60 - 5 * i)
            ids[label] = self.add(
                "targetGroups",
                {
                    "id": self.uid(),
                    "name": name,
                    "description": f"{name} (emulator fixture)",
                    "color": color,
                    "rules": rules,
                    "websiteId": site["id"],
                    "createdBy": OWNER,
                    "createdAt": created,
                    "deletedAt": created + timedelta(days=3) if deleted else None,
                },
            )["id"]
        return ids

    def flags(self, groups: dict[str, str]) -> None:
        org = self.reg.demo_org_id
        v = [
            {"key": "control", "type": "string", "value": "control", "weight": 50},
            {"key": "annual-first", "type": "string", "value": "annual-first", "weight": 50},
        ]
        specs: list[tuple[str, dict[str, Any] | None, str, str, str, dict[str, Any]]] = [
            (
                "new-checkout",
                self.store_site,
                "boolean",
                "active",
                "New checkout flow",
                {
                    "targetGroupIds": [groups["beta"]],
                    "rules": [
                        {
                            "type": "user_id",
                            "operator": "in",
                            "values": ["u_42", "u_7"],
                            "enabled": True,
                            "batch": False,
                        }
                    ],
                },
            ),
            (
                "pricing-experiment",
                self.store_site,
                "multivariant",
                "active",
                "Pricing page experiment",
                {"variants": v, "rolloutPercentage": 100},
            ),
            (
                "dark-mode",
                self.store_site,
                "rollout",
                "inactive",
                "Dark mode",
                {"rolloutPercentage": 25, "rolloutBy": "user"},
            ),
            ("legacy-banner", self.store_site, "boolean", "archived", "Legacy banner", {}),
            (
                "old-experiment",
                self.store_site,
                "boolean",
                "active",
                "Old experiment",
                {"deleted": True},
            ),
            (
                "search-v2",
                self.docs,
                "rollout",
                "active",
                "Search v2",
                {"rolloutPercentage": 50, "targetGroupIds": [groups["team"]]},
            ),
            (
                "newsletter-popup",
                self.blog,
                "boolean",
                "active",
                "Newsletter popup",
                {"defaultValue": True},
            ),
            (
                "beta-features",
                None,
                "boolean",
                "active",
                "Workspace beta features",
                {"environment": "production"},
            ),
            ("globex-launch", self.globex, "boolean", "active", "Globex launch", {}),
        ]
        for i, (key, site, kind, status, name, extra) in enumerate(specs):
            created = self.ago(50 - 4 * i)
            deleted = extra.pop("deleted", False)
            self.add(
                "flags",
                {
                    "id": self.uid(),
                    "key": key,
                    "name": name,
                    "description": f"{name} flag",
                    "type": kind,
                    "status": status,
                    "defaultValue": False,
                    "payload": None,
                    "rules": [],
                    "persistAcrossAuth": False,
                    "rolloutPercentage": 0,
                    "rolloutBy": None,
                    "websiteId": site["id"] if site else None,
                    "organizationId": None if site else org,
                    "userId": None,
                    "createdBy": OWNER,
                    "variants": [],
                    "dependencies": [],
                    "targetGroupIds": [],
                    "environment": None,
                    "createdAt": created,
                    "deletedAt": created + timedelta(days=2) if deleted else None,
                    **extra,
                },
            )

    def funnels(self) -> None:
        def page(*paths: str) -> list[dict[str, Any]]:
            return [{"type": "PAGE_VIEW", "target": p, "name": f"Visited {p}"} for p in paths]

        specs: list[tuple[dict[str, Any], str, list[dict[str, Any]], bool]] = [
            (self.store_site, "Signup funnel", page("/", "/pricing", "/signup"), False),
            (
                self.store_site,
                "Purchase intent",
                [
                    {"type": "EVENT", "target": "add_to_cart", "name": "Added to cart"},
                    {"type": "EVENT", "target": "checkout_started", "name": "Started checkout"},
                ],
                False,
            ),
            (self.store_site, "Single step draft", page("/features"), False),
            (self.store_site, "Deleted funnel", page("/", "/about"), True),
            (self.docs, "Docs onboarding", page("/", "/getting-started", "/api"), False),
            (self.blog, "Blog to pricing", page("/", "/pricing"), False),
            (self.globex, "Globex signup", page("/", "/signup"), False),
        ]
        for i, (site, name, steps, deleted) in enumerate(specs):
            created = self.ago(45 - 3 * i)
            self.add(
                "funnels",
                {
                    "id": self.uid(),
                    "websiteId": site["id"],
                    "name": name,
                    "description": None if i % 2 else f"{name} (emulator fixture)",
                    "steps": steps,
                    "filters": [],
                    "isActive": True,
                    "ignoreHistoricData": False,
                    "createdBy": OWNER,
                    "createdAt": created,
                    "deletedAt": created + timedelta(days=1) if deleted else None,
                },
            )

    def goals(self) -> None:
        chrome = [{"field": "browser_name", "operator": "equals", "value": "Chrome"}]
        specs: list[tuple[dict[str, Any], str, str, str, Any, bool]] = [
            (self.store_site, "PAGE_VIEW", "/pricing", "Viewed pricing", None, False),
            (self.store_site, "EVENT", "signup", "Signed up", None, False),
            (self.store_site, "PAGE_VIEW", "/signup", "Signup page on Chrome", chrome, False),
            (self.store_site, "PAGE_VIEW", "/careers", "Old careers goal", None, True),
            (self.docs, "PAGE_VIEW", "/getting-started", "Read getting started", None, False),
            (self.blog, "PAGE_VIEW", "/about", "Reached about", None, False),
        ]
        for i, (site, kind, target, name, filters, deleted) in enumerate(specs):
            created = self.ago(40 - 3 * i)
            self.add(
                "goals",
                {
                    "id": self.uid(),
                    "websiteId": site["id"],
                    "type": kind,
                    "target": target,
                    "name": name,
                    "description": None,
                    "filters": filters,
                    "ignoreHistoricData": False,
                    "isActive": True,
                    "createdBy": OWNER,
                    "createdAt": created,
                    "deletedAt": created + timedelta(days=2) if deleted else None,
                },
            )

    def annotations(self) -> None:
        context = {
            "dateRange": {
                "start_date": (self.now - timedelta(days=30)).date().isoformat(),
                "end_date": self.now.date().isoformat(),
                "granularity": "daily",
            }
        }
        specs: list[tuple[dict[str, Any], str, str, int, int | None, bool, bool]] = [
            (self.store_site, "point", "Launched new pricing page", 20, None, False, False),
            (self.store_site, "line", "Deploy v2.3", 12, None, False, False),
            (self.store_site, "range", "Spring campaign", 9, 3, True, False),
            (self.store_site, "point", "Mistaken note", 6, None, False, True),
            (self.blog, "point", "Launch post published", 15, None, True, False),
            (self.blog, "point", "Internal: traffic test", 5, None, False, False),
        ]
        for i, (site, kind, text, x_days, end_days, public, deleted) in enumerate(specs):
            x = (self.now - timedelta(days=x_days)).replace(hour=0, minute=0, second=0)
            created = x + timedelta(hours=10 + i)
            self.add(
                "annotations",
                {
                    "id": self.uid(),
                    "websiteId": site["id"],
                    "chartType": "metrics",
                    "chartContext": context,
                    "annotationType": kind,
                    "xValue": x,
                    "xEndValue": (self.now - timedelta(days=end_days)).replace(
                        hour=0, minute=0, second=0
                    )
                    if end_days is not None
                    else None,
                    "yValue": None,
                    "text": text,
                    "tags": ["release"] if kind == "line" else [],
                    "color": "#3B82F6",
                    "isPublic": public,
                    "createdBy": OWNER,
                    "createdAt": created,
                    "deletedAt": created + timedelta(hours=2) if deleted else None,
                },
            )

    def alarms(self) -> None:
        specs: list[tuple[str, dict[str, Any] | None, str, str, list[tuple[str, str]], bool]] = [
            (
                self.reg.demo_org_id,
                None,
                "Traffic drop",
                "traffic_drop",
                [("email", "ada@acme.example"), ("slack", "#alerts")],
                False,
            ),
            (
                self.reg.demo_org_id,
                self.store_site,
                "Store down",
                "uptime_down",
                [("webhook", "https://hooks.acme.example/uptime")],
                False,
            ),
            (self.reg.demo_org_id, None, "Retired alarm", "error_spike", [], True),
            (
                self.reg.other_org_id,
                self.globex,
                "Globex errors",
                "error_spike",
                [("email", "ops@globex.example")],
                False,
            ),
        ]
        for i, (org, site, name, trigger, dests, deleted) in enumerate(specs):
            created = self.ago(30 - 4 * i)
            alarm_id = self.uid()
            self.add(
                "alarms",
                {
                    "id": alarm_id,
                    "organizationId": org,
                    "websiteId": site["id"] if site else None,
                    "name": name,
                    "description": None,
                    "enabled": not deleted,
                    "triggerType": trigger,
                    "triggerConditions": {"threshold": 30 + 10 * i},
                    "createdBy": OWNER,
                    "createdAt": created,
                    "deletedAt": created + timedelta(days=5) if deleted else None,
                    "destinations": [
                        {
                            "id": self.uid(),
                            "alarmId": alarm_id,
                            "type": t,
                            "identifier": ident,
                            "config": {},
                            "createdAt": created,
                            "updatedAt": created,
                        }
                        for t, ident in dests
                    ],
                },
            )

    def status_pages(self) -> None:
        schedules = sorted(
            self.reg.collection("uptimeSchedules").values(), key=lambda s: (s["createdAt"], s["id"])
        )
        for i, (org, name, slug) in enumerate(
            [
                (self.reg.demo_org_id, "Acme Status", "acme-status"),
                (self.reg.other_org_id, "Globex Status", "globex-status"),
            ]
        ):
            created = self.ago(35 - i)
            page = self.add(
                "statusPages",
                {
                    "id": self.uid(),
                    "organizationId": org,
                    "name": name,
                    "slug": slug,
                    "description": f"Live status of {name.split()[0]} services",
                    "logoUrl": None,
                    "faviconUrl": None,
                    "websiteUrl": None,
                    "supportUrl": None,
                    "theme": "system",
                    "hideBranding": False,
                    "customCss": None,
                    "createdAt": created,
                },
            )
            if org != self.reg.demo_org_id:
                continue
            monitors = [
                self.add(
                    "statusPageMonitors",
                    {
                        "id": self.uid(),
                        "statusPageId": page["id"],
                        "uptimeScheduleId": s["id"],
                        "displayName": None,
                        "hideUrl": False,
                        "hideUptimePercentage": False,
                        "hideLatency": False,
                        "order": j,
                        "createdAt": created,
                    },
                )
                for j, s in enumerate(schedules[:2])
            ]
            self._incidents(page["id"], [m["id"] for m in monitors])

    def _incidents(self, page_id: str, monitor_ids: list[str]) -> None:
        start = self.ago(10)
        updates = [
            ("investigating", "We are looking into slow checkouts."),
            ("identified", "A database index was missing."),
            ("resolved", "Fixed; latency is back to normal."),
        ]
        self.add(
            "statusPageIncidents",
            {
                "id": self.uid(),
                "statusPageId": page_id,
                "title": "Checkout latency",
                "status": "resolved",
                "severity": "major",
                "createdAt": start,
                "resolvedAt": start + timedelta(hours=2),
                "affectedMonitors": [{"statusPageMonitorId": monitor_ids[0], "impact": "degraded"}],
                "updates": [
                    {
                        "id": self.uid(),
                        "status": s,
                        "message": m,
                        "createdAt": start + timedelta(hours=j),
                    }
                    for j, (s, m) in enumerate(updates)
                ],
            },
        )
        recent = self.ago(1)
        self.add(
            "statusPageIncidents",
            {
                "id": self.uid(),
                "statusPageId": page_id,
                "title": "Docs search degraded",
                "status": "monitoring",
                "severity": "minor",
                "createdAt": recent,
                "resolvedAt": None,
                "affectedMonitors": [
                    {"statusPageMonitorId": monitor_ids[-1], "impact": "degraded"}
                ],
                "updates": [
                    {
                        "id": self.uid(),
                        "status": "monitoring",
                        "message": "A fix is deployed; we are monitoring.",
                        "createdAt": recent,
                    }
                ],
            },
        )

    def invitations(self) -> None:
        specs = [
            (self.reg.demo_org_id, "new.hire@acme.example", "member", "pending", 5),
            (self.reg.demo_org_id, "late@acme.example", "viewer", "pending", -2),
            (self.reg.demo_org_id, "vic@acme.example", "viewer", "accepted", -20),
            (self.reg.other_org_id, "ada@acme.example", "admin", "pending", 6),
        ]
        for i, (org, email, role, status, expires_days) in enumerate(specs):
            expires = self.now + timedelta(days=expires_days)
            self.add(
                "invitations",
                {
                    "id": self.uid(),
                    "organizationId": org,
                    "email": email,
                    "role": role,
                    "status": status,
                    "expiresAt": expires,
                    "inviterId": OWNER,
                    "createdAt": expires - timedelta(days=7, hours=i),
                },
            )

    def account(self) -> None:
        created = self.ago(8)
        self.add(
            "agentChats",
            {
                "id": self.uid(),
                "websiteId": self.store_site["id"],
                "userId": OWNER,
                "title": "Traffic questions",
                "messages": [],
                "activeStreamId": None,
                "createdAt": created,
            },
        )
        for i, (status, credits) in enumerate((("approved", 150), ("pending", 0))):
            created = self.ago(20 - 10 * i)
            self.add(
                "feedback",
                {
                    "id": self.uid(),
                    "userId": OWNER,
                    "organizationId": self.reg.demo_org_id,
                    "title": ["Export to parquet", "Dark mode for charts"][i],
                    "description": "It would help our data team a lot.",
                    "category": "feature_request",
                    "status": status,
                    "creditsAwarded": credits,
                    "adminNotes": "Thanks!" if credits else None,
                    "reviewedBy": "usr_databuddy_staff" if credits else None,
                    "reviewedAt": created + timedelta(days=2) if credits else None,
                    "createdAt": created,
                },
            )
        site_id = self.store_site["id"]
        self.add(
            "revenueConfigs",
            {
                "id": site_id,
                "ownerId": site_id,
                "currency": "USD",
                "webhookHash": f"{self.rng.getrandbits(128):032x}",
                "stripeWebhookSecret": "whsec_emulator",
                "paddleWebhookSecret": None,
                "createdAt": self.ago(25),
            },
        )

    def tracker_versions(self) -> None:
        """Deployed tracker scripts: three versions of databuddy.js (the last one current) and
        one of vitals.js."""
        for filename, count in (("databuddy.js", 3), ("vitals.js", 1)):
            for version in range(1, count + 1):
                deployed = self.ago(30 * (count - version) + 5)
                digest = base64.b64encode(self.rng.randbytes(48)).decode()
                self.add(
                    "trackerVersions",
                    {
                        "id": f"{filename}@{version}",
                        "version": version,
                        "filename": filename,
                        "sriHash": f"sha384-{digest}",
                        "sizeBytes": self.rng.randint(9_000, 30_000),
                        "isCurrent": version == count,
                        "deployedAt": deployed,
                        "createdAt": deployed,
                    },
                )


def seed_collections(store: Store) -> None:
    """Add the RPC collections to ``store.registry`` once."""
    with store.lock:
        if store in _seeded:
            return
        seeder = _Seeder(store)
        seeder.flags(seeder.target_groups())
        seeder.funnels()
        seeder.goals()
        seeder.annotations()
        seeder.alarms()
        seeder.status_pages()
        seeder.invitations()
        seeder.account()
        seeder.tracker_versions()
        _seeded.add(store)
