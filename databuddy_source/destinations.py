"""Destinations built the way the connector's own runs use them.

:func:`duckdb` and :func:`postgres` are dlt's DuckDB and PostgreSQL destinations (same
configuration sections, ``[destination.duckdb]``/``DESTINATION__POSTGRES__CREDENTIALS`` or
``destination_name``'s, and the same type in pipeline state) whose job clients load this
source's query-type tables faster (``merge/duckdb_client.py``). Every other table, and every
destination made by dlt itself, loads exactly as dlt loads it: nothing here changes dlt.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

import dlt
from dlt.common.destination import Destination
from dlt.common.destination.reference import DestinationReference
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from .errors import ConfigurationError

log = logging.getLogger(__name__)

DEFAULT_DUCKDB_FILE = "databuddy_warehouse.duckdb"  # not databuddy.duckdb: see check_duckdb_file

# DuckDB's own default is 80% of the machine's memory, and loading a package of ~1M rows takes
# about 200 MB above the extract: a cap keeps the whole run flat (it spills to disk instead).
DUCKDB_MEMORY_LIMIT = "128MB"

# The dlt releases the faster clients were tested with (they subclass dlt's clients and
# override methods that are not public API): [first, last] as (major, minor).
TESTED_DLT = ((1, 28), (1, 31))


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def fast_clients_tested(version: str | None = None) -> bool:
    """True if ``version`` of dlt (default: the one installed) is in :data:`TESTED_DLT`; else
    says, once per version, that the destinations load with dlt's own clients."""
    return _tested(version or dlt.__version__)


@cache
def _tested(version: str) -> bool:
    first, last = TESTED_DLT
    if first <= _minor(version) <= last:
        return True
    log.warning(
        "dlt %s is outside the range the faster Databuddy loads were tested with "
        "(%d.%d to %d.%d): loading with dlt's own clients",
        version,
        *first,
        *last,
    )
    return False


class _StockType:
    """A factory that presents itself as the dlt destination it extends: same type (pipeline
    state, ``Destination.from_reference``) and so the same name and config sections."""

    @property
    def destination_type(self) -> str:
        stock = next(c for c in type(self).__mro__ if c.__module__.startswith("dlt."))
        return DestinationReference.normalize_type(f"{stock.__module__}.{stock.__qualname__}")


class DuckDbDestination(_StockType, dlt.destinations.duckdb):
    """dlt's DuckDB destination with :class:`merge.duckdb_client.SliceDuckDbClient`, and DuckDB's
    ``memory_limit`` set to :attr:`memory_limit` unless the credentials' ``global_config``
    sets one."""

    memory_limit: str | None = None

    def configuration(self, initial_config: Any, accept_partial: bool = False) -> Any:
        config = super().configuration(initial_config, accept_partial)
        credentials = config.credentials
        if self.memory_limit and isinstance(credentials, DuckDbCredentials):
            settings = credentials.global_config or {}
            if "memory_limit" not in settings:
                credentials.global_config = {**settings, "memory_limit": self.memory_limit}
        return config

    @property
    def client_class(self) -> Any:
        if not fast_clients_tested():
            return super().client_class
        from .merge.duckdb_client import SliceDuckDbClient

        return SliceDuckDbClient


class PostgresDestination(_StockType, dlt.destinations.postgres):
    """dlt's PostgreSQL destination with :class:`merge.postgres_client.SlicePostgresClient`."""

    @property
    def client_class(self) -> Any:
        if not fast_clients_tested():
            return super().client_class
        from .merge.postgres_client import SlicePostgresClient

        return SlicePostgresClient


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


def configured_duckdb_file(destination_name: str = "duckdb") -> str | None:
    """The DuckDB file dlt config names for the destination (``DESTINATION__DUCKDB__CREDENTIALS``,
    or ``[destination.duckdb] credentials`` in secrets.toml or config.toml; another section for
    a destination named otherwise), if any."""
    key = f"destination.{destination_name}.credentials"
    value: Any = dlt.secrets.get(key)
    if value is None:
        value = dlt.config.get(key)
    if isinstance(value, dict):
        value = value.get("database")
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().removeprefix("duckdb:///")


def duckdb_file(destination_name: str = "duckdb") -> str:
    """The DuckDB file to load into when none is given: dlt config's, else
    :data:`DEFAULT_DUCKDB_FILE` (in the working folder)."""
    return configured_duckdb_file(destination_name) or DEFAULT_DUCKDB_FILE


def duckdb(
    path: str | Path | None = None,
    memory_limit: str | None = DUCKDB_MEMORY_LIMIT,
    **config: Any,
) -> DuckDbDestination:
    """A DuckDB file destination with its memory capped (``None``: DuckDB's default). ``path``:
    the file; None takes :func:`duckdb_file` (of ``destination_name``, if given). ``config``:
    more destination settings (e.g. ``staging_dataset_name_layout``, ``destination_name``)."""
    if path is None:
        path = duckdb_file(config.get("destination_name") or "duckdb")
    credentials = str(Path(path).resolve())
    destination = DuckDbDestination(credentials, **config)
    destination.memory_limit = memory_limit
    return destination


def destination_for(name: str, **config: Any) -> Any:
    """The destination ``name`` (a dlt destination name or reference): this module's for
    ``duckdb`` (file and settings from dlt config, memory capped) and ``postgres``, dlt's own
    for any other. ``config``: destination settings, as for ``Destination.from_reference``."""
    if name == "duckdb":
        return duckdb(None, **config)
    if name == "postgres":
        return postgres(None, **config)
    return Destination.from_reference(name, **config)


def postgres(credentials: Any = None, **config: Any) -> PostgresDestination:
    """A PostgreSQL destination; ``credentials`` (a connection string or dlt credentials) and
    ``config`` as for ``dlt.destinations.postgres``; None takes them from dlt config
    (``DESTINATION__POSTGRES__CREDENTIALS``, ``[destination.postgres]``)."""
    return PostgresDestination(credentials, **config)
