"""One contender of a benchmark, run in its own process: ``python -m benchmarks.contenders``
reads a task as JSON on stdin and prints its result as one JSON line.

Kinds:

* ``connector``: this project's source through ``dlt.pipeline.run`` (one or more runs in a row
  on the same pipeline: a backfill, then daily runs);
* ``rest_api`` / ``pandas``: the peers of :mod:`benchmarks.peers`;
* ``ceiling``: the same rows fetched first (untimed), then timed from response bytes to rows in
  the database with nothing in between: ``orjson.loads``, ``pyarrow.Table.from_pylist`` with
  the contract's types, ``INSERT`` (DuckDB) or ADBC ingest (PostgreSQL).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt
import httpx
import orjson
import pyarrow as pa

from databuddy_source import databuddy
from databuddy_source.arrow_answers import answer_schema, decode
from databuddy_source.contract import query_types_by_name
from databuddy_source.destinations import duckdb as duckdb_destination
from databuddy_source.destinations import postgres as postgres_destination
from databuddy_source.memory import limit_malloc_arenas

from .common import HEADERS, KEY, emulator_requests, peak_rss_mb, query_posts

_ARROW = {"integer": pa.int64(), "number": pa.float64()}


class Sampler:
    """RSS of this process every 0.25 s (to show whether memory is flat in the row count)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        status = Path("/proc/self/status")
        while not self._stop.is_set():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.samples.append(round(int(line.split()[1]) / 1024, 1))
            time.sleep(0.25)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def days_of(task: dict[str, Any]) -> list[date]:
    first, last = date.fromisoformat(task["start"]), date.fromisoformat(task["end"])
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def destination(task: dict[str, Any], name: str) -> Any:
    """The peers' destinations as dlt makes them by default; the connector's as daily_sync.py
    makes them."""
    if task["destination"] == "postgres":
        if name == "connector":
            return postgres_destination(task["postgres_dsn"])
        return dlt.destinations.postgres(task["postgres_dsn"])
    path = Path(task["workdir"]) / f"{name}.duckdb"
    if name == "connector":
        return duckdb_destination(path)
    return dlt.destinations.duckdb(str(path))


def count_rows(pipeline: Any, tables: list[str]) -> int:
    with pipeline.sql_client() as sql:
        return sum(
            sql.execute_sql(f"SELECT count(*) FROM {sql.make_qualified_table_name(t)}")[0][0]
            for t in tables
        )


def connector(task: dict[str, Any]) -> dict[str, Any]:
    limit_malloc_arenas()  # as databuddy-sync (daily_sync.py) does for its process
    pipeline = dlt.pipeline(
        "bench_connector",
        pipelines_dir=str(Path(task["workdir"]) / "pipelines"),
        dataset_name=task.get("dataset", "bench_connector"),
        destination=destination(task, "connector"),
    )
    runs = []
    with Sampler() as sampler:
        for options in task["runs"]:
            options = dict(options)
            advance = options.pop("_advance_seconds", None)
            if advance:
                httpx.post(
                    f"{task['base_url']}/__emulator__/clock", json={"advance_seconds": advance}
                )
            if task.get("count_requests"):
                emulator_requests(task["base_url"], reset=True)
            began = time.monotonic()
            more = True
            totals: dict[str, Any] = {"requests": 0, "rate_limited": 0, "retries": 0, "slices": 0}
            packages = 0
            while more:  # as daily_sync.py does: again while a run stopped at its row cap
                source = databuddy(api_key=KEY, base_url=task["base_url"], **options)
                report = source.report
                pipeline.run(source)
                packages += 1
                more = report.more
                for key in ("requests", "rate_limited", "retries", "slices"):
                    totals[key] += getattr(report, key)
                totals["rows_read"] = totals.get("rows_read", 0) + report.rows
                totals["request_span_s"] = report.request_span_s
                totals["failures"] = totals.get("failures", 0) + len(report.failures)
            seconds = time.monotonic() - began
            steps = {
                s.step: round((s.finished_at - s.started_at).total_seconds(), 2)
                for s in pipeline.last_trace.steps
                if s.finished_at is not None and s.step != "run"
            }
            runs.append(
                {
                    "seconds": round(seconds, 2),
                    "steps": steps,
                    **totals,
                    "packages": packages,
                    "run_id": report.run_id,
                    "extract_s": steps.get("extract"),
                    "emulator": query_posts(emulator_requests(task["base_url"]))
                    if task.get("count_requests")
                    else None,
                }
            )
    tables = [t for t in pipeline.default_schema.data_table_names() if t != "sync_log"]
    with pipeline.sql_client() as sql:
        log = sql.execute_sql(
            "SELECT run_id, parent_id, query_type, slice_date, pages, rows FROM "
            + sql.make_qualified_table_name("sync_log")
        )
    return {
        "runs": runs,
        "rows": count_rows(pipeline, tables),
        "sync_log": [[str(c) for c in r] for r in log] if task.get("want_log") else None,
        "peak_rss_mb": peak_rss_mb(),
        "rss_samples_mb": sampler.samples,
    }


