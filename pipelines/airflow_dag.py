"""The Databuddy sync as an Airflow DAG, built on dlt's Airflow helper (``PipelineTasksGroup``).

Copy this file into the dags folder of an Airflow 2.11+ or 3.x deployment where
``databuddy-source[airflow]`` is installed. dlt reads its configuration from ``<dags>/.dlt/``
(``config.toml``, and the API key in ``secrets.toml``), from environment variables, or from the
Airflow Variable ``dlt_secrets_toml`` (a ``secrets.toml`` fragment).

Each DAG run loads its data interval: the days from ``data_interval_start`` to the day before
``data_interval_end`` (in the source's ``timezone``), plus the ``lookback_days`` before them for
late data. Every run is a bounded backfill (incremental state untouched), so a run can be
re-run, cleared or backfilled on its own: a re-loaded day replaces that day's rows.

The run is split into ``shards`` parallel tasks, ``<pipeline_name>_shard_<i>_of_<n>``: the
source's ``shard="i/n"`` option gives each task a disjoint set of websites, organizations, links
and monitors (by a hash of their ids, so a parent never moves), and each task is its own dlt
pipeline with its own state and staging dataset, all loading into one dataset.

Settings of the DAG itself are the fields of :class:`DagSettings`, read from
``[sources.databuddy.airflow]`` (or ``SOURCES__DATABUDDY__AIRFLOW__<FIELD>``); the source's own
options (``[sources.databuddy]``) apply to every task.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import dlt
import pendulum
from airflow.configuration import conf
from airflow.timetables.interval import CronDataIntervalTimetable
from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.container import Container
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext
from dlt.common.destination import Destination
from dlt.common.known_env import DLT_PROJECT_DIR
from dlt.helpers.airflow_helper import PipelineTasksGroup
from tenacity import Retrying, stop_after_attempt, wait_exponential

from databuddy_source import DatabuddySource, databuddy, settings
from databuddy_source.destinations import destination_for
from databuddy_source.options import default

try:  # Airflow 3
    from airflow.sdk import DAG, get_current_context
    from airflow.sdk.exceptions import AirflowException
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[attr-defined,no-redef,unused-ignore]
    from airflow.exceptions import (  # type: ignore[attr-defined,no-redef,unused-ignore]
        AirflowException,
    )
    from airflow.operators.python import (  # type: ignore[no-redef,unused-ignore]
        get_current_context,
    )

SOURCE_SECTION = ("sources", "databuddy")
log = logging.getLogger("airflow.task")  # the task's log, in Airflow 2 and 3


@configspec
class DagSettings(BaseConfiguration):
    """The DAG's own settings; what to sync stays in ``[sources.databuddy]``."""

    dag_id: str = "databuddy_sync"
    pipeline_name: str = "databuddy"  # the task group, and the prefix of every task's pipeline
    destination: str = "duckdb"  # a dlt destination name; its credentials come from dlt config
    dataset_name: str = "databuddy"
    shards: int = 4  # parallel tasks (one at a time into DuckDB: one writer per file)
    schedule: str = "0 0 * * *"  # cron; each run loads the days of the interval it closes
    # the first data interval (with catchup, backfilled from here)
    first_day: str = settings.FIRST_SCHEDULED_DAY
    catchup: bool = False
    retries: int = 3
    retry_delay_minutes: int = 5  # doubled after each failed try, up to an hour


def source_option(name: str) -> Any:
    """One ``[sources.databuddy]`` option as dlt config resolves it (its default if unset)."""
    value: Any = dlt.config.get(".".join((*SOURCE_SECTION, name)))
    return default(name) if value is None or value == "" else value


def read_settings() -> DagSettings:
    """:class:`DagSettings` from dlt config, looked up in the dags folder's ``.dlt/``."""
    # PipelineTasksGroup points dlt at the dags folder as well, but only once the DAG exists,
    # and the schedule is needed to create the DAG
    os.environ[DLT_PROJECT_DIR] = conf.get("core", "dags_folder")
    if PluggableRunContext in Container():
        Container()[PluggableRunContext].reload_providers()
    return resolve_configuration(DagSettings(), sections=(*SOURCE_SECTION, "airflow"))


def sync_window(
    interval_start: datetime, interval_end: datetime, timezone: str, lookback_days: int
) -> tuple[date, date]:
    """``(start_date, end_date)`` for one data interval: the days it covers in ``timezone``
    (``data_interval_end`` itself excluded), and the ``lookback_days`` before them."""
    start = pendulum.instance(interval_start).in_timezone(timezone)
    end = pendulum.instance(interval_end).in_timezone(timezone)
    last_day = (end - timedelta(microseconds=1)).date()  # a sub-daily interval: its own day
    return start.date() - timedelta(days=lookback_days), last_day


def _current_window() -> tuple[str, str]:
    context = get_current_context()
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None:
        raise AirflowException(
            "This run has no data interval: trigger it with a logical date (or let the "
            "schedule run it), so that the days it loads are defined"
        )
    first, last = sync_window(
        start, end, source_option("timezone"), int(source_option("lookback_days"))
    )
    log.info("Databuddy sync window: %s .. %s", first, last)
    return first.isoformat(), last.isoformat()


