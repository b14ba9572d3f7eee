"""The ``postgres_url`` / ``pg_dataset`` fixtures talk to a real PostgreSQL 15 server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from psycopg2 import sql


@pytest.fixture()
def conn(postgres_url: str) -> Iterator[Any]:
    connection = psycopg2.connect(postgres_url)
    connection.autocommit = True
    try:
        yield connection
    finally:
        connection.close()


def test_server_is_postgres_15(conn: Any, postgres_url: str) -> None:
    with conn.cursor() as cur:
        cur.execute("SHOW server_version")
        (version,) = cur.fetchone()
        cur.execute("SELECT current_database(), current_user")
        database, user = cur.fetchone()
    assert version.startswith("15"), version
    assert database == postgres_url.rsplit("/", 1)[1]
    assert database.startswith("databuddy_test_")
    assert user == "databuddy"


def test_table_roundtrip_in_dataset(conn: Any, pg_dataset: str) -> None:
    schema = sql.Identifier(pg_dataset)
    table = sql.Identifier(pg_dataset, "events")
    rows = [(1, "pageview", 1.5), (2, "click", None), (3, "scroll", 42.0)]
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
        cur.execute(
            sql.SQL(
                "CREATE TABLE {} (id int PRIMARY KEY, name text NOT NULL, value float8)"
            ).format(table)
        )
        cur.executemany(sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(table), rows)
        cur.execute(sql.SQL("SELECT id, name, value FROM {} ORDER BY id").format(table))
        assert cur.fetchall() == rows
        cur.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
            (pg_dataset,),
        )
        assert cur.fetchone() == (1,)


def test_datasets_are_isolated(conn: Any, pg_dataset: str) -> None:
    """Each test gets its own schema name; earlier tests' schemas are already gone."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM information_schema.schemata "
            "WHERE schema_name LIKE 'ds\\_%%' AND schema_name <> %s",
            (pg_dataset,),
        )
        assert cur.fetchone() == (0,)
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(pg_dataset)))
