"""A short link and an uptime monitor on both sides, holding the same clicks and checks, so the
``link_*`` and ``uptime_*`` query types (whose project is a link or a monitor, asked with
``link_id=`` / ``schedule_id=``) can be compared like the website types.

The clicks and checks are the generator's (fixed world, clock at ``DATA_END``) for one link and
one monitor of the demo organization. On the real server they belong to a link and a monitor
(uptime schedule) of ``org_seed_acme`` that this module writes into its Postgres (ids below,
the monitor on ``site_beta``; nothing else is touched) and to the same ids in its ClickHouse.
In the emulator they replace the rows of the demo organization's link and monitor of the same
kind.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.rawdata import PROJECT_TABLES, export_project_rows
from databuddy_emulator.store import Store

from .harness import DATA_END, REAL_DOMAIN, REAL_ORG, REAL_SITE, SEED, ClickHouse

REAL_OWNER = "user_seed_owner"  # org_seed_acme's owner (links need a creator)
SOURCE_LINK_SLUG = "spring-sale"  # the emulator link whose clicks are used (oldest, not deleted)
SOURCE_MONITOR = "Acme Store homepage"  # the emulator monitor whose checks are used
REAL_LINK_ID = "link_conformance_beta"
REAL_SCHEDULE_ID = "sched_conformance_beta"
MONITOR_URL = f"https://{REAL_DOMAIN}/"
DB_SKIP_REASON = (
    "link and monitor types need the real server's Postgres to hold the conformance link and "
    "monitor: set DATABUDDY_REAL_DATABASE_URL (e.g. postgresql://databuddy:dbpw@127.0.0.1:5440/"
    "databuddy_dd2fa1aa)"
)


@dataclass(frozen=True, slots=True)
class Project:
    """One link or monitor: its query parameter, ids on each side, raw table and rows."""

    param: str  # link_id / schedule_id
    project: str  # the query types' "project" in the catalogue: link / schedule
    table: str
    real_id: str
    source: Mapping[str, Any]  # the emulator's link or schedule (registry row)
    rows: Sequence[Mapping[str, Any]]


def source_projects() -> list[Project]:
    """The generator's link and monitor with their clicks and checks (fixed world)."""
    world = Store(EmulatorConfig(profile="small", seed=SEED, now=DATA_END, frozen=True))
    try:
        reg = world.registry
        link = next(x for x in reg.collection("links").values() if x["slug"] == SOURCE_LINK_SLUG)
        schedule = next(
            x for x in reg.collection("uptimeSchedules").values() if x["name"] == SOURCE_MONITOR
        )
        clicks = export_project_rows(world, "link_visits", link["id"])
        checks = [
            {**r, "url": MONITOR_URL}
            for r in export_project_rows(world, "uptime_monitor", schedule["id"])
        ]
    finally:
        world.close()
    return [
        Project("link_id", "link", "link_visits", REAL_LINK_ID, link, clicks),
        Project("schedule_id", "schedule", "uptime_monitor", REAL_SCHEDULE_ID, schedule, checks),
    ]


def database_url() -> str | None:
    return os.environ.get("DATABUDDY_REAL_DATABASE_URL") or None


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") + "+00"


def write_real_projects(db_url: str, projects: Sequence[Project]) -> None:
    """Create (or reset) the conformance link and monitor of ``org_seed_acme`` in the real
    server's Postgres. Only these two rows are written."""
    import psycopg2  # the tests' PostgreSQL driver; only needed with a real server

    link, schedule = (p.source for p in projects)
    with psycopg2.connect(db_url) as con, con.cursor() as cur:
        cur.execute(
            """INSERT INTO links (id, organization_id, created_by, slug, name, target_url,
                   target_domain, created_at, updated_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (id) DO UPDATE SET organization_id = EXCLUDED.organization_id,
                   deleted_at = NULL, created_at = EXCLUDED.created_at""",
            (
                REAL_LINK_ID,
                REAL_ORG,
                REAL_OWNER,
                "conformance-beta",
                link["name"],
                link["targetUrl"],
                link["targetDomain"],
                _ts(link["createdAt"]),
                _ts(link["createdAt"]),
            ),
        )
        cur.execute(
            """INSERT INTO uptime_schedules (id, website_id, organization_id, url, name,
                   granularity, cron, timeout, created_at, updated_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (id) DO UPDATE SET website_id = EXCLUDED.website_id,
                   organization_id = EXCLUDED.organization_id, url = EXCLUDED.url""",
            (
                REAL_SCHEDULE_ID,
                REAL_SITE,
                REAL_ORG,
                MONITOR_URL,
                f"{REAL_SITE} homepage",
                schedule["granularity"],
                schedule["cron"],
                schedule["timeout"],
                _ts(schedule["createdAt"]),
                _ts(schedule["createdAt"]),
            ),
        )


def load_real_rows(ch: ClickHouse, projects: Sequence[Project]) -> None:
    """Replace the conformance link's clicks and monitor's checks in the real ClickHouse."""
    for p in projects:
        key = PROJECT_TABLES[p.table][0]
        database = "uptime" if p.table == "uptime_monitor" else "analytics"
        ch.run(f"DELETE FROM {database}.{p.table} WHERE {key} = '{p.real_id}'")
        rows = [{**r, key: p.real_id} for r in p.rows]
        ch.insert(f"{database}.{p.table}", rows)
