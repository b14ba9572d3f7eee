"""A dlt pipeline that has nothing to do with Databuddy, as a user's other source would be: merge
tables with duplicate primary keys inside one package (with and without a merge key, one of
exactly the query tables' shape), hard-delete columns, dicts and Arrow. It never imports
``databuddy_source``: run as a script it loads in a process that never did.

    python -m tests.integration.unrelated_pipeline duckdb <file> <dataset> <out.json>
    python -m tests.integration.unrelated_pipeline postgres <url> <dataset> <out.json>
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa

TABLES = ("shop_orders", "shop_customers", "shop_visits")
D1, D2 = date(2026, 1, 1), date(2026, 1, 2)
DELETE_INSERT: Any = {"disposition": "merge", "strategy": "delete-insert"}


def _orders(run: int) -> list[dict[str, Any]]:
    """Merge key ``day`` inside the primary key (order_id, day); order 1 twice in one batch."""
    if run == 1:
        return [
            {"order_id": 1, "day": D1, "amount": 10, "deleted": False},
            {"order_id": 1, "day": D1, "amount": 10, "deleted": False},
            {"order_id": 2, "day": D1, "amount": 20, "deleted": False},
            {"order_id": 3, "day": D2, "amount": 30, "deleted": False},
        ]
    # day 1 replaced (order 2 gone), order 4 twice (the same row: which duplicate dlt keeps is
    # not defined, only that it keeps one), order 3 deleted
    return [
        {"order_id": 1, "day": D1, "amount": 12, "deleted": False},
        {"order_id": 4, "day": D1, "amount": 40, "deleted": False},
        {"order_id": 4, "day": D1, "amount": 40, "deleted": False},
        {"order_id": 3, "day": D2, "amount": 30, "deleted": True},
    ]


def _customers(run: int) -> pa.Table:
    """A primary key and no merge key; customer 1 (run 1) and 2 (run 2) twice in one batch (the
    same row twice: which duplicate dlt keeps is not defined, only that it keeps one)."""
    rows = (
        [(1, "ann", False), (1, "ann", False), (2, "bob", False), (3, "cy", False)]
        if run == 1
        else [(2, "rob", False), (2, "rob", False), (3, "cy", True), (5, "eve", False)]
    )
    ids, names, deleted = zip(*rows, strict=True)
    return pa.table({"id": list(ids), "name": list(names), "deleted": list(deleted)})


def _visits(run: int) -> pa.Table:
    """The query tables' shape without their hint: merge key (site, day) inside the primary key
    (site, day, n), a nullable boolean hard-delete marker, Arrow, a key twice in one batch."""
    rows = (
        [("a", D1, 0, 5), ("a", D1, 0, 5), ("a", D1, 1, 7), ("b", D1, 0, 8)]
        if run == 1
        else [("a", D1, 0, 9), ("a", D1, 0, 9), ("b", D2, 0, 11)]
    )
    sites, days, ns, views = zip(*rows, strict=True)
    schema = pa.schema(
        [
            ("site", pa.string()),
            ("day", pa.date32()),
            ("n", pa.int64()),
            ("views", pa.int64()),
            ("gone", pa.bool_()),
        ]
    )
    gone = [None] * len(rows)
    return pa.table([list(sites), list(days), list(ns), list(views), gone], schema=schema)


@dlt.source(name="shop", max_table_nesting=0)
def shop(run: int) -> Any:
    orders = dlt.resource(
        _orders(run),
        name="shop_orders",
        primary_key=("order_id", "day"),
        merge_key="day",
        write_disposition=DELETE_INSERT,
        file_format="parquet",
        columns={"deleted": {"hard_delete": True}},
    )
    customers = dlt.resource(
        _customers(run),
        name="shop_customers",
        primary_key="id",
        write_disposition=DELETE_INSERT,
        columns={"deleted": {"hard_delete": True}},
    )
    visits = dlt.resource(
        _visits(run),
        name="shop_visits",
        primary_key=("site", "day", "n"),
        merge_key=("site", "day"),
        write_disposition=DELETE_INSERT,
        file_format="parquet",
        columns={"gone": {"data_type": "bool", "hard_delete": True, "nullable": True}},
    )
    return orders, customers, visits


def load(pipeline: Any) -> dict[str, list[list[Any]]]:
    """Runs the two packages, then returns every table's rows (without dlt's per-load ids),
    sorted, as JSON-ready lists."""
    for run in (1, 2):
        pipeline.run(shop(run))
    tables: dict[str, list[list[Any]]] = {}
    with pipeline.sql_client() as sql:
        for name in TABLES:
            columns = sorted(
                c
                for c in pipeline.default_schema.get_table_columns(name)
                if c not in ("_dlt_load_id", "_dlt_id")
            )
            listed = ", ".join(sql.escape_column_name(c) for c in columns)
            query = f"SELECT {listed} FROM {sql.make_qualified_table_name(name)}"
            rows = [[str(v) for v in row] for row in sql.execute_sql(query)]
            tables[name] = [columns, *sorted(rows)]
    return tables


def destination(kind: str, target: str) -> Any:
    return getattr(dlt.destinations, kind)(target)


def main(argv: list[str]) -> None:
    kind, target, dataset, out = argv
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    pipeline = dlt.pipeline(
        "unrelated",
        pipelines_dir=str(Path(out).parent / "unrelated_pipelines"),
        destination=destination(kind, target),
        dataset_name=dataset,
    )
    tables = load(pipeline)
    assert not any(m.startswith("databuddy_source") for m in sys.modules), "imported it"
    Path(out).write_text(json.dumps(tables))


if __name__ == "__main__":
    main(sys.argv[1:])
