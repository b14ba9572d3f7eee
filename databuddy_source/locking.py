"""One sync per pipeline at a time: an advisory file lock beside the pipeline's working folder.

dlt keeps a pipeline's state and pending load packages in one local folder; two processes
extracting into it at once would corrupt both. The lock is released by the OS when the process
ends, however it ends (a SIGKILL too), so a crashed run never blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PipelineBusy(RuntimeError):
    """Another process holds the pipeline's lock."""


@contextmanager
def pipeline_lock(pipelines_dir: str, pipeline_name: str, *, wait: bool = False) -> Iterator[Path]:
    """Hold ``<pipelines_dir>/<pipeline_name>.lock`` for the duration of the block.

    Raises :class:`PipelineBusy` naming the holder when ``wait`` is false and the lock is taken.
    """
    path = Path(pipelines_dir) / f"{pipeline_name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle.fileno(), flags)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise PipelineBusy(
                f"another sync of pipeline {pipeline_name!r} is running ({holder}); wait for "
                f"it to finish, or pass --wait to queue behind it (lock: {path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        try:
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
