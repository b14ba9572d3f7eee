"""The daily Databuddy sync: every configured website's analytics and objects into a warehouse.

Examples:
  python pipelines/daily_sync.py --demo                  # emulator -> local DuckDB, then a tour
  python pipelines/daily_sync.py                         # config from .dlt/ and the environment
  python pipelines/daily_sync.py --destination postgres --dataset analytics
  python pipelines/daily_sync.py --queries top_pages,country --start-date 2026-01-01
  python pipelines/daily_sync.py --start-date 2026-01-01 --end-date 2026-01-31   # backfill
  python pipelines/daily_sync.py --dry-run               # the plan: slices and requests

Exit codes: 0 done; 1 done, but some slices failed (see the sync_log table); 2 bad input or
configuration; 3 authentication or access refused; 4 the destination failed; 5 the API could not
be reached; 6 another sync of the same pipeline is running (see --wait); 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as a script from a checkout
    sys.path.insert(0, str(ROOT))

EXIT_OK, EXIT_PARTIAL, EXIT_INPUT, EXIT_AUTH, EXIT_DESTINATION, EXIT_API = 0, 1, 2, 3, 4, 5
EXIT_BUSY = 6
DEMO_DAYS = 28


def _memory_size(text: str) -> str:
    """A DuckDB memory size (``512MB``, ``2GB``, ``1.5GiB``) or ``none``."""
    if text.strip().lower() == "none":
        return "none"
    if not re.fullmatch(r"\d+(\.\d+)?\s*([KMGT]i?B|B)", text.strip(), re.IGNORECASE):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a memory size: use e.g. 256MB, 2GB or none"
        )
    return text.strip()


def _shard(text: str) -> str:
    """``I/N``: this worker's share of the websites (checked like the source option)."""
    from databuddy_source.errors import ConfigurationError
    from databuddy_source.options import resolve_shard

    try:
        index, count = resolve_shard(text) or (1, 1)
    except ConfigurationError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not I/N with 1 <= I <= N (e.g. 2/4: the second of four workers)"
        ) from None
    return f"{index}/{count}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="daily_sync.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\nExamples:")[0],
        epilog="Examples:" + __doc__.split("Examples:")[1],
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="start the local emulator and sync it into ./databuddy_demo.duckdb",
    )
    p.add_argument(
        "--destination",
        default=None,
        help="dlt destination: duckdb (default), postgres, or any dlt destination",
    )
    p.add_argument("--dataset", default=None, help="dataset (schema) name (default databuddy)")
    p.add_argument(
        "--pipeline-name",
        default="databuddy",
        help="dlt pipeline name; its state decides what is incremental",
    )
    p.add_argument(
        "--duckdb-path",
        default=None,
        help="DuckDB file for --destination duckdb (default ./databuddy_warehouse.duckdb)",
    )
    p.add_argument(
        "--duckdb-memory-limit",
        default=None,
        type=_memory_size,
        help="DuckDB's memory cap while loading, e.g. 512MB or 2GB (default 128MB; "
        "'none' for DuckDB's own, 80%% of RAM)",
    )
    p.add_argument("--base-url", default=None, help="API base URL (default: config)")
    p.add_argument("--websites", default=None, help="comma-separated website ids or domains")
    p.add_argument(
        "--queries", default=None, help="comma-separated query types, 'default' or 'all'"
    )
    p.add_argument(
        "--rpc-collections", default=None, help="comma-separated RPC collections, 'all' or 'none'"
    )
    p.add_argument("--start-date", default=None, help="first day to load, YYYY-MM-DD")
    p.add_argument(
        "--end-date",
        default=None,
        help="last day of a bounded backfill (leaves incremental state alone)",
    )
    p.add_argument(
        "--lookback-days",
        type=int,
        default=None,
        help="the last N loaded days re-read every run, for late data (default 2)",
    )
    p.add_argument("--timezone", default=None, help="IANA time zone of days (default UTC)")
    p.add_argument("--include-today", action="store_true", help="also load today (partial)")
    p.add_argument("--granularity", choices=("daily", "hourly"), default=None)
    p.add_argument(
        "--grain",
        choices=("day", "week", "month"),
        default=None,
        help="period of breakdown tables (visitors are not summable across days)",
    )
    p.add_argument("--as-of", default=None, help="treat this date as today (YYYY-MM-DD)")
    p.add_argument(
        "--models",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="after the sync, load the weekly and monthly tables the models read and create or "
        "replace the model views (README, Models); on by default with --demo",
    )
    p.add_argument(
        "--shard",
        default=None,
        type=_shard,
        help="I/N: sync the I-th of N disjoint sets of websites (and organizations, links, "
        "monitors), so N workers load one destination side by side; each shard keeps its own "
        "pipeline state (pipeline name + _shard_I_of_N)",
    )
    p.add_argument(
        "--full-refresh",
        action="store_true",
        help="drop this source's tables and state, then load from the start",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the plan (slices, requests) and write nothing"
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="if another sync of this pipeline is running, wait for it (else exit 6)",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    return p.parse_args(argv)


def source_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Only the options given on the command line (the rest come from dlt config)."""
    out: dict[str, Any] = {}
    for key in (
        "base_url",
        "start_date",
        "end_date",
        "lookback_days",
        "timezone",
        "granularity",
        "grain",
        "as_of",
        "shard",
    ):
        if getattr(args, key) is not None:
            out[key] = getattr(args, key)
    for key in ("websites", "queries", "rpc_collections"):
        if getattr(args, key):
            out[key] = [v.strip() for v in getattr(args, key).split(",") if v.strip()]
    if args.include_today:
        out["include_today"] = True
    return out


@contextmanager
def demo_emulator(args: argparse.Namespace) -> Iterator[None]:
    """The local emulator on a free loopback port, with the sync pointed at it."""
    from databuddy_source.emulator.config import EmulatorConfig
    from databuddy_source.emulator.server import EmulatorServer

    print("Starting the local Databuddy emulator (synthetic data)...", flush=True)
    config = EmulatorConfig(profile="default", rate_limit_mode="off")
    with EmulatorServer(config) as server:
        os.environ["SOURCES__DATABUDDY__API_KEY"] = config.api_key
        args.base_url = server.url
        if args.start_date is None:
            args.start_date = (datetime.now(UTC).date() - timedelta(days=DEMO_DAYS)).isoformat()
        print(f"Emulator on {server.url}; syncing from {args.start_date}.", flush=True)
        yield


def build_pipeline(args: argparse.Namespace) -> Any:
    import dlt

    from databuddy_source.destinations import DEFAULT_DUCKDB_FILE, check_duckdb_file
    from databuddy_source.destinations import duckdb as duckdb_destination

    name = args.pipeline_name + ("_demo" if args.demo else "")
    config: dict[str, Any] = {}
    if args.shard:  # own state, own staging tables: shards never touch each other's
        index, count = args.shard.split("/")
        name += f"_shard_{index}_of_{count}"
        config["staging_dataset_name_layout"] = f"%s_staging_shard_{index}_of_{count}"
    destination: Any = args.destination or "duckdb"
    if destination == "duckdb":
        path = args.duckdb_path or ("databuddy_demo.duckdb" if args.demo else DEFAULT_DUCKDB_FILE)
        check_duckdb_file(path, args.dataset or "databuddy", "--duckdb-path")
        limit = args.duckdb_memory_limit
        if limit is None:
            destination = duckdb_destination(path, **config)
        else:
            memory_limit = None if limit == "none" else limit
            destination = duckdb_destination(path, memory_limit=memory_limit, **config)
    else:
        from databuddy_source.destinations import destination_for

        destination = destination_for(destination, **config)
    return dlt.pipeline(
        pipeline_name=name,
        destination=destination,
        dataset_name=args.dataset or "databuddy",
        progress=dlt.progress.log(log_period=30, logger=sys.stderr, dump_system_stats=False),
    )


def print_plan(report: Any, pipeline: Any, per_request: int) -> None:
    from databuddy_source.planning import requests_needed

    resource_state = (
        pipeline.state.get("sources", {})
        .get("databuddy", {})
        .get("resources", {})
        .get("query_slices", {})
    )
    state = resource_state.get("loaded_through", {})
    planned = report.planner(state, resource_state.get("settled_through", {}))
    print(f"Plan ({'incremental' if state else 'first run'}):")
    for parent, slices in planned.items():
        days = sorted({s.start for s in slices})
        span = f"{days[0]}..{max(s.end for s in slices)}" if days else "nothing to read"
        print(
            f"  {parent.kind:<12} {parent.name or parent.id}: {len(slices)} slices, "
            f"{-(-len(slices) // per_request)} requests, {span}"
        )
    print(
        f"Total: {sum(len(s) for s in planned.values())} slices in "
        f"{requests_needed(planned, per_request)} query requests (first pages), plus the RPC "
        "lists. Nothing was written."
    )


def table_counts(pipeline: Any) -> list[str]:
    """``"<table> <rows>"`` for every data table the pipeline has loaded, counted in the
    destination itself. The tables come from the pipeline's schema, not a catalog query, and
    dlt qualifies each name as the destination needs (a dataset schema on most, an upper-case
    one on Snowflake, a table-name prefix on ClickHouse, none on SQLite)."""
    names = sorted(pipeline.default_schema.data_table_names(seen_data_only=True))
    counts = []
    with pipeline.sql_client() as sql:
        for name in names:
            rows = sql.execute_sql(f"SELECT count(*) FROM {sql.make_qualified_table_name(name)}")
            counts.append(f"{name} {rows[0][0]}")
    return counts


def summarize(pipeline: Any, report: Any) -> None:
    print(
        f"Run {report.run_id}: {report.requests} query requests ({report.retries} retries, "
        f"{report.rate_limited} rate-limited), {report.slices} slices, {report.rows} rows"
        + (
            f", {report.possibly_truncated} slices possibly truncated"
            if report.possibly_truncated
            else ""
        )
        + "."
    )
    try:
        counts = table_counts(pipeline)
    except Exception:  # a destination without SQL over its tables (plain files, Delta offline)
        counts = []
    if not counts:
        info = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
        rows = info.row_counts if info else {}
        counts = [f"{name} {n}" for name, n in sorted(rows.items()) if not name.startswith("_dlt")]
        print("Rows loaded by this run, per table: " + ", ".join(counts))
        return
    print("Tables (rows): " + ", ".join(counts))


SHARD_LOAD_ATTEMPTS = 4


def run_pipeline(args: argparse.Namespace, pipeline: Any, data: Any = None, **kwargs: Any) -> None:
    """``pipeline.run``; for a shard, a failed load is finished again (up to
    SHARD_LOAD_ATTEMPTS tries): shards starting together race to create the same tables, and
    the loser's schema change rolls back whole, so another try only adds what is missing."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    attempts = SHARD_LOAD_ATTEMPTS if args.shard else 1
    for attempt in range(1, attempts + 1):
        try:
            pipeline.run(data, **kwargs) if data is not None else pipeline.run()
            return
        except PipelineStepFailed as exc:
            if exc.step != "load" or attempt == attempts:
                raise
            cause = exc.__cause__ or exc
            print(f"Load failed ({cause}); trying again.", file=sys.stderr, flush=True)
            time.sleep(random.uniform(0.5, 2.0) * attempt)
            data, kwargs = None, {}  # the package is extracted: finish loading it


def make_source(args: argparse.Namespace) -> tuple[Any, Any]:
    """A fresh source for one run, and its report. On the filesystem destination its tables
    load as Delta tables (databuddy_source.lakehouse): plain files cannot merge."""
    from databuddy_source import databuddy, last_report
    from databuddy_source.errors import ConfigurationError

    source = databuddy(**source_kwargs(args))
    report = last_report()
    assert report is not None
    if args.destination == "filesystem":
        try:
            import deltalake  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                "--destination filesystem writes Delta tables, which need the deltalake "
                "package: pip install -e '.[lakehouse]'"
            ) from None
        from databuddy_source.lakehouse import as_delta

        source = as_delta(source)
    return source, report


