"""The dlt resources: one hidden resource that plans and fetches slices, one merge transformer
per query type table, the sync log, and the RPC collections."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.schema.typing import C_DLT_LOAD_ID
from dlt.extract.resource import DltResource

from .catalog import EMPTY_SLICE, SOURCE_HINT, TableSpec
from .client import Databuddy
from .discovery import Parents
from .errors import APIError, AuthenticationError
from .memory import release_freed_memory
from .options import SourceOptions
from .planning import Parent, PlannedSlice, Window, plan, settled_through
from .shaping import slices_table
from .sync import SliceFetcher, Unit

log = logging.getLogger("databuddy_source")

BATCH_ROWS = 10_000  # rows per Arrow table handed to dlt (one parquet row group each)
SLICES_RESOURCE = "query_slices"
STATE_KEY = "loaded_through"
SETTLED_KEY = "settled_through"  # table -> parent -> last day loaded when already final
SIZES_KEY = "rows_per_slice"  # table -> most rows one slice held: packs the next run's requests


@dataclass(frozen=True, slots=True)
class EndOfRun:
    """The last item of the slices resource, with how many units came before it. dlt may hand
    a transformer this item before the last units (forked items are not kept in order), so a
    table flushes once it has seen every unit and this item, whichever comes last."""

    units: int


@dataclass(slots=True, weakref_slot=True)
class SyncReport:
    """What a run did, for the caller (``daily_sync.py`` exits non-zero on failures)."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    slices: int = 0
    rows: int = 0
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    possibly_truncated: int = 0
    failures: list[str] = field(default_factory=list)
    more: bool = False  # the run stopped at max_rows_per_run: run again to read the rest
    request_span_s: float = 0.0  # from the first query request sent to the last
    planner: Any = None  # (loaded, settled) state -> {parent: [PlannedSlice]}: a dry run's plan

    def fail(self, what: str, where: str, error: APIError) -> None:
        self.failures.append(f"{what} ({where}): {error}")


def _selected_specs(specs: dict[str, TableSpec]) -> list[TableSpec]:
    try:
        selected = dlt.current.source().resources.selected
    except Exception:
        return list(specs.values())
    return [spec for name, spec in specs.items() if name in selected]


def slices_resource(
    client: Databuddy,
    options: SourceOptions,
    parents: Parents,
    window: Window,
    specs: dict[str, TableSpec],
    report: SyncReport,
) -> DltResource:
    """Plans the run from the resource state and yields one :class:`Unit` per packed request,
    then an :class:`EndOfRun`. Not a table itself: the per-type transformers read it."""

    @dlt.resource(name=SLICES_RESOURCE, selected=False)
    def query_slices() -> Iterator[Any]:
        resource_state = dlt.current.resource_state()
        state = resource_state.setdefault(STATE_KEY, {})
        settled = resource_state.setdefault(SETTLED_KEY, {})
        planned = by_request_scope(
            plan(_selected_specs(specs), parents.by_kind(), window, state, settled)
        )
        fetcher = SliceFetcher(
            client,
            timezone=options.timezone,
            filters=options.filters,
            limit=options.limit,
            rows_per_request=options.rows_per_request,
            estimates=resource_state.get(SIZES_KEY),
        )
        units = 0
        failed: dict[Parent, set[tuple[str, str]]] = {p: set() for p in planned}  # (table, id)
        done = dict.fromkeys(planned, 0)
        # A run with a moving end (not an explicit end_date) stops once it has read about
        # max_rows_per_run rows, at a request boundary (up to concurrency x rows_per_request
        # more): each load package, and so the merge's memory, stays bounded however long the
        # backfill; the next run goes on from there.
        cap = options.max_rows_per_run if window.end_date is None else None
        stop = (lambda: fetcher.rows_read >= cap) if cap else (lambda: False)
        for parent, unit, leftover in fetch_all(fetcher, planned, options.concurrency, stop):
            slices = planned[parent]
            if unit is None:  # every unit of this parent is in: its tables are read through
                if window.end_date is None:
                    _advance(state, settled, slices, leftover, failed[parent], window)
                report.more = report.more or bool(leftover)
                continue
            _account(report, unit, failed[parent])
            units += 1
            done[parent] += len(unit.results)
            log.info(
                "%s %s: %d/%d slices, %d requests so far",
                parent.kind,
                parent.name or parent.id,
                done[parent],
                len(slices),
                report.requests,
            )
            yield unit
            release_freed_memory()  # the unit's answer is gone: give its pages back
            if any(isinstance(r.error, AuthenticationError) for r in unit.results):
                raise next(r.error for r in unit.results if r.error is not None)
        resource_state[SIZES_KEY] = dict(sorted(fetcher.estimates.items()))
        stats = client.stats
        if stats.first_sent is not None and stats.last_sent is not None:
            report.request_span_s = round(stats.last_sent - stats.first_sent, 3)
        yield EndOfRun(units)

    return query_slices


