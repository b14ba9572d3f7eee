"""``databuddy-sync``: the daily sync of every configured website into a warehouse, with
``databuddy-sync init`` for the configuration files. Exit codes: see :mod:`databuddy_source.cli`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from . import EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL
from .demo import demo_emulator, print_demo_tour
from .destination import build_pipeline, check_destination
from .failures import explain, fail
from .logs import ExpectedEmptyTables, configure_logging
from .progress import Progress
from .summary import summarize, table_counts
from .sync_args import parse_args, source_kwargs

__all__ = [
    "build_pipeline",
    "main",
    "parse_args",
    "print_demo_tour",
    "source_kwargs",
    "summarize",
    "table_counts",
]

SHARD_LOAD_ATTEMPTS = 4
DEFAULT_PROGRESS_EVERY = 30.0


@dataclass(slots=True)
class Session:
    """What one command run shares between its pipeline runs."""

    args: argparse.Namespace
    progress: Progress
    expected_empty: ExpectedEmptyTables = field(default_factory=ExpectedEmptyTables)
    started: float = field(default_factory=time.monotonic)


def print_plan(source: Any, pipeline: Any) -> None:
    """The slices and requests the next run would read (``--dry-run``), from the pipeline's
    state, packed as the source's options pack them."""
    from ..packing import requests_needed
    from ..resources import SLICES_RESOURCE

    resource_state = (
        pipeline.state.get("sources", {})
        .get("databuddy", {})
        .get("resources", {})
        .get(SLICES_RESOURCE, {})
    )
    per_request = source.options.max_parameters_per_request
    planned = source.plan(resource_state)
    print(f"Plan ({'incremental' if resource_state.get('loaded_through') else 'first run'}):")
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


def make_source(session: Session, options: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """A fresh source for one run, and its report. On the filesystem destination its tables
    load as Delta tables (databuddy_source.lakehouse): plain files cannot merge."""
    from .. import databuddy
    from ..errors import ConfigurationError

    args = session.args
    source = databuddy(**(source_kwargs(args) if options is None else options))
    source.discover()  # a refused key or an unknown website fails before the destination opens
    report = source.report
    session.expected_empty.add(source.resources.keys())
    if args.destination == "filesystem":
        try:
            import deltalake  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                "--destination filesystem writes Delta tables, which need the deltalake "
                "package: pip install 'databuddy-source[lakehouse]'"
            ) from None
        from ..lakehouse import as_delta

        as_delta(source)  # hints the same source
    return source, report


def sync_models(session: Session, pipeline: Any) -> list[str]:
    """The weekly and monthly tables the models read (runs bounded like the main one), then
    the model views; returns the failures of those runs."""
    from ..models import create_models, period_sync_options

    failures: list[str] = []
    for options in period_sync_options(source_kwargs(session.args)):
        print(f"Loading the {options['grain']}ly tables the models read...", flush=True)
        more = True
        while more:
            source, report = make_source(session, options)
            with session.progress.follow(report, f"{options['grain']}ly tables"):
                run_pipeline(session.args, pipeline, source)
            failures += report.failures
            more = report.more
    print(create_models(pipeline).describe(), flush=True)
    return failures


def sync_locked(session: Session, pipeline: Any) -> int:
    """The run itself, with the pipeline's lock held."""
    args = session.args
    if args.full_refresh and not args.dry_run:
        pipeline.drop()  # local state and working folder
        pipeline = build_pipeline(args)
    source, report = make_source(session)
    if args.dry_run:
        print_plan(source, pipeline)
        return EXIT_OK
    if pipeline.has_pending_data:  # a crashed run left packages: finish them first
        print("Finishing the load that an earlier run left pending...", flush=True)
        run_pipeline(args, pipeline)
    refresh = "drop_sources" if args.full_refresh else None
    with session.progress.follow(report, "sync"):
        run_pipeline(args, pipeline, source, refresh=refresh)
    summarize(pipeline, report, session.started)
    failures = list(report.failures)
    while report.more:  # a long backfill: one bounded load package per run (max_rows_per_run)
        print("More to read: running again from where that run stopped.", flush=True)
        source, report = make_source(session)
        with session.progress.follow(report, "sync"):
            run_pipeline(args, pipeline, source)
        summarize(pipeline, report, session.started)
        failures += report.failures
    if args.models if args.models is not None else args.demo:
        failures += sync_models(session, pipeline)
    if args.demo and args.destination in (None, "duckdb"):
        print_demo_tour(pipeline)
    if failures:
        print(f"{len(failures)} failures (the rest was loaded):", file=sys.stderr)
        for line in failures[:20]:
            print(f"  - {line}", file=sys.stderr)
        return EXIT_PARTIAL
    return EXIT_OK


def run(session: Session) -> int:
    """The command, with every failure mapped to its exit code and one message."""
    from ..locking import pipeline_lock

    args = session.args
    try:
        with demo_emulator(args) if args.demo else nullcontext():
            pipeline = build_pipeline(args)
            if args.dry_run:
                return sync_locked(session, pipeline)
            # the lock first: a sync of this pipeline still loading holds the DuckDB file
            with pipeline_lock(pipeline.pipelines_dir, pipeline.pipeline_name, wait=args.wait):
                check_destination(args, pipeline)  # before any API request
                return sync_locked(session, pipeline)
    except KeyboardInterrupt:
        print(
            "Interrupted: nothing half-written; the next run finishes what was pending.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except Exception as exc:
        code, message = explain(args, exc)
        return fail(args.debug, code, message, exc)


def main(argv: list[str] | None = None) -> int:
    """``databuddy-sync`` (and ``databuddy-sync init``)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["init"]:
        from .init import main as init_main

        return init_main(argv[1:])
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed
        return int(exc.code or 0)
    from ..memory import limit_malloc_arenas
    from ..transport import rate_limit_wait

    every = DEFAULT_PROGRESS_EVERY if args.progress_every is None else args.progress_every
    progress = Progress(sys.stderr, every=every, waiting=rate_limit_wait)
    session = Session(args, progress, configure_logging(args.debug, progress))
    limit_malloc_arenas()  # this process's threads share freed pages (see memory.py)
    return run(session)


if __name__ == "__main__":
    sys.exit(main())
