"""``databuddy-report``: an HTML report of the synced Databuddy analytics, one self-contained
page (inline SVG charts and tables, nothing fetched: it opens offline) for one website and date
range, drawn from the model views (databuddy_source.models). The views are created first when
the dataset has none yet (a plain ``databuddy-sync`` run)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from . import EXIT_DESTINATION, EXIT_INPUT, EXIT_OK
from .sync_args import Parser

DEFAULT_OUT = "databuddy_report.html"
MODELS_VIEW = "mart_daily_traffic"  # the view every report needs

EXAMPLES = """\
Examples:
  databuddy-report                                   # ./databuddy_warehouse.duckdb, last 28 days
  databuddy-report --duckdb databuddy_demo.duckdb
  databuddy-report --duckdb databuddy_warehouse.duckdb --website acme.example \\
      --start 2026-03-01 --end 2026-03-31 --out march.html
  databuddy-report --destination postgres --dataset analytics --website "Acme Store"

Exit codes: 0 written; 2 bad input (file, dataset, website, dates, output path, tables not
synced); 4 the database failed or could not be reached.
"""


class InputError(Exception):
    """Bad input: one line for the person who ran the command (exit 2)."""


class DatabaseUnreachable(Exception):
    """The destination did not answer (exit 4)."""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = Parser(
        prog="databuddy-report",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(__doc__ or "").split(" The views")[0],
        epilog=EXAMPLES,
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--duckdb",
        type=Path,
        help="a DuckDB file a sync wrote (default: the one databuddy-sync writes: "
        "DESTINATION__DUCKDB__CREDENTIALS, else ./databuddy_warehouse.duckdb)",
    )
    where.add_argument(
        "--destination",
        help="a dlt destination (postgres, ...), credentials from dlt config or the environment "
        "(e.g. DESTINATION__POSTGRES__CREDENTIALS)",
    )
    p.add_argument("--dataset", default="databuddy", help="dataset (schema) name (databuddy)")
    p.add_argument(
        "--website", help="website id, domain or name (default: the one with the most views)"
    )
    p.add_argument("--start", type=_day, help="first day, YYYY-MM-DD (default: 28 days before end)")
    p.add_argument("--end", type=_day, help="last day, YYYY-MM-DD (default: the last synced day)")
    p.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), help=f"output ({DEFAULT_OUT})")
    p.add_argument(
        "--create-models",
        action="store_true",
        help="create or replace the model views first, even when they exist (needs write "
        "access; views missing are always created)",
    )
    args = p.parse_args(argv)
    if args.duckdb is None and args.destination is None:
        from ..destinations import duckdb_file

        args.duckdb = Path(duckdb_file())
        args.duckdb_default = True
    return args


def _has_models(database: Any) -> bool:
    from ..report.data import relations

    return MODELS_VIEW in relations(database)


def _creating(dataset: str) -> None:
    print(
        f"Dataset {dataset} has no model views yet: creating them (databuddy-sync --models "
        "also loads the weekly and monthly tables their period sections read)...",
        flush=True,
    )


@contextmanager
def open_database(args: argparse.Namespace) -> Iterator[Any]:
    """The dataset to read, with its model views created when missing (or asked for): the
    DuckDB file, or the destination through a throwaway dlt pipeline (its working folder is
    temporary: nothing is left behind)."""
    import dlt

    from ..models import create_models
    from ..report import DuckDBFile, SqlClientDatabase

    if args.duckdb is not None:
        if not args.duckdb.is_file():  # dlt would create an empty database there
            hint = (
                ": run databuddy-sync first (it writes that file), or name the file with "
                "--duckdb PATH or another destination with --destination"
                if getattr(args, "duckdb_default", False)
                else ""
            )
            raise InputError(f"--duckdb {args.duckdb}: no such file{hint}")
        database: Any = DuckDBFile(args.duckdb, args.dataset)
        if args.create_models or not _has_models(database):
            database.close()  # read-only: the views are written through a pipeline
            if not args.create_models:
                _creating(args.dataset)
            with _pipeline(dlt.destinations.duckdb(str(args.duckdb)), args.dataset) as pipeline:
                print(create_models(pipeline).describe(), flush=True)
            database = DuckDBFile(args.duckdb, args.dataset)
        try:
            yield database
        finally:
            database.close()
        return
    if args.destination == "duckdb":
        raise InputError("for DuckDB, give the file: --duckdb PATH")
    with _pipeline(args.destination, args.dataset) as pipeline:
        client = pipeline.sql_client()
        try:
            client.open_connection()
        except Exception as exc:  # each driver has its own errors for "not there"
            raise DatabaseUnreachable(
                f"{args.destination} could not be reached: {str(exc).strip().splitlines()[0]}"
            ) from exc
        try:
            on_client = SqlClientDatabase(client)
            if args.create_models or not _has_models(on_client):
                if not args.create_models:
                    _creating(args.dataset)
                print(create_models(client).describe(), flush=True)
            yield on_client
        finally:
            client.close_connection()


@contextmanager
def _pipeline(destination: Any, dataset: str) -> Iterator[Any]:
    import dlt

    with tempfile.TemporaryDirectory(prefix="databuddy-report-") as folder:
        yield dlt.pipeline(
            pipeline_name="databuddy_report",
            pipelines_dir=folder,
            destination=destination,
            dataset_name=dataset,
        )


def write_report(args: argparse.Namespace) -> str:
    """Read, render and write the report; the line to print."""
    from ..report import build_report

    out = args.out.resolve()
    if not out.parent.is_dir():
        raise InputError(f"--out {args.out}: folder {out.parent} does not exist")
    with open_database(args) as database:
        return build_report(database, out, args.website, args.start, args.end)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed
        return int(exc.code or 0)
    import duckdb
    from dlt.common.configuration.exceptions import ConfigFieldMissingException
    from dlt.common.destination.exceptions import UnknownDestinationModule
    from dlt.destinations.exceptions import DatabaseException

    from ..models import ModelsError
    from ..report import ReportInputError

    try:
        print(write_report(args))
        return EXIT_OK
    except (InputError, ReportInputError, ModelsError) as exc:
        return _fail(EXIT_INPUT, str(exc))
    except UnknownDestinationModule:
        return _fail(EXIT_INPUT, f"unknown destination {args.destination!r}: use e.g. postgres")
    except ConfigFieldMissingException:
        return _fail(
            EXIT_INPUT,
            f"no credentials for {args.destination}: set them in .dlt/secrets.toml or as "
            f"DESTINATION__{str(args.destination).upper()}__CREDENTIALS",
        )
    except DatabaseUnreachable as exc:
        return _fail(EXIT_DESTINATION, str(exc))
    except (DatabaseException, duckdb.Error) as exc:  # e.g. the file locked by a running sync
        return _fail(EXIT_DESTINATION, f"the database failed: {str(exc).splitlines()[0]}")
    except OSError as exc:
        return _fail(EXIT_INPUT, f"cannot write --out {args.out}: {exc.strerror or exc}")


def _fail(code: int, message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
