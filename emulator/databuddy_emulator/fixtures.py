"""The emulator's fixed world: organizations, users, sessions, API keys, websites, links, monitors.

Objects are stored in the RPC shapes of ``rpc.json`` (camelCase keys, ``datetime`` values), one
``dict`` per collection keyed by id, so the Query API and the RPC API read the same records.
Ids come from the seed; fixture API keys and session tokens are fixed strings documented in
docs/emulator.md.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .config import EmulatorConfig

KEY_LENGTH = 48


def make_key(label: str) -> str:
    """A fixture key: ``dbdy_`` + ``label`` padded with zeros to 48 characters."""
    return "dbdy_" + label + "0" * (KEY_LENGTH - len(label))


# Fixture credentials (documented in docs/emulator.md). The demo global key is the config's api_key.
WEBSITE_SCOPED_KEY = make_key("demoStoreOnlyKey")
NO_READ_DATA_KEY = make_key("demoTrackOnlyKey")
DISABLED_KEY = make_key("demoDisabledKey")
REVOKED_KEY = make_key("demoRevokedKey")
EXPIRED_KEY = make_key("demoExpiredKey")
LINKS_ONLY_KEY = make_key("demoLinksOnlyKey")
OTHER_ORG_KEY = make_key("otherOrgGlobalKey")
READ_DATA_KEY = make_key("demoReadDataKey")  # global, read:data only: the usual key of a user
OWNER_SESSION_TOKEN = "demo-owner-session-token"
VIEWER_SESSION_TOKEN = "demo-viewer-session-token"
SESSION_COOKIE_NAMES = ("__Secure-databuddy.session_token", "databuddy-dev.session_token")

ALL_SCOPES = [
    "read:data",
    "track:events",
    "track:llm",
    "read:links",
    "write:links",
    "manage:websites",
    "manage:flags",
    "manage:config",
]


PLANS = ("free", "hobby", "pro", "scale")
"""Billing plans; every plan but ``free`` includes error tracking (the 8 error query types)."""
DEMO_ORG_PLAN = "pro"
OTHER_ORG_PLAN = "free"


@dataclass(slots=True)
class TrafficProfile:
    """How much a website gets: sessions on an average weekday, and its page universe."""

    daily_sessions: float
    distinct_paths: int
    revenue: bool = False


@dataclass(slots=True)
class Registry:
    """All non-event objects of the emulator, by collection and id."""

    collections: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    key_secrets: dict[str, str] = field(default_factory=dict)  # secret -> apikey id
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)  # token -> session
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    memberships: dict[str, dict[str, str]] = field(default_factory=dict)  # user -> org -> role
    traffic: dict[str, TrafficProfile] = field(default_factory=dict)  # website id -> profile
    plans: dict[str, str] = field(default_factory=dict)  # organization id -> plan
    demo_org_id: str = ""
    other_org_id: str = ""

    def collection(self, name: str) -> dict[str, dict[str, Any]]:
        return self.collections.setdefault(name, {})

    def get(self, collection: str, object_id: str) -> dict[str, Any] | None:
        return self.collections.get(collection, {}).get(object_id)

    def live(self, collection: str) -> list[dict[str, Any]]:
        """Objects of a collection that are not soft-deleted."""
        return [o for o in self.collection(collection).values() if not o.get("deletedAt")]

    def plan_of(self, org_id: str) -> str:
        """An organization's billing plan (an organization without one is on ``free``)."""
        return self.plans.get(org_id, "free")

    def websites_of(self, org_id: str) -> list[dict[str, Any]]:
        rows = [w for w in self.collection("websites").values() if w["organizationId"] == org_id]
        return sorted(rows, key=lambda w: (w["createdAt"], w["id"]))


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build_registry(config: EmulatorConfig) -> Registry:
    """Create the fixed world for a config: deterministic in ``seed``, ``profile`` and ``now``."""
    rng = random.Random(config.seed)
    reg = Registry()
    now = config.now.replace(tzinfo=None)
    history = config.history_days or {"small": 45, "default": 120, "large": 21}[config.profile]
    start = (now - timedelta(days=history)).replace(hour=9, minute=30, second=0, microsecond=0)

    demo_org: dict[str, Any] = {
        "id": "org_" + seeded_uuid(rng).replace("-", "")[:20],
        "name": "Acme Inc.",
        "slug": "acme",
        "createdAt": start - timedelta(days=30),
    }
    other_org: dict[str, Any] = {
        "id": "org_" + seeded_uuid(rng).replace("-", "")[:20],
        "name": "Globex Corp.",
        "slug": "globex",
        "createdAt": start - timedelta(days=20),
    }
    reg.demo_org_id, reg.other_org_id = demo_org["id"], other_org["id"]
    reg.plans = {demo_org["id"]: DEMO_ORG_PLAN, other_org["id"]: OTHER_ORG_PLAN}
    for org in (demo_org, other_org):
        reg.collection("organizations")[org["id"]] = org

    owner: dict[str, Any] = {
        "id": "usr_demo_owner",
        "name": "Ada Owner",
        "email": "ada@acme.example",
    }
    viewer: dict[str, Any] = {
        "id": "usr_demo_viewer",
        "name": "Vic Viewer",
        "email": "vic@acme.example",
    }
    for user, role, token in (
        (owner, "owner", OWNER_SESSION_TOKEN),
        (viewer, "viewer", VIEWER_SESSION_TOKEN),
    ):
        reg.users[user["id"]] = user
        reg.memberships[user["id"]] = {demo_org["id"]: role}
        reg.sessions[token] = {"userId": user["id"], "activeOrganizationId": demo_org["id"]}

    _add_websites(reg, rng, config, start, demo_org["id"], other_org["id"])
    _add_api_keys(reg, rng, config, start, demo_org["id"], other_org["id"])
    _add_links(reg, rng, start, demo_org["id"], owner["id"])
    _add_uptime_schedules(reg, rng, start, demo_org["id"])
    return reg


