"""Dagster assets for the Databuddy source, built on dagster-dlt.

* **One asset per destination table**: ``databuddy/<table>`` for each query-type table, each RPC
  collection and ``sync_log``, all materialized by one dlt run (a ``@dlt_assets`` multi-asset,
  so any subset of them can be materialized on its own).
* **Daily partitions** in the source's time zone: a partition is one complete day, and a range
  of partitions is one run of the source with ``start_date``/``end_date`` set to the range (a
  bounded backfill: exactly those days are replaced, incremental state is left alone). So a
  backfill is "materialize these partitions", in one run (single-run backfill policy).
* **A daily schedule** that materializes yesterday's partition and re-reads the
  ``lookback_days`` partitions before it, for late data.
* **Resources configured from dlt config**: ``[sources.databuddy]`` in ``.dlt/config.toml`` or
  ``SOURCES__DATABUDDY__*``; the API key only from dlt secrets (``.dlt/secrets.toml`` or
  ``SOURCES__DATABUDDY__API_KEY``), so it never enters Dagster's run config, logs or metadata;
  the destination from dlt config too (``destination_type``), DuckDB if none is set.

``defs = databuddy_definitions()`` is all a Dagster code location needs (see
``pipelines/dagster_defs.py``). Needs the ``dagster`` extra:
``pip install 'databuddy-source[dagster]'``.
"""

# No `from __future__ import annotations`: Dagster reads the asset function's annotations at
# definition time (the context type, and which parameters are resources).

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

try:
    import dagster as dg
    from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
    from dagster_dlt.translator import DltResourceTranslatorData
except ImportError as exc:  # one message that says what to install, not a chain of them
    raise ImportError(
        f"databuddy_source.dagster needs Dagster and dagster-dlt ({exc.name} is not "
        "installed): pip install 'databuddy-source[dagster]'"
    ) from None

import dlt
from dlt.common.schema import Schema
from dlt.extract.source import DltSource
from dlt.pipeline.pipeline import Pipeline

from . import settings
from .catalog import table_spec
from .destinations import check_duckdb_file, duckdb_file
from .destinations import duckdb as duckdb_destination
from .destinations import postgres as postgres_destination
from .errors import ConfigurationError
from .locking import pipeline_lock
from .options import default, resolve_options
from .rpc_resources import COLLECTIONS
from .source import DatabuddySource
from .source import databuddy as databuddy_source

PIPELINE_NAME = "databuddy"
DATASET_NAME = "databuddy"
JOB_NAME = "databuddy_daily"
DEFAULT_CRON = "0 3 * * *"  # 03:00 in the partitions' time zone: yesterday is over everywhere
PARTITION_FORMAT = "%Y-%m-%d"
# Not "<dataset>.duckdb": DuckDB cannot tell a file (catalog) from a schema of the same name.
SYNC_LOG = "sync_log"
# Dagster's run tags for a run over a range of partitions (what a single-run backfill sets).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
MAX_FAILURES_SHOWN = 20


def _configured(key: str, kind: type, given: Any, default: Any = None) -> Any:
    """``given`` if set, else ``sources.databuddy.<key>`` from dlt config, else ``default``."""
    if given is not None:
        return given
    configured: Any = dlt.config.get(f"sources.databuddy.{key}", kind)
    return default if configured is None else configured


