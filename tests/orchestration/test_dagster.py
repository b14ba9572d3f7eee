"""The Dagster assets (``databuddy_source.dagster``, ``pipelines/dagster_defs.py``) run in-process
against the emulator over real HTTP, into DuckDB: a backfill of daily partitions is one run
whose tables equal ground truth; partitions, schedule and resources are as documented; a
subset of assets loads only its tables; failed slices fail the run; the key stays out of
everything Dagster records."""

from __future__ import annotations

import logging
import runpy
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("dagster_dlt", reason="needs the dagster extra (dagster, dagster-dlt)")

import dagster as dg
from dagster_dlt import DagsterDltResource
from dagster_dlt.constants import META_KEY_PIPELINE
from databuddy_emulator.server import EmulatorServer

from databuddy_source import databuddy
from databuddy_source.catalog import DEFAULT_QUERY_TYPES
from databuddy_source.dagster import (
    JOB_NAME,
    RANGE_END_TAG,
    RANGE_START_TAG,
    DatabuddyResource,
    DefinitionsConfig,
    databuddy_definitions,
    default_pipeline,
)
from databuddy_source.destinations import DUCKDB_MEMORY_LIMIT
from databuddy_source.errors import ConfigurationError
from databuddy_source.rpc_resources import DEFAULT_COLLECTIONS

from ..integration.syncing import (
    AS_OF,
    assert_table_equals_truth,
    days,
    make_pipeline,
    table_rows,
)
from ..integration.test_sync_duckdb import assert_all_tables_equal_truth, parents_of

ROOT = Path(__file__).resolve().parents[2]
DEFS_FILE = ROOT / "pipelines" / "dagster_defs.py"
FIRST, LAST = date(2026, 3, 10), date(2026, 3, 12)  # the backfilled partitions
STORE_ONLY_KEY = "dbdy_demoStoreOnlyKey00000000000000000000000000000000"  # no read:links


@dataclass
class Backfill:
    """One materialization of the partitions FIRST..LAST, and what it left behind."""

    folder: Path
    pipeline: Any
    defs: dg.Definitions
    result: dg.ExecuteInProcessResult
    instance: dg.DagsterInstance
    log_lines: list[str]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _definitions(server: EmulatorServer, pipeline: Any, **config: Any) -> dg.Definitions:
    """The definitions against ``server``, as of AS_OF, partitions from 2026-03-01 in UTC."""
    return databuddy_definitions(
        pipeline=pipeline,
        config=DefinitionsConfig.from_dlt_config(
            first_day="2026-03-01", timezone="UTC", lookback_days=2, **config
        ),
        resource=DatabuddyResource(base_url=server.url, as_of=AS_OF),
    )


def _range_tags(first: date, last: date) -> dict[str, str]:
    """What Dagster sets on a single-run backfill of partitions first..last."""
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}


def _tables(pipeline: Any) -> set[str]:
    with pipeline.sql_client() as sql:
        rows = sql.execute_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name NOT LIKE '\\_dlt%%' ESCAPE '\\'",
            pipeline.dataset_name,
        )
    return {name for (name,) in rows or []}


def _asset_tables(defs: dg.Definitions) -> set[str]:
    return {key.path[-1] for key in defs.resolve_asset_graph().get_all_asset_keys()}


@pytest.fixture(scope="module")
def api_key(server: EmulatorServer) -> Iterator[str]:
    """The demo key, given the way users give it: SOURCES__DATABUDDY__API_KEY."""
    key = server.emulator.config.api_key
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCES__DATABUDDY__API_KEY", key)
        yield key


