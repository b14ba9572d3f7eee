"""Destinations built the way the connector's own runs use them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from .errors import ConfigurationError

DEFAULT_DUCKDB_FILE = "databuddy_warehouse.duckdb"  # not databuddy.duckdb: see check_duckdb_file

# DuckDB's own default is 80% of the machine's memory, and loading a package of ~1M rows takes
# about 200 MB above the extract: a cap keeps the whole run flat (it spills to disk instead).
DUCKDB_MEMORY_LIMIT = "128MB"


def check_duckdb_file(path: str | Path, dataset_name: str, option: str) -> None:
    """Refuse a DuckDB file named like the dataset: DuckDB names the catalog after the file, and
    a catalog and schema of one name make every load fail ("Ambiguous reference to catalog or
    schema")."""
    if Path(path).stem == dataset_name:
        raise ConfigurationError(
            f"{option}: the DuckDB file {str(path)!r} is named like the dataset "
            f"{dataset_name!r}, which DuckDB cannot tell apart (every load fails with "
            "'Ambiguous reference to catalog or schema'). Give the file another name, e.g. "
            f"{DEFAULT_DUCKDB_FILE}"
        )


def duckdb(path: str | Path, memory_limit: str | None = DUCKDB_MEMORY_LIMIT, **config: Any) -> Any:
    """A DuckDB file destination with its memory capped (``None``: DuckDB's default);
    ``config``: more destination settings (e.g. ``staging_dataset_name_layout``)."""
    settings = {"memory_limit": memory_limit} if memory_limit else None
    credentials = DuckDbCredentials(str(Path(path).resolve()), global_config=settings)
    return dlt.destinations.duckdb(credentials, **config)