def sync_models(args: argparse.Namespace, pipeline: Any) -> list[str]:
    """The weekly and monthly tables the models read (runs bounded like the main one), then
    the model views; returns the failures of those runs."""
    from databuddy_source import databuddy, last_report
    from databuddy_source.models import create_models, period_sync_options

    failures: list[str] = []
    for options in period_sync_options(source_kwargs(args)):
        print(f"Loading the {options['grain']}ly tables the models read...", flush=True)
        more = True
        while more:
            source = databuddy(**options)
            report = last_report()
            assert report is not None
            run_pipeline(args, pipeline, source)
            failures += report.failures
            more = report.more
    print(create_models(pipeline).describe(), flush=True)
    return failures


def sync_locked(args: argparse.Namespace, pipeline: Any) -> int:
    """The run itself, with the pipeline's lock held."""

    if args.full_refresh and not args.dry_run:
        pipeline.drop()  # local state and working folder
        pipeline = build_pipeline(args)
    source, report = make_source(args)
    if args.dry_run:
        print_plan(report, pipeline, source_kwargs(args).get("max_parameters_per_request", 100))
        return EXIT_OK
    if pipeline.has_pending_data:  # a crashed run left packages: finish them first
        print("Finishing the load that an earlier run left pending...", flush=True)
        run_pipeline(args, pipeline)
    run_pipeline(args, pipeline, source, refresh="drop_sources" if args.full_refresh else None)
    summarize(pipeline, report)
    failures = list(report.failures)
    while report.more:  # a long backfill: one bounded load package per run (max_rows_per_run)
        print("More to read: running again from where that run stopped.", flush=True)
        source, report = make_source(args)
        run_pipeline(args, pipeline, source)
        summarize(pipeline, report)
        failures += report.failures
    if args.models if args.models is not None else args.demo:
        failures += sync_models(args, pipeline)
    if args.demo and args.destination in (None, "duckdb"):
        print_demo_tour(pipeline)
    if failures:
        print(f"{len(failures)} failures (the rest was loaded):", file=sys.stderr)
        for line in failures[:20]:
            print(f"  - {line}", file=sys.stderr)
        return EXIT_PARTIAL
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    from dlt.pipeline.exceptions import PipelineStepFailed

    from databuddy_source.errors import (
        AccessDeniedError,
        APIError,
        AuthenticationError,
        ConfigurationError,
        RetriableError,
    )
    from databuddy_source.locking import PipelineBusy, pipeline_lock

    try:
        with demo_emulator(args) if args.demo else nullcontext():
            pipeline = build_pipeline(args)
            lock = (
                nullcontext()
                if args.dry_run
                else pipeline_lock(pipeline.pipelines_dir, pipeline.pipeline_name, wait=args.wait)
            )
            with lock:
                return sync_locked(args, pipeline)
    except PipelineBusy as exc:
        return fail(args, EXIT_BUSY, str(exc), exc)
    except ConfigurationError as exc:
        return fail(args, EXIT_INPUT, str(exc), exc)
    except (AuthenticationError, AccessDeniedError) as exc:
        return fail(
            args,
            EXIT_AUTH,
            f"{exc}. Check the API key (SOURCES__DATABUDDY__API_KEY) "
            "and that it has read:data on these websites.",
            exc,
        )
    except RetriableError as exc:
        return fail(args, EXIT_API, f"the Databuddy API could not be reached: {exc}", exc)
    except APIError as exc:
        return fail(args, EXIT_API, str(exc), exc)
    except PipelineStepFailed as exc:
        cause = exc.__cause__ or exc
        while cause.__cause__ is not None and not isinstance(cause, APIError | ConfigurationError):
            cause = cause.__cause__
        if isinstance(cause, AuthenticationError | AccessDeniedError):
            return fail(args, EXIT_AUTH, str(cause), exc)
        if isinstance(cause, APIError):
            return fail(args, EXIT_API, str(cause), exc)
        return fail(
            args,
            EXIT_DESTINATION,
            f"the {exc.step} step failed: {cause}. Check the "
            "destination (its credentials, e.g. DESTINATION__POSTGRES__CREDENTIALS, and "
            "that it is running and writable); what did not load is retried by the next "
            "run",
            exc,
        )
    except KeyboardInterrupt:
        print(
            "Interrupted: nothing half-written; the next run finishes what was pending.",
            file=sys.stderr,
        )
        return 130
    except Exception as exc:
        from dlt.common.configuration.exceptions import ConfigFieldMissingException
        from dlt.common.destination.exceptions import UnknownDestinationModule

        if isinstance(exc, UnknownDestinationModule):
            return fail(
                args,
                EXIT_INPUT,
                f"unknown destination {args.destination!r}: use duckdb, "
                "postgres, or another dlt destination name (bigquery, snowflake, "
                "motherduck, clickhouse, filesystem, ...)",
                exc,
            )

        if isinstance(exc, ConfigFieldMissingException):
            return fail(
                args,
                EXIT_INPUT,
                "no API key: set SOURCES__DATABUDDY__API_KEY or "
                "api_key in .dlt/secrets.toml under [sources.databuddy] (or try --demo)",
                exc,
            )
        return fail(args, EXIT_DESTINATION, f"{type(exc).__name__}: {exc}", exc)


