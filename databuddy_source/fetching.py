"""Fetching: the loop that reads a run's slices. Each parent's planned slices are packed into
requests (:mod:`.packing`), sent through the Query API (:mod:`.query_api`), paged
(:mod:`.paging`), and handed on as one :class:`Unit` per packed request, slice by slice (rows,
pages, truncation, errors, requests). Failures stay where they happen: a refused request is
triaged (:mod:`.triage`), a request that keeps timing out is split, a transient failed parameter
is asked again, and a parent that keeps failing is given up for the run while the others go on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from . import packing, settings
from .catalog import learn_columns
from .errors import (
    PARAMETER_FAILED,
    AccessDeniedError,
    APIError,
    AuthenticationError,
    RetriableError,
    ValidationError,
)
from .packing import Packer, RowEstimates, scope_options
from .paging import Next, Pager, join_pages
from .planning import Parent, PlannedSlice
from .retry import RetryBudget
from .shaping import column_wise, fractional_integer, read_schema
from .slices import Slice, SliceOptions, SliceOutcome, SliceRows
from .triage import Verdict, bisectable, culprits, gone_reason, plan_reason_of

if TYPE_CHECKING:
    from .client import Databuddy
    from .query_api import QueryAPI

Refusal = APIError | str | None  # failed; skipped (why); put back for a later request
PARAMETER_RETRIES = 2  # times a transient failed parameter is asked again


def fetch_slices(
    query: QueryAPI,
    slices: Sequence[Slice],
    options: SliceOptions,
    *,
    parameters_per_request: int = settings.MAX_PARAMETERS_PER_REQUEST,
    row_schemas: Mapping[str, pa.Schema] | None = None,
    budget: RetryBudget | None = None,
) -> Iterator[SliceOutcome]:
    """Every slice's rows (or error), packed ``parameters_per_request`` slices a request, in
    request order. A packed request that keeps timing out or failing with a 5xx other than
    502/503 is split in halves, each half sent again; a parameter that failed for a transient
    reason is asked again (twice at most) in a request of its own kind.

    ``row_schemas`` (slice id -> the columns to read): see :meth:`QueryAPI.send_slices`.
    ``budget`` bounds the seconds failures may cost; once it is spent a failing request is
    neither retried nor split. A refusal of a whole request raises.
    """
    for chunk in packing.chunks(slices, packing.parameter_cap(parameters_per_request)):
        yield from _fetch_packed(query, chunk, options, 0, row_schemas or {}, budget)


def _fetch_packed(
    query: QueryAPI,
    chunk: list[Slice],
    options: SliceOptions,
    parameter_retries: int,
    row_schemas: Mapping[str, pa.Schema],
    budget: RetryBudget | None,
) -> Iterator[SliceOutcome]:
    try:
        outcomes = query.send_slices(
            chunk,
            options,
            row_schemas,
            failure_budget=packing.split_after(chunk),
            budget=budget,
        )
    except RetriableError as exc:
        if not packing.worth_splitting(chunk, exc, budget):
            raise
        for part in packing.halves(chunk):
            yield from _fetch_packed(query, part, options, parameter_retries, row_schemas, budget)
        return
    transient: list[Slice] = []
    for outcome in outcomes:
        error = outcome.error
        if (
            isinstance(error, RetriableError)
            and error.code == PARAMETER_FAILED
            and parameter_retries < PARAMETER_RETRIES
        ):
            transient.append(outcome.slice)
        else:
            yield outcome
    if transient:
        yield from _fetch_packed(
            query, transient, options, parameter_retries + 1, row_schemas, budget
        )


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


class SliceFetcher:
    """Fetches the slices of each parent, packed into requests (one :class:`Unit` each).

    A request carries up to ``parameters_per_request`` slices, but no more rows than about
    ``rows_per_request``: the answer is decoded whole, so its size is the run's memory (see
    :mod:`.packing`). Rows per slice are learnt per table from slices already read
    (``estimates``, kept across runs). A first read that fills its small page is put back and
    read again later at the full limit, so one oversized first answer can never happen.
    """

    def __init__(
        self,
        client: Databuddy,
        *,
        timezone: str,
        filters: Sequence[dict[str, Any]],
        limit: int,
        rows_per_request: int,
        parameters_per_request: int = settings.MAX_PARAMETERS_PER_REQUEST,
        estimates: dict[str, int] | None = None,
    ) -> None:
        self.client = client
        self.timezone = timezone
        self.filters = list(filters)
        self.limit = limit
        self.packer = Packer(parameters_per_request, rows_per_request, limit)
        self.sizes = RowEstimates(limit, dict(estimates or {}))
        self._learning = threading.Lock()  # parents read side by side share what is learnt
        self.rows_read = 0  # by every parent so far (a run's row cap looks at it)
        self._schemas: dict[str, tuple[int, pa.Schema]] = {}  # table -> (learned, columns)
        self._checked: set[str] = set()  # tables whose columns one JSON answer has shown
        self.gone: set[str] = set()  # types the API refused as unknown this run
        self.run_budget = RetryBudget(settings.RUN_RETRY_SECONDS)
        self.new_columns: dict[str, list[str]] = {}  # type -> columns the contract lacks

    @property
    def rows_per_request(self) -> int:
        return self.packer.rows_per_request

    @property
    def estimates(self) -> dict[str, int]:
        """Table -> the most rows a slice of it held (kept across runs)."""
        return self.sizes.sizes

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
        size = self.packer.parameters_per_request
        queue = list(slices)
        rest: list[PlannedSlice] | None = None  # once stopped: what the next run reads
        newest: dict[str, date] = {}  # table -> its latest day read
        blocked: APIError | None = None
        run = self._parent_run()
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
            chunk, limit = self.packer.next_request(queue, self.sizes)
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

    def _parent_run(self) -> ParentRun:
        return ParentRun(RetryBudget(settings.PARENT_RETRY_SECONDS, run=self.run_budget))

    def _skip_reason(self, run: ParentRun, p: PlannedSlice) -> str | None:
        if p.spec.name in self.gone:
            return gone_reason(p.spec.name)
        if p.spec.name in run.gated:
            return plan_reason_of(p)
        return None

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
            outcomes = fetch_slices(
                self.client.query,
                [p.to_slice() for p in pending],
                options,
                parameters_per_request=self.packer.parameters_per_request,
                row_schemas=schemas,
                budget=run.budget,
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
                first, second = packing.halves(pending)
                one = self._send(parent, first, options, run)
                two = self._send(parent, second, options, run)
                return one[0] + two[0], {**one[1], **two[1]}
            return [], {p.id: exc for p in pending}

    def _remember(self, run: ParentRun, verdict: Verdict) -> None:
        run.gated |= verdict.gated
        with self._learning:
            self.gone |= verdict.gone

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
        run = run or self._parent_run()
        before = self.client.stats.thread_snapshot()
        results = {p.id: SliceResult(p) for p in chunk}
        again: list[PlannedSlice] = []
        pending = chunk
        pager = Pager(options.limit or self.limit, first_read=first)
        while pending:
            by_id = {p.id: p for p in pending}
            outcomes, refused = self._send(parent, pending, pager.options(options), run)
            again += _take_refusals(results, refused, by_id)
            pending = []
            for outcome in outcomes:
                planned = by_id[outcome.slice.id]
                step = self._take_page(results[planned.id], planned, outcome, pager)
                if step is Next.READ_AGAIN:
                    del results[planned.id]
                    again.append(planned)
                    self.sizes.filled_first_page(planned.spec.table_name)
                elif step is Next.PAGE:
                    pending.append(planned)
            if not pager.advance():
                break
        for p in pending:  # more than MAX_PAGES pages
            results[p.id].possibly_truncated = True
        self._learn_sizes(results.values(), full_limit=not first)
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

    def _take_page(
        self, result: SliceResult, planned: PlannedSlice, outcome: SliceOutcome, pager: Pager
    ) -> Next:
        """Adds one page of a slice to its result; what follows it (``DONE`` after an error)."""
        result.pages += 1
        result.request_id = outcome.request_id or result.request_id
        error = outcome.error
        if error is None and (why := fractional_integer(planned.spec, outcome.rows)):
            error = ValidationError(why, request_id=outcome.request_id)
        if error is not None:
            result.error = error
            return Next.DONE
        self._learn_columns(planned, outcome.rows)
        rows, strays = _own_days(planned, outcome.rows)
        result.rows, overlapped = join_pages(result.rows, rows)
        result.possibly_inexact = result.possibly_inexact or overlapped or strays
        step = pager.next(planned.spec, len(outcome.rows))
        if step is Next.TRUNCATED:
            result.possibly_truncated = True
        return step

    def _learn_sizes(self, results: Iterable[SliceResult], *, full_limit: bool) -> None:
        """Counts the rows read, and learns each table's size from the slices read whole."""
        for result in results:
            with self._learning:
                self.rows_read += len(result.rows)
            if result.error is None and result.skipped is None and not result.possibly_truncated:
                table = result.planned.spec.table_name
                self.sizes.learn(table, len(result.rows), full_limit=full_limit)


def _take_refusals(
    results: dict[str, SliceResult],
    refused: Mapping[str, Refusal],
    by_id: Mapping[str, PlannedSlice],
) -> list[PlannedSlice]:
    """Records each refused slice's error or reason to skip; the slices put back (to be packed
    into a later request) leave ``results`` and are returned."""
    put_back = []
    for slice_id, refusal in refused.items():
        if refusal is None:
            del results[slice_id]
            put_back.append(by_id[slice_id])
        elif isinstance(refusal, str):
            results[slice_id].skipped = refusal
        else:
            results[slice_id].error = refusal
    return put_back


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
