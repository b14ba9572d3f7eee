"""Progress of a sync people can read: on a terminal, a live block with a bar per website (or
link, monitor) being read and a total line; elsewhere (a log file, cron), one line every N
seconds. Both say slices done / planned, requests, rows, the time left, and when requests are
waiting for the API's rate limit. No dependency: a few ANSI codes on a terminal."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

BAR_WIDTH = 20
TTY_PERIOD = 0.5  # seconds between redraws of the live block
MAX_BARS = 8  # parents shown at once (those being read first)


def duration(seconds: float) -> str:
    """``45s``, ``3m05s``, ``2h07m``."""
    s = max(round(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def bar(done: int, planned: int, width: int = BAR_WIDTH) -> str:
    filled = width if planned <= 0 else min(width, done * width // planned)
    return "[" + "#" * filled + "." * (width - filled) + "]"


class Progress:
    """Renders the progress of the runs it follows (:meth:`follow`) to ``stream``.

    ``live`` chooses the terminal block (default: when ``stream`` is a terminal), redrawn
    twice a second; otherwise a line every ``every`` seconds. ``every`` 0 shows nothing.
    ``waiting`` gives the seconds requests are waiting for the rate limit; ``clock`` the time
    (both injectable for tests).
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        every: float = 30.0,
        live: bool | None = None,
        waiting: Callable[[], float] = lambda: 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.every = every
        self.waiting = waiting
        self.clock = clock
        self._lock = threading.RLock()
        self._drawn = 0  # lines of the live block on screen
        self._report: Any = None
        self._title = ""
        self._began: float | None = None  # when the followed run had planned its slices

    # ------------------------------------------------------------------ what is shown
    def track(self, report: Any, title: str) -> None:
        """Show ``report`` (a SyncReport, filled while its run reads) under ``title`` from now."""
        with self._lock:
            self._report, self._title, self._began = report, title, None

    def lines(self) -> list[str]:
        """The block (live) or the one line (log) for the followed run's state now."""
        report = self._report
        if report is None or not report.planned:
            return []
        planned = dict(report.planned)
        done = {name: report.done.get(name, 0) for name in planned}
        total, read = sum(planned.values()), sum(done.values())
        now = self.clock()
        if self._began is None:
            self._began = now
        elapsed = now - self._began
        finished = sum(1 for name in planned if done[name] >= planned[name])
        state = []  # what is happening: time left, waits
        wait = self.waiting()
        if read >= total:
            state.append("all read; loading into the destination")
        elif read and elapsed >= 2:
            state.append(f"ETA {duration(max(elapsed * (total - read) / read, wait))}")
        if wait >= 1:
            state.append(f"waiting {wait:.0f} s for the rate limit")
        counts = [
            f"{finished}/{len(planned)} {_parents(planned)} done",
            f"{report.requests:,} requests",
            f"{report.rows:,} rows",
        ]
        if not self.live:
            facts = [f"{read:,}/{total:,} slices", *counts, *state]
            return [f"progress: {self._title}: " + ", ".join(facts)]
        active = [n for n in planned if 0 < done[n] < planned[n]]
        queued = [n for n in planned if done[n] == 0]
        shown = (active + queued)[:MAX_BARS]
        width = max((len(n) for n in shown), default=0)
        block = [f"  {n:<{width}} {bar(done[n], planned[n])} {done[n]}/{planned[n]}" for n in shown]
        more = len(active) + len(queued) - len(shown)
        if more > 0:
            block.append(f"  ... and {more} more")
        block.append(
            " · ".join([f"{self._title} {bar(read, total)} {read:,}/{total:,} slices", *state])
        )
        block.append("  " + " · ".join(counts))
        columns = shutil.get_terminal_size((100, 20)).columns
        return [line[: columns - 1] for line in block]

    # ------------------------------------------------------------------ drawing
    def _clear(self) -> None:
        if self._drawn:
            up = f"\x1b[{self._drawn - 1}A" if self._drawn > 1 else ""
            self.stream.write(f"\r{up}\x1b[J")
            self._drawn = 0

    def _draw(self) -> None:
        block = self.lines()
        if self.live:
            self._clear()
            if block:
                self.stream.write("\n".join(block))
                self._drawn = len(block)
        elif block:
            self.stream.write(block[0] + "\n")
        self.stream.flush()

    def write(self, text: str) -> None:
        """A line of its own (a log record) above the live block."""
        with self._lock:
            self._clear()
            self.stream.write(text.rstrip("\n") + "\n")
            if self.live and self._report is not None:
                self._draw()
            self.stream.flush()

    @contextmanager
    def follow(self, report: Any, title: str) -> Iterator[None]:
        """Show ``report``'s progress (a SyncReport, filled while the run reads) until the
        block ends; the live block is cleared at the end (the summary follows)."""
        period = TTY_PERIOD if self.live else self.every
        if self.every <= 0:  # turned off
            yield
            return
        stop = threading.Event()
        self.track(report, title)

        def tick() -> None:
            while not stop.wait(period):
                with self._lock:
                    self._draw()

        ticker = threading.Thread(target=tick, name="databuddy-progress", daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join()
            with self._lock:
                self._clear()
                self._report = None
                self.stream.flush()


KIND_NAMES = {"website": "websites", "organization": "organizations", "link": "links"}
KIND_NAMES["schedule"] = "monitors"  # uptime monitors: their types read per schedule


def _parents(planned: dict[str, Any]) -> str:
    kinds = {name.split(" ", 1)[0] for name in planned}
    ordered = [k for k in KIND_NAMES if k in kinds] + sorted(kinds - KIND_NAMES.keys())
    return "/".join(KIND_NAMES.get(k, k + "s") for k in ordered)


class ProgressHandler(logging.Handler):
    """Log records written above the live block instead of through it."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.progress.write(self.format(record))
        except Exception:
            self.handleError(record)