@dataclass(frozen=True, slots=True)
class DefinitionsConfig:
    """What the definitions fix when they load: the tables (one asset each), the time zone
    and first day of the partitions, and how many days the schedule re-reads. Every run's
    source is given the same tables, so assets and tables always agree."""

    queries: tuple[str, ...]
    rpc_collections: tuple[str, ...]
    granularity: str
    timezone: str
    first_day: date
    lookback_days: int

    @classmethod
    def from_dlt_config(
        cls,
        *,
        queries: list[str] | None = None,
        rpc_collections: list[str] | None = None,
        granularity: str | None = None,
        timezone: str | None = None,
        first_day: str | date | None = None,
        lookback_days: int | None = None,
    ) -> Self:
        """Each argument left unset comes from ``[sources.databuddy]`` in dlt config
        (``queries``, ``rpc_collections``, ``granularity``, ``timezone``, ``start_date``,
        ``lookback_days``), checked like the source's own options.

        Raises :class:`~databuddy_source.errors.ConfigurationError` for a bad value, and for
        a ``grain`` other than ``day``: a week or month table is keyed on its period's first
        day, so a daily partition would replace a whole period with one day of it."""
        grain = _configured("grain", str, None, default("grain"))
        if grain != "day":
            raise ConfigurationError(
                f"sources.databuddy.grain: {grain!r} does not fit Dagster's daily partitions "
                "(a weekly or monthly row would be replaced by one day of its period). Use "
                "grain = 'day' for the Dagster assets, and pipelines/daily_sync.py for "
                "weekly or monthly tables"
            )
        given = {
            "queries": _configured("queries", list, queries),
            "rpc_collections": _configured("rpc_collections", list, rpc_collections),
            "granularity": _configured("granularity", str, granularity),
            "timezone": _configured("timezone", str, timezone),
            "start_date": _configured("start_date", str, first_day),
            "lookback_days": _configured("lookback_days", int, lookback_days),
        }
        options = resolve_options({k: v for k, v in given.items() if v is not None})
        return cls(
            queries=options.query_types,
            rpc_collections=options.rpc_collections,
            granularity="hourly" if options.hourly else "daily",
            timezone=options.timezone,
            first_day=options.start_date or date.fromisoformat(settings.FIRST_SCHEDULED_DAY),
            lookback_days=options.lookback_days,
        )

    def query_tables(self) -> dict[str, str]:
        """Table name -> query type, in the order the source declares them."""
        hourly = self.granularity == "hourly"
        return {table_spec(name, "day", hourly).table_name: name for name in self.queries}

    def table_names(self) -> list[str]:
        """Every table a run loads, as the source names its resources."""
        return [*self.query_tables(), SYNC_LOG, *self.rpc_collections]

    def source_arguments(self) -> dict[str, Any]:
        """The source options that decide which tables exist and what a day is."""
        return {
            "queries": list(self.queries),
            # an empty list would mean "unset", i.e. the default collections
            "rpc_collections": list(self.rpc_collections) or ["none"],
            "granularity": self.granularity,
            "grain": "day",
            "timezone": self.timezone,
            # custom reports are not Dagster assets (yet): their tables and their sync_log rows
            # come from a resource of their own; pipelines/daily_sync.py loads them
            "custom_reports": [],
        }

    def describe(self, table: str) -> str:
        """A table's asset description."""
        if table == SYNC_LOG:
            return (
                "One row per run, parent, query type and slice: requests, retries, 429s, "
                "pages, rows, possible truncation, errors and request ids."
            )
        if table in COLLECTIONS:
            return (
                f"RPC collection {COLLECTIONS[table].procedure}: one row per object, merged on "
                "id (soft-deleted and vanished objects have is_deleted = true). Not split by "
                "day: every run lists the collection in full."
            )
        spec = table_spec(self.query_tables()[table], "day", self.granularity == "hourly")
        return (
            f"Query type {spec.name}: {spec.qtype.description} One "
            f"slice per {spec.qtype.project} and day, merged on ({', '.join(spec.merge_key)}): "
            "re-loading a day replaces its rows."
        )


@dataclass
class DatabuddyTranslator(DagsterDltTranslator):
    """Asset ``<key_prefix>/<table>`` for each table, in one group, with the table's
    description and its ``dataset.table`` name; no upstream assets (the API is outside)."""

    config: DefinitionsConfig | None = None
    key_prefix: str = "databuddy"
    group_name: str = "databuddy"

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        table = data.resource.table_name
        assert isinstance(table, str)  # the source names every table statically
        destination = data.destination.destination_name if data.destination else None
        dataset = data.pipeline.dataset_name if data.pipeline else None
        return dg.AssetSpec(
            key=dg.AssetKey([self.key_prefix, table]),
            group_name=self.group_name,
            description=self.config.describe(table) if self.config else None,
            kinds={"dlt", destination} if destination else {"dlt"},
            # Dagster's documented key for the table an asset is (lineage, catalog search)
            metadata={"dagster/table_name": f"{dataset}.{table}" if dataset else table},
        )


