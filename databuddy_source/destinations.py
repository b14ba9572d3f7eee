"""Destinations built the way the connector's own runs use them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

# DuckDB's own default is 80% of the machine's memory, and loading a package of ~1M rows takes
# about 200 MB above the extract: a cap keeps the whole run flat (it spills to disk instead).
DUCKDB_MEMORY_LIMIT = "128MB"


def duckdb(path: str | Path, memory_limit: str | None = DUCKDB_MEMORY_LIMIT, **config: Any) -> Any:
    """A DuckDB file destination with its memory capped (``None``: DuckDB's default);
    ``config``: more destination settings (e.g. ``staging_dataset_name_layout``)."""
    settings = {"memory_limit": memory_limit} if memory_limit else None
    credentials = DuckDbCredentials(str(Path(path).resolve()), global_config=settings)
    return dlt.destinations.duckdb(credentials, **config)
