"""The Airflow DAG (``pipelines/airflow_dag.py``), deployed the way its docstring says into a
fresh Airflow home (SQLite metadata database): it parses in a ``DagBag`` with no import errors,
and one ``dag.test()`` run against the emulator loads, shard by shard, tables equal to the API's
ground truth for exactly the days of the run's data interval (and the lookback before it).

Airflow runs in its own process (``airflow_runner.py``): it configures logging, its database and
dlt's environment for the whole process, which must not leak into the other tests."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import pytest
from databuddy_emulator.server import EmulatorServer

from databuddy_source.catalog import table_spec
from databuddy_source.discovery import shard_of

from ..integration.syncing import assert_table_equals_truth, days, table_rows
from ..integration.test_sync_duckdb import parents_of

if importlib.util.find_spec("airflow") is None:  # not imported here: see the module docstring
    pytest.skip("Airflow is not installed (pip install -e '.[airflow]')", allow_module_level=True)

DAG_FILE = Path(__file__).resolve().parents[2] / "pipelines" / "airflow_dag.py"
RUNNER = Path(__file__).resolve().parent / "airflow_runner.py"
DAG_ID = "databuddy_sync"
SHARDS = 2
LOOKBACK_DAYS = 1
LOGICAL_DATE = "2026-03-14T00:00:00+00:00"  # the emulator's world ends on 2026-03-15
QUERIES = [  # a few of each parent kind keep the run short
    "events_by_date",
    "top_pages",
    "country",
    "link_clicks_by_day",
    "uptime_time_series",
]
COLLECTIONS = ["websites", "links"]
RUN_TIMEOUT_S = 180
CONFIG_TOML = f"""\
[providers]
enable_airflow_secrets = false

[sources.databuddy]
queries = {json.dumps(QUERIES)}
rpc_collections = {json.dumps(COLLECTIONS)}
lookback_days = {LOOKBACK_DAYS}

[sources.databuddy.airflow]
shards = {SHARDS}
retries = 1
retry_delay_minutes = 0
"""


def airflow_env(tmp: Path, dags: Path, server: EmulatorServer) -> dict[str, str]:
    """The environment of a deployment: Airflow's home and dags folder, the API's address and
    the DuckDB file in environment variables (dlt config); no Airflow or dlt settings of this
    process."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "DLT_", "PROVIDERS__", "SOURCES__", "DESTINATION__"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(tmp / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "SOURCES__DATABUDDY__BASE_URL": server.url,
            "DESTINATION__DUCKDB__CREDENTIALS": str(tmp / "warehouse.duckdb"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }
    )
    return env


def deploy(tmp: Path, server: EmulatorServer) -> Path:
    """A dags folder as the DAG's docstring says: the DAG file, and dlt's config and secrets
    in ``.dlt/`` beside it."""
    dags = tmp / "dags"
    (dags / ".dlt").mkdir(parents=True)
    shutil.copy(DAG_FILE, dags)
    (dags / ".dlt" / "config.toml").write_text(CONFIG_TOML)
    (dags / ".dlt" / "secrets.toml").write_text(
        f'[sources.databuddy]\napi_key = "{server.emulator.config.api_key}"\n'
    )
    return dags