@pytest.fixture(scope="module")
def backfill(
    server: EmulatorServer, api_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Backfill:
    """Every default table, partitions FIRST..LAST in one run, with every log line kept."""
    folder = tmp_path_factory.mktemp("backfill")
    pipeline = make_pipeline(folder)
    defs = _definitions(server, pipeline)
    instance = dg.DagsterInstance.ephemeral()
    collect, root = _Collect(), logging.getLogger()
    level = root.level
    root.addHandler(collect)
    root.setLevel(logging.DEBUG)  # the most a run can say, to look for the key in all of it
    try:
        result = dg.materialize(
            defs.assets or [],  # type: ignore[arg-type]
            resources=defs.resources,
            instance=instance,
            tags=_range_tags(FIRST, LAST),
        )
    finally:
        root.removeHandler(collect)
        root.setLevel(level)
    return Backfill(folder, pipeline, defs, result, instance, collect.lines)


def test_a_backfill_of_daily_partitions_loads_tables_equal_to_ground_truth(
    backfill: Backfill, server: EmulatorServer
) -> None:
    assert assert_all_tables_equal_truth(backfill.pipeline, server, FIRST, LAST) > 2_000
    for name in DEFAULT_QUERY_TYPES:
        loaded_days = {row["date"] for row in table_rows(backfill.pipeline, name)}
        assert loaded_days <= set(days(FIRST, LAST)), f"{name}: days outside the partitions"
    log = table_rows(backfill.pipeline, "sync_log")
    assert log and all(r["error"] is None for r in log)
    assert {r["slice_date"] for r in log} == set(days(FIRST, LAST))
    registry = server.emulator.store.registry
    assert {r["id"] for r in table_rows(backfill.pipeline, "websites")} == {
        site["id"] for site in registry.websites_of(registry.demo_org_id)
    }


def test_a_partition_range_is_one_run_that_materializes_each_partition_of_each_asset(
    backfill: Backfill,
) -> None:
    assert backfill.result.success
    assert len(backfill.instance.get_runs()) == 1
    materialized = {
        (event.asset_key.path[-1], event.partition)
        for event in backfill.result.get_asset_materialization_events()
        if event.asset_key is not None
    }
    partitions = {day.isoformat() for day in days(FIRST, LAST)}
    assert materialized == {(t, p) for t in _asset_tables(backfill.defs) for p in partitions}


def test_each_asset_is_a_table_of_the_source(
    backfill: Backfill, server: EmulatorServer, api_key: str
) -> None:
    """The assets' tables are the real source's resources (not the hidden slices resource)
    and exactly the tables that the run created."""
    assets = _asset_tables(backfill.defs)
    config = DefinitionsConfig.from_dlt_config(timezone="UTC")
    source = databuddy(base_url=server.url, as_of=AS_OF, **config.source_arguments())
    assert assets == set(source.selected_resources)
    assert assets == {*DEFAULT_QUERY_TYPES, "sync_log", *DEFAULT_COLLECTIONS}
    assert assets == _tables(backfill.pipeline)


def test_the_api_key_is_nowhere_in_what_dagster_records(backfill: Backfill, api_key: str) -> None:
    run_id = backfill.result.run_id
    records = [
        repr(backfill.instance.get_run_by_id(run_id)),
        *(repr(entry) for entry in backfill.instance.all_logs(run_id)),
        *(repr(event) for event in backfill.result.all_events),
    ]
    assert len(records) > 100 and len(backfill.log_lines) > 10
    assert not [r for r in records if api_key in r], "the key is in Dagster's event log"
    assert not [line for line in backfill.log_lines if api_key in line], "the key was logged"
    files = [p for p in backfill.folder.rglob("*") if p.is_file()]  # dlt's state and trace too
    assert not [p for p in files if api_key.encode() in p.read_bytes()]
    assert "api_key" not in DatabuddyResource.model_fields  # never in a run's config


def test_the_definitions_file_has_the_documented_partitions_schedule_and_resources(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``pipelines/dagster_defs.py`` as ``dagster dev -f`` loads it, configured from dlt config
    alone (environment variables here; .dlt/config.toml works the same way)."""
    for key, value in {
        "SOURCES__DATABUDDY__START_DATE": "2026-01-01",
        "SOURCES__DATABUDDY__TIMEZONE": "Europe/Berlin",
        "SOURCES__DATABUDDY__LOOKBACK_DAYS": "3",
        "SOURCES__DATABUDDY__QUERIES": '["top_pages", "events_by_date"]',
        "SOURCES__DATABUDDY__RPC_COLLECTIONS": '["websites"]',
        "DESTINATION_TYPE": "duckdb",
        "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "warehouse.duckdb"),
        "DLT_DATA_DIR": str(tmp_path / "dlt"),
    }.items():
        monkeypatch.setenv(key, value)
    defs = runpy.run_path(str(DEFS_FILE))["defs"]
    assert isinstance(defs, dg.Definitions)
    dg.Definitions.validate_loadable(defs)
    assert _asset_tables(defs) == {"top_pages", "events_by_date", "sync_log", "websites"}

    (assets,) = defs.assets or []
    assert isinstance(assets, dg.AssetsDefinition)
    partitions = assets.partitions_def
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
    assert partitions.timezone == "Europe/Berlin"
    assert partitions.get_first_partition_key() == "2026-01-01"
    now = datetime(2026, 3, 15, 12, tzinfo=UTC)
    assert partitions.get_partition_keys(current_time=now)[-1] == "2026-03-14"  # complete days
    assert assets.backfill_policy == dg.BackfillPolicy.single_run()
    spec = next(s for s in assets.specs if s.key.path[-1] == "top_pages")
    assert spec.kinds == {"dlt", "duckdb"} and spec.group_name == "databuddy"
    assert spec.metadata["dagster/table_name"] == "databuddy.top_pages"

    pipeline = assets.metadata_by_key[spec.key][META_KEY_PIPELINE]
    credentials: Any = pipeline.destination_client().config.credentials
    assert credentials.database == str(tmp_path / "warehouse.duckdb")

    schedule = defs.resolve_schedule_def(f"{JOB_NAME}_schedule")
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.execution_timezone == "Europe/Berlin"
    assert schedule.job_name == JOB_NAME
    tick = datetime(2026, 3, 15, 3, tzinfo=ZoneInfo("Europe/Berlin"))
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        (request,) = schedule.evaluate_tick(context).run_requests or []
    assert request.tags.items() >= _range_tags(date(2026, 3, 11), date(2026, 3, 14)).items()
    job = defs.resolve_job_def(JOB_NAME)
    assert {k.path[-1] for k in job.asset_layer.executable_asset_keys} == _asset_tables(defs)

    resources = defs.resources or {}
    assert isinstance(resources["dlt"], DagsterDltResource)
    assert resources["databuddy"] == DatabuddyResource()  # everything from dlt config


def test_the_default_destination_is_duckdb_as_daily_sync_opens_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With no destination configured: DuckDB, memory capped, in ./databuddy_warehouse.duckdb,
    also once the pipeline has state from an earlier run (dlt would take its own DuckDB then)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    for run in range(2):
        pipeline = default_pipeline()
        credentials: Any = pipeline.destination_client().config.credentials
        assert credentials.database == str(tmp_path / "databuddy_warehouse.duckdb"), run
        assert credentials.global_config == {"memory_limit": DUCKDB_MEMORY_LIMIT}, run
        pipeline.run([{"day": "2026-03-14"}], table_name="probe")
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "databuddy.duckdb"))
    with pytest.raises(ConfigurationError, match="named like the dataset 'databuddy'"):
        default_pipeline()


def test_the_schedule_runs_yesterday_and_the_lookback_days_as_one_run(
    server: EmulatorServer, api_key: str, tmp_path: Path
) -> None:
    from dagster._core.storage import tags  # the run tags a Dagster backfill sets

    assert (RANGE_START_TAG, RANGE_END_TAG) == (
        tags.ASSET_PARTITION_RANGE_START_TAG,
        tags.ASSET_PARTITION_RANGE_END_TAG,
    )
    pipeline = make_pipeline(tmp_path)
    defs = _definitions(server, pipeline, queries=["events_by_date"], rpc_collections=["none"])
    schedule = defs.resolve_schedule_def(f"{JOB_NAME}_schedule")
    tick = datetime(2026, 3, 15, 3, tzinfo=UTC)
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        (request,) = schedule.evaluate_tick(context).run_requests or []
    yesterday = date(2026, 3, 14)
    first = yesterday - timedelta(days=2)  # lookback_days = 2
    assert request.tags.items() >= _range_tags(first, yesterday).items()
    assert request.run_key == "2026-03-14"

    result = defs.resolve_job_def(JOB_NAME).execute_in_process(tags=request.tags)
    assert result.success
    assert_table_equals_truth(
        pipeline, server, "events_by_date", parents_of(server)["website"], first, yesterday
    )
    loaded = {r["date"] for r in table_rows(pipeline, "events_by_date")}
    assert loaded == set(days(first, yesterday))


def test_a_subset_of_assets_loads_only_their_tables(
    server: EmulatorServer, api_key: str, tmp_path: Path
) -> None:
    pipeline = make_pipeline(tmp_path)
    defs = _definitions(
        server, pipeline, queries=["top_pages", "country"], rpc_collections=["websites"]
    )
    result = dg.materialize(
        defs.assets or [],  # type: ignore[arg-type]
        resources=defs.resources,
        partition_key=LAST.isoformat(),
        selection=[dg.AssetKey(["databuddy", "country"])],
    )
    assert result.success
    materialized = {str(e.asset_key) for e in result.get_asset_materialization_events()}
    assert materialized == {str(dg.AssetKey(["databuddy", "country"]))}
    assert _tables(pipeline) == {"country"}
    assert_table_equals_truth(
        pipeline, server, "country", parents_of(server)["website"], LAST, LAST
    )


def test_a_key_without_read_links_loads_the_rest_and_succeeds(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A key without read:links: the links list is skipped (the key's scope, noted with its
    fix, not a failure), the rest loads and the partition is materialized."""
    monkeypatch.setenv("SOURCES__DATABUDDY__API_KEY", STORE_ONLY_KEY)
    pipeline = make_pipeline(tmp_path)
    defs = _definitions(server, pipeline, queries=["top_pages"], rpc_collections=["links"])
    result = dg.materialize(
        defs.assets or [],  # type: ignore[arg-type]
        resources=defs.resources,
        partition_key=LAST.isoformat(),
        raise_on_error=False,
    )
    assert result.success
    store_site = server.emulator.store.registry.websites_of(
        server.emulator.store.registry.demo_org_id
    )[0]["id"]
    assert {r["website_id"] for r in table_rows(pipeline, "top_pages")} == {store_site}
    assert_table_equals_truth(
        pipeline, server, "top_pages", {store_site: {"website_id": store_site}}, LAST, LAST
    )


def test_grain_other_than_day_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__DATABUDDY__GRAIN", "week")
    with pytest.raises(ConfigurationError, match=r"sources\.databuddy\.grain.*daily partitions"):
        DefinitionsConfig.from_dlt_config()


def test_importing_without_dagster_says_what_to_install() -> None:
    """Dagster absent (blocked the way Python marks a module missing): one ImportError."""
    code = (
        "import sys\n"
        "sys.modules['dagster'] = None\n"
        "try:\n"
        "    import databuddy_source.dagster\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, '|', exc, '|', exc.__cause__, exc.__suppress_context__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == (
        "ImportError | databuddy_source.dagster needs Dagster and dagster-dlt (dagster is not "
        "installed): pip install 'databuddy-source[dagster]' | None True"
    ), done.stderr
