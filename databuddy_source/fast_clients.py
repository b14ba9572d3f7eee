"""The job clients of ``databuddy_source.destinations``: dlt's DuckDB and PostgreSQL clients that
load the query-type tables (``x-databuddy-slices``, ``catalog.SLICES_HINT``) the faster ways of
``merge_keys.py`` and ``pg_replace.py``, and every other table exactly as dlt does.

They override methods of dlt's clients that are not public API (``_create_merge_followup_jobs``,
the merge job's SQL generators): ``destinations.py`` uses them only on the dlt versions they
were tested with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlt.common.destination.client import JobClientBase
from dlt.destinations.impl.duckdb.duck import DuckDbClient
from dlt.destinations.impl.postgres.postgres import PostgresClient, PostgresParquetCopyJob
from dlt.destinations.job_client_impl import SqlJobClientBase

from .merge_keys import SliceMergeJob, is_slice_table, with_job_rows
from .pg_replace import (
    SharedDatabaseCopyJob,
    SliceReplaceJob,
    alone_in_package,
    replaced_in_place,
    replaces_slices,
)


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


class SliceDuckDbClient(SliceMergeMixin, DuckDbClient):
    """dlt's DuckDB client; slice tables merge with :class:`SliceMergeJob`."""


class SlicePostgresClient(SliceMergeMixin, PostgresClient):
    """dlt's PostgreSQL client; a slice table's package replaces its slices in place
    (:class:`SliceReplaceJob`), or merges with :class:`SliceMergeJob` when it cannot."""

    def create_load_job(
        self, table: Any, file_path: str, load_id: str, restore: bool = False
    ) -> Any:
        if (
            replaces_slices(table, self.schema.tables)
            and alone_in_package(file_path, table["name"])
            and not self.sql_client.is_staging_dataset_active
        ):
            schema_name = self.sql_client.escape_column_name(
                self.sql_client.dataset_name, quote=False, casefold=True
            )
            qualified = self.sql_client.make_qualified_table_name(table["name"])
            return SliceReplaceJob(file_path, table, qualified, schema_name)
        job = super().create_load_job(table, file_path, load_id, restore)
        if is_slice_table(table) and type(job) is PostgresParquetCopyJob:
            return SharedDatabaseCopyJob(file_path)
        return job

    def create_table_chain_completed_followup_jobs(
        self, table_chain: Sequence[Any], completed_table_chain_jobs: Any = None
    ) -> Any:
        root = table_chain[0]
        if (
            len(table_chain) == 1
            and completed_table_chain_jobs
            and replaces_slices(root, self.schema.tables)
            and replaced_in_place(root, completed_table_chain_jobs)
        ):
            # nothing staged for this table: dlt's own (non-merge) follow-ups only
            return JobClientBase.create_table_chain_completed_followup_jobs(
                self, table_chain, completed_table_chain_jobs
            )
        return super().create_table_chain_completed_followup_jobs(
            table_chain, completed_table_chain_jobs
        )
