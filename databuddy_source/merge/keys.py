"""A faster delete-insert merge for the query-type tables: two changes to the SQL of dlt's merge
job, made by :class:`SliceMergeJob`, which only the clients of ``databuddy_source.destinations``
create, and only for tables carrying ``x-databuddy-source`` (``catalog.SOURCE_HINT``) whose
merge key's columns are all primary-key columns, as every query-type table's are: the merge key
(parent id, ``date``) makes a re-read slice replace its rows, and the primary key extends it
(``_slice_row``) so that rows of a load job that ran twice load once. dlt's own classes are
never changed: every other table, pipeline and destination gets dlt's merge as it is.

1. The delete. dlt deletes destination rows matching ``pk OR merge key``; neither DuckDB
   nor PostgreSQL turns that OR into a hash join, so the delete is a nested loop: 205 s instead
   of 0.03 s for 1M rows against 100k staged ones (measured on DuckDB 2.0.1). A primary-key
   match implies a merge-key match, so ``pk OR merge key`` is exactly ``merge key``: only that
   clause is generated.
2. The dedup pass. dlt inserts the staged rows through ``ROW_NUMBER() OVER (PARTITION BY pk)``,
   a sort of every staged row (0.8 s per 1M rows on DuckDB, 3 s on PostgreSQL), to drop rows
   staged twice. Rows are staged twice only when a load job runs again after its copy committed
   (a resumed or retried package). dlt writes the merge job once every load job of the table has
   finished, so at that moment the rows staged must number exactly the rows of the table's job
   files (read from the Parquet footers) if no job ran twice. The staging table is counted
   (``COUNT(*)``: 0.1 s per 1M rows on PostgreSQL), and only if the counts agree is the pass
   left out, which then changes no row. Anything else (more rows, files that are not Parquet, a
   count that fails) keeps the pass.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from dlt.common.schema.utils import get_columns_names_with_prop
from dlt.common.storages.load_package import LoadJobInfo
from dlt.destinations.job_client_impl import SqlJobClientBase
from dlt.destinations.sql_client import SqlClientBase
from dlt.destinations.sql_jobs import SqlMergeFollowupJob

from ..catalog import SOURCE_HINT

log = logging.getLogger(__name__)

JOB_ROWS_HINT = "x-databuddy-job-rows"  # rows in the table's load job files, for the merge job


def _nests(primary_keys: Sequence[str], merge_keys: Sequence[str]) -> bool:
    return bool(primary_keys and merge_keys and set(merge_keys) <= set(primary_keys))


def keys_nested(table: Any) -> bool:
    """True if ``table``'s merge key columns are all primary-key columns."""
    return _nests(
        get_columns_names_with_prop(table, "primary_key"),
        get_columns_names_with_prop(table, "merge_key"),
    )


def is_slice_table(table: Any) -> bool:
    """True for a table of this source (``SOURCE_HINT``) merged by delete-insert on a merge key
    whose columns are all primary-key columns (the query-type tables): the only tables this
    module changes the merge of."""
    strategy = table.get("x-merge-strategy", "delete-insert")
    return (
        bool(table.get(SOURCE_HINT))
        and table.get("write_disposition") == "merge"
        and strategy == "delete-insert"
        and keys_nested(table)
    )


def job_rows(table_name: str, jobs: Sequence[LoadJobInfo]) -> int | None:
    """Rows in ``table_name``'s load job files, or None if any is not a readable Parquet file."""
    total = 0
    for job in jobs:
        info = job.job_file_info
        if info.table_name != table_name:
            continue
        path = Path(job.file_path)
        if not path.exists():  # dlt lists the job now completing as done; it is still "started"
            path = path.parent.parent / "started_jobs" / path.name
        if info.file_format != "parquet" or info.is_compressed or not path.exists():
            return None
        total += pq.read_metadata(path).num_rows
    return total


def staged_rows(table: Any, sql_client: SqlClientBase[Any]) -> int | None:
    """``COUNT(*)`` of ``table``'s staging table, or None if it could not be counted."""
    _, staging_table = sql_client.get_qualified_table_names(table["name"])
    query = f"SELECT COUNT(*) FROM {staging_table}"
    try:
        if sql_client.native_connection:
            rows = sql_client.execute_sql(query)
        else:
            with sql_client:
                rows = sql_client.execute_sql(query)
    except Exception as error:  # any failure keeps dlt's pass, which is always right
        log.warning("keeping the dedup pass of %s: %s", table["name"], type(error).__name__)
        return None
    return int(rows[0][0]) if rows else None


def with_job_rows(table_chain: Sequence[Any], completed_jobs: Sequence[LoadJobInfo] | None) -> Any:
    """``table_chain`` with the rows of its root's job files noted on the root (for
    :class:`SliceMergeJob`), if it is a slice table and they could all be read."""
    root = table_chain[0]
    if completed_jobs and is_slice_table(root):
        rows = job_rows(root["name"], completed_jobs)
        if rows is not None:
            return [{**root, JOB_ROWS_HINT: rows}, *table_chain[1:]]
    return table_chain


class SliceMergeJob(SqlMergeFollowupJob):
    """dlt's delete-insert merge job, with the two changes of the module doc (for tables that
    :func:`is_slice_table` accepts; the clients only create it for those)."""

    @classmethod
    def _gen_key_table_clauses(
        cls, primary_keys: Sequence[str], merge_keys: Sequence[str]
    ) -> list[str]:
        if _nests(primary_keys, merge_keys):
            primary_keys = []  # implied by the merge key: the OR is the merge key alone
        clauses: list[str] = super()._gen_key_table_clauses(primary_keys, merge_keys)
        return clauses

    @classmethod
    def gen_merge_sql(cls, table_chain: Sequence[Any], sql_client: SqlClientBase[Any]) -> list[str]:
        root = table_chain[0]
        expected = root.get(JOB_ROWS_HINT)
        if expected is not None and not root.get("x-stage-data-deduplicated"):
            staged = staged_rows(root, sql_client)
            if staged == expected:
                table_chain = [{**root, "x-stage-data-deduplicated": True}, *table_chain[1:]]
            else:
                log.warning(
                    "%s: %s rows staged from %s in its load jobs (a job ran twice): deduplicating",
                    root["name"],
                    staged,
                    expected,
                )
        statements: list[str] = super().gen_merge_sql(table_chain, sql_client)
        return statements


class SliceMergeMixin(SqlJobClientBase):
    """A slice table's merge job is a :class:`SliceMergeJob`, told its job files' row count."""

    def create_table_chain_completed_followup_jobs(
        self, table_chain: Sequence[Any], completed_table_chain_jobs: Any = None
    ) -> Any:
        chain = with_job_rows(table_chain, completed_table_chain_jobs)
        return super().create_table_chain_completed_followup_jobs(chain, completed_table_chain_jobs)

    def _create_merge_followup_jobs(self, table_chain: Sequence[Any]) -> Any:
        if is_slice_table(table_chain[0]):
            return [SliceMergeJob.from_table_chain(table_chain, self.sql_client)]
        return super()._create_merge_followup_jobs(table_chain)