def peer(task: dict[str, Any]) -> dict[str, Any]:
    from .peers import run_httpx_pandas, run_rest_api

    args = (task["base_url"], KEY, task["website_id"], task["types"], days_of(task))
    began = time.monotonic()
    if task["kind"] == "rest_api":
        rows = run_rest_api(
            *args,
            destination=destination(task, "rest_api"),
            dataset_name="peer_rest_api",
            pipelines_dir=str(Path(task["workdir"]) / "pipelines"),
        )
    elif task["destination"] == "postgres":
        rows = run_httpx_pandas(*args, postgres_dsn=task["postgres_dsn"])
    else:
        rows = run_httpx_pandas(*args, duckdb_path=str(Path(task["workdir"]) / "pandas.duckdb"))
    return {
        "seconds": round(time.monotonic() - began, 2),
        "rows": rows,
        "peak_rss_mb": peak_rss_mb(),
    }


def _schema(name: str) -> pa.Schema:
    fields = [pa.field("website_id", pa.string()), pa.field("date", pa.date32())]
    for f in query_types_by_name()[name].fields:
        kind = pa.string() if f.array else _ARROW.get(f.type, pa.string())
        fields.append(pa.field(f.name, kind))
    return pa.schema(fields)


def capture(task: dict[str, Any]) -> list[tuple[date, bytes]]:
    """Every response body of the workload: one request per day carrying every type, paged."""
    bodies = []
    limit = 10_000
    with httpx.Client(base_url=task["base_url"], headers=HEADERS, timeout=600) as http:
        for day in days_of(task):
            pending, page = list(task["types"]), 1
            while pending:
                body = {"parameters": pending, "startDate": str(day), "endDate": str(day)}
                response = http.post(
                    f"/v1/query?website_id={task['website_id']}",
                    json={**body, "limit": limit, "page": page},
                )
                response.raise_for_status()
                bodies.append((day, response.content))
                entries = orjson.loads(response.content)["data"]
                pending = [e["parameter"] for e in entries if len(e["data"]) >= limit]
                page += 1
    return bodies


def ceiling(task: dict[str, Any]) -> dict[str, Any]:
    """The bytes captured first; then timed: each answer decoded straight into Arrow (the
    fastest decoder known here, the connector's own) and inserted; and again with the common
    ``orjson.loads`` + ``Table.from_pylist`` decode, for reference."""
    bodies = capture(task)
    arrow = _ceiling_run(task, bodies, "arrow")
    common = _ceiling_run(task, bodies, "orjson")
    assert arrow["rows"] == common["rows"]
    return {**arrow, "orjson": common, "peak_rss_mb": peak_rss_mb()}


def _ceiling_run(
    task: dict[str, Any], bodies: list[tuple[date, bytes]], how: str
) -> dict[str, Any]:
    site = task["website_id"]
    schemas = {name: _schema(name) for name in task["types"]}
    answer = answer_schema([s.remove(0).remove(0) for s in schemas.values()])
    assert answer is not None
    target = f"bench_ceiling_{how}"
    if task["destination"] == "postgres":
        import adbc_driver_postgresql.dbapi as adbc

        con: Any = adbc.connect(task["postgres_dsn"])
        cur = con.cursor()
        cur.execute(f"DROP SCHEMA IF EXISTS {target} CASCADE")
        cur.execute(f"CREATE SCHEMA {target}")
        con.commit()

        def insert(name: str, batch: pa.Table) -> None:
            cur.adbc_ingest(name, batch, mode="create_append", db_schema_name=target)

    else:
        import duckdb

        con = duckdb.connect(str(Path(task["workdir"]) / f"{target}.duckdb"))
        for name, schema in schemas.items():
            con.register("empty", schema.empty_table())
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM empty')
            con.unregister("empty")

        def insert(name: str, batch: pa.Table) -> None:
            con.register("batch", batch)
            con.execute(f'INSERT INTO "{name}" SELECT * FROM batch')
            con.unregister("batch")

    rows = 0
    began = time.monotonic()
    if task["destination"] != "postgres":
        con.execute("BEGIN")
    for day, raw in bodies:
        if how == "arrow":
            decoded = decode(raw, answer)
            assert decoded is not None
            tables = decoded.tables.items()
        else:
            tables = (
                (
                    e["parameter"],
                    pa.Table.from_pylist(
                        e["data"], schema=schemas[e["parameter"]].remove(0).remove(0)
                    ),
                )
                for e in orjson.loads(raw)["data"]
            )
        for name, batch in tables:
            n = batch.num_rows
            if not n:
                continue
            batch = batch.select(schemas[name].names[2:])
            batch = batch.add_column(0, "date", pa.array([day] * n, pa.date32()))
            batch = batch.add_column(0, "website_id", pa.array([site] * n))
            insert(name, batch)
            rows += n
    con.commit()
    seconds = time.monotonic() - began
    con.close()
    return {
        "seconds": round(seconds, 2),
        "rows": rows,
        "bytes": sum(len(b) for _, b in bodies),
        "responses": len(bodies),
    }


def main() -> None:
    task = json.loads(sys.stdin.read())
    kinds = {"connector": connector, "rest_api": peer, "pandas": peer, "ceiling": ceiling}
    result = kinds[task["kind"]](task)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
