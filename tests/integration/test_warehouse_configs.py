"""BigQuery, Snowflake, ClickHouse and MotherDuck, checked without reaching them.

* The configuration documented in ``docs/warehouses/`` (a TOML file and the same as environment
  variables, per warehouse) resolves through dlt's own config resolution, in the pipeline
  ``daily_sync.py --destination <name> --dataset databuddy`` builds, to exactly the documented
  values.
* The source's full default schema (every default table, extracted and normalized against the
  emulator with that warehouse as the destination) passes dlt's pre-load checks for it
  (merge strategies, identifier lengths, types per file format), maps every column to the type
  expected there, and yields DDL that parses in the warehouse's SQL dialect. MotherDuck's DDL
  runs in DuckDB, its engine; ClickHouse's runs in chDB, ClickHouse's engine in-process, which
  also runs the merges dlt writes for a query-type table (delete-insert on the slice key) and
  an RPC table (delete-insert on a non-null ``id``: ClickHouse refuses a nullable sorting key).
"""

from __future__ import annotations

import gzip
import json
import shutil
import tomllib
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from databuddy_emulator.server import EmulatorServer
from dlt.common.configuration.container import Container
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext
from dlt.common.schema.utils import get_columns_names_with_prop

from databuddy_source import databuddy

from .syncing import AS_OF, daily_sync_module

for module in ("google.cloud.bigquery", "snowflake.connector", "clickhouse_driver"):
    pytest.importorskip(module, reason="pip install 'dlt[bigquery,snowflake,clickhouse]'")

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "warehouses"
WAREHOUSES = ("bigquery", "snowflake", "clickhouse", "motherduck")
DIALECTS = {
    "bigquery": "bigquery",
    "snowflake": "snowflake",
    "clickhouse": "clickhouse",
    "motherduck": "duckdb",
}
# Every dlt type the source writes, and the column type each warehouse must get for it. A new
# type (time, decimal, binary...) fails here: check what the warehouses make of it first.
COLUMN_TYPES = {
    "bigquery": {
        "text": "STRING",
        "bigint": "INT64",
        "double": "FLOAT64",
        "bool": "BOOL",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "json": "JSON",
    },
    "snowflake": {
        "text": "VARCHAR",
        "bigint": "NUMBER(19,0)",
        "double": "FLOAT",
        "bool": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP_LTZ",  # the session time zone is UTC (dlt's default)
        "json": "VARIANT",
    },
    "clickhouse": {
        "text": "String",
        "bigint": "Int64",
        "double": "Float64",
        "bool": "Boolean",
        "date": "Date",
        "timestamp": "DateTime64(6,'UTC')",
        "json": "String",
    },
    "motherduck": {
        "text": "VARCHAR",
        "bigint": "BIGINT",
        "double": "DOUBLE",
        "bool": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP WITH TIME ZONE",
        "json": "JSON",
    },
}
ONE_DAY = "2026-03-14"  # the default source, every default table, one day


