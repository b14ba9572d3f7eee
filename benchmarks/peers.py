"""The two "peer" contenders of the throughput benchmark: what a user would write without our
connector to load Query API rows (one request per query type and day, paged) into DuckDB or
PostgreSQL. Both return the number of rows found at the destination afterwards.

``run_rest_api``: dlt's generic REST API source configured only with documented, default options:

* https://dlthub.com/docs/dlt-ecosystem/verified-sources/rest_api/basic — ``client`` (base_url,
  ``api_key`` auth in a header), endpoint ``method: POST`` with a ``json`` body, ``data_selector``,
  the ``page_number`` paginator, "Define resource relationships / Via JSON body" (the
  ``{resources.days.day}`` placeholder, the current form of ``resolve``), "Include fields from the
  parent resource" (``include_from_parent``) and "Define a resource which is not a REST endpoint"
  (a plain ``@dlt.resource`` yielding a list of ``{"day": ...}`` dicts as the parent);
* https://dlthub.com/docs/general-usage/http/rest-client — ``PageNumberPaginator`` (``base_page``,
  ``page_body_path`` puts ``page`` into the JSON body, ``total_path=None`` so it stops after the
  first empty page) and ``APIKeyAuth``.

Each query type is one resource (one table, ``append``) that depends on the ``days`` resource, so
every (type, day) is its own request chain: page 1, 2, ... until an empty page (one extra request
per type and day, since the API has no total). The rows get ``_days_day`` and ``_days_website_id``.
Loader file format, normalization and parallelism are dlt's defaults.

``run_httpx_pandas``: the plain script: one ``httpx.Client``, loop over types x days x pages (stop
on a short page), ``resp.json()``, a ``pandas.DataFrame`` per page with ``date`` and ``website_id``
columns, then ``INSERT INTO t SELECT * FROM df`` into DuckDB, or ``COPY ... FROM STDIN (FORMAT
csv)`` from ``df.to_csv()`` into PostgreSQL (table typed from the first frame's dtypes). One table
per query type in ``schema``, one commit at the end.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import dlt
import httpx
import pandas as pd  # type: ignore[import-untyped]
from dlt.sources.rest_api import rest_api_source
from dlt.sources.rest_api.typing import EndpointResource, RESTAPIConfig

__all__ = ["run_httpx_pandas", "run_rest_api"]


def run_rest_api(
    base_url: str,
    api_key: str,
    website_id: str,
    types: Sequence[str],
    days: Sequence[date],
    *,
    destination: Any,
    dataset_name: str,
    pipelines_dir: str,
    limit: int = 10_000,
) -> int:
    """Load ``types`` x ``days`` with dlt's ``rest_api`` source; return the rows loaded."""

    @dlt.resource(name="days", selected=False)
    def days_resource() -> Iterator[list[dict[str, str]]]:
        yield [{"day": d.isoformat(), "website_id": website_id} for d in days]

    def _query_resource(query_type: str) -> EndpointResource:
        day = "{resources.days.day}"
        body = {"parameters": [query_type], "startDate": day, "endDate": day, "limit": limit}
        return {
            "name": query_type,
            "endpoint": {"path": "v1/query", "method": "POST", "json": body},
            "include_from_parent": ["day", "website_id"],
        }

    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url,
            "auth": {"type": "api_key", "name": "x-api-key", "api_key": api_key},
        },
        "resource_defaults": {
            "write_disposition": "append",
            "endpoint": {
                "params": {"website_id": website_id},
                "paginator": {
                    "type": "page_number",
                    "base_page": 1,
                    "page_body_path": "page",
                    "total_path": None,
                },
                "data_selector": "data[0].data",
            },
        },
        "resources": [days_resource, *map(_query_resource, types)],
    }
    pipeline = dlt.pipeline(
        pipeline_name=f"peer_rest_api_{dataset_name}",
        destination=destination,
        dataset_name=dataset_name,
        pipelines_dir=pipelines_dir,
    )
    pipeline.run(rest_api_source(config))
    naming = pipeline.default_schema.naming
    total = 0
    with pipeline.sql_client() as client:
        for query_type in types:
            table = client.make_qualified_table_name(naming.normalize_table_identifier(query_type))
            rows = client.execute_sql(f"SELECT count(*) FROM {table}")
            total += int(rows[0][0]) if rows else 0
    return total


_PG_TYPES = {"i": "bigint", "u": "bigint", "f": "double precision", "b": "boolean"}


def _pg_create(table: str, df: pd.DataFrame) -> str:
    """CREATE TABLE from a frame's dtypes (the ``date`` column is a date, the rest by kind)."""
    cols = []
    for name, dtype in df.dtypes.items():
        sql_type = "date" if name == "date" else _PG_TYPES.get(dtype.kind, "text")
        cols.append(f'"{name}" {sql_type}')
    return f"CREATE TABLE {table} ({', '.join(cols)})"


def run_httpx_pandas(
    base_url: str,
    api_key: str,
    website_id: str,
    types: Sequence[str],
    days: Sequence[date],
    *,
    duckdb_path: str | None = None,
    postgres_dsn: str | None = None,
    schema: str = "peer_pandas",
    limit: int = 10_000,
) -> int:
    """Load ``types`` x ``days`` with httpx + pandas into DuckDB or PostgreSQL; return the rows."""
    if (duckdb_path is None) == (postgres_dsn is None):
        raise ValueError("pass exactly one of duckdb_path or postgres_dsn")
    if duckdb_path is not None:
        import duckdb

        con: Any = duckdb.connect(duckdb_path)
        cur = con
        cur.execute("BEGIN")
    else:
        import psycopg2  # type: ignore[import-untyped]

        con = psycopg2.connect(postgres_dsn)
        cur = con.cursor()
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")

    tables: list[str] = []
    with httpx.Client(base_url=base_url, headers={"x-api-key": api_key}, timeout=120.0) as http:
        for query_type in types:
            table = f"{schema}.{query_type}"
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            for day in days:
                page = 1
                while True:
                    body = {
                        "parameters": [query_type],
                        "startDate": day.isoformat(),
                        "endDate": day.isoformat(),
                        "limit": limit,
                        "page": page,
                    }
                    resp = http.post("/v1/query", params={"website_id": website_id}, json=body)
                    resp.raise_for_status()
                    rows = resp.json()["data"][0]["data"]
                    if rows:
                        df = pd.DataFrame(rows)
                        df["date"] = day
                        df["website_id"] = website_id
                        if duckdb_path is not None:
                            if table in tables:
                                cur.execute(f"INSERT INTO {table} SELECT * FROM df")
                            else:
                                cur.execute(f"CREATE TABLE {table} AS SELECT * FROM df")
                        else:
                            if table not in tables:
                                cur.execute(_pg_create(table, df))
                            buf = io.StringIO()
                            df.to_csv(buf, index=False, header=False)
                            buf.seek(0)
                            cur.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", buf)
                        if table not in tables:
                            tables.append(table)
                    if len(rows) < limit:
                        break
                    page += 1
    con.commit()

    total = 0
    for table in tables:
        cur.execute(f"SELECT count(*) FROM {table}")
        total += int(cur.fetchone()[0])
    con.close()
    return total
