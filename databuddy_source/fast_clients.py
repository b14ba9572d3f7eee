"""The job clients of ``databuddy_source.destinations``: dlt's DuckDB client (and, in
``pg_replace.py``, its PostgreSQL client) loading the query-type tables (``x-databuddy-source``,
``catalog.SOURCE_HINT``) the faster ways of ``merge_keys.py`` and ``pg_replace.py``, and every
other table exactly as dlt does.

They override methods of dlt's clients that are not public API (``_create_merge_followup_jobs``,
the merge job's SQL generators): ``destinations.py`` uses them only on the dlt versions they
were tested with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlt.destinations.impl.duckdb.duck import DuckDbClient
from dlt.destinations.job_client_impl import SqlJobClientBase

from .merge_keys import SliceMergeJob, is_slice_table, with_job_rows


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
