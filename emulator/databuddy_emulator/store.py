"""The emulator's state: config, fixed objects, raw events in DuckDB, the virtual clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import duckdb

from .cache import QueryCache, ResultCache
from .clock import VirtualClock
from .config import EmulatorConfig
from .fixtures import Registry, build_registry
from .generate import build_database


class Store:
    """Everything a request handler reads. Thread-safe: each reader gets its own cursor."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.registry: Registry = build_registry(config)
        self.clock = VirtualClock(config.now, frozen=config.frozen)
        self._con = build_database(config, self.registry)
        self.lock = threading.RLock()  # guards registry mutations
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self.results = ResultCache() if config.result_cache else None
        self.query_cache = QueryCache(config.query_cache_seconds)
        self.max_result_rows = config.max_result_rows
        self.max_execution_seconds = config.max_execution_seconds

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB cursor for the calling thread (reused across calls in that thread)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute("SET enable_progress_bar = false")
            self._local.cursor = cur
            with self.lock:
                self._cursors.append(cur)
        yield cur

    def changed(self) -> None:
        """Something an answer may depend on changed (registry, clock, faults)."""
        if self.results is not None:
            self.results.clear()
        self.query_cache.clear()

    def close(self) -> None:
        """Close every cursor and the database (worker threads may outlive the server)."""
        with self.lock:
            for cur in self._cursors:
                cur.close()
            self._cursors.clear()
        self._con.close()

    def now(self) -> datetime:
        """Virtual now, naive UTC (the form raw tables use)."""
        return self.clock.now().replace(tzinfo=None)