class DatabuddyResource(dg.ConfigurableResource):  # type: ignore[type-arg]  # as Dagster's own
    """Run-time options of the Databuddy source. Each field left unset comes from dlt config
    (``[sources.databuddy]``, ``SOURCES__DATABUDDY__*``), as do all other options. The API key
    is deliberately not a field: dlt reads it from its secrets (``.dlt/secrets.toml`` or
    ``SOURCES__DATABUDDY__API_KEY``), so it never appears in run config, logs or metadata."""

    base_url: str | None = None
    websites: list[str] | None = None
    as_of: str | None = None

    def source(self, config: DefinitionsConfig, first: date, last: date) -> DatabuddySource:
        """The source for the days ``first..last`` (inclusive), a bounded backfill."""
        given: dict[str, Any] = {
            "base_url": self.base_url,
            "websites": self.websites,
            "as_of": self.as_of,
        }
        source: DatabuddySource = databuddy_source(
            start_date=first.isoformat(),
            end_date=last.isoformat(),
            **config.source_arguments(),
            **{key: value for key, value in given.items() if value is not None},
        )
        return source


def catalogue_source(config: DefinitionsConfig) -> DltSource:
    """A stand-in for the source with one resource per table and nothing to read: the real
    source needs the API key, which loading definitions must not. Only its resource names are
    used (each run builds the real source)."""
    return DltSource(
        Schema(PIPELINE_NAME),
        PIPELINE_NAME,
        [dlt.resource([], name=table) for table in config.table_names()],
    )


def daily_partitions(config: DefinitionsConfig) -> dg.DailyPartitionsDefinition:
    """One partition per complete day in the source's time zone, from ``first_day``; a day's
    partition exists once that day is over."""
    return dg.DailyPartitionsDefinition(
        start_date=config.first_day.isoformat(),
        timezone=config.timezone,
        fmt=PARTITION_FORMAT,
        end_offset=0,
    )


def default_pipeline(
    pipeline_name: str = PIPELINE_NAME, dataset_name: str = DATASET_NAME
) -> Pipeline:
    """The pipeline ``daily_sync.py`` also uses (same name, so the same state and lock), its
    destination from dlt config: ``destination_type`` (``DESTINATION_TYPE=postgres``, or
    ``destination_type`` under ``[pipelines.<pipeline_name>]``) with its credentials under
    ``[destination.<type>]``. DuckDB when unset, opened as ``daily_sync.py`` opens it (memory
    capped), in the file ``destination.duckdb.credentials`` names or
    ``./databuddy_warehouse.duckdb``."""
    destination: Any = dlt.config.get(
        f"pipelines.{pipeline_name}.destination_type", str
    ) or dlt.config.get("destination_type", str)
    # Always named here, never left to dlt: a pipeline that ran before would take the one in
    # its local state, without our DuckDB path and memory cap.
    if destination in (None, "duckdb"):
        path = duckdb_file()
        check_duckdb_file(path, dataset_name, "destination.duckdb.credentials")
        destination = duckdb_destination(path)
    elif destination == "postgres":
        destination = postgres_destination()
    return dlt.pipeline(pipeline_name, destination=destination, dataset_name=dataset_name)