# --- a dlt project folder with the documented configuration in it ---


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty dlt project (``.dlt/`` beside the code, as users have it) that dlt's run context
    points at for the test; pipelines go under it too."""
    (tmp_path / ".dlt").mkdir()
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    context = Container()[PluggableRunContext]
    before = context.context.run_dir
    context.reload(str(tmp_path))
    yield tmp_path
    monkeypatch.delenv("DLT_DATA_DIR")
    context.reload(before)


def reload_config() -> None:
    Container()[PluggableRunContext].reload_providers()


def use_documented_toml(project: Path, warehouse: str) -> None:
    shutil.copy(DOCS / f"{warehouse}.toml", project / ".dlt" / "secrets.toml")
    reload_config()


def documented_env(warehouse: str) -> dict[str, str]:
    """``KEY=value`` lines of ``<warehouse>.env`` as a shell reads them (quotes stripped)."""
    variables = {}
    for line in (DOCS / f"{warehouse}.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            variables[key] = value[1:-1] if value[:1] in "'\"" and value[-1:] == value[0] else value
    return variables


def documented_values(warehouse: str) -> dict[str, Any]:
    toml: dict[str, Any] = tomllib.loads((DOCS / f"{warehouse}.toml").read_text())
    values: dict[str, Any] = toml["destination"][warehouse]
    return values


@pytest.fixture(scope="module")
def daily_sync() -> Any:
    return daily_sync_module()


def warehouse_pipeline(daily_sync: Any, warehouse: str) -> Any:
    """The pipeline of ``daily_sync.py --destination <warehouse> --dataset databuddy``."""
    args = daily_sync.parse_args(["--destination", warehouse, "--dataset", "databuddy"])
    return daily_sync.build_pipeline(args)


def assert_configured(configuration: Any, documented: dict[str, Any]) -> None:
    assert configuration.is_resolved()
    for key, value in documented.items():
        if key == "credentials":
            for field, secret in value.items():
                got = getattr(configuration.credentials, field)
                assert got == secret, (
                    f"credentials.{field}: resolved {got!r}, documented {secret!r}"
                )
        else:
            assert getattr(configuration, key) == value, f"{key}: not the documented {value!r}"


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_documented_configuration_resolves(
    warehouse: str, project: Path, daily_sync: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    documented = documented_values(warehouse)
    use_documented_toml(project, warehouse)
    from_toml = warehouse_pipeline(daily_sync, warehouse).destination_client().config
    assert from_toml.destination_type == warehouse
    assert_configured(from_toml, documented)

    (project / ".dlt" / "secrets.toml").unlink()
    for key, value in documented_env(warehouse).items():
        monkeypatch.setenv(key, value)
    reload_config()
    from_env = warehouse_pipeline(daily_sync, warehouse).destination_client().config
    assert_configured(from_env, documented)


# --- the default schema, as each warehouse would get it ---


def extracted(
    daily_sync: Any, warehouse: str, server: EmulatorServer, change: Any = None, **options: Any
) -> Any:
    """The warehouse's pipeline after extracting and normalizing the default source for one day:
    the load package that ``load`` would send, not sent."""
    pipeline = warehouse_pipeline(daily_sync, warehouse)
    source = databuddy(
        api_key=server.emulator.config.api_key,
        base_url=server.url,
        as_of=AS_OF,
        start_date=ONE_DAY,
        **options,
    )
    pipeline.extract(change(source) if change else source)
    pipeline.normalize()
    return pipeline


def table_ddl(client: Any, table_name: str, staging: bool = False) -> list[str]:
    table = client.prepare_load_table(table_name)
    columns = list(table["columns"].values())
    if staging:
        with client.sql_client.with_staging_dataset():
            return list(client._get_table_update_sql(table_name, columns, False))
    return list(client._get_table_update_sql(table_name, columns, False))


def assert_loadable(pipeline: Any, warehouse: str) -> dict[str, list[str]]:
    """dlt's pre-load checks pass, every column gets its expected type, and the DDL of every
    table parses in the warehouse's dialect. Returns each table's DDL."""
    client = pipeline.destination_client()
    (load_id,) = pipeline.list_normalized_load_packages()
    jobs = pipeline.get_load_package_info(load_id).jobs["new_jobs"]
    client.verify_schema(new_jobs=[job.job_file_info for job in jobs])
    tables = client.schema.data_table_names()
    assert {"top_pages", "link_clicks_by_day", "sync_log"} <= set(tables)
    expected = COLUMN_TYPES[warehouse]
    ddl = {}
    for name in tables:
        table = client.prepare_load_table(name)
        for column in table["columns"].values():
            kind = column["data_type"]
            assert kind in expected, f"{name}.{column['name']} is {kind}: check it on {warehouse}"
            got = client.type_mapper.to_destination_type(column, table)
            assert got == expected[kind], f"{name}.{column['name']}: {got} on {warehouse}"
        ddl[name] = table_ddl(client, name)
        for statement in ddl[name]:
            sqlglot.parse_one(statement, read=DIALECTS[warehouse])
    return ddl


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_default_schema_is_loadable(
    warehouse: str, project: Path, daily_sync: Any, server: EmulatorServer
) -> None:
    use_documented_toml(project, warehouse)
    pipeline = extracted(daily_sync, warehouse, server)
    ddl = assert_loadable(pipeline, warehouse)
    if warehouse == "motherduck":
        run_in_duckdb(pipeline, ddl)


def run_in_duckdb(pipeline: Any, ddl: dict[str, list[str]]) -> None:
    """MotherDuck's DDL in DuckDB, the engine MotherDuck runs."""
    import duckdb

    catalog = pipeline.destination_client().config.credentials.database
    with duckdb.connect() as db:
        db.execute(f"ATTACH ':memory:' AS \"{catalog}\"")
        db.execute(f'CREATE SCHEMA "{catalog}"."{pipeline.dataset_name}"')
        for statements in ddl.values():
            for statement in statements:
                db.execute(statement)
        created = db.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_catalog = ?", [catalog]
        ).fetchone()
    assert created == (len(ddl),)


