"""The fetch loop of a run: a parent's planned slices, packed into requests, paged where the type
honours an offset, and reported slice by slice (rows, pages, truncation, errors, requests)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import orjson
import pyarrow as pa

from . import settings
from .arrow_answers import disjoint_concat
from .catalog import MERGED_AFTER_LIMIT, learn_columns
from .client import Databuddy
from .errors import (
    AccessDeniedError,
    APIError,
    AuthenticationError,
    RetriableError,
    ValidationError,
)
from .planning import Parent, PlannedSlice
from .query_api import SliceOptions, SliceOutcome, SliceRows
from .retry import RetryBudget
from .shaping import column_wise, fractional_integer, read_schema
from .triage import Verdict, bisectable, culprits, gone_reason, plan_reason_of

MAX_PAGES = 1_000
Refusal = APIError | str | None  # failed; skipped (why); put back for a later request


@dataclass(slots=True)
class SliceResult:
    """What one planned slice came back with."""

    planned: PlannedSlice
    rows: SliceRows = field(default_factory=list)  # every page's, in order
    pages: int = 0
    possibly_truncated: bool = False
    error: APIError | None = None
    request_id: str | None = None
    skipped: str | None = None  # why it was not read although nothing failed (plan, catalogue)
    possibly_inexact: bool = False  # its pages overlapped (ties): duplicates were dropped


@dataclass(slots=True)
class ParentRun:
    """What one parent may still cost this run: retry seconds, triage requests, and how many
    of its requests failed in a row."""

    budget: RetryBudget
    spare_requests: int = settings.TRIAGE_REQUESTS_PER_PARENT
    failed_in_row: int = 0
    gated: set[str] = field(default_factory=set)  # types its plan lacks


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
    """Fetches the slices of each parent, packed into requests (one :class:`Unit` each).

    A request carries up to ``max_parameters_per_request`` slices, but no more rows than about
    ``rows_per_request``: the answer is decoded whole, so its size is the run's memory. Rows per
    slice are estimated per table from slices already read (``estimates``, kept across runs).
    Slices of tables not seen yet go out with a limit of ``rows_per_request / parameters``: a
    slice that fills that page is put back and read again later at the full limit, so one
    oversized first answer can never happen.
    """

    def __init__(
        self,
        client: Databuddy,
        *,
        timezone: str,
        filters: Sequence[dict[str, Any]],
        limit: int,
        rows_per_request: int,
        estimates: dict[str, int] | None = None,
    ) -> None:
        self.client = client
        self.timezone = timezone
        self.filters = list(filters)
        self.limit = limit
        self.rows_per_request = rows_per_request
        self.estimates: dict[str, int] = dict(estimates or {})  # table -> most rows in a slice
        self._provisional: set[str] = set()  # tables known only to fill a first read's page
        self._learning = threading.Lock()  # parents read side by side share the estimates
        self.rows_read = 0  # by every parent so far (a run's row cap looks at it)
        self._schemas: dict[str, tuple[int, pa.Schema]] = {}  # table -> (learned, columns)
        self._checked: set[str] = set()  # tables whose columns one JSON answer has shown
        self.gone: set[str] = set()  # types the API refused as unknown this run
        self.run_budget = RetryBudget(settings.RUN_RETRY_SECONDS)
        self.new_columns: dict[str, list[str]] = {}  # type -> columns the contract lacks

    @property
    def first_limit(self) -> int:
        per = self.rows_per_request // self.client.max_parameters_per_request
        return max(1, min(self.limit, per))

    def units(
        self,
        parent: Parent,
        slices: Sequence[PlannedSlice],
        *,
        stop: Callable[[], bool] = lambda: False,
        leftover: list[PlannedSlice] | None = None,
    ) -> Iterator[Unit]:
        """The parent's units in plan order. Before each new request ``stop()`` may end it;
        the slices not read then go to ``leftover`` (for the next run).

        A stop first reads the holes: a table's slices older than its newest one read (a first
        read that filled its page waits to be read again while later days go ahead). So each
        table's read days are a prefix of its plan, and the next run starts right after them."""
        size = self.client.max_parameters_per_request
        queue = list(slices)
        rest: list[PlannedSlice] | None = None  # once stopped: what the next run reads
        newest: dict[str, date] = {}  # table -> its latest day read
        blocked: APIError | None = None
        run = ParentRun(RetryBudget(settings.PARENT_RETRY_SECONDS, run=self.run_budget))
        number = 0
        while queue:
            skipped = [(p, why) for p in queue if (why := self._skip_reason(run, p))]
            if skipped:  # learnt by an earlier request: never sent
                ids = {id(p) for p, _ in skipped}
                queue = [p for p in queue if id(p) not in ids]
                yield Unit(parent, number, [SliceResult(p, skipped=why) for p, why in skipped])
                number += 1
                if not queue:
                    break
            if blocked is None and rest is None and stop():

                def read_ahead(p: PlannedSlice) -> bool:
                    return p.start < newest.get(p.spec.table_name, p.start)

                rest = [p for p in queue if not read_ahead(p)]
                queue = [p for p in queue if read_ahead(p)]
                if not queue:
                    break
            if blocked is not None:  # access to this parent is gone: no more requests for it
                chunk, queue = queue[:size], queue[size:]
                yield Unit(parent, number, [SliceResult(p, error=blocked) for p in chunk])
                number += 1
                continue
            chunk, limit = self._pack(queue, size)
            taken = {id(p) for p in chunk}
            queue = [p for p in queue if id(p) not in taken]
            options = scope_options(parent, self.timezone, self.filters, limit)
            unit, again = self._fetch_unit(
                parent, number, chunk, options, first=limit < self.limit, run=run
            )
            # put back: first reads that filled their page (read again at the full limit), and
            # the rest of a pack refused for some of its types (packed with the next slices)
            queue = again + queue
            for r in unit.results:
                table = r.planned.spec.table_name
                newest[table] = max(newest.get(table, r.planned.start), r.planned.start)
            errors = [r.error for r in unit.results if r.error is not None]
            if errors and all(
                isinstance(e, AccessDeniedError | AuthenticationError) for e in errors
            ):
                blocked = errors[0]
            blocked = blocked or _given_up(parent, run, unit)
            number += 1
            yield unit
        if rest and leftover is not None:
            leftover.extend(rest)

    def _skip_reason(self, run: ParentRun, p: PlannedSlice) -> str | None:
        if p.spec.name in self.gone:
            return gone_reason(p.spec.name)
        if p.spec.name in run.gated:
            return plan_reason_of(p)
        return None

    def _pack(self, queue: list[PlannedSlice], size: int) -> tuple[list[PlannedSlice], int]:
        """The next request's slices, in plan order, and its limit."""
        first = self.first_limit
        if self.estimate(queue[0].spec.table_name) is None:  # unseen tables lead
            small = [p for p in queue if (self.estimate(p.spec.table_name) or 0) <= first]
            return small[:size], first
        chunk: list[PlannedSlice] = []
        rows = 0
        for p in queue:
            estimate = self.estimate(p.spec.table_name)
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

    def _read_schema(self, p: PlannedSlice) -> pa.Schema | None:
        """The columns to decode a slice's answer into with Arrow, or None to decode it as
        JSON: until one JSON answer of its table was seen this run (Arrow would drop a column
        the API added, see :func:`catalog.learn_columns`)."""
        table = p.spec.table_name
        if table not in self._checked or not column_wise(p.spec):
            return None
        learned = len(p.spec.learned)
        cached = self._schemas.get(table)
        if cached is None or cached[0] != learned:
            cached = self._schemas[table] = (learned, read_schema(p.spec))
        return cached[1]

    def _learn_columns(self, p: PlannedSlice, rows: SliceRows) -> None:
        if isinstance(rows, pa.Table) or not rows:
            return
        spec = p.spec
        known = {f.name for f in spec.qtype.fields} | set(spec.learned)
        added = learn_columns(spec, rows, known)
        with self._learning:
            self._checked.add(spec.table_name)
            if added:
                self.new_columns.setdefault(spec.name, []).extend(added)

    def _send(
        self,
        parent: Parent,
        pending: list[PlannedSlice],
        options: SliceOptions,
        run: ParentRun,
    ) -> tuple[list[SliceOutcome], dict[str, Refusal]]:
        """Outcomes of the slices the API answered, and the refused ones (slice id -> the
        error, why it was skipped, or None: put back, to be packed into a later request). A
        refusal of the whole request is triaged: culprits skipped and the rest put back (a
        first page) or sent again (a later page), or the pack bisected, within the parent's
        spare requests."""
        schemas = {p.id: s for p in pending if (s := self._read_schema(p)) is not None}
        try:
            outcomes = self.client.query.fetch_slices(
                [p.to_slice() for p in pending], options, schemas, run.budget
            )
            return list(outcomes), {}
        except APIError as exc:
            verdict = culprits(pending, exc)
            if verdict is not None:
                self._remember(run, verdict)
                rest = [p for p in pending if p.id not in verdict.skip]
                answered: tuple[list[SliceOutcome], dict[str, Refusal]] = ([], {})
                if rest and options.page is None:  # a full pack of others goes next instead
                    answered = ([], dict.fromkeys((p.id for p in rest), None))
                elif rest and run.spare_requests > 0:
                    run.spare_requests -= 1
                    answered = self._send(parent, rest, options, run)
                elif rest:
                    answered = ([], {p.id: exc for p in rest})
                return answered[0], {**verdict.skip, **answered[1]}
            if bisectable(exc) and len(pending) > 1 and run.spare_requests >= 2:
                run.spare_requests -= 2
                half = len(pending) // 2
                first = self._send(parent, pending[:half], options, run)
                second = self._send(parent, pending[half:], options, run)
                return first[0] + second[0], {**first[1], **second[1]}
            return [], {p.id: exc for p in pending}

    def _remember(self, run: ParentRun, verdict: Verdict) -> None:
        run.gated |= verdict.gated
        with self._learning:
            self.gone |= verdict.gone

    def estimate(self, table: str) -> int | None:
        """Rows to expect in one slice of ``table``; None before any was read."""
        if table in self._provisional:  # only known to fill a first page
            return max(self.estimates.get(table, 0), self.limit)
        return self.estimates.get(table)

    def _learn(self, result: SliceResult, *, full_limit: bool) -> None:
        table = result.planned.spec.table_name
        with self._learning:
            self.estimates[table] = max(self.estimates.get(table, 0), len(result.rows))
            if full_limit:
                self._provisional.discard(table)

    def _fetch_unit(
        self,
        parent: Parent,
        number: int,
        chunk: list[PlannedSlice],
        options: SliceOptions,
        *,
        first: bool,
        run: ParentRun | None = None,
    ) -> tuple[Unit, list[PlannedSlice]]:
        """The unit, and the slices of a first read that filled their page (to read again)."""
        run = run or ParentRun(RetryBudget(settings.PARENT_RETRY_SECONDS, run=self.run_budget))
        before = self.client.stats.thread_snapshot()
        results = {p.id: SliceResult(p) for p in chunk}
        again: list[PlannedSlice] = []
        pending = chunk
        page = 1
        while pending and page <= MAX_PAGES:
            paged = replace(options, page=page) if page > 1 else options
            outcomes, refused = self._send(parent, pending, paged, run)
            by_id = {p.id: p for p in pending}
            for slice_id, refusal in refused.items():
                if refusal is None:
                    del results[slice_id]
                    again.append(by_id[slice_id])
                elif isinstance(refusal, str):
                    results[slice_id].skipped = refusal
                else:
                    results[slice_id].error = refusal
            pending = []
            for outcome in outcomes:
                result = results[outcome.slice.id]
                result.pages += 1
                result.request_id = outcome.request_id or result.request_id
                planned = by_id[outcome.slice.id]
                error = outcome.error
                if error is None and (why := fractional_integer(planned.spec, outcome.rows)):
                    error = ValidationError(why, request_id=outcome.request_id)
                if error is not None:
                    result.error = error
                    continue
                self._learn_columns(planned, outcome.rows)
                rows, strays = _own_days(planned, outcome.rows)
                result.rows, overlapped = _joined(result.rows, rows)
                result.possibly_inexact = result.possibly_inexact or overlapped or strays
                qtype = planned.spec.qtype
                merged = planned.spec.name in MERGED_AFTER_LIMIT
                cap = options.limit or self.limit
                # a merged page shrinks below its limit: half full may already be cut
                full = qtype.limit_applied and len(outcome.rows) >= (cap // 2 if merged else cap)
                if full and first:
                    del results[planned.id]
                    again.append(planned)
                    with self._learning:
                        self._provisional.add(planned.spec.table_name)
                elif full and qtype.offset_applied and not merged:
                    pending.append(planned)  # ask for the next page
                elif full:  # the type repeats its first page, or merges each page on its own
                    result.possibly_truncated = True
            page += 1
        for p in pending:  # more than MAX_PAGES pages
            results[p.id].possibly_truncated = True
        for result in results.values():
            with self._learning:
                self.rows_read += len(result.rows)
            if result.error is None and result.skipped is None and not result.possibly_truncated:
                self._learn(result, full_limit=not first)
        after = self.client.stats.thread_snapshot()
        unit = Unit(
            parent,
            number,
            list(results.values()),
            requests=after["requests"] - before["requests"],
            retries=after["retries"] - before["retries"],
            rate_limited=after["rate_limited"] - before["rate_limited"],
        )
        return unit, sorted(again, key=lambda p: (p.start, p.spec.table_name))


def _given_up(parent: Parent, run: ParentRun, unit: Unit) -> APIError | None:
    """The error that ends a parent's run: several requests in a row failed (after their
    retries), or its retry seconds are spent. Its other slices are then not asked for."""
    errors = [r.error for r in unit.results if r.error is not None]
    answered = any(r.error is None and r.skipped is None for r in unit.results)
    if answered or not errors or not all(isinstance(e, RetriableError) for e in errors):
        run.failed_in_row = 0 if answered else run.failed_in_row
        return None
    run.failed_in_row += 1
    if run.failed_in_row < settings.PARENT_FAILURES_IN_ROW and not run.budget.exhausted:
        return None
    return RetriableError(
        f"{parent.kind} {parent.name or parent.id} ({parent.id}) given up for this run after "
        f"{run.failed_in_row} failed requests in a row and {run.budget.spent:.0f} s of "
        f"failures (last: {errors[-1]}); the next run reads its slices again",
        status=errors[-1].status,
        path=errors[-1].path,
    )


def _own_days(planned: PlannedSlice, rows: SliceRows) -> tuple[SliceRows, bool]:
    """A series slice's rows of its own days, and whether the API sent rows of other days
    (they would replace another slice's rows: dropped, and the slice flagged)."""
    if planned.spec.slicing != "series" or isinstance(rows, pa.Table):
        return rows, False
    days = {d.isoformat() for d in planned.days}
    own = [r for r in rows if str(r.get("date", ""))[:10] in days]
    return own, len(own) < len(rows)


def _joined(rows: SliceRows, page: SliceRows) -> tuple[SliceRows, bool]:
    """A slice's rows so far followed by the next page's rows that are not already among them
    (Arrow stays Arrow), and whether any were: OFFSET pages of rows tied on the sort key can
    overlap (and then skip as many rows), so such a slice is possibly inexact."""
    if not len(rows):
        return page, False
    if not len(page):
        return rows, False
    if isinstance(rows, pa.Table) and isinstance(page, pa.Table):
        joined = disjoint_concat(rows, page)  # the common case, without a Python row
        if joined is not None:
            return joined, False
    as_dicts = [r.to_pylist() if isinstance(r, pa.Table) else r for r in (rows, page)]
    seen = {orjson.dumps(r, option=orjson.OPT_SORT_KEYS) for r in as_dicts[0]}
    fresh = [r for r in as_dicts[1] if orjson.dumps(r, option=orjson.OPT_SORT_KEYS) not in seen]
    overlapped = len(fresh) < len(as_dicts[1])
    if isinstance(rows, pa.Table) and isinstance(page, pa.Table) and not overlapped:
        return pa.concat_tables([rows, page]), False
    return as_dicts[0] + fresh, overlapped