def shard_data(shard: int, shards: int, rate_limit: int, delta: bool) -> Callable[[], Any]:
    """The source of one task, built when the task runs: its window is only known then (and
    its API key need not be there when the DAG is parsed). ``delta``: as Delta
    tables, for the filesystem destination (plain files cannot merge)."""

    def build() -> Any:
        start_date, end_date = _current_window()
        source = databuddy(
            shard=f"{shard}/{shards}",
            start_date=start_date,
            end_date=end_date,
            rate_limit=rate_limit,
        )
        if not delta:
            return source
        from databuddy_source.lakehouse import as_delta  # the lakehouse extra

        return as_delta(source)

    return build


class DatabuddyTasksGroup(PipelineTasksGroup):
    """dlt's task group, whose tasks also fail when the source reported failed slices: each run
    is a bounded window, so Airflow's retry reads the whole window again and nothing is lost."""

    # the helper's signature spelled out: PythonOperator hands the whole Airflow context to a
    # callable that takes **kwargs
    def _run(
        self,
        pipeline: Any,
        data: Any,
        table_name: Any = None,
        write_disposition: Any = None,
        loader_file_format: Any = None,
        schema_contract: Any = None,
        pipeline_name: Any = None,
        on_before_run: Any = None,
        truncate_staging_destination: Any = None,
    ) -> None:
        built: list[DatabuddySource] = []

        def build() -> Any:  # the task's source, kept for its report
            source = data() if callable(data) else data
            built.append(source)
            return source

        super()._run(
            pipeline,
            build,
            table_name=table_name,
            write_disposition=write_disposition,
            loader_file_format=loader_file_format,
            schema_contract=schema_contract,
            pipeline_name=pipeline_name,
            on_before_run=on_before_run,
            truncate_staging_destination=truncate_staging_destination,
        )
        report = built[0].report if built else None
        if report is not None and report.failures:
            raise AirflowException(
                f"{len(report.failures)} slices failed (the rest is loaded; see sync_log): "
                + "; ".join(report.failures[:5])
            )


def shard_pipeline(dag_settings: DagSettings, shard: int) -> Any:
    """The dlt pipeline of one shard, named like ``daily_sync.py --shard``'s: its own state,
    and its own staging dataset (parallel merges into one table must not share staging)."""
    suffix = f"shard_{shard}_of_{dag_settings.shards}"
    destination = destination_for(
        dag_settings.destination, staging_dataset_name_layout=f"%s_staging_{suffix}"
    )
    return dlt.pipeline(
        pipeline_name=f"{dag_settings.pipeline_name}_{suffix}",
        destination=destination,
        dataset_name=dag_settings.dataset_name,
    )


def destination_kind(dag_settings: DagSettings) -> str:
    """The type of the configured destination (``duckdb``, ``postgres``, ``filesystem``, …)."""
    destination = Destination.from_reference(dag_settings.destination)
    return destination.destination_type.rsplit(".", 1)[-1] if destination else ""


def parallel_tasks(dag_settings: DagSettings, kind: str) -> int:
    """How many tasks may run at once: all of them, but one at a time into a DuckDB file (one
    writer) or Delta tables (one commit at a time)."""
    if kind == "filesystem":
        return 1
    if kind != "duckdb":
        return dag_settings.shards
    key = f"destination.{dag_settings.destination}.credentials"
    if not (dlt.secrets.get(key) or dlt.config.get(key)):
        # dlt's default file would be in the task's working folder, which the helper deletes
        raise ValueError(
            f"{key} is not set: give the DuckDB file's path, e.g. "
            "DESTINATION__DUCKDB__CREDENTIALS=/data/databuddy_warehouse.duckdb"
        )
    return 1


def build_dag(dag_settings: DagSettings) -> DAG:
    """The DAG: one task per shard, side by side (up to :func:`parallel_tasks` at once)."""
    timezone = source_option("timezone")
    kind = destination_kind(dag_settings)
    parallel = parallel_tasks(dag_settings, kind)
    # the API key's query budget is shared by the tasks running at the same time
    rate_limit = max(1, int(source_option("rate_limit")) // parallel)
    dag = DAG(
        dag_id=dag_settings.dag_id,
        # explicit data intervals: Airflow 3's default cron timetable gives runs none
        schedule=CronDataIntervalTimetable(dag_settings.schedule, timezone=timezone),
        start_date=pendulum.instance(datetime.fromisoformat(dag_settings.first_day), tz=timezone),
        catchup=dag_settings.catchup,
        max_active_runs=1,  # a backfill's runs one after another, like days
        max_active_tasks=parallel,
        default_args={
            "retries": dag_settings.retries,
            "retry_delay": timedelta(minutes=dag_settings.retry_delay_minutes),
            "retry_exponential_backoff": True,
            "max_retry_delay": timedelta(hours=1),
        },
        tags=["databuddy", "dlt"],
    )
    with dag:
        group = DatabuddyTasksGroup(
            dag_settings.pipeline_name,
            # a failed load is finished again inside the task, without extracting again: shards
            # that start together race to create the same tables on a first run, and the
            # loser's schema change rolls back whole
            retry_policy=Retrying(
                stop=stop_after_attempt(4),
                wait=wait_exponential(multiplier=1.5, min=4, max=60),
                reraise=True,
            ),
            retry_pipeline_steps=("load",),
        )
        for shard in range(1, dag_settings.shards + 1):
            group.add_run(
                shard_pipeline(dag_settings, shard),
                shard_data(shard, dag_settings.shards, rate_limit, delta=kind == "filesystem"),
            )
    return dag


dag = build_dag(read_settings())