def _advance(
    state: dict[str, dict[str, str]],
    settled: dict[str, dict[str, str]],
    slices: list[PlannedSlice],
    leftover: list[PlannedSlice],
    failed: set[tuple[str, str]],
    window: Window,
) -> None:
    """Move each read table's ``loaded_through`` for this parent: to the window's end, or to
    the day before the first slice this run left for the next one; and its ``settled_through``
    (the days of it too old for late data, which the lookback need not read again)."""
    first_left: dict[tuple[str, str], date] = {}
    for s in leftover:
        key = (s.spec.table_name, s.parent.id)
        first_left[key] = min(first_left.get(key, s.start), s.start)
    for table, parent_id in {(s.spec.table_name, s.parent.id) for s in slices} - failed:
        through = window.complete_through
        if (table, parent_id) in first_left:
            through = first_left[(table, parent_id)] - timedelta(days=1)
            before = state.get(table, {}).get(parent_id)
            if before is not None and date.fromisoformat(before) >= through:
                continue  # only the re-read days were done: keep what was already complete
        state.setdefault(table, {})[parent_id] = through.isoformat()
        settled.setdefault(table, {})[parent_id] = settled_through(window, through).isoformat()


class _Handoff:
    """Finished units on their way from the fetch threads to dlt: as many as fit in ``rows``
    rows (so small answers never hold a fetcher back from the next request the rate limit
    allows), and always at least one (so one big answer still passes)."""

    def __init__(self, rows: int) -> None:
        self._limit = rows
        self._rows = 0
        self._items: deque[tuple[Any, int]] = deque()
        self._cond = threading.Condition()

    def put(self, item: Any, rows: int, ended: threading.Event) -> bool:
        """Queue ``item`` once there is room; False if the consumer has gone."""
        with self._cond:
            while self._items and self._rows + rows > self._limit and not ended.is_set():
                self._cond.wait(0.1)
            if ended.is_set():
                return False
            self._items.append((item, rows))
            self._rows += rows
            self._cond.notify_all()
            return True

    def get(self) -> Any:
        with self._cond:
            while not self._items:
                self._cond.wait()
            item, rows = self._items.popleft()
            self._rows -= rows
            self._cond.notify_all()
            return item


