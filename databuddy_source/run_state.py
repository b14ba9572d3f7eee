"""What a run keeps in the slices resource's dlt state, and how it moves: each table's
``loaded_through`` and ``settled_through`` by parent, the days that failed (read again next run),
the time zone of the tables' days, and the start date the pipeline first ran with."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from .errors import ConfigurationError
from .planning import PlannedSlice, Window, settled_through

STATE_KEY = "loaded_through"
SETTLED_KEY = "settled_through"  # table -> parent -> last day loaded when already final
SIZES_KEY = "rows_per_slice"  # table -> most rows one slice held: packs the next run's requests
FAILED_KEY = "failed_days"  # table -> parent -> slice days that failed: read again next run
TIMEZONE_KEY = "timezone"  # the zone the tables' days are in (a change is refused)
FIRST_START_KEY = "first_start_date"  # the start date the pipeline first ran with
MAX_FAILED_DAYS = 400  # failed days kept per table and parent (a parent dead for a year)


def check_timezone(resource_state: dict[str, Any], timezone: str) -> None:
    """Refuse to mix days of two zones in one set of tables: the first run's zone stays."""
    before = resource_state.get(TIMEZONE_KEY)
    if before is not None and before != timezone and resource_state.get(STATE_KEY):
        raise ConfigurationError(
            f"sources.databuddy.timezone: this pipeline's tables hold days of {before}, not "
            f"{timezone}. Set timezone back to {before}, or reload every table in {timezone} "
            "with --full-refresh (or another pipeline name and dataset)"
        )
    resource_state[TIMEZONE_KEY] = timezone


def remembered_start(resource_state: dict[str, Any], window: Window) -> Window:
    """The window, starting at the start date the pipeline first ran with when none is given:
    a table an earlier run could not read is then read from there, not from the website's
    creation (which can be years of slices)."""
    if window.end_date is not None:
        return window
    if window.start_date is not None:
        resource_state.setdefault(FIRST_START_KEY, window.start_date.isoformat())
        return window
    first = resource_state.get(FIRST_START_KEY)
    return replace(window, start_date=date.fromisoformat(first)) if first else window


def remember_failed(
    failed_days: dict[str, dict[str, list[str]]],
    slices: list[PlannedSlice],
    failed_on: dict[tuple[str, str], set[str]],
    skipped: set[tuple[str, str]],
    leftover: list[PlannedSlice],
) -> None:
    """Each read (table, parent): the days that failed now, and those a stopped run left
    unread, are read again next run (the days read now leave that list; the newest
    ``MAX_FAILED_DAYS`` are kept)."""
    unread: dict[tuple[str, str], set[str]] = {}
    for s in leftover:
        unread.setdefault((s.spec.table_name, s.parent.id), set()).add(s.start.isoformat())
    for table, parent_id in {(s.spec.table_name, s.parent.id) for s in slices} - skipped:
        key = (table, parent_id)
        days = sorted(failed_on.get(key, set()) | unread.get(key, set()))[-MAX_FAILED_DAYS:]
        by_parent = failed_days.setdefault(table, {})
        if days:
            by_parent[parent_id] = days
        else:
            by_parent.pop(parent_id, None)


def advance(
    state: dict[str, dict[str, str]],
    settled: dict[str, dict[str, str]],
    slices: list[PlannedSlice],
    leftover: list[PlannedSlice],
    skipped: set[tuple[str, str]],
    window: Window,
) -> None:
    """Move each read table's ``loaded_through`` for this parent: to the window's end, or to
    the day before the first slice this run left for the next one; and its ``settled_through``
    (the days of it too old for late data, which the lookback need not read again). Tables in
    ``skipped`` (not read at all: plan, catalogue) keep theirs; failed days are read again by
    the next run (``failed_days``), not the history before them."""
    first_left: dict[tuple[str, str], date] = {}
    for s in leftover:
        key = (s.spec.table_name, s.parent.id)
        first_left[key] = min(first_left.get(key, s.start), s.start)
    for table, parent_id in {(s.spec.table_name, s.parent.id) for s in slices} - skipped:
        through = window.complete_through
        if (table, parent_id) in first_left:
            through = first_left[(table, parent_id)] - timedelta(days=1)
            before = state.get(table, {}).get(parent_id)
            if before is not None and date.fromisoformat(before) >= through:
                continue  # only the re-read days were done: keep what was already complete
        state.setdefault(table, {})[parent_id] = through.isoformat()
        settled.setdefault(table, {})[parent_id] = settled_through(window, through).isoformat()
