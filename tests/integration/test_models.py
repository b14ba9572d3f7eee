"""The model views in DuckDB and PostgreSQL: every view's rows equal what the emulator's ground
truth gives when computed in Python; columns and types are the documented ones on both
databases; creating them again is harmless; views whose tables were not synced are skipped with
a note (and a stale one dropped)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from databuddy_emulator.server import EmulatorServer

from databuddy_source import destinations
from databuddy_source.models import MODELS, ModelsError, create_models

from .modelling import (
    EXPECTED,
    START,
    Truth,
    comparable,
    sync_for_models,
    view_rows,
    views_rows,
)
from .syncing import make_pipeline, sync

# information_schema's names of the documented types, per database
TYPE_NAMES = {
    "duckdb": {
        "text": "VARCHAR",
        "bigint": "BIGINT",
        "double": "DOUBLE",
        "date": "DATE",
        "boolean": "BOOLEAN",
    },
    "postgres": {
        "text": ("text", "character varying"),
        "bigint": "bigint",
        "double": "double precision",
        "date": "date",
        "boolean": "boolean",
    },
}


@pytest.fixture(scope="module")
def truth(server: EmulatorServer) -> Truth:
    return Truth(server)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def modelled(
    request: pytest.FixtureRequest, server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Any]]:
    """A pipeline synced with what the models read, and the models created: (database,
    pipeline)."""
    tmp = tmp_path_factory.mktemp(f"models_{request.param}")
    if request.param == "duckdb":
        pipeline = make_pipeline(tmp)
    else:
        url = request.getfixturevalue("postgres_url")
        dataset = f"models_{uuid.uuid4().hex[:10]}"
        pipeline = make_pipeline(tmp, destination=destinations.postgres(url), dataset=dataset)
    sync_for_models(pipeline, server)
    report = create_models(pipeline)
    assert report.skipped == {}, report.describe()
    assert report.created == [m.name for m in MODELS]
    yield request.param, pipeline
    if request.param == "postgres":
        with pipeline.sql_client() as sql:
            for schema in (pipeline.dataset_name, f"{pipeline.dataset_name}_staging"):
                sql.execute_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.parametrize("view", [m.name for m in MODELS])
def test_view_rows_equal_ground_truth(modelled: tuple[str, Any], truth: Truth, view: str) -> None:
    database, pipeline = modelled
    model = next(m for m in MODELS if m.name == view)
    got = comparable(view_rows(pipeline, view), model.column_names)
    want = comparable(EXPECTED[view](truth), model.column_names)
    assert want, f"{view}: the ground truth has no rows: the test would prove nothing"
    first_difference = next(((g, w) for g, w in zip(got, want, strict=False) if g != w), None)
    assert got == want, (
        f"{database} {view}: {len(got)} rows, {len(want)} expected; first difference "
        f"(view, expected) in {model.column_names}: {first_difference}"
    )


def test_views_have_the_documented_columns_and_types(modelled: tuple[str, Any]) -> None:
    database, pipeline = modelled
    with pipeline.sql_client() as sql:
        rows = sql.execute_sql(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name LIKE 'mart%%' "
            "ORDER BY table_name, ordinal_position",
            pipeline.dataset_name,
        )
    found: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows or []:
        found.setdefault(table, []).append((column, kind))
    for model in MODELS:
        names = [c for c, _ in found.get(model.name, [])]
        assert names == list(model.column_names), f"{database} {model.name}: columns {names}"
        for column, (name, kind) in zip(model.columns, found[model.name], strict=True):
            allowed = TYPE_NAMES[database][column.type]
            assert kind in (allowed if isinstance(allowed, tuple) else (allowed,)), (
                f"{database} {model.name}.{name} is {kind}, documented as {column.type}"
            )


COMMENT_QUERIES = {  # (the view's comment, its columns' comments) by schema and view name
    "duckdb": (
        "SELECT comment FROM duckdb_views() WHERE schema_name = %s AND view_name = %s",
        "SELECT column_name, comment FROM duckdb_columns() "
        "WHERE schema_name = %s AND table_name = %s",
    ),
    "postgres": (
        "SELECT obj_description((quote_ident(%s) || '.' || quote_ident(%s))::regclass, 'pg_class')",
        "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
        "WHERE a.attrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass "
        "AND a.attnum > 0",
    ),
}


def test_models_carry_their_documentation_as_comments(modelled: tuple[str, Any]) -> None:
    database, pipeline = modelled
    of_view, of_columns = COMMENT_QUERIES[database]
    with pipeline.sql_client() as sql:
        for model in MODELS:
            summary = sql.execute_sql(of_view, pipeline.dataset_name, model.name)
            columns = dict(sql.execute_sql(of_columns, pipeline.dataset_name, model.name) or [])
            assert summary == [(model.summary,)], f"{database} {model.name}"
            assert columns == {c.name: c.doc for c in model.columns}, f"{database} {model.name}"


def test_creating_the_models_again_replaces_them_with_the_same_rows(
    modelled: tuple[str, Any],
) -> None:
    database, pipeline = modelled
    names = [m.name for m in MODELS]
    before = views_rows(pipeline, names)
    report = create_models(pipeline)
    assert report.created == [m.name for m in MODELS] and report.skipped == {}
    after = views_rows(pipeline, names)
    for model in MODELS:
        assert comparable(after[model.name], model.column_names) == comparable(
            before[model.name], model.column_names
        ), f"{database} {model.name}: rows changed on re-creation"


def test_postgres_view_left_with_other_columns_is_replaced(modelled: tuple[str, Any]) -> None:
    """PostgreSQL cannot CREATE OR REPLACE a view whose columns change (an older version of
    this package, say): it is dropped and created instead."""
    database, pipeline = modelled
    if database != "postgres":
        pytest.skip("DuckDB replaces any view")
    view = "mart_errors_daily"
    with pipeline.sql_client() as sql:
        qualified = sql.make_qualified_table_name(view)
        sql.execute_sql(f"DROP VIEW {qualified}")
        sql.execute_sql(f"CREATE VIEW {qualified} AS SELECT 1 AS something_else")
    report = create_models(pipeline, models=[view])
    assert report.created == [view]
    assert list(view_rows(pipeline, view)[0]) == list(
        next(m for m in MODELS if m.name == view).column_names
    )


def test_views_of_tables_not_synced_are_skipped_with_a_note(
    server: EmulatorServer, tmp_path: Path
) -> None:
    pipeline = make_pipeline(tmp_path)
    day = START.isoformat()
    sync(pipeline, server, start_date=day, end_date=day, queries=["events_by_date", "country"],
         rpc_collections="none")  # fmt: skip
    report = create_models(pipeline)
    assert report.created == ["mart_daily_traffic"]
    notes = report.skipped
    assert set(notes) == {m.name for m in MODELS} - {"mart_daily_traffic"}
    assert "country_weekly: sync 'country' with grain 'week'" in notes["mart_top_countries_weekly"]
    assert "utm_sources: add 'utm_sources' to queries" in notes["mart_channel_mix_daily"]
    assert "links: sync the 'links' RPC collection" in notes["mart_link_clicks_daily"]
    assert "skipped mart_top_pages_monthly: not synced into dataset databuddy" in (
        report.describe()
    )
    assert len(view_rows(pipeline, "mart_daily_traffic")) == 3  # the live websites' day

    with pipeline.sql_client() as sql:  # the table goes (a full refresh, say): so does the view
        sql.execute_sql(f"DROP TABLE {sql.make_qualified_table_name('events_by_date')}")
    report = create_models(pipeline)
    assert report.created == [] and "mart_daily_traffic" in report.skipped
    with pipeline.sql_client() as sql:
        views = sql.execute_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_type = 'VIEW'",
            pipeline.dataset_name,
        )
    assert views == []


def test_unknown_model_names_and_other_targets_are_refused(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    with pytest.raises(
        ModelsError, match=r"unknown model 'mart_daily_trafic'\. Did you mean 'mart_daily_traffic'"
    ):
        create_models(pipeline, models=["mart_daily_trafic"])
    with pytest.raises(ModelsError, match="needs a dlt pipeline or SQL client"):
        create_models("databuddy.duckdb")
