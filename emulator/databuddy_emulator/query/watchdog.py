"""Stops queries that run past their time limit: one daemon thread, started on first use, checks
the running queries' deadlines a few times a second and interrupts the late ones (cheaper than a
timer thread per query)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb


@dataclass(slots=True)
class Deadline:
    """One guarded query; ``fired`` tells whether the watchdog interrupted it."""

    at: float
    cursor: duckdb.DuckDBPyConnection
    fired: bool = False


@dataclass(slots=True)
class Watchdog:
    period: float = 0.1
    _running: dict[int, Deadline] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    @contextmanager
    def guard(self, cursor: duckdb.DuckDBPyConnection, seconds: float) -> Iterator[Deadline]:
        """Interrupt ``cursor``'s query if it is still running ``seconds`` from now."""
        deadline = Deadline(time.monotonic() + seconds, cursor)
        key = next(self._ids)
        with self._lock:
            self._running[key] = deadline
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="emulator-query-watchdog", daemon=True
                )
                self._thread.start()
        try:
            yield deadline
        finally:
            with self._lock:
                self._running.pop(key, None)

    def _watch(self) -> None:
        while True:
            time.sleep(self.period)
            now = time.monotonic()
            with self._lock:
                for deadline in self._running.values():
                    if not deadline.fired and now >= deadline.at:
                        deadline.fired = True
                        deadline.cursor.interrupt()


WATCHDOG = Watchdog()