def fail(args: argparse.Namespace, code: int, message: str, exc: BaseException) -> int:
    print(f"error: {message}", file=sys.stderr)
    if args.debug:
        import traceback

        traceback.print_exception(exc)
    else:
        print("(run with --debug for the traceback)", file=sys.stderr)
    return code


def print_demo_tour(pipeline: Any) -> None:
    credentials = (
        pipeline.destination.config_params.get("credentials")
        if hasattr(pipeline.destination, "config_params")
        else None
    )
    # the file path (DuckDB credentials carry it as ``database``; their str() is a URL)
    where = getattr(credentials, "database", None) or credentials or "databuddy_demo.duckdb"
    print(
        f"\nLoaded into {where} (dataset {pipeline.dataset_name}). Try:\n"
        f"  .venv/bin/python -c \"import duckdb; print(duckdb.connect('{where}').sql("
        f"'select date, sum(pageviews) pageviews, sum(visitors) visitors from "
        f"{pipeline.dataset_name}.events_by_date group by 1 order by 1 desc limit 7'))\"\n"
        "  Tables: one per query type (events_by_date, top_pages, country, ...), one per RPC "
        "collection (websites, links, ...), and sync_log. See README.md, 'Tables'."
    )
    from databuddy_source.report import ReportInputError, SqlClientDatabase, build_report

    try:
        with pipeline.sql_client() as client:
            line = build_report(SqlClientDatabase(client), Path("databuddy_demo_report.html"))
    except ReportInputError as exc:  # run with --no-models: no views to draw
        print(f"  No report: {exc}")
        return
    print(
        f"\n{line}\n  Open it in a browser (it works offline). Another website or range:\n"
        f"  .venv/bin/python pipelines/report.py --duckdb {where} --website 'Acme Docs' "
        "--start YYYY-MM-DD --end YYYY-MM-DD --out report.html"
    )


def main(argv: list[str] | None = None) -> int:
    from databuddy_source.memory import limit_malloc_arenas

    limit_malloc_arenas()  # a setting of this whole process: the CLI's to make, not the library's
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("databuddy_source").setLevel(logging.DEBUG if args.debug else logging.INFO)
    if not args.debug:
        logging.getLogger("dlt").setLevel(logging.ERROR)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
