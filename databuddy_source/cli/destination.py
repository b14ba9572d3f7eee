"""The pipeline ``databuddy-sync`` loads with, and the checks of its destination that can run
before the first API request (so a wrong path or a refused password fails in seconds)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

DEMO_DUCKDB_FILE = "databuddy_demo.duckdb"
CONFIGURED = "DESTINATION__DUCKDB__CREDENTIALS ([destination.duckdb] credentials)"


class DestinationUnavailable(Exception):
    """The destination cannot be opened or refuses the connection (exit 4)."""


def duckdb_file(args: argparse.Namespace) -> tuple[str, str]:
    """The DuckDB file to load into, and what chose it (for messages): ``--duckdb-path``, then
    the demo's file, then dlt config, then ``./databuddy_warehouse.duckdb``."""
    from ..destinations import configured_duckdb_file, duckdb_file

    if args.duckdb_path:
        return args.duckdb_path, "--duckdb-path"
    if args.demo:
        return DEMO_DUCKDB_FILE, "--demo"
    if configured_duckdb_file():
        return duckdb_file(), CONFIGURED
    return duckdb_file(), "the default DuckDB file"


def pipeline_name(args: argparse.Namespace) -> str:
    name: str = args.pipeline_name + ("_demo" if args.demo else "")
    if args.shard:
        index, count = args.shard.split("/")
        name += f"_shard_{index}_of_{count}"
    return name


def build_pipeline(args: argparse.Namespace) -> Any:
    """The dlt pipeline of this run. DuckDB takes its file as :func:`duckdb_file` says and every
    other setting from dlt config; other destinations are dlt's, configured by dlt config."""
    import dlt

    from ..destinations import check_duckdb_file
    from ..destinations import duckdb as duckdb_destination

    config: dict[str, Any] = {}
    if args.shard:  # own state, own staging tables: shards never touch each other's
        index, count = args.shard.split("/")
        config["staging_dataset_name_layout"] = f"%s_staging_shard_{index}_of_{count}"
    destination: Any = args.destination or "duckdb"
    if destination == "duckdb":
        path, option = duckdb_file(args)
        check_duckdb_file(path, args.dataset or "databuddy", option)
        limit = args.duckdb_memory_limit
        if limit is None:
            destination = duckdb_destination(path, **config)
        else:
            memory_limit = None if limit == "none" else limit
            destination = duckdb_destination(path, memory_limit=memory_limit, **config)
    else:  # PostgreSQL through this package's faster clients; anything else is dlt's own
        from ..destinations import destination_for

        destination = destination_for(destination, **config)
    return dlt.pipeline(
        pipeline_name=pipeline_name(args),
        destination=destination,
        dataset_name=args.dataset or "databuddy",
    )


def check_destination(args: argparse.Namespace, pipeline: Any) -> None:
    """Before any API request: the DuckDB file can be created or opened, or PostgreSQL accepts
    the credentials. Raises :class:`ConfigurationError` (exit 2) for a path to fix, and
    :class:`DestinationUnavailable` (exit 4) for a destination that refuses."""
    kind = str(pipeline.destination.destination_type).rsplit(".", 1)[-1]
    if kind == "duckdb":
        path, option = duckdb_file(args)
        check_duckdb_target(path, option)
    elif kind == "postgres":
        check_connection(pipeline, kind)


def check_duckdb_target(path: str, option: str) -> None:
    """The file's folder exists; the file opens (not locked by another process, not
    corrupt) or, when new, can be created there."""
    import duckdb

    if path == ":memory:":
        return
    target = Path(path).expanduser().resolve()
    if not target.parent.is_dir():
        raise ConfigurationError(
            f"{option}: the DuckDB file {path} is in a folder that does not exist "
            f"({target.parent}): create it (mkdir -p {target.parent}) or give another path"
        )
    if target.is_dir():
        raise ConfigurationError(f"{option}: {path} is a folder; give the path of a file in it")
    if target.exists():
        try:
            duckdb.connect(str(target)).close()
        except duckdb.Error as exc:
            raise DestinationUnavailable(
                f"the DuckDB file {target} cannot be opened: {_first_line(exc)}"
            ) from exc
        return
    try:
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        target.unlink()
    except OSError as exc:
        raise DestinationUnavailable(
            f"the DuckDB file {target} cannot be created: {exc.strerror or exc}"
        ) from exc


def check_connection(pipeline: Any, kind: str) -> None:
    """Open and close one connection to the destination (missing credentials stay dlt's
    ConfigFieldMissingException: exit 2)."""
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    try:
        with pipeline.sql_client():
            pass
    except ConfigFieldMissingException:
        raise
    except Exception as exc:  # each driver has its own errors for "not there", "refused"
        raise DestinationUnavailable(
            f"the {kind} destination refused the connection: {_first_line(exc)}. Check its "
            f"credentials (DESTINATION__{kind.upper()}__CREDENTIALS or "
            f"[destination.{kind}.credentials] in .dlt/secrets.toml) and that it is running"
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