def fetch_all(
    fetcher: SliceFetcher,
    planned: dict[Parent, list[PlannedSlice]],
    workers: int,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[tuple[Parent, Unit | None, list[PlannedSlice]]]:
    """Every parent's units, ``workers`` parents at a time; ``(parent, None, leftover)`` ends a
    parent (``leftover``: the slices ``stop()`` left unread).

    Units of one parent come in order (each request is packed from what the last one taught);
    parents run side by side so that request latency, not the rate limit, is never what binds.
    Finished units wait here up to about one request's rows (``rows_per_request``), which
    bounds memory.
    """
    out = _Handoff(fetcher.rows_per_request)
    ended = threading.Event()

    def drain(parent: Parent, slices: list[PlannedSlice]) -> None:
        leftover: list[PlannedSlice] = []
        try:
            for unit in fetcher.units(parent, slices, stop=stop, leftover=leftover):
                rows = sum(len(r.rows) for r in unit.results)
                if not out.put((parent, unit, []), rows, ended):
                    return
            out.put((parent, None, leftover), 0, ended)
        except BaseException as exc:  # handed to the consumer, raised there
            out.put(exc, 0, ended)

    pending = [(p, s) for p, s in planned.items() if s]
    if not pending:
        return
    pool = ThreadPoolExecutor(max_workers=min(workers, len(pending)), thread_name_prefix="dbdy")
    try:
        for parent, slices in pending:
            pool.submit(drain, parent, slices)
        for _ in range(len(pending)):
            while True:
                item = out.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item[1] is None:
                    break
    finally:
        ended.set()
        pool.shutdown(wait=True, cancel_futures=True)


def by_request_scope(planned: dict[Parent, list[PlannedSlice]]) -> dict[Parent, list[PlannedSlice]]:
    """Slices grouped by the request that can carry them. Organization-level types ride with
    one of their websites' requests (``website_id`` resolves to its organization, SPEC 3.3),
    so they cost no request of their own."""
    websites = {p.id: p for p in planned if p.kind == "website"}
    out: dict[Parent, list[PlannedSlice]] = {}
    for parent, slices in planned.items():
        carrier = websites.get(parent.website_id or "") if parent.kind == "organization" else None
        out.setdefault(carrier or parent, []).extend(slices)
    for slices in out.values():
        slices.sort(key=lambda s: (s.start, s.spec.table_name))
    return out


def _account(report: SyncReport, unit: Unit, failed: set[tuple[str, str]]) -> None:
    report.requests += unit.requests
    report.retries += unit.retries
    report.rate_limited += unit.rate_limited
    for r in unit.results:
        report.slices += 1
        report.rows += len(r.rows)
        report.possibly_truncated += r.possibly_truncated
        if r.error is not None:
            failed.add((r.planned.spec.table_name, r.planned.parent.id))
            report.fail(
                r.planned.spec.name,
                f"{r.planned.parent.kind} {r.planned.parent.id}, "
                f"{r.planned.start}..{r.planned.end}",
                r.error,
            )


def table_transformer(spec: TableSpec, source: DltResource) -> DltResource:
    """The table of one query type: merge, replacing each re-read slice as a whole."""
    held: list[pa.Table] = []  # typed Arrow per unit: a tenth of the memory of dict rows
    seen = {"units": 0, "expected": -1, "rows": 0}

    # Not declared deduplicated although a run yields each key once: a load job that a crash
    # interrupted after its copy into staging runs again on resume, and only dlt's per-key
    # ROW_NUMBER() pass then keeps the slice from being doubled.
    disposition: Any = {"disposition": "merge", "strategy": "delete-insert"}
    marker: Any = {EMPTY_SLICE: {"data_type": "bool", "hard_delete": True, "nullable": True}}

    @dlt.transformer(
        data_from=source,
        name=spec.table_name,
        write_disposition=disposition,
        merge_key=spec.merge_key,
        primary_key=spec.primary_key,
        columns=marker,
        file_format="parquet",  # Arrow as it is; on Postgres via ADBC (keeps '' apart from NULL)
    )
    def table(item: Any) -> pa.Table | None:
        if isinstance(item, EndOfRun):
            seen["expected"] = item.units
        elif isinstance(item, Unit):
            seen["units"] += 1
            answered = [
                (result.planned, result.rows)
                for result in item.results
                if result.planned.spec is spec and result.error is None
            ]
            if answered:
                batch = slices_table(spec, answered)
                held.append(batch)
                seen["rows"] += batch.num_rows
        finished = seen["units"] == seen["expected"]
        if not held or (seen["rows"] < BATCH_ROWS and not finished):
            return None
        batch = pa.concat_tables(held).combine_chunks()
        held.clear()
        seen["rows"] = 0
        return with_load_id(batch)

    # this source's table: only such tables do the destinations of databuddy_source.destinations
    # load faster than dlt's own (see fast_clients.py)
    table.apply_hints(additional_table_hints={SOURCE_HINT: True})
    return table


def with_load_id(batch: pa.Table) -> pa.Table:
    """``batch`` with dlt's ``_dlt_load_id`` (the load package it goes into), as every dlt
    table has: dlt adds it to dict rows, but to Arrow tables only when the parquet normalizer's
    ``add_dlt_load_id`` is on, a setting of every pipeline in the process. Nullable, so that a
    table loaded before the column existed takes it."""
    load_id = dlt.current.load_package_state()["load_id"]
    column = pa.repeat(pa.scalar(load_id, pa.string()), batch.num_rows)
    index = batch.schema.get_field_index(C_DLT_LOAD_ID)
    if index >= 0:
        return batch.set_column(index, C_DLT_LOAD_ID, column)
    return batch.append_column(C_DLT_LOAD_ID, column)


def sync_log_transformer(source: DltResource, report: SyncReport) -> DltResource:
    """``sync_log``: one row per run, parent, query type and slice (appended)."""

    log_disposition: Any = {"disposition": "merge", "strategy": "delete-insert"}

    @dlt.transformer(
        data_from=source,
        name="sync_log",
        # merged on its key, not appended: a load job that ran twice cannot double it
        write_disposition=log_disposition,
        primary_key=["run_id", "table_name", "parent_id", "slice_date"],
        file_format="parquet",  # never insert_values: slow and memory-hungry on DuckDB
        columns={
            "error": {"data_type": "text", "nullable": True},
            "error_type": {"data_type": "text", "nullable": True},
            "request_id": {"data_type": "text", "nullable": True},
        },
    )
    def sync_log(item: Any) -> list[dict[str, Any]] | None:
        if not isinstance(item, Unit):
            return None
        return [_log_row(report, item, r.planned, r) for r in item.results]

    sync_log.apply_hints(additional_table_hints={SOURCE_HINT: True})  # see table_transformer
    return sync_log


def _log_row(report: SyncReport, unit: Unit, planned: PlannedSlice, result: Any) -> dict[str, Any]:
    return {
        "run_id": report.run_id,
        "run_started_at": report.started_at,
        "parent_kind": planned.parent.kind,
        "parent_id": planned.parent.id,
        "query_type": planned.spec.name,
        "table_name": planned.spec.table_name,
        "slice_date": planned.slice_date,
        "start_date": planned.start,
        "end_date": planned.end,
        "unit": unit.number,
        "unit_requests": unit.requests,
        "unit_retries": unit.retries,
        "unit_rate_limited": unit.rate_limited,
        "pages": result.pages,
        "rows": len(result.rows),
        "possibly_truncated": result.possibly_truncated,
        "error_type": type(result.error).__name__ if result.error else None,
        "error": str(result.error) if result.error else None,
        "request_id": result.request_id,
    }


def parent_names(parents: Parents) -> dict[str, Parent]:
    return {p.id: p for kind in parents.by_kind().values() for p in kind}
