"""Read connections for the report: a DuckDB file opened read-only, or any dlt SQL client (the
destination and credentials of a pipeline, e.g. PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from dlt.destinations.sql_client import SqlClientBase

from .data import ReportInputError


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DuckDBFile:
    """A DuckDB file, read-only (a sync may not be writing it meanwhile)."""

    def __init__(self, path: Path, dataset: str) -> None:
        if not path.is_file():
            raise ReportInputError(f"--duckdb {path}: no such file")
        try:
            self.connection = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise ReportInputError(
                f"--duckdb {path}: cannot be opened as a DuckDB database "
                f"({str(exc).splitlines()[0]})"
            ) from None
        self.dataset = dataset
        found = self.connection.execute(
            "SELECT schema_name FROM information_schema.schemata "
            "WHERE catalog_name = current_database() ORDER BY 1"
        ).fetchall()
        schemas = [s for (s,) in found]
        if dataset not in schemas:
            raise ReportInputError(
                f"--dataset {dataset}: not in {path}; its datasets (schemas) are "
                + ", ".join(s for s in schemas if s not in ("main", "information_schema"))
            )

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        cursor = self.connection.execute(sql.replace("%s", "?"), list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def qualified(self, name: str) -> str:
        return f"{_quoted(self.dataset)}.{_quoted(name)}"

    def close(self) -> None:
        self.connection.close()


class SqlClientDatabase:
    """An open dlt SQL client of the dataset."""

    def __init__(self, client: SqlClientBase[Any]) -> None:
        self.client = client
        self.dataset = client.dataset_name
        if not client.has_dataset():
            raise ReportInputError(f"--dataset {self.dataset}: no such dataset (schema) there")

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        with self.client.execute_query(sql, *params) as cursor:
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def qualified(self, name: str) -> str:
        return self.client.make_qualified_table_name(name)
