"""Pure planning: from options, parents and incremental state to the slices a run reads.

No I/O here: everything is a function of its arguments, so the plan is testable from small
fixtures and ``databuddy-sync --dry-run`` can print it without sending a query.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .catalog import TableSpec
from .slices import Slice

# A series is read one day per parameter: a day's values (bounce rate, session medians) depend
# on the range a query covers, so only day-sized reads give every day one well-defined answer.
SERIES_CHUNK_DAYS = 1


@dataclass(frozen=True, slots=True)
class Parent:
    """What a table row hangs on: a website, link, uptime monitor or organization."""

    kind: str
    id: str
    created: date
    name: str | None = None
    website_id: str | None = None  # for organizations: one website to resolve the owner by
    deleted: bool = False  # soft-deleted upstream: its history is still synced


@dataclass(frozen=True, slots=True)
class Window:
    """Options that bound every (table, parent) window (their defaults are the source's, in
    :data:`databuddy_source.options.OPTIONS`)."""

    today: date
    lookback_days: int
    include_today: bool = False
    start_date: date | None = None
    end_date: date | None = None  # a bounded backfill: reads exactly this range, keeps state

    @property
    def last_day(self) -> date:
        if self.end_date is not None:
            return self.end_date
        return self.today if self.include_today else self.today - timedelta(days=1)

    @property
    def complete_through(self) -> date:
        """The last day a run may record as fully loaded (never today: it is still moving)."""
        return min(self.last_day, self.today - timedelta(days=1))


@dataclass(frozen=True, slots=True)
class PlannedSlice:
    """One parameter object to send, and which table rows and days it answers for."""

    spec: TableSpec
    parent: Parent
    slice_date: date  # the key date of a period or snapshot slice; a series' first day
    start: date
    end: date
    days: tuple[date, ...] = field(default=())  # a series' days (each one a slice key)

    @property
    def id(self) -> str:
        return f"{self.spec.table_name}:{self.slice_date.isoformat()}"

    def bounds(self) -> tuple[str, str]:
        """The range to send: dates in UTC (and for types whose range the API reads in the
        zone); else the UTC instants of the local days' first and last second."""
        zone = self.spec.zone
        if zone == "UTC" or self.spec.range_in_zone:
            return self.start.isoformat(), self.end.isoformat()
        return utc_instant(self.start, zone), utc_instant(self.end + timedelta(days=1), zone, -1)

    def to_slice(self) -> Slice:
        start, end = self.bounds()
        return Slice(self.spec.name, start, end, self.id, "hourly" if self.spec.hourly else None)


def utc_instant(day: date, zone: str, seconds: int = 0) -> str:
    """``day``'s local midnight in ``zone`` (plus ``seconds``) as a UTC instant
    (``YYYY-MM-DDTHH:MM:SSZ``)."""
    local = datetime.combine(day, time(), ZoneInfo(zone))
    return (local.astimezone(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def first_day(
    spec: TableSpec,
    parent: Parent,
    window: Window,
    loaded_through: str | None,
    settled_through: str | None = None,
) -> date:
    """Where a (table, parent) window starts: the re-read lookback after the state, else the
    configured start date, else the parent's creation date.

    The lookback re-reads the last ``lookback_days`` loaded days, except days that were already
    older than that when they were loaded (``settled_through``): their data was final then. So
    a backfill split into several runs reads each old day once."""
    floor = window.start_date or parent.created
    if window.end_date is not None or loaded_through is None:
        return floor
    resume = date.fromisoformat(loaded_through) - timedelta(days=window.lookback_days - 1)
    if settled_through is not None:
        resume = max(resume, date.fromisoformat(settled_through) + timedelta(days=1))
    return max(resume, window.start_date) if window.start_date else resume


def settled_through(window: Window, through: date) -> date:
    """The last day of ``through`` that late data can no longer change: older than
    ``lookback_days`` on the day it is loaded."""
    return min(through, window.today - timedelta(days=window.lookback_days + 1))


def period_start(day: date, grain: str) -> date:
    if grain == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks: Monday
    if grain == "month":
        return day.replace(day=1)
    return day


def period_end(start: date, grain: str) -> date:
    if grain == "week":
        return start + timedelta(days=6)
    if grain == "month":
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    return start


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def plan_table(
    spec: TableSpec,
    parent: Parent,
    window: Window,
    loaded_through: str | None,
    settled: str | None = None,
) -> list[PlannedSlice]:
    """The slices of one table for one parent."""
    first, last = first_day(spec, parent, window, loaded_through, settled), window.last_day
    if first > last:
        return []
    if spec.slicing == "snapshot":
        return [PlannedSlice(spec, parent, first, first, last)]
    if spec.slicing == "series":
        days = list(_days(first, last))
        step = SERIES_CHUNK_DAYS
        return [
            PlannedSlice(spec, parent, chunk[0], chunk[0], chunk[-1], tuple(chunk))
            for chunk in (days[i : i + step] for i in range(0, len(days), step))
        ]
    out = []
    start = period_start(first, spec.grain)
    while start <= last:
        end = min(period_end(start, spec.grain), last)
        out.append(PlannedSlice(spec, parent, start, start, end))
        start = period_end(start, spec.grain) + timedelta(days=1)
    return out


def retry_slices(
    spec: TableSpec, parent: Parent, days: Sequence[str], planned: Sequence[PlannedSlice]
) -> list[PlannedSlice]:
    """The slices of the days an earlier run failed to read, except those ``planned`` already
    covers (a snapshot is re-read as a whole anyway)."""
    if spec.slicing == "snapshot":
        return []
    covered = {s.slice_date for s in planned}
    out: dict[date, PlannedSlice] = {}
    for text in days:
        day = date.fromisoformat(text)
        start = period_start(day, spec.grain) if spec.slicing == "period" else day
        if start in covered or start in out:
            continue
        end = period_end(start, spec.grain) if spec.slicing == "period" else day
        days_read = (start,) if spec.slicing == "series" else ()
        out[start] = PlannedSlice(spec, parent, start, start, end, days_read)
    return list(out.values())


def plan(
    specs: Sequence[TableSpec],
    parents: Mapping[str, Sequence[Parent]],
    window: Window,
    state: Mapping[str, Mapping[str, str]],
    settled: Mapping[str, Mapping[str, str]] | None = None,
    failed: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> dict[Parent, list[PlannedSlice]]:
    """Every slice of a run, by parent, ordered by date then table (so a packed request covers
    all selected tables of a few days). ``state``: each table's ``loaded_through`` by parent;
    ``settled``: the same for :func:`settled_through`; ``failed``: the days earlier runs
    failed to read, read again (and only they, not the history before them)."""
    out: dict[Parent, list[PlannedSlice]] = {}
    settled = settled or {}
    failed = failed or {}
    for spec in specs:
        for parent in parents.get(spec.qtype.project, ()):
            slices = plan_table(
                spec,
                parent,
                window,
                state.get(spec.table_name, {}).get(parent.id),
                settled.get(spec.table_name, {}).get(parent.id),
            )
            again = failed.get(spec.table_name, {}).get(parent.id, ())
            slices += retry_slices(spec, parent, again, slices)
            out.setdefault(parent, []).extend(slices)
    for slices in out.values():
        slices.sort(key=lambda s: (s.start, s.spec.table_name))
    return out
