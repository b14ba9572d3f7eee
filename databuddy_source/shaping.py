"""Pure shaping: API rows of one slice -> typed ``pyarrow.Table`` rows of its table.

Rows gain the parent id and the slice ``date``; a daily series' own ``date`` becomes the slice
date (one slice key per day), an hourly one becomes ``hour``. A slice (or a series day) the API
answered with no rows gets one marker row (``_empty_slice = true``) so that the merge removes
what an earlier run loaded for it; the marker itself is never inserted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, TypeAlias

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from .catalog import EMPTY_SLICE, HOUR, SLICE_DATE, SLICE_ROW, TableSpec
from .planning import PlannedSlice

Row = dict[str, Any]


def _renamed(spec: TableSpec) -> dict[str, str]:
    """API column -> table column, for the columns that change name."""
    out = {}
    for f in spec.data_fields:
        if spec.hourly and f.name == SLICE_DATE:
            out[f.name] = HOUR
        elif f.name in (SLICE_DATE, spec.parent_column):
            out[f.name] = f"api_{f.name}"
    for api_name, _ in spec.learned_columns():
        if spec.table_column(api_name) != api_name:
            out[api_name] = spec.table_column(api_name)
    return out


def fractional_integer(spec: TableSpec, rows: Answer) -> str | None:
    """Why ``rows`` (decoded by orjson) cannot load: a number with a fraction in a column the
    contract types as an integer, which Arrow would silently truncate. None when they can.
    Arrow-decoded answers never hold one (:mod:`.arrow_answers` declines them)."""
    if isinstance(rows, pa.Table) or not rows:
        return None
    api_names = {new: old for old, new in _renamed(spec).items()}
    for f in spec.arrow_schema():
        if f.name in spec.key_columns or not pa.types.is_integer(f.type):
            continue
        name = api_names.get(f.name, f.name)
        for row in rows:
            value = row.get(name)
            if type(value) is float and not value.is_integer():
                return (
                    f"{spec.name}: the API answered {value!r} for {name!r}, which the contract "
                    "types as an integer; the slice was not loaded rather than truncated "
                    "(please report it: the contract needs a fix)"
                )
    return None


def slice_rows(planned: PlannedSlice, rows: Iterable[Row]) -> list[Row]:
    """The table rows of one answered slice (markers included)."""
    spec = planned.spec
    key = {spec.parent_column: planned.parent.id}
    renamed = _renamed(spec)
    arrays = [f.name for f in spec.data_fields if f.array]
    out: list[Row] = []
    seen_days: set[str] = set()
    ordinal: dict[str, int] = {}
    for row in rows:
        shaped = dict(row)
        day = planned.slice_date.isoformat()
        if spec.slicing == "series":
            day = str(row.get(SLICE_DATE, ""))[:10]
            seen_days.add(day)
            if not spec.hourly:
                shaped.pop(SLICE_DATE, None)
        for old, new in renamed.items():
            if old in shaped:
                shaped[new] = shaped.pop(old)
        for name in arrays:
            if shaped.get(name) is not None:
                shaped[name] = orjson.dumps(shaped[name]).decode()
        shaped.update(key)
        shaped[SLICE_DATE] = day
        shaped[SLICE_ROW] = ordinal[day] = ordinal.get(day, -1) + 1
        out.append(shaped)
    if spec.slicing == "series":
        for series_day in planned.days:
            if series_day.isoformat() not in seen_days:
                out.append(
                    {**key, SLICE_DATE: series_day.isoformat(), SLICE_ROW: 0, EMPTY_SLICE: True}
                )
    elif not out:
        out.append(
            {**key, SLICE_DATE: planned.slice_date.isoformat(), SLICE_ROW: 0, EMPTY_SLICE: True}
        )
    return out


def _column(values: list[Any], kind: pa.DataType) -> pa.Array:
    """One typed column; dates and timestamps arrive as strings, numbers may arrive as
    either ints or floats."""
    if pa.types.is_date32(kind):
        return _text_column(pa.array(values, pa.string()), kind)
    if pa.types.is_timestamp(kind):
        return _text_column(pa.array([_iso(v) for v in values], pa.string()), kind)
    if pa.types.is_integer(kind):
        try:
            return pa.array(values, kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array([None if v is None else int(v) for v in values], kind)
    if pa.types.is_floating(kind):
        try:
            return pa.array(values, kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array([None if v is None else float(v) for v in values], kind)
    if pa.types.is_boolean(kind):
        return pa.array(values, kind)
    try:
        return pa.array(values, kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], kind)


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return None if value is None else str(value)


def to_arrow(spec: TableSpec, rows: list[Row]) -> pa.Table:
    """A table with the spec's explicit schema (columns the API did not send are null). An
    hourly series' ``hour`` is the API's label read in the zone the API labels it in."""
    schema = spec.arrow_schema()
    columns = []
    for f in schema:
        values = [r.get(f.name) for r in rows]
        if f.name == HOUR and spec.hourly and spec.hour_zone != "UTC":
            text = pa.array([_iso(v) for v in values], pa.string())
            columns.append(_text_column(text, f.type, spec.hour_zone))
        else:
            columns.append(_column(values, f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def column_wise(spec: TableSpec) -> bool:
    """Period and snapshot slices without array columns: built column-wise by Arrow itself
    (and their answers may be decoded straight into Arrow, see :mod:`.arrow_answers`)."""
    return spec.slicing != "series" and not any(f.array for f in spec.data_fields)


def read_schema(spec: TableSpec) -> pa.Schema:
    """The API's columns of a :func:`column_wise` table as Arrow reads them from an answer:
    API names, dates and date-times still as text."""
    api_names = {new: old for old, new in _renamed(spec).items()}
    return pa.schema(
        [
            pa.field(
                api_names.get(f.name, f.name),
                pa.string() if _as_text(f.type) else f.type,
            )
            for f in spec.arrow_schema()
            if f.name not in spec.key_columns
        ]
    )


def _as_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_date32(kind) or pa.types.is_timestamp(kind))


Answer: TypeAlias = "list[Row] | pa.Table"  # a slice's rows: decoded by orjson, or by Arrow


def slices_table(spec: TableSpec, answered: list[tuple[PlannedSlice, Answer]]) -> pa.Table:
    """The table rows of several answered slices of one table, as one typed ``pyarrow.Table``.

    Same result as :func:`to_arrow` over :func:`slice_rows` of each slice, but the API's rows go
    to Arrow as they are (already Arrow, or ``Table.from_pylist``: no per-row Python work), and
    the key columns are built per slice. Falls back to the row-wise path for series, array
    columns, or values of an unexpected type.
    """
    if not column_wise(spec):
        return _row_wise(spec, answered)
    schema = spec.arrow_schema()
    read = read_schema(spec)
    data = [f for f in schema if f.name not in spec.key_columns]
    arrow = all(isinstance(answer, pa.Table) for _, answer in answered)
    pieces: list[pa.Table] = []  # Arrow answers, as they are
    rows: list[Row] = []  # else every answer as dict rows
    keys: list[tuple[PlannedSlice, int]] = []  # each slice's rows (a marker: 0)
    for planned, answer in answered:
        n = len(answer)
        if n:
            if arrow:
                pieces.append(_conformed(answer, read))
            else:
                rows.extend(_rows(answer))
        else:  # a marker: the merge deletes what an earlier run loaded for this slice
            if arrow:
                pieces.append(pa.Table.from_pylist([{}], schema=read))
            else:
                rows.append({})
        keys.append((planned, n))
    if arrow:
        table = pa.concat_tables(pieces) if pieces else read.empty_table()
    else:
        try:
            table = pa.Table.from_pylist(rows, schema=read)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return _row_wise(spec, answered)
    columns = _key_columns(spec, keys)
    for f, column in zip(data, table.columns, strict=True):
        columns[f.name] = (
            _text_column(column.combine_chunks(), f.type)
            if _as_text(f.type)
            else column.combine_chunks()
        )
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


_MARKED = pa.array([True], pa.bool_())


def _key_columns(spec: TableSpec, keys: list[tuple[PlannedSlice, int]]) -> dict[str, pa.Array]:
    """The key and marker columns of slices of ``n`` rows each (0: one marker row), built by
    Arrow a slice at a time (no Python object per row)."""
    parents, days, ordinals, markers = [], [], [], []
    for planned, n in keys:
        rows = max(n, 1)
        parents.append(pa.repeat(pa.scalar(planned.parent.id, pa.string()), rows))
        days.append(pa.repeat(pa.scalar(planned.slice_date, pa.date32()), rows))
        ordinals.append(_ordinals(rows))
        markers.append(pa.nulls(n, pa.bool_()) if n else _MARKED)
    return {
        spec.parent_column: _joined_arrays(parents, pa.string()),
        SLICE_DATE: _joined_arrays(days, pa.date32()),
        SLICE_ROW: _joined_arrays(ordinals, pa.int64()),
        EMPTY_SLICE: _joined_arrays(markers, pa.bool_()),
    }


_ORDINALS: list[pa.Array] = [pa.array(range(16_384), pa.int64())]  # grown when a slice needs


def _ordinals(n: int) -> pa.Array:
    """0 .. n-1 (a slice of one array kept for every call)."""
    if n > len(_ORDINALS[0]):
        _ORDINALS[0] = pa.array(range(max(n, 2 * len(_ORDINALS[0]))), pa.int64())
    return _ORDINALS[0].slice(0, n)


def _joined_arrays(arrays: list[pa.Array], kind: pa.DataType) -> pa.Array:
    return pa.concat_arrays(arrays) if arrays else pa.array([], kind)


def _conformed(answer: pa.Table, read: pa.Schema) -> pa.Table:
    """An Arrow answer with exactly the columns of ``read`` (a column learned after it was
    decoded is null in it)."""
    columns = [
        answer.column(f.name) if f.name in answer.column_names else pa.nulls(len(answer), f.type)
        for f in read
    ]
    return pa.Table.from_arrays(columns, schema=read)


def _rows(answer: Answer) -> list[Row]:
    if isinstance(answer, pa.Table):
        rows: list[Row] = answer.to_pylist()
        return rows
    return answer


HOUR_WITH_MONTH_NAME = r"^(\d{4}-\d{2}-\d{2}T\d{2}):[A-Za-z]+(:\d{2})$"


def _text_column(text: pa.Array, kind: pa.DataType, zone: str = "UTC") -> pa.Array:
    """A date or date-time column from the API's text (date-times are wall times of ``zone``,
    UTC unless said, without an offset, with a space or a ``T``; an empty one is null). A
    wall time the zone skips or repeats (daylight saving) is read as its earliest instant."""
    if pa.types.is_date32(kind):
        return pc.cast(text, pa.date32())
    blank = pc.equal(text, "")
    text = pc.if_else(blank, pa.scalar(None, pa.string()), text)
    text = pc.replace_substring(text, " ", "T", max_replacements=1)
    try:
        naive = pc.cast(text, pa.timestamp(kind.unit))
    except pa.ArrowInvalid:
        # Link types label an hour '2026-11-20 13:November:00': their query formats the minute
        # with %M, which ClickHouse prints as the month's name. An hour's minute is 0.
        text = pc.replace_substring_regex(text, HOUR_WITH_MONTH_NAME, r"\1:00\2")
        naive = pc.cast(text, pa.timestamp(kind.unit))
    if not kind.tz:
        return naive
    local = pc.assume_timezone(naive, zone, ambiguous="earliest", nonexistent="earliest")
    return pc.cast(local, kind)


def _row_wise(spec: TableSpec, answered: list[tuple[PlannedSlice, Answer]]) -> pa.Table:
    return to_arrow(spec, [row for p, answer in answered for row in slice_rows(p, _rows(answer))])
