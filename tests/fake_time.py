"""A fake clock for tests: ``sleep`` records the wait and moves the clocks instead of sleeping."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class FakeTime:
    """Wall and monotonic clocks that move only when ``sleep`` is called."""

    wall: float = field(default_factory=time.time)
    mono: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.wall += seconds
        self.mono += seconds

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono
