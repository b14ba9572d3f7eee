"""Packing: which slices travel together in one ``POST /v1/query``. Pure: no I/O.

- **Request scope**: a request is scoped to one parent (``website_id``, ``link_id``, ...);
  organization-level types ride with one of their websites' requests
  (:func:`by_request_scope`, :func:`scope_options`).
- **Parameter cap**: at most ``parameters_per_request`` slices a request (:class:`Packer`).
- **Row budget**: no more rows than about ``rows_per_request`` an answer, from the rows per
  slice learnt per table (:class:`RowEstimates`); a table not read yet goes first with a
  small limit, so one oversized first answer can never happen (:meth:`Packer.next_request`).
- **Splitting**: a packed request that keeps timing out is split in halves
  (:func:`worth_splitting`, :func:`halves`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from . import settings
from .errors import ConfigurationError
from .planning import Parent, PlannedSlice
from .slices import SliceOptions

if TYPE_CHECKING:
    from .errors import RetriableError
    from .retry import RetryBudget

T = TypeVar("T")


def by_request_scope(planned: dict[Parent, list[PlannedSlice]]) -> dict[Parent, list[PlannedSlice]]:
    """Slices grouped by the request that can carry them. Organization-level types ride with
    one of their websites' requests (the API resolves a ``website_id`` to the website's
    organization), so they cost no request of their own."""
    websites = {p.id: p for p in planned if p.kind == "website"}
    out: dict[Parent, list[PlannedSlice]] = {}
    for parent, slices in planned.items():
        carrier = websites.get(parent.website_id or "") if parent.kind == "organization" else None
        out.setdefault(carrier or parent, []).extend(slices)
    for slices in out.values():
        slices.sort(key=lambda s: (s.start, s.spec.table_name))
    return out


def scope_options(
    parent: Parent, timezone: str, filters: Sequence[dict[str, Any]], limit: int
) -> SliceOptions:
    """What every request of ``parent`` shares: its scope id, the zone, filters and limit."""

    def when(kind: str) -> str | None:
        return parent.id if parent.kind == kind else None

    return SliceOptions(
        website_id=when("website"),
        link_id=when("link"),
        schedule_id=when("schedule"),
        organization_id=when("organization"),
        timezone=timezone,
        filters=tuple(filters),
        limit=limit,
    )


def requests_needed(planned: Mapping[Parent, Sequence[PlannedSlice]], per_request: int) -> int:
    """First-page requests of a plan: each parent's slices packed ``per_request`` at a time."""
    return sum(-(-len(slices) // per_request) for slices in planned.values() if slices)


def parameter_cap(parameters_per_request: int) -> int:
    """``parameters_per_request``, checked: a request carries at least one slice."""
    if parameters_per_request < 1:
        raise ConfigurationError("max_parameters_per_request must be at least 1")
    return parameters_per_request


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """``items`` in order, ``size`` at a time (the parameter cap alone)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def split_after(chunk: Sequence[object]) -> int | None:
    """Failed attempts after which a packed request is split rather than retried again (None:
    one slice cannot be split, it has the whole retry policy)."""
    return settings.SPLIT_AFTER_ATTEMPTS if len(chunk) > 1 else None


def worth_splitting(
    chunk: Sequence[object], error: RetriableError, budget: RetryBudget | None
) -> bool:
    """Whether halves may succeed where ``chunk`` failed: they help a request too big to answer
    in time, not a server that is down (502/503), and not once the retry budget is spent."""
    unavailable = error.status in (502, 503)
    return len(chunk) > 1 and not unavailable and not (budget is not None and budget.exhausted)


def halves(chunk: Sequence[T]) -> tuple[list[T], list[T]]:
    half = len(chunk) // 2
    return list(chunk[:half]), list(chunk[half:])


@dataclass(slots=True)
class RowEstimates:
    """Rows to expect in one slice of each table: the most a slice held so far (kept across
    runs). A table known only to fill a first read's small page counts as a full ``limit``
    until a read at the full limit shows its size. Thread-safe (parents read side by side)."""

    limit: int
    sizes: dict[str, int] = field(default_factory=dict)  # table -> most rows in a slice
    _provisional: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def estimate(self, table: str) -> int | None:
        """Rows to expect in one slice of ``table``; None before any was read."""
        if table in self._provisional:  # only known to fill a first page
            return max(self.sizes.get(table, 0), self.limit)
        return self.sizes.get(table)

    def learn(self, table: str, rows: int, *, full_limit: bool) -> None:
        """A slice of ``table`` was read whole with ``rows`` rows (at the full limit or not)."""
        with self._lock:
            self.sizes[table] = max(self.sizes.get(table, 0), rows)
            if full_limit:
                self._provisional.discard(table)

    def filled_first_page(self, table: str) -> None:
        """A first read of ``table`` filled its small page: its size is not known yet."""
        with self._lock:
            self._provisional.add(table)


@dataclass(frozen=True, slots=True)
class Packer:
    """Packs a parent's queue of slices into requests: at most ``parameters_per_request``
    slices and about ``rows_per_request`` rows each, at ``limit`` rows a slice."""

    parameters_per_request: int = settings.MAX_PARAMETERS_PER_REQUEST
    rows_per_request: int = settings.ROWS_PER_REQUEST
    limit: int = settings.MAX_LIMIT

    def __post_init__(self) -> None:
        parameter_cap(self.parameters_per_request)

    @property
    def first_limit(self) -> int:
        """The limit of a first read (a table of unknown size): its share of the row budget."""
        per = self.rows_per_request // self.parameters_per_request
        return max(1, min(self.limit, per))

    def next_request(
        self, queue: Sequence[PlannedSlice], estimates: RowEstimates
    ) -> tuple[list[PlannedSlice], int]:
        """The next request's slices, in plan order, and its limit. Tables not read yet lead,
        at the first limit; else slices are taken while their estimated rows fit the budget
        (always at least one)."""
        size = self.parameters_per_request
        first = self.first_limit
        if estimates.estimate(queue[0].spec.table_name) is None:  # unseen tables lead
            small = [p for p in queue if (estimates.estimate(p.spec.table_name) or 0) <= first]
            return small[:size], first
        chunk: list[PlannedSlice] = []
        rows = 0
        for p in queue:
            estimate = estimates.estimate(p.spec.table_name)
            if estimate is None:
                continue
            estimate = max(estimate, 1)
            if chunk and rows + estimate > self.rows_per_request:
                break
            chunk.append(p)
            rows += estimate
            if len(chunk) == size:
                break
        return chunk, self.limit
