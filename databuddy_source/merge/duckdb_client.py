"""The DuckDB job client of ``databuddy_source.destinations.duckdb()`` (its PostgreSQL twin is
in ``postgres_client.py``): dlt's client, loading the query-type tables (``x-databuddy-source``,
``catalog.SOURCE_HINT``) the faster ways of ``replace.py`` and ``keys.py``, and every other
table exactly as dlt does.

They override methods of dlt's clients that are not public API (``_create_merge_followup_jobs``,
the merge job's SQL generators): ``destinations.py`` uses them only on the dlt versions they
were tested with.
"""

from __future__ import annotations

from typing import Any, cast

import pyarrow.parquet as pq
from dlt.common.destination.client import HasFollowupJobs, RunnableLoadJob
from dlt.common.schema.utils import get_columns_names_with_prop
from dlt.destinations.impl.duckdb.duck import DuckDbClient
from dlt.destinations.job_client_impl import SqlJobClientBase

from .keys import SliceMergeMixin
from .replace import SliceReplaceMixin


class DuckDbSliceReplaceJob(RunnableLoadJob, HasFollowupJobs):
    """Deletes the Parquet file's slices from the table and inserts its rows less the markers,
    in one DuckDB transaction (see ``merge/replace.py``): a hash join on the merge key, and
    the file read by DuckDB as dlt's own copy job reads it."""

    def __init__(self, file_path: str, table: Any, qualified_table: str) -> None:
        super().__init__(file_path)
        self._qualified_table = qualified_table  # the destination dataset's, not staging's
        self._merge_keys = get_columns_names_with_prop(table, "merge_key")
        self._marker = get_columns_names_with_prop(table, "hard_delete")[0]

    def run(self) -> None:
        sql = cast(SqlJobClientBase, self._job_client).sql_client
        source = f"read_parquet('{self._file_path}')"
        keys = [sql.escape_column_name(k) for k in self._merge_keys]
        matched = " AND ".join(f"d.{k} = s.{k}" for k in keys)
        delete = (
            f"DELETE FROM {self._qualified_table} AS d USING "
            f"(SELECT DISTINCT {', '.join(keys)} FROM {source}) AS s WHERE {matched}"
        )
        rows = f"SELECT * FROM {source}"
        if self._marker in pq.read_schema(self._file_path).names:
            rows += f" WHERE {sql.escape_column_name(self._marker)} IS NOT TRUE"
        with sql.begin_transaction():
            sql.execute_sql(delete)
            sql.execute_sql(f"INSERT INTO {self._qualified_table} BY NAME {rows}")


class SliceDuckDbClient(SliceReplaceMixin, SliceMergeMixin, DuckDbClient):
    """dlt's DuckDB client; a slice table's package replaces its slices in place
    (:class:`DuckDbSliceReplaceJob`), or merges with :class:`SliceMergeJob` when it cannot."""

    def slice_replace_job(self, table: Any, file_path: str) -> Any:
        qualified = self.sql_client.make_qualified_table_name(table["name"])
        return DuckDbSliceReplaceJob(file_path, table, qualified)