def _days_of(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """The first and last day (inclusive) of the partitions a run materializes."""
    window = context.partition_time_window  # [start, end) in the partitions' time zone
    return window.start.date(), window.end.date() - timedelta(days=1)


def databuddy_assets(
    pipeline: Pipeline,
    config: DefinitionsConfig,
    *,
    translator: DatabuddyTranslator | None = None,
    backfill_policy: dg.BackfillPolicy | None = None,
    name: str = PIPELINE_NAME,
) -> dg.AssetsDefinition:
    """The multi-asset of every table, partitioned by day. A run reads exactly its partitions'
    days and fails, after loading the rest, if any slice or list failed (so those partitions
    are not recorded as materialized and a retry reads them again)."""

    @dlt_assets(
        dlt_source=catalogue_source(config),
        dlt_pipeline=pipeline,
        name=name,
        dagster_dlt_translator=translator or DatabuddyTranslator(config),
        partitions_def=daily_partitions(config),
        backfill_policy=backfill_policy or dg.BackfillPolicy.single_run(),
    )
    def assets(
        context: dg.AssetExecutionContext, dlt: DagsterDltResource, databuddy: DatabuddyResource
    ) -> Iterator[Any]:
        first, last = _days_of(context)
        context.log.info(f"Loading {first}..{last} into {pipeline.dataset_name}")
        source = databuddy.source(config, first, last)
        report = source.report
        # dagster-dlt drops the pipeline's local folder before each run: another run of the
        # same pipeline (a manual backfill beside the schedule) must wait, as daily_sync does
        with pipeline_lock(pipeline.pipelines_dir, pipeline.pipeline_name, wait=True):
            results = list(dlt.run(context=context, dlt_source=source))
        if report.failures:
            shown = "\n".join(f"- {line}" for line in report.failures[:MAX_FAILURES_SHOWN])
            raise dg.Failure(
                description=(
                    f"{len(report.failures)} slices or lists failed ({first}..{last}); the "
                    f"rest was loaded. Materialize these partitions again to retry:\n{shown}"
                ),
                metadata={"failures": len(report.failures), "run_id": report.run_id},
            )
        yield from results

    return assets


def daily_schedule(
    assets: dg.AssetsDefinition, config: DefinitionsConfig, cron_schedule: str = DEFAULT_CRON
) -> dg.ScheduleDefinition:
    """``databuddy_daily_schedule``: every day, one run of the ``databuddy_daily`` job (all the
    assets) over the last ``lookback_days + 1`` partitions: yesterday, and the days before it
    that late data can still change (like the source's own lookback)."""
    job = dg.define_asset_job(JOB_NAME, selection=dg.AssetSelection.assets(assets))
    partitions = daily_partitions(config)

    @dg.schedule(
        name=f"{JOB_NAME}_schedule",
        job=job,
        cron_schedule=cron_schedule,
        execution_timezone=config.timezone,
    )
    def schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        now = context.scheduled_execution_time or datetime.now(UTC)
        keys = partitions.get_partition_keys(current_time=now)
        if not keys:
            return dg.SkipReason(f"no complete day since {config.first_day} yet")
        recent = keys[-(config.lookback_days + 1) :]
        return dg.RunRequest(
            run_key=recent[-1], tags={RANGE_START_TAG: recent[0], RANGE_END_TAG: recent[-1]}
        )

    return schedule


def databuddy_definitions(
    *,
    pipeline: Pipeline | None = None,
    config: DefinitionsConfig | None = None,
    resource: DatabuddyResource | None = None,
    cron_schedule: str = DEFAULT_CRON,
    backfill_policy: dg.BackfillPolicy | None = None,
) -> dg.Definitions:
    """Assets, the ``databuddy_daily`` job, its daily schedule and the resources (``dlt``,
    ``databuddy``), each part from dlt config unless given. ``backfill_policy``: one run per
    range by default; ``BackfillPolicy.multi_run(N)`` splits long ranges into runs of N days."""
    config = config or DefinitionsConfig.from_dlt_config()
    assets = databuddy_assets(
        pipeline or default_pipeline(), config, backfill_policy=backfill_policy
    )
    return dg.Definitions(
        assets=[assets],
        schedules=[daily_schedule(assets, config, cron_schedule)],
        resources={"dlt": DagsterDltResource(), "databuddy": resource or DatabuddyResource()},
    )
