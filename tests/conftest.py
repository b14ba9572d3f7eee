"""Shared fixtures: one small emulator world per test session (building it takes ~1 s)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# With Airflow importable, dlt would look up an Airflow Variable on every config read (2.2 s
# instead of 7.8 s for a small run when off); the Airflow test's own process turns it on.
os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")

from databuddy_emulator.config import EmulatorConfig
from databuddy_emulator.pytest_plugin import DEFAULT_NOW
from databuddy_emulator.server import EmulatorServer
from databuddy_emulator.store import Store

FIXED_NOW = DEFAULT_NOW


@pytest.fixture(scope="session")
def small_config(databuddy_emulator_config: EmulatorConfig) -> EmulatorConfig:
    """The small frozen world of the emulator's pytest plugin: ``databuddy_emulator_config``."""
    return databuddy_emulator_config


@pytest.fixture(scope="session")
def store(small_config: EmulatorConfig) -> Store:
    """A frozen small world. Tests must not advance its clock or mutate it: use a fresh Store
    (``Store(small_config)``) for that."""
    return Store(small_config)


@pytest.fixture(scope="session")
def demo_ids(store: Store) -> dict[str, str]:
    """Ids of the main fixtures: store site, blog (public), a link, a monitor, the org."""
    reg = store.registry
    sites = reg.websites_of(reg.demo_org_id)
    links = sorted(reg.live("links"), key=lambda x: x["createdAt"])
    schedules = sorted(reg.collection("uptimeSchedules").values(), key=lambda x: x["createdAt"])
    return {
        "website_id": sites[0]["id"],
        "docs_website_id": sites[1]["id"],
        "public_website_id": next(s["id"] for s in sites if s["isPublic"]),
        "deleted_website_id": next(s["id"] for s in sites if s["deletedAt"]),
        "other_org_website_id": reg.websites_of(reg.other_org_id)[0]["id"],
        "link_id": links[0]["id"],
        "schedule_id": schedules[0]["id"],
        "organization_id": reg.demo_org_id,
    }


@pytest.fixture(scope="session")
def server(databuddy_emulator: EmulatorServer) -> EmulatorServer:
    """The shared emulator over real HTTP (the plugin's session emulator; rate-limit tests start
    their own). Do not add faults or move its clock: ``emulator_fixture`` makes fresh ones."""
    return databuddy_emulator


@pytest.fixture()
def api(server):  # type: ignore[no-untyped-def]
    """An httpx client for the shared server, authenticated with the demo global key."""
    import httpx

    with httpx.Client(
        base_url=server.url, headers={"x-api-key": server.emulator.config.api_key}, timeout=30
    ) as client:
        yield client


@pytest.fixture()
def anon(server):  # type: ignore[no-untyped-def]
    import httpx

    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


# --- PostgreSQL: a real server (start it with `bash scripts/postgres.sh`; never mocked) ---

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "databuddy"
PG_PASSWORD = "databuddy"
PG_MAINTENANCE_DB = "databuddy_test"  # created by scripts/postgres.sh, owned by PG_USER


def _pg_connect(dbname: str):  # type: ignore[no-untyped-def]
    """An autocommit psycopg2 connection as the project role; fails the test loudly if the
    server is unreachable."""
    import psycopg2

    try:
        conn = psycopg2.connect(
            host=PG_HOST,
            port=PG_PORT,
            user=PG_USER,
            password=PG_PASSWORD,
            dbname=dbname,
            connect_timeout=5,
        )
    except psycopg2.OperationalError as exc:
        error = str(exc).strip()
    else:
        conn.autocommit = True
        return conn
    pytest.fail(
        f"PostgreSQL is not available as {PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}: {error}\n"
        "Run `bash scripts/postgres.sh` (as root or with sudo) to start the server and create "
        "the role and database.",
        pytrace=False,
    )


def _pg_drop_database(dbname: str) -> None:
    from psycopg2 import sql

    conn = _pg_connect(PG_MAINTENANCE_DB)
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
    finally:
        conn.close()


@pytest.fixture(scope="session")
def postgres_url():  # type: ignore[no-untyped-def]
    """URL of a fresh database for this xdist worker and process (``databuddy_test_gw0_4242``,
    or ``databuddy_test_main_4242`` without xdist; test sessions side by side never share one),
    created at session start, dropped at the end."""
    from psycopg2 import sql

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    dbname = f"{PG_MAINTENANCE_DB}_{worker}_{os.getpid()}"
    _pg_drop_database(dbname)
    conn = _pg_connect(PG_MAINTENANCE_DB)
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    finally:
        conn.close()
    yield f"postgresql://{PG_USER}:{PG_PASSWORD}@{PG_HOST}:{PG_PORT}/{dbname}"
    _pg_drop_database(dbname)


@pytest.fixture()
def pg_dataset(postgres_url: str):  # type: ignore[no-untyped-def]
    """A unique dataset (schema) name in ``postgres_url``'s database. The schema is not
    created (dlt creates it on load); it and its dlt ``_staging`` twin are dropped afterwards."""
    import uuid

    from psycopg2 import sql

    name = f"ds_{uuid.uuid4().hex[:12]}"
    yield name
    conn = _pg_connect(postgres_url.rsplit("/", 1)[1])
    try:
        with conn.cursor() as cur:
            for schema in (name, f"{name}_staging"):
                cur.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
    finally:
        conn.close()
