"""The virtual clock: what the emulator believes "now" is."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class VirtualClock:
    """A clock that starts at ``start``; it runs with the wall clock unless ``frozen``.

    Queries see only rows ingested at or before :meth:`now`, so advancing the clock makes late
    data appear.
    """

    def __init__(self, start: datetime, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._anchor = start.astimezone(UTC)
        self._anchor_monotonic = time.monotonic()
        self._frozen = frozen

    def now(self) -> datetime:
        """The current virtual time (aware, UTC, millisecond precision)."""
        with self._lock:
            current = self._anchor
            if not self._frozen:
                current += timedelta(seconds=time.monotonic() - self._anchor_monotonic)
        return current.replace(microsecond=current.microsecond // 1000 * 1000)

    def set(self, when: datetime, frozen: bool | None = None) -> None:
        with self._lock:
            self._anchor = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
            self._anchor_monotonic = time.monotonic()
            if frozen is not None:
                self._frozen = frozen

    def advance(self, delta: timedelta) -> datetime:
        self.set(self.now() + delta)
        return self.now()

    @property
    def frozen(self) -> bool:
        return self._frozen
