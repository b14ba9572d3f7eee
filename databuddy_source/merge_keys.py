"""One rewrite of dlt's delete-insert merge SQL, applied when this package is imported.

Every query-type table has a merge key (parent id, ``date``: a re-read slice replaces its rows)
and a primary key that extends it (``_slice_row``: rows of a load job that ran twice are
deduplicated). dlt 1.31 deletes destination rows matching ``pk OR merge key``; neither DuckDB
nor PostgreSQL turns that OR into a hash join, so the delete is a nested loop: 205 s instead of
0.03 s for 1M rows against 100k staged ones (measured on DuckDB 2.0.1). When the merge key's
columns are all primary-key columns, a primary-key match implies a merge-key match, so
``pk OR merge key`` is exactly ``merge key``: only that clause is generated. Tables whose keys
are not nested that way get dlt's SQL unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlt.destinations.sql_jobs import SqlMergeFollowupJob

_original = SqlMergeFollowupJob.__dict__["_gen_key_table_clauses"].__func__


def _key_clauses(cls: Any, primary_keys: Sequence[str], merge_keys: Sequence[str]) -> list[str]:
    if primary_keys and merge_keys and set(merge_keys) <= set(primary_keys):
        primary_keys = []  # implied by the merge key: the OR is the merge key alone
    clauses: list[str] = _original(cls, primary_keys, merge_keys)
    return clauses


def apply() -> None:
    if getattr(SqlMergeFollowupJob, "_databuddy_key_clauses", False):
        return
    SqlMergeFollowupJob._gen_key_table_clauses = classmethod(_key_clauses)  # type: ignore[method-assign,assignment]
    SqlMergeFollowupJob._databuddy_key_clauses = True  # type: ignore[attr-defined]
