"""Hand freed memory back to the operating system.

glibc's allocator keeps freed heap pages (decoded answers are short-lived and large), so a
long run's resident memory grows with the rows it has read although Python holds little of it.
``malloc_trim`` returns those pages; elsewhere (musl, macOS) this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

import pyarrow as pa


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_TRIM = _malloc_trim()


def release_freed_memory() -> None:
    """Return free pages of the C heap and of Arrow's pool to the OS (a few milliseconds; call
    between batches)."""
    pa.default_memory_pool().release_unused()
    if _TRIM is not None:
        _TRIM(0)