def test_bigquery_tables_can_be_partitioned_by_date(
    project: Path, daily_sync: Any, server: EmulatorServer
) -> None:
    """docs/destinations.md's recommendation: query-type tables partitioned by ``date`` and
    clustered by their parent id, so a re-read slice's delete touches only its days."""
    use_documented_toml(project, "bigquery")
    pipeline = extracted(daily_sync, "bigquery", server, change=partitioned_by_date)
    ddl = assert_loadable(pipeline, "bigquery")
    assert "PARTITION BY `date`" in ddl["top_pages"][0]
    assert "CLUSTER BY `website_id`" in ddl["top_pages"][0]
    assert "CLUSTER BY `link_id`" in ddl["link_clicks_by_day"][0]
    assert "PARTITION BY" not in ddl["websites"][0] and "PARTITION BY" not in ddl["sync_log"][0]


def partitioned_by_date(source: Any) -> Any:
    from dlt.destinations.adapters import bigquery_adapter

    for resource in source.resources.values():
        schema = resource.compute_table_schema()
        keys = get_columns_names_with_prop(schema, "merge_key", include_incomplete=True)
        if "date" in keys:
            bigquery_adapter(resource, partition="date", cluster=[k for k in keys if k != "date"])
    return source


# --- ClickHouse's engine, in-process ---


@pytest.fixture()
def clickhouse(tmp_path: Path) -> Iterator[Any]:
    """A chDB session (ClickHouse's engine in this process, its data under ``tmp_path``)."""
    chdb_session = pytest.importorskip("chdb.session", reason="pip install chdb")
    session = chdb_session.Session(str(tmp_path / "chdb"))
    yield session
    session.close()


def test_clickhouse_creates_every_table_and_merges(
    project: Path, daily_sync: Any, server: EmulatorServer, clickhouse: Any
) -> None:
    use_documented_toml(project, "clickhouse")
    pipeline = extracted(daily_sync, "clickhouse", server)
    client = create_in_clickhouse(clickhouse, pipeline)
    assert_query_table_merges(pipeline, client, clickhouse)
    assert_rpc_table_merges(pipeline, client, clickhouse)


def create_in_clickhouse(clickhouse: Any, pipeline: Any) -> Any:
    """Every table of the extracted schema created by ClickHouse from dlt's DDL; returns the
    job client."""
    ddl = assert_loadable(pipeline, "clickhouse")
    client = pipeline.destination_client()
    clickhouse.query(f"CREATE DATABASE {client.config.credentials.database}")
    for statements in ddl.values():
        for statement in statements:
            clickhouse.query(statement)
    return client


def stage_in_clickhouse(clickhouse: Any, pipeline: Any, client: Any, table_name: str) -> str:
    """The staging table of ``table_name`` created and filled from its job file in the load
    package, as dlt's ClickHouse load job inserts it; returns its qualified name."""
    with client.sql_client.with_staging_dataset():
        staging: str = client.sql_client.make_qualified_table_name(table_name)
    for statement in table_ddl(client, table_name, staging=True):
        clickhouse.query(statement)
    (load_id,) = pipeline.list_normalized_load_packages()
    jobs = pipeline.get_load_package_info(load_id).jobs["new_jobs"]
    (job,) = [j for j in jobs if j.job_file_info.table_name == table_name]
    if job.job_file_info.file_format == "parquet":
        columns = ", ".join(f"`{c}`" for c in client.prepare_load_table(table_name)["columns"])
        clickhouse.query(
            f"INSERT INTO {staging} ({columns}) SELECT {columns} "
            f"FROM file('{job.file_path}', Parquet)"
        )
    else:  # jsonl.gz: dlt sends the file's rows as JSONEachRow with these settings
        assert job.job_file_info.file_format == "jsonl" and job.job_file_info.is_compressed
        with gzip.open(job.file_path, "rt") as rows:
            clickhouse.query(
                f"INSERT INTO {staging} SETTINGS date_time_input_format = 'best_effort' "
                f"FORMAT JSONEachRow\n{rows.read()}"
            )
    return staging


