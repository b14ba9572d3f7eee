"""dlt's delete of a merge: ``pk OR merge key`` becomes the merge key when the pk extends it."""

from __future__ import annotations

from dlt.destinations.sql_jobs import SqlMergeFollowupJob

import databuddy_source  # noqa: F401  (applies the rewrite)


def clauses(pk: list[str], mk: list[str]) -> list[str]:
    return SqlMergeFollowupJob._gen_key_table_clauses(pk, mk)


def test_a_primary_key_that_extends_the_merge_key_adds_no_or() -> None:
    got = clauses(['"website_id"', '"date"', '"_slice_row"'], ['"website_id"', '"date"'])
    assert got == ['{d}."website_id" = {s}."website_id" AND {d}."date" = {s}."date"']
    where = SqlMergeFollowupJob.gen_key_table_clauses(
        "t", "s_t", ['"website_id"', '"date"', '"_slice_row"'], ['"website_id"', '"date"'], True
    )[0]
    assert " OR " not in where


def test_other_keys_are_left_to_dlt() -> None:
    assert clauses(['"id"'], ['"day"']) == ['{d}."id" = {s}."id"', '{d}."day" = {s}."day"']
    assert clauses(['"id"'], []) == ['{d}."id" = {s}."id"']
    assert clauses([], ['"day"']) == ['{d}."day" = {s}."day"']
