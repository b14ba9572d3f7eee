"""The dlt resources: one hidden resource that plans and fetches slices, one merge transformer
per query type table, the sync log, and the RPC collections."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.configuration.container import Container
from dlt.common.destination import DestinationCapabilitiesContext
from dlt.common.libs.pyarrow import add_constant_column
from dlt.common.schema.typing import C_DLT_LOAD_ID
from dlt.extract.resource import DltResource

from .catalog import EMPTY_SLICE, SOURCE_HINT, TableSpec
from .discovery import Parents
from .errors import AuthenticationError
from .fetching import SliceFetcher, SliceResult, Unit
from .memory import release_freed_memory
from .packing import by_request_scope
from .planning import Parent, PlannedSlice, Window, plan
from .run_report import SyncReport, account
from .run_state import FAILED_KEY, SETTLED_KEY, SIZES_KEY, STATE_KEY, advance, remember_failed
from .shaping import slices_table
from .source_run import SourceRun, selected_tables

__all__ = ["SyncReport", "slices_resource", "sync_log_transformer", "table_transformer"]

log = logging.getLogger("databuddy_source")

BATCH_ROWS = 10_000  # rows per Arrow table handed to dlt (one parquet row group each)
SLICES_RESOURCE = "query_slices"


@dataclass(frozen=True, slots=True)
class EndOfRun:
    """The last item of the slices resource, with how many units came before it. dlt may hand
    a transformer this item before the last units (forked items are not kept in order), so a
    table flushes once it has seen every unit and this item, whichever comes last."""

    units: int


def slices_resource(run: SourceRun) -> DltResource:
    """Plans the run from the resource state and yields one :class:`Unit` per packed request,
    then an :class:`EndOfRun`. Not a table itself: the per-type transformers read it."""
    options, client, report = run.options, run.client, run.report

    @dlt.resource(name=SLICES_RESOURCE, selected=False)
    def query_slices() -> Iterator[Any]:
        resource_state = dlt.current.resource_state()
        run_plan = run.plan_slices(resource_state, selected_tables(run.specs))
        planned, run_window = by_request_scope(run_plan.slices), run_plan.window
        state, settled = resource_state[STATE_KEY], resource_state[SETTLED_KEY]
        failed_days = resource_state[FAILED_KEY]
        gone = _gone_units(run_plan.gone, run.parents(), run_window, report)
        fetcher = SliceFetcher(
            client,
            timezone=options.timezone,
            filters=options.filters,
            limit=options.limit,
            rows_per_request=options.rows_per_request,
            parameters_per_request=options.max_parameters_per_request,
            estimates=resource_state.get(SIZES_KEY),
        )
        labels = _labels(p for p, s in planned.items() if s)
        report.planned.update({labels[p]: len(planned[p]) for p in labels})
        units = len(gone)
        yield from gone
        failed: dict[Parent, set[tuple[str, str]]] = {p: set() for p in planned}  # (table, id)
        failed_on: dict[tuple[str, str], set[str]] = {}  # (table, parent) -> days failed
        skipped: set[tuple[str, str]] = set()  # (table, parent) not read, not failed
        done = dict.fromkeys(planned, 0)
        # A run with a moving end (not an explicit end_date) stops once it has read about
        # max_rows_per_run rows, at a request boundary (up to concurrency x rows_per_request
        # more): each load package, and so the merge's memory, stays bounded however long the
        # backfill; the next run goes on from there.
        cap = options.max_rows_per_run if run_window.end_date is None else None
        stop = (lambda: fetcher.rows_read >= cap) if cap else (lambda: False)
        for parent, unit, leftover in fetch_all(fetcher, planned, options.concurrency, stop):
            slices = planned[parent]
            if unit is None:  # every unit of this parent is in: its tables are read through
                if run_window.end_date is None:
                    advance(state, settled, slices, leftover, skipped, run_window)
                    remember_failed(failed_days, slices, failed_on, skipped, leftover)
                report.more = report.more or bool(leftover)
                continue
            account(report, unit, failed[parent])
            for r in unit.results:
                key = (r.planned.spec.table_name, r.planned.parent.id)
                if r.skipped is not None:
                    skipped.add(key)
                elif r.error is not None:
                    failed_on.setdefault(key, set()).add(r.planned.start.isoformat())
            units += 1
            done[parent] += len(unit.results)
            report.done[labels[parent]] = done[parent]
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
        for name, columns in fetcher.new_columns.items():
            report.note(
                f"{name}: the API sent columns the bundled contract does not list",
                ", ".join(columns),
                "loaded as new columns",
            )
        stats = client.stats
        if stats.first_sent is not None and stats.last_sent is not None:
            report.request_span_s = round(stats.last_sent - stats.first_sent, 3)
        yield EndOfRun(units)

    return query_slices


def _labels(parents: Iterable[Parent]) -> dict[Parent, str]:
    """How progress names each parent: ``website Acme Store`` (with its id when two share a
    name)."""
    labels: dict[Parent, str] = {}
    for parent in parents:
        label = f"{parent.kind} {parent.name or parent.id}"
        if label in labels.values():
            label += f" ({parent.id})"
        labels[parent] = label
    return labels


def _gone_units(
    gone: list[TableSpec], parents: Parents, window: Window, report: SyncReport
) -> list[Unit]:
    """One sync_log row per (type, parent) for configured types the API no longer lists."""
    if not gone:
        return []
    units: list[Unit] = []
    for parent, slices in plan(gone, parents.by_kind(), window, {}, {}).items():
        first: dict[str, PlannedSlice] = {}
        for s in slices:
            first.setdefault(s.spec.table_name, s)
        results = [
            SliceResult(s, skipped=f"the API no longer lists query type {s.spec.name!r}")
            for s in first.values()
        ]
        units.append(Unit(parent, len(units), results))
    for spec in gone:
        report.note(
            "configured query types the API no longer lists (GET /v1/query/types); "
            "remove them from queries",
            spec.name,
        )
    return units


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
                if result.planned.spec is spec and result.error is None and result.skipped is None
            ]
            if answered:
                batch = slices_table(spec, answered)
                held.append(batch)
                seen["rows"] += batch.num_rows
        finished = seen["units"] == seen["expected"]
        if not held or (seen["rows"] < BATCH_ROWS and not finished):
            return None
        # a column learned mid-run is null in the batches built before it
        batch = pa.concat_tables(held, promote_options="default").combine_chunks()
        held.clear()
        seen["rows"] = 0
        return with_load_id(batch)

    # this source's table: only such tables do the destinations of databuddy_source.destinations
    # load faster than dlt's own (see merge/duckdb_client.py)
    table.apply_hints(additional_table_hints={SOURCE_HINT: True})
    return table


def with_load_id(batch: pa.Table) -> pa.Table:
    """``batch`` with dlt's ``_dlt_load_id`` (the load package it goes into), as every dlt
    table has: dlt adds it to dict rows, but to Arrow tables only when the parquet normalizer's
    ``add_dlt_load_id`` is on, a setting of every pipeline in the process. Built as dlt builds
    it then: one dictionary value and a byte of index per row when the destination takes
    dictionary columns (:func:`takes_dictionaries`), else the string repeated. Nullable, so
    that a table loaded before the column existed takes it."""
    load_id = dlt.current.load_package_state()["load_id"]
    index = batch.schema.get_field_index(C_DLT_LOAD_ID)
    if index >= 0:
        batch = batch.remove_column(index)
    return add_constant_column(
        batch, C_DLT_LOAD_ID, pa.string(), load_id, nullable=True, index=index,
        use_dictionary=takes_dictionaries(),
    )  # fmt: skip


def takes_dictionaries() -> bool:
    """Whether the destination of the running extract loads dictionary-encoded Parquet
    columns: dlt's ``supports_dictionary_encoding`` in the capabilities the pipeline injects
    for extract (False without them)."""
    container = Container()
    if DestinationCapabilitiesContext not in container:
        return False
    parquet = container[DestinationCapabilitiesContext].parquet_format
    return parquet is None or bool(parquet.supports_dictionary_encoding)


def sync_log_transformer(
    source: DltResource, report: SyncReport, name: str = "sync_log"
) -> DltResource:
    """``sync_log``: one row per run, parent, query type and slice (appended). ``name``: the
    resource's, when another slices resource (custom reports) logs into the same table."""

    log_disposition: Any = {"disposition": "merge", "strategy": "delete-insert"}

    @dlt.transformer(
        data_from=source,
        name=name,
        table_name="sync_log",
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


def _log_row(
    report: SyncReport, unit: Unit, planned: PlannedSlice, result: SliceResult
) -> dict[str, Any]:
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
        "possibly_inexact": result.possibly_inexact,
        "timezone": planned.spec.zone,
        "status": _status(result),
        "error_type": type(result.error).__name__ if result.error else None,
        "error": str(result.error) if result.error else result.skipped,
        "request_id": result.request_id,
    }


def _status(result: SliceResult) -> str:
    """``loaded``, ``skipped`` (plan, catalogue: not a failure) or ``failed``."""
    if result.skipped is not None:
        return "skipped"
    return "failed" if result.error is not None else "loaded"


def parent_names(parents: Parents) -> dict[str, Parent]:
    return {p.id: p for kind in parents.by_kind().values() for p in kind}
