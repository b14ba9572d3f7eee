"""Hand freed memory back to the operating system.

glibc's allocator keeps freed heap pages (decoded answers are short-lived and large), so a
long run's resident memory grows with the rows it has read although Python holds little of it.
``malloc_trim`` returns those pages. glibc also gives threads arenas of their own (up to eight
per core), and the fetch threads, dlt's load workers and DuckDB's threads each leave pages in
theirs: :func:`limit_malloc_arenas` caps them. Elsewhere (musl, macOS) both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable

import pyarrow as pa


def _libc_function(name: str) -> Callable[..., int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        function: Callable[..., int] = getattr(libc, name)
    except (OSError, AttributeError):
        return None
    return function


_TRIM = _libc_function("malloc_trim")
_MALLOPT = _libc_function("mallopt")
_M_ARENA_MAX = -8  # glibc's mallopt parameter
MALLOC_ARENAS = 2


def limit_malloc_arenas() -> None:
    """Cap glibc's arenas at :data:`MALLOC_ARENAS` for the threads that start from now on: the
    fetch threads then share freed pages instead of each keeping its own. A setting of the
    whole process, so only a program's ``main`` calls it (our CLI does), never the library.
    ``MALLOC_ARENA_MAX`` in the environment wins."""
    if _MALLOPT is not None and "MALLOC_ARENA_MAX" not in os.environ:
        _MALLOPT(_M_ARENA_MAX, MALLOC_ARENAS)


def release_freed_memory() -> None:
    """Return free pages of the C heap and of Arrow's pool to the OS (a few milliseconds; call
    between batches)."""
    pa.default_memory_pool().release_unused()
    if _TRIM is not None:
        _TRIM(0)