def merge_in_clickhouse(clickhouse: Any, client: Any, table_name: str) -> None:
    """dlt's ClickHouse merge of ``table_name`` (with this package's rewrites), in chDB."""
    from dlt.destinations.impl.clickhouse.clickhouse import ClickHouseMergeJob

    table = client.prepare_load_table(table_name)
    for statement in ClickHouseMergeJob.generate_sql([table], client.sql_client):
        clickhouse.query(statement)


def clickhouse_rows(clickhouse: Any, query: str) -> list[Any]:
    answer = json.loads(str(clickhouse.query(query, "JSONCompact")) or "{}")
    return [tuple(r) for r in answer.get("data", [])]


def assert_query_table_merges(pipeline: Any, client: Any, clickhouse: Any) -> None:
    """``top_pages``: staged slices are replaced whole, marker slices emptied, other slices
    untouched."""
    rows = partial(clickhouse_rows, clickhouse)
    staging = stage_in_clickhouse(clickhouse, pipeline, client, "top_pages")
    target = client.sql_client.make_qualified_table_name("top_pages")
    if rows(f"SELECT countIf(`_empty_slice`) FROM {staging}") == [(0,)]:
        # every website listed had rows that day: stage the marker of a slice whose answer was
        # empty, as the source writes it (keys, no row values)
        clickhouse.query(
            f"INSERT INTO {staging} (`website_id`, `date`, `_slice_row`, `_empty_slice`) "
            f"VALUES ('a-website-without-rows', '{ONE_DAY}', 0, true)"
        )
    # the destination before: every staged slice with stale rows, and an older day to keep
    keys = "`website_id`, `date`, `name`, `_slice_row`"
    clickhouse.query(
        f"INSERT INTO {target} ({keys}) SELECT `website_id`, `date`, 'stale', `_slice_row` + 1000 "
        f"FROM {staging}"
    )
    clickhouse.query(
        f"INSERT INTO {target} ({keys}) SELECT `website_id`, `date` - 7, `name`, `_slice_row` "
        f"FROM {staging} WHERE `_empty_slice` IS NULL"
    )

    merge_in_clickhouse(clickhouse, client, "top_pages")

    staged = rows(f"SELECT count(), countIf(`_empty_slice`) FROM {staging}")[0]
    assert staged[0] > 0 and staged[1] > 0, "a slice with rows and a marker slice staged"
    assert rows(f"SELECT count() FROM {target} WHERE `name` = 'stale'") == [(0,)]
    assert rows(f"SELECT count() FROM {target} WHERE `_empty_slice`") == [(0,)]
    kept = f"SELECT {keys} FROM {{}} WHERE {{}} ORDER BY ALL"
    assert rows(kept.format(target, f"`date` = '{ONE_DAY}'")) == rows(
        kept.format(staging, "`_empty_slice` IS NULL")
    )
    assert rows(f"SELECT count() FROM {target} WHERE `date` < '{ONE_DAY}'") == [
        (staged[0] - staged[1],)
    ]


def assert_rpc_table_merges(pipeline: Any, client: Any, clickhouse: Any) -> None:
    """``websites``: each listed object replaces its old version; an object the run did not
    list keeps its row."""
    rows = partial(clickhouse_rows, clickhouse)
    staging = stage_in_clickhouse(clickhouse, pipeline, client, "websites")
    target = client.sql_client.make_qualified_table_name("websites")
    keys = "`id`, `name`, `is_deleted`, `_dlt_load_id`, `_dlt_id`"
    clickhouse.query(
        f"INSERT INTO {target} ({keys}) SELECT `id`, 'stale', true, 'old', `_dlt_id` FROM {staging}"
    )
    clickhouse.query(
        f"INSERT INTO {target} ({keys}) VALUES ('unlisted', 'kept', false, 'old', 'x')"
    )

    merge_in_clickhouse(clickhouse, client, "websites")

    listed = rows(f"SELECT `id`, `name`, `is_deleted` FROM {staging} ORDER BY ALL")
    assert len(listed) > 1 and all(name != "stale" for _, name, _ in listed)
    assert rows(f"SELECT `id`, `name`, `is_deleted` FROM {target} ORDER BY ALL") == sorted(
        [*listed, ("unlisted", "kept", False)]
    )
