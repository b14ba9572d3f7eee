"""The progress display of databuddy-sync, drawn from a run's report at set times: on a
terminal a bar per website being read and a total with the time left and rate-limit waits; in
a log, the same numbers on one line."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

from databuddy_source.cli.logs import ExpectedEmptyTables
from databuddy_source.cli.progress import Progress, bar, duration


@dataclass
class Report:
    """The fields of a SyncReport the display reads."""

    planned: dict[str, int] = field(default_factory=dict)
    done: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    rows: int = 0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_durations_and_bars_read_at_a_glance() -> None:
    assert [duration(s) for s in (4.4, 65, 3725)] == ["4s", "1m05s", "1h02m"]
    assert bar(5, 10, width=10) == "[#####.....]"
    assert bar(0, 0, width=4) == "[####]"


def test_a_log_line_has_slices_requests_rows_eta_and_the_wait() -> None:
    clock, wait = Clock(), [0.0]
    progress = Progress(io.StringIO(), live=False, waiting=lambda: wait[0], clock=clock)
    report = Report(planned={"website a.example": 100, "website b.example": 20})
    progress.track(report, "sync")
    assert progress.lines() == [
        "progress: sync: 0/120 slices, 0/2 websites done, 0 requests, 0 rows"
    ]
    clock.now += 30  # a quarter read in 30 s: 90 s to go
    report.done = {"website a.example": 10, "website b.example": 20}
    report.requests, report.rows = 3, 12_345
    wait[0] = 12.4
    assert progress.lines() == [
        "progress: sync: 30/120 slices, 1/2 websites done, 3 requests, 12,345 rows, ETA 1m30s, "
        "waiting 12 s for the rate limit"
    ]


def test_the_terminal_block_has_a_bar_per_website_being_read() -> None:
    clock = Clock()
    progress = Progress(io.StringIO(), live=True, clock=clock)
    report = Report(planned={"website a.example": 10, "link spring": 2, "website b": 4})
    progress.track(report, "sync")
    progress.lines()
    clock.now += 10
    report.done = {"website a.example": 5, "website b": 4}
    report.requests, report.rows = 2, 50
    assert progress.lines() == [
        "  website a.example [##########..........] 5/10",
        "  link spring       [....................] 0/2",
        "sync [###########.........] 9/16 slices · ETA 8s",
        "  1/3 websites/links done · 2 requests · 50 rows",
    ]


def test_log_records_go_above_the_live_block_and_the_block_is_cleared() -> None:
    stream = io.StringIO()
    progress = Progress(stream, live=True)
    report = Report(planned={"website a": 2}, done={"website a": 1})
    with progress.follow(report, "sync"):
        progress.write("WARNING databuddy_source: retrying in 1.0 s")
    text = stream.getvalue()
    assert "WARNING databuddy_source: retrying in 1.0 s\n" in text
    assert text.endswith("\x1b[J"), "the block is gone when the run ends"


def test_no_progress_lines_when_turned_off() -> None:
    stream = io.StringIO()
    with Progress(stream, live=False, every=0).follow(Report(planned={"website a": 1}), "sync"):
        pass
    assert stream.getvalue() == ""


def test_dlt_empty_column_warnings_are_dropped_for_our_tables_only() -> None:
    expected = ExpectedEmptyTables()
    expected.add(["flags", "alarms"])

    def record(text: str, level: int = logging.WARNING) -> logging.LogRecord:
        return logging.LogRecord("dlt", level, __file__, 1, text, None, None)

    ours = "The following columns in table 'flags' did not receive any data during this load"
    theirs = "The following columns in table `orders` did not receive any data during this load"
    assert not expected.filter(record(ours))
    assert expected.filter(record(theirs)), "another pipeline's table keeps its warning"
    assert expected.filter(record("something else about flags"))
