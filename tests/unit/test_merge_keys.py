"""The query tables' merge job: dlt's delete of ``pk OR merge key`` becomes the merge key when the
pk extends it; dlt's own merge job, used for every other table, is left as it is."""

from __future__ import annotations

from typing import Any

from dlt.destinations.sql_jobs import SqlMergeFollowupJob

import databuddy_source  # noqa: F401  (importing it must change nothing in dlt)
from databuddy_source.catalog import SOURCE_HINT
from databuddy_source.merge.keys import SliceMergeJob, is_slice_table

NESTED = (['"website_id"', '"date"', '"_slice_row"'], ['"website_id"', '"date"'])


def clauses(job: type[SqlMergeFollowupJob], pk: list[str], mk: list[str]) -> list[str]:
    return job._gen_key_table_clauses(pk, mk)


def test_a_primary_key_that_extends_the_merge_key_adds_no_or() -> None:
    got = clauses(SliceMergeJob, *NESTED)
    assert got == ['{d}."website_id" = {s}."website_id" AND {d}."date" = {s}."date"']
    where = SliceMergeJob.gen_key_table_clauses("t", "s_t", *NESTED, True)[0]
    assert " OR " not in where


def test_dlt_own_merge_job_keeps_its_or() -> None:
    where = SqlMergeFollowupJob.gen_key_table_clauses("t", "s_t", *NESTED, True)[0]
    assert " OR " in where


def test_other_keys_are_left_to_dlt() -> None:
    for job in (SliceMergeJob, SqlMergeFollowupJob):
        assert clauses(job, ['"id"'], ['"day"']) == ['{d}."id" = {s}."id"', '{d}."day" = {s}."day"']
        assert clauses(job, ['"id"'], []) == ['{d}."id" = {s}."id"']
        assert clauses(job, [], ['"day"']) == ['{d}."day" = {s}."day"']


def _table(**hints: Any) -> dict[str, Any]:
    return {
        "name": "t",
        "write_disposition": "merge",
        "columns": {
            "day": {"name": "day", "data_type": "date", "merge_key": True, "primary_key": True},
            "id": {"name": "id", "data_type": "bigint", "primary_key": True},
        },
        **hints,
    }


def test_only_tables_carrying_the_source_hint_are_slice_tables() -> None:
    assert is_slice_table(_table(**{SOURCE_HINT: True}))
    assert not is_slice_table(_table())  # the same shape from any other source
    assert not is_slice_table(_table(**{SOURCE_HINT: True, "x-merge-strategy": "upsert"}))
    assert not is_slice_table(_table(**{SOURCE_HINT: True, "write_disposition": "append"}))