def _add_websites(
    reg: Registry,
    rng: random.Random,
    config: EmulatorConfig,
    start: datetime,
    demo_org: str,
    other_org: str,
) -> None:
    history = (config.now.replace(tzinfo=None) - start).days
    scale = {"small": 0.15, "default": 1.0, "large": 1.0}[config.profile]
    specs: list[tuple[str, str | None, str, bool, bool, TrafficProfile]] = [
        (
            demo_org,
            "Acme Store",
            "acme.example",
            False,
            False,
            TrafficProfile(900 * scale, 2500, revenue=True),
        ),
        (
            demo_org,
            "Acme Docs",
            "docs.acme.example",
            False,
            False,
            TrafficProfile(420 * scale, 900),
        ),
        (demo_org, "Acme Blog", "blog.acme.example", True, False, TrafficProfile(160 * scale, 300)),
        (demo_org, None, "old.acme.example", False, True, TrafficProfile(40 * scale, 40)),
        (other_org, "Globex", "globex.example", False, False, TrafficProfile(120 * scale, 200)),
    ]
    if config.profile == "large":
        specs.insert(
            1,
            (
                demo_org,
                "Acme Marketplace",
                "market.acme.example",
                False,
                False,
                TrafficProfile(9000, 400_000),
            ),
        )
    specs += [
        (
            demo_org,
            f"Site {n:03d}",
            f"site{n:03d}.acme.example",
            False,
            False,
            TrafficProfile(60 * scale, 150),
        )
        for n in range(1, config.extra_websites + 1)
    ]
    for i, (org, name, domain, public, deleted, traffic) in enumerate(specs):
        created = start + timedelta(days=i if i < 6 else 2, hours=rng.randint(0, 5))
        site: dict[str, Any] = {
            "id": seeded_uuid(rng),
            "domain": domain,
            "name": name,
            "status": "ACTIVE" if not deleted else "INACTIVE",
            "isPublic": public,
            "createdAt": created,
            "updatedAt": created + timedelta(days=2),
            "organizationId": org,
            "deletedAt": (start + timedelta(days=max(history * 3 // 5, i + 2)))
            if deleted
            else None,
            "integrations": None,
            "settings": {"allowedOrigins": [f"https://{domain}"]} if i == 0 else None,
        }
        reg.collection("websites")[site["id"]] = site
        reg.traffic[site["id"]] = traffic


def _add_api_keys(
    reg: Registry,
    rng: random.Random,
    config: EmulatorConfig,
    start: datetime,
    demo_org: str,
    other_org: str,
) -> None:
    store_id = reg.websites_of(demo_org)[0]["id"]
    now = config.now.replace(tzinfo=None)
    specs: list[tuple[str, str, str, list[str], dict[str, list[str]], dict[str, Any]]] = [
        ("Demo global key", config.api_key, demo_org, ALL_SCOPES, {"global": ["read:data"]}, {}),
        (
            "Store-only key",
            WEBSITE_SCOPED_KEY,
            demo_org,
            ["read:data"],
            {f"website:{store_id}": ["read:data"]},
            {},
        ),
        (
            "Tracking-only key",
            NO_READ_DATA_KEY,
            demo_org,
            ["track:events"],
            {"global": ["track:events"]},
            {},
        ),
        (
            "Disabled key",
            DISABLED_KEY,
            demo_org,
            ["read:data"],
            {"global": ["read:data"]},
            {"enabled": False},
        ),
        (
            "Revoked key",
            REVOKED_KEY,
            demo_org,
            ["read:data"],
            {"global": ["read:data"]},
            {"revokedAt": now - timedelta(days=3)},
        ),
        (
            "Expired key",
            EXPIRED_KEY,
            demo_org,
            ["read:data"],
            {"global": ["read:data"]},
            {"expiresAt": now - timedelta(days=1)},
        ),
        ("Links-only key", LINKS_ONLY_KEY, demo_org, ["read:links"], {}, {}),
        # like the real paid organization's key: read:data only
        ("Globex key", OTHER_ORG_KEY, other_org, ["read:data"], {"global": ["read:data"]}, {}),
    ]
    # added later than the others: its id comes from its own generator, so theirs stay the same
    own = random.Random(f"{config.seed}:read-data-key")
    specs.append(
        ("Read-data key", READ_DATA_KEY, demo_org, ["read:data"], {"global": ["read:data"]}, {})
    )
    for i, (name, secret, org, scopes, resources, extra) in enumerate(specs):
        created = start + timedelta(days=1 + i)
        key: dict[str, Any] = {
            "id": seeded_uuid(own if secret == READ_DATA_KEY else rng),
            "name": name,
            "prefix": "dbdy",
            "start": secret[:8],
            "type": "automation" if i else "user",
            "enabled": True,
            "scopes": list(scopes),
            "tags": ["fixture"],
            "expiresAt": None,
            "revokedAt": None,
            "lastUsedAt": None,
            "createdAt": created,
            "updatedAt": created,
            "description": f"Emulator fixture: {name.lower()}",
            "resources": resources,
            "ratelimit": {"enabled": False, "max": None, "window": None},
            "organizationId": org,
        }
        key.update(extra)
        reg.collection("apikeys")[key["id"]] = key
        reg.key_secrets[secret] = key["id"]


def _add_links(reg: Registry, rng: random.Random, start: datetime, org: str, user: str) -> None:
    folders = []
    for i, (name, slug) in enumerate((("Campaigns", "campaigns"), ("Social", "social"))):
        created = start + timedelta(days=2 + i)
        folder: dict[str, Any] = {
            "id": seeded_uuid(rng),
            "organizationId": org,
            "createdBy": user,
            "name": name,
            "slug": slug,
            "deletedAt": None,
            "createdAt": created,
            "updatedAt": created,
        }
        reg.collection("linkFolders")[folder["id"]] = folder
        folders.append(folder["id"])
    targets = [
        ("spring-sale", "Spring sale", "https://acme.example/sale", 0),
        ("docs", "Docs home", "https://docs.acme.example/", None),
        ("launch-post", "Launch post", "https://blog.acme.example/launch", 1),
        ("yt-demo", "Demo video", "https://www.youtube.com/watch?v=acme", 1),
        ("newsletter", "Newsletter signup", "https://acme.example/newsletter", 0),
        ("retired", "Retired promo", "https://acme.example/old-promo", 0),
    ]
    for i, (slug, name, target, folder_index) in enumerate(targets):
        created = start + timedelta(days=3 + 4 * i, hours=rng.randint(0, 12))
        domain = target.split("/")[2]
        link: dict[str, Any] = {
            "id": seeded_uuid(rng),
            "organizationId": org,
            "createdBy": user,
            "folderId": folders[folder_index] if folder_index is not None else None,
            "slug": slug,
            "name": name,
            "targetUrl": target,
            "targetDomain": domain,
            "sourceType": None,
            "sourceId": None,
            "sourceOwnerId": None,
            "expiresAt": None,
            "expiredRedirectUrl": None,
            "ogTitle": name,
            "ogDescription": None,
            "ogImageUrl": None,
            "ogVideoUrl": None,
            "iosUrl": None,
            "androidUrl": None,
            "externalId": f"ext-{i + 1}",
            "deepLinkApp": None,
            "deletedAt": (created + timedelta(days=10)) if slug == "retired" else None,
            "createdAt": created,
            "updatedAt": created,
        }
        reg.collection("links")[link["id"]] = link


def _add_uptime_schedules(reg: Registry, rng: random.Random, start: datetime, org: str) -> None:
    sites = [w for w in reg.websites_of(org) if not w["deletedAt"]][:3]
    for i, site in enumerate(sites):
        created = start + timedelta(days=1 + i)
        schedule: dict[str, Any] = {
            "id": seeded_uuid(rng),
            "websiteId": site["id"],
            "organizationId": org,
            "url": f"https://{site['domain']}/",
            "name": f"{site['name']} homepage",
            "granularity": "minute",
            "cron": "*/10 * * * *",
            "isPaused": i == 2,
            "timeout": 10000,
            "cacheBust": False,
            "jsonParsingConfig": None,
            "createdAt": created,
            "updatedAt": created,
        }
        reg.collection("uptimeSchedules")[schedule["id"]] = schedule
