"""The databuddy source as Delta Lake tables on a bucket: dlt's ``filesystem`` destination with
``table_format="delta"``, query-type tables partitioned by ``date``.

::

    pipeline = dlt.pipeline("databuddy", destination=dlt.destinations.filesystem(bucket_url),
                            dataset_name="databuddy")
    pipeline.run(as_delta(databuddy()))

Guarantees, the same as on a warehouse:

* Each loaded slice (parent, query type, day) holds exactly the rows the API answers for it: a
  re-read slice replaces that slice's rows as a whole, so late data is updated, rows the API no
  longer returns are removed, and a slice the API now answers with nothing is emptied. Slices a
  run did not read (older days, failed slices) keep their rows.
* Each table changes in one Delta commit per load package, data and deletions together: a
  reader sees a run's days entirely or not at all. dlt's state still travels with the data, so
  a crash loses at most the package in flight and the next run loads it first.
* Query-type tables are partitioned by ``date`` (``<table>/date=YYYY-MM-DD/*.parquet``).
  ``sync_log`` and the RPC collections are unpartitioned and merged on their primary keys
  (``run_id, table_name, parent_id, slice_date`` and ``id``); a table given
  ``write_disposition="replace"`` is overwritten by each run's rows in one commit.

How: dlt 1.31 merges Delta tables only by primary key (``upsert``, ``insert-only``, ``cdc``); it
has no ``delete-insert`` on a merge key there. So each query-type table uses ``cdc``, an upsert on
(parent id, ``date``, ``_slice_row``) that also deletes the target rows its ``destination_scope``
selects and the loaded rows do not match. The scope is computed while extracting: exactly the
slices the run read, empty answers included, so a re-read day is replaced entirely in the same
Delta ``MERGE``. The empty-slice marker rows only carry their slice into the scope and are not
loaded (dlt writes a new Delta table without applying hard deletes).

Not supported: ``rpc_history`` (dlt has no ``scd2`` for Delta tables) and Iceberg (dlt's
pyiceberg merge is an upsert in 1,000-row commits, with neither a scope nor hard deletes, so
vanished rows would stay).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.schema.typing import MERGE_STRATEGIES, TTableFormat
from dlt.common.schema.utils import get_columns_names_with_prop
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource

from .catalog import EMPTY_SLICE, SLICE_DATE
from .errors import ConfigurationError

if TYPE_CHECKING:  # dlt 1.31 and later (cdc); the core runs on older dlt
    from dlt.common.schema.typing import TCdcStrategyDict

TABLE_FORMAT: TTableFormat = "delta"
PARTITION_COLUMN = SLICE_DATE  # one folder per day: a re-read day rewrites only its own files


def as_delta(source: DltSource) -> DltSource:
    """Hints every table of a ``databuddy`` source to load as a Delta table, with the
    guarantees in this module's docstring. Apply it to each run's fresh source; load it with
    ``dlt.destinations.filesystem``. Raises :class:`ConfigurationError` for ``rpc_history``,
    and on a dlt without the ``cdc`` merge (before 1.31)."""
    if "cdc" not in MERGE_STRATEGIES:
        raise ConfigurationError(
            f"Delta tables need dlt 1.31 or later (its 'cdc' merge); dlt {dlt.__version__} is "
            "installed: pip install 'databuddy-source[lakehouse]'"
        )
    for resource in source.resources.values():
        _hint(resource)
    return source


def _hint(resource: DltResource) -> None:
    table = resource.compute_table_schema()
    if table.get("write_disposition") != "merge":
        resource.apply_hints(table_format=TABLE_FORMAT)
        return
    strategy = table.get("x-merge-strategy", "delete-insert")
    # the key columns are typed only when data arrives: ask for the incomplete ones too
    slice_key = get_columns_names_with_prop(table, "merge_key", include_incomplete=True)
    if slice_key:
        parent_column, *_ = (c for c in slice_key if c != SLICE_DATE)
        date_column = SLICE_DATE if SLICE_DATE in slice_key else None
        # cdc rejects a merge key on Delta: the slice key lives on in the destination scope.
        # Until a batch brings its slices, the scope selects nothing: should a load ever miss
        # them, the merge is a plain upsert, never a delete of every row not loaded.
        resource.apply_hints(
            table_format=TABLE_FORMAT,
            write_disposition=_cdc(destination_scope(parent_column, {}, date_column)),
            merge_key="",
            columns={PARTITION_COLUMN: {"partition": True}},
        )
        resource.add_map(_scope_tracker(parent_column, date_column))
    elif strategy == "delete-insert":
        # keyed by the primary key alone (sync_log, RPC collections), delete-insert is an upsert
        resource.apply_hints(
            table_format=TABLE_FORMAT,
            write_disposition={"disposition": "merge", "strategy": "upsert"},
        )
    elif strategy in ("upsert", "insert-only"):
        resource.apply_hints(table_format=TABLE_FORMAT)
    else:
        raise ConfigurationError(
            f"table {resource.name!r} merges with {strategy!r}, which dlt cannot write to Delta "
            "tables: set rpc_history = false (or rpc_collections = ['none']) for a lakehouse load"
        )


def _cdc(scope: str) -> TCdcStrategyDict:
    return {"disposition": "merge", "strategy": "cdc", "destination_scope": scope}


def _scope_tracker(parent_column: str, date_column: str | None) -> Callable[[Any], Any]:
    """A map step for one query-type table: records the slices of each Arrow batch, drops the
    empty-slice markers, and hands the batch on with the destination scope of every slice seen
    so far (the last batch's hint is what the load package keeps)."""
    slices: dict[str, set[date]] = {}

    def scoped(item: Any) -> Any:
        table = item if isinstance(item, pa.Table) else pa.Table.from_batches([item])
        columns = [c for c in (parent_column, date_column) if c is not None]
        for key in table.select(columns).group_by(columns).aggregate([]).to_pylist():
            days = slices.setdefault(key[parent_column], set())
            if date_column is not None:
                days.add(key[date_column])
        if EMPTY_SLICE in table.column_names:
            table = table.filter(pc.invert(pc.fill_null(table[EMPTY_SLICE], False)))
        scope = destination_scope(parent_column, slices, date_column)
        return dlt.mark.with_hints(table, dlt.mark.make_hints(write_disposition=_cdc(scope)))

    return scoped


def destination_scope(
    parent_column: str, slices: Mapping[str, Collection[date]], date_column: str | None = None
) -> str:
    """A dlt ``destination_scope`` selecting exactly the rows of ``slices`` (parent id -> its
    days; without ``date_column``, every row of each parent). Parents with the same days share a
    clause and consecutive days become one range, so a run's scope stays short."""
    if not slices:
        return "1 = 0"  # no slice: the merge deletes nothing
    parent = f"{{table}}.{parent_column}"
    if date_column is None:
        return f"{parent} IN ({_literals(slices)})"
    by_days: dict[tuple[tuple[date, date], ...], list[str]] = {}
    for parent_id, days in slices.items():
        by_days.setdefault(tuple(day_ranges(days)), []).append(parent_id)
    day = f"{{table}}.{date_column}"
    clauses = []
    for ranges, parents in sorted(by_days.items()):
        within = " OR ".join(
            f"{day} = DATE '{first}'"
            if first == last
            else f"{day} BETWEEN DATE '{first}' AND DATE '{last}'"
            for first, last in ranges
        )
        clauses.append(f"({parent} IN ({_literals(parents)}) AND ({within}))")
    return " OR ".join(clauses)


def day_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """``days`` as sorted ``(first, last)`` runs of consecutive days."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def _literals(values: Iterable[str]) -> str:
    # SQL quotes doubled for Delta's parser, braces doubled for dlt's str.format placeholders
    return ", ".join(
        "'" + v.replace("'", "''").replace("{", "{{").replace("}", "}}") + "'"
        for v in sorted(values)
    )
