"""A query table's package replaces its slices in place, each row written once, instead of going
through dlt's staged merge (which writes every row twice: into the staging table, then into
the table). What the destinations share; the jobs themselves are the destinations' own
(``duckdb_client.DuckDbSliceReplaceJob``, ``postgres_client.SliceReplaceJob``).

A query table's rows of one package are all in one Parquet file whenever dlt did not rotate
files (the usual case). That file's job then does the merge itself, in one transaction:

1. destination rows whose merge key (parent id, ``date``) is one of the file's are deleted (a
   slice read again replaces its rows whole);
2. the file's rows, less the empty-slice markers (``_empty_slice``, dlt's hard-delete hint),
   are inserted into the destination table.

A job that runs again (a resumed package, or a kill between commit and dlt's record of it)
deletes what it inserted and inserts it again: replays leave the table unchanged, so neither
staging nor the per-key dedup pass is needed. Readers see the table before or after the
package, as with dlt's merge. Once the job has completed, dlt's merge job for the table is not
created.

Anything else takes dlt's staged merge (with ``keys.SliceMergeJob``): tables of another
shape (the RPC collections, ``sync_log``), tables without ``x-databuddy-source``
(``catalog.SOURCE_HINT``: any other source's), or a table with more than one file in the
package, where per-file transactions could delete each other's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dlt.common.destination.client import JobClientBase
from dlt.common.schema.utils import get_columns_names_with_prop, get_nested_tables
from dlt.common.storages.load_package import LoadJobInfo, ParsedLoadJobFileName
from dlt.destinations.job_client_impl import SqlJobClientBase

from .keys import is_slice_table

KEY_TYPES = {"text": "text", "date": "date", "bigint": "bigint"}  # merge key type -> SQL cast
JOB_FOLDERS = ("new_jobs", "started_jobs", "completed_jobs", "failed_jobs")  # in moving order


def replaces_slices(table: Any, tables: Any) -> bool:
    """A query-type table (``is_slice_table``): a root table merged by delete-insert on a merge
    key nested in its primary key, with one boolean hard-delete column and no nested tables."""
    if not is_slice_table(table) or table.get("parent"):
        return False
    markers = get_columns_names_with_prop(table, "hard_delete")
    if len(markers) != 1 or table["columns"][markers[0]].get("data_type") != "bool":
        return False
    if get_columns_names_with_prop(table, "dedup_sort"):
        return False
    keys = get_columns_names_with_prop(table, "merge_key")
    if any(table["columns"][k].get("data_type") not in KEY_TYPES for k in keys):
        return False
    return len(get_nested_tables(tables, table["name"])) == 1


def _package_files(file_path: str, table_name: str) -> set[str]:
    """File ids of ``table_name``'s job files in the package of ``file_path``. Listed twice, in
    the order jobs move, so that a file moving meanwhile is still seen."""
    package = Path(file_path).parent.parent
    found: set[str] = set()
    for _ in range(2):
        for folder in JOB_FOLDERS:
            directory = package / folder
            if not directory.is_dir():
                continue
            for entry in directory.iterdir():
                try:
                    parsed = ParsedLoadJobFileName.parse(entry.name)
                except Exception:  # not a job file (an exception record, a temp file)
                    continue
                if parsed.table_name == table_name:
                    found.add(parsed.file_id)
    return found


def alone_in_package(file_path: str, table_name: str) -> bool:
    """True if ``file_path`` is a Parquet file and ``table_name``'s only job file in its
    package: the test for a replace job, made again when the merge job would be."""
    parsed = ParsedLoadJobFileName.parse(Path(file_path).name)
    files = _package_files(file_path, table_name)
    return parsed.file_format == "parquet" and files == {parsed.file_id}


def replaced_in_place(table: Any, jobs: Sequence[LoadJobInfo]) -> bool:
    """True if the table's only job in this package was a replace job."""
    own = [j for j in jobs if j.job_file_info.table_name == table["name"]]
    return len(own) == 1 and alone_in_package(own[0].file_path, table["name"])


class SliceReplaceMixin(SqlJobClientBase):
    """A client whose slice tables' packages replace their slices in place (a job from
    :meth:`slice_replace_job`) and take no merge job then. Goes before ``SliceMergeMixin``."""

    def slice_replace_job(self, table: Any, file_path: str) -> Any:
        """The destination's replace job for ``file_path``; the client is not on staging."""
        raise NotImplementedError

    def create_load_job(
        self, table: Any, file_path: str, load_id: str, restore: bool = False
    ) -> Any:
        if (
            replaces_slices(table, self.schema.tables)
            and alone_in_package(file_path, table["name"])
            and not self.sql_client.is_staging_dataset_active
        ):
            return self.slice_replace_job(table, file_path)
        return super().create_load_job(table, file_path, load_id, restore)

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
