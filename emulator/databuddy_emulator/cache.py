"""Caches of parameter results: the API database's 60-second query cache
(``EmulatorConfig.query_cache_seconds``), and memoized results for benchmarks
(``EmulatorConfig.result_cache``).

Rows are kept serialized (an ``orjson.Fragment``: ~80 bytes a row instead of ~700 as dicts) and
spliced into the answer unchanged, so a cached answer is byte-identical to a computed one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import orjson


class ResultCache:
    """A thread-safe LRU of serialized rows, bounded in bytes."""

    def __init__(self, max_bytes: int = 4 << 30) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[orjson.Fragment, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> orjson.Fragment | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, serialized: bytes) -> orjson.Fragment:
        fragment = orjson.Fragment(serialized)
        with self._lock:
            if key not in self._items:
                self._items[key] = (fragment, len(serialized))
                self._bytes += len(serialized)
            while self._bytes > self.max_bytes and self._items:
                _, (_, size) = self._items.popitem(last=False)
                self._bytes -= size
        return fragment

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


class QueryCache:
    """The API database's query cache: a result is stored when a query runs for the second time
    and served to identical queries until ``ttl`` seconds (virtual time) after it was stored.

    Keys are whatever identifies a query's text; values are serialized rows. Thread-safe and
    bounded: a run count is forgotten ``ttl`` seconds after the first run, and at most
    ``max_keys`` counts and ``max_bytes`` of results are kept (the oldest go first), so a long
    benchmark of distinct queries does not grow it without end.
    """

    def __init__(
        self, ttl: float, min_runs: int = 2, max_keys: int = 100_000, max_bytes: int = 256 << 20
    ) -> None:
        self.ttl = ttl
        self.min_runs = min_runs
        self.max_keys, self.max_bytes = max_keys, max_bytes
        self._runs: OrderedDict[Hashable, tuple[int, float]] = OrderedDict()  # count, first run
        self._items: OrderedDict[Hashable, tuple[float, orjson.Fragment, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, key: Hashable, now: float) -> orjson.Fragment | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if now >= item[0]:
                self._drop(key)
                return None
            self.hits += 1
            return item[1]

    def ran(self, key: Hashable, now: float, serialized: bytes) -> orjson.Fragment:
        """Note one run of ``key`` (stored from its ``min_runs``-th run on)."""
        fragment = orjson.Fragment(serialized)
        with self._lock:
            count, first = self._runs.pop(key, (0, now))
            if now - first >= self.ttl:
                count, first = 0, now
            if count + 1 < self.min_runs:
                self._runs[key] = (count + 1, first)
                while len(self._runs) > self.max_keys:
                    self._runs.popitem(last=False)
                return fragment
            self._drop(key)
            self._items[key] = (now + self.ttl, fragment, len(serialized))
            self._bytes += len(serialized)
            while self._bytes > self.max_bytes or len(self._items) > self.max_keys:
                self._drop(next(iter(self._items)))
        return fragment

    def _drop(self, key: Hashable) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self._bytes -= item[2]

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()
            self._items.clear()
            self._bytes = 0
