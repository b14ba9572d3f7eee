"""The fetch loop of a run: a parent's planned slices, packed into requests, paged where the type
honours an offset, and reported slice by slice (rows, pages, truncation, errors, requests)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .client import Databuddy
from .errors import AccessDeniedError, APIError, AuthenticationError
from .planning import Parent, PlannedSlice
from .query_api import SliceOptions

MAX_PAGES = 1_000


@dataclass(slots=True)
class SliceResult:
    """What one planned slice came back with."""

    planned: PlannedSlice
    rows: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0
    possibly_truncated: bool = False
    error: APIError | None = None
    request_id: str | None = None


@dataclass(slots=True)
class Unit:
    """The slices of one packed request (with its follow-up pages), and what it cost."""

    parent: Parent
    number: int
    results: list[SliceResult]
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0


def scope_options(
    parent: Parent, timezone: str, filters: Sequence[dict[str, Any]], limit: int
) -> SliceOptions:
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


class SliceFetcher:
    """Fetches the slices of each parent, ``per_request`` at a time (one :class:`Unit` each)."""

    def __init__(
        self, client: Databuddy, *, timezone: str, filters: Sequence[dict[str, Any]], limit: int
    ) -> None:
        self.client = client
        self.timezone = timezone
        self.filters = list(filters)
        self.limit = limit

    def units(self, parent: Parent, slices: Sequence[PlannedSlice]) -> Iterator[Unit]:
        size = self.client.max_parameters_per_request
        options = scope_options(parent, self.timezone, self.filters, self.limit)
        blocked: APIError | None = None
        for number, start in enumerate(range(0, len(slices), size)):
            chunk = list(slices[start : start + size])
            if blocked is not None:  # access to this parent is gone: no more requests for it
                yield Unit(parent, number, [SliceResult(p, error=blocked) for p in chunk])
                continue
            unit = self._fetch_unit(parent, number, chunk, options)
            errors = [r.error for r in unit.results if r.error is not None]
            if errors and all(
                isinstance(e, AccessDeniedError | AuthenticationError) for e in errors
            ):
                blocked = errors[0]
            yield unit

    def _fetch_unit(
        self, parent: Parent, number: int, chunk: list[PlannedSlice], options: SliceOptions
    ) -> Unit:
        before = self.client.stats.snapshot()
        results = {p.id: SliceResult(p) for p in chunk}
        pending = chunk
        page = 1
        while pending and page <= MAX_PAGES:
            paged = replace(options, page=page) if page > 1 else options
            try:
                outcomes = list(
                    self.client.query.fetch_slices([p.to_slice() for p in pending], paged)
                )
            except APIError as exc:
                for p in pending:
                    results[p.id].error = exc
                break
            by_id = {p.id: p for p in pending}
            pending = []
            for outcome in outcomes:
                result = results[outcome.slice.id]
                result.pages += 1
                result.request_id = outcome.request_id or result.request_id
                if outcome.error is not None:
                    result.error = outcome.error
                    continue
                result.rows.extend(outcome.rows)
                qtype = by_id[outcome.slice.id].spec.qtype
                full = qtype.limit_applied and len(outcome.rows) >= self.limit
                if full and qtype.offset_applied:
                    pending.append(by_id[outcome.slice.id])  # ask for the next page
                elif full:
                    result.possibly_truncated = True  # the type repeats its first page
            page += 1
        for p in pending:  # more than MAX_PAGES pages
            results[p.id].possibly_truncated = True
        after = self.client.stats.snapshot()
        return Unit(
            parent,
            number,
            list(results.values()),
            requests=after["requests"] - before["requests"],
            retries=after["retries"] - before["retries"],
            rate_limited=after["rate_limited"] - before["rate_limited"],
        )