@pytest.fixture(scope="module")
def airflow_run(
    server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Deploys the DAG, runs the runner once; its JSON summary plus ``warehouse`` (the DuckDB
    file the run loaded)."""
    tmp = tmp_path_factory.mktemp("airflow")
    dags = deploy(tmp, server)
    out, log_path = tmp / "result.json", tmp / "airflow.log"
    with log_path.open("w") as log:
        try:
            done = subprocess.run(
                [sys.executable, str(RUNNER), str(dags), DAG_ID, LOGICAL_DATE, str(out)],
                env=airflow_env(tmp, dags, server),
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=RUN_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            done = None
    if done is None or done.returncode != 0 or not out.exists():
        tail = log_path.read_text()[-4000:]
        outcome = "timed out" if done is None else f"exited {done.returncode}"
        pytest.fail(f"the Airflow runner {outcome}; end of its log:\n{tail}", pytrace=False)
    result: dict[str, Any] = json.loads(out.read_text())
    result["warehouse"] = tmp / "warehouse.duckdb"
    result["log"] = log_path.read_text()  # dag.test() runs the tasks in the runner's process
    yield result


@pytest.fixture(scope="module")
def warehouse(airflow_run: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A dlt pipeline reading the dataset the DAG run loaded."""
    return dlt.pipeline(
        pipeline_name="airflow_check",
        pipelines_dir=str(tmp_path_factory.mktemp("check")),
        dataset_name="databuddy",
        destination=dlt.destinations.duckdb(str(airflow_run["warehouse"])),
    )


def expected_window(airflow_run: dict[str, Any]) -> tuple[date, date]:
    """The days the run must have loaded, from the data interval Airflow gave it."""
    start, end = (datetime.fromisoformat(v) for v in airflow_run["data_interval"])
    assert end - start == timedelta(days=1), f"not a daily interval: {start} .. {end}"
    return start.date() - timedelta(days=LOOKBACK_DAYS), end.date() - timedelta(days=1)


def test_the_dag_parses_with_no_import_errors(airflow_run: dict[str, Any]) -> None:
    assert airflow_run["import_errors"] == {}
    assert airflow_run["dag_ids"] == [DAG_ID]
    tasks = airflow_run["tasks"]
    assert sorted(tasks) == [f"databuddy.databuddy_shard_{i}_of_{SHARDS}" for i in (1, 2)]
    for task_id, task in tasks.items():
        assert task["retries"] == 1, f"{task_id}: retries not from [sources.databuddy.airflow]"
        assert task["retry_exponential_backoff"], task_id
        assert task["upstream"] == [], (
            f"{task_id} waits for {task['upstream']}: shards are parallel"
        )
    assert airflow_run["max_active_tasks"] == 1, "DuckDB has one writer: tasks must not overlap"


def test_the_dag_run_succeeds_and_never_logs_the_key(
    airflow_run: dict[str, Any], server: EmulatorServer
) -> None:
    log = airflow_run["log"]
    assert airflow_run["run_state"] == "success", log[-4000:]
    assert set(airflow_run["task_states"].values()) == {"success"}, airflow_run["task_states"]
    assert "sync window" in log, "the tasks' own log lines are missing"
    assert server.emulator.config.api_key not in log


def test_tables_equal_ground_truth_for_the_data_interval(
    airflow_run: dict[str, Any], warehouse: Any, server: EmulatorServer
) -> None:
    start, end = expected_window(airflow_run)
    parents = parents_of(server)
    for name in QUERIES:
        spec = table_spec(name)
        compared = assert_table_equals_truth(
            warehouse, server, name, parents[spec.qtype.project], start, end
        )
        assert compared > 0, f"{name}: the emulator has no rows for {start}..{end} to compare"
    loaded_days = {r["slice_date"] for r in table_rows(warehouse, "sync_log")}
    assert loaded_days == set(days(start, end)), "the run read other days than its interval's"


def test_each_shard_loads_its_own_parents_as_its_own_pipeline(
    airflow_run: dict[str, Any], warehouse: Any
) -> None:
    log = table_rows(warehouse, "sync_log")
    runs: dict[str, set[str]] = {}
    for row in log:
        runs.setdefault(row["run_id"], set()).add(row["parent_id"])
    assert len(runs) == SHARDS, f"{len(runs)} source runs wrote sync_log, {SHARDS} shards expected"
    shards_of_runs = sorted(sorted({shard_of(p, SHARDS) for p in ids}) for ids in runs.values())
    assert shards_of_runs == [[1], [2]], "a shard task read parents of another shard"
    pipelines = {r["pipeline_name"] for r in table_rows(warehouse, "_dlt_pipeline_state")}
    assert pipelines == {f"databuddy_shard_{i}_of_{SHARDS}" for i in (1, 2)}
    with warehouse.sql_client() as sql:
        schemas = {
            r[0] for r in sql.execute_sql("SELECT schema_name FROM information_schema.schemata")
        }
    staging = {f"databuddy_staging_shard_{i}_of_{SHARDS}" for i in (1, 2)}
    assert staging <= schemas, f"each shard merges through its own staging dataset: {schemas}"


def test_rpc_collections_are_loaded_once(warehouse: Any, server: EmulatorServer) -> None:
    registry = server.emulator.store.registry
    loaded = [r["id"] for r in table_rows(warehouse, "websites")]
    assert len(loaded) == len(set(loaded))
    assert {w["id"] for w in registry.websites_of(registry.demo_org_id)} <= set(loaded)
