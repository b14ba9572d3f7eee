"""Packed answers decoded straight into Arrow, with no Python object per value.

A packed request whose slices all build their tables column-wise is read by Arrow's JSON parser
against an explicit schema built from the contract: each parameter's rows become an Arrow table
of the API's columns, parsed in C++ without holding the GIL (so the fetch threads decode while
the main thread writes). Anything unexpected returns ``None`` and the answer is decoded the
general way (orjson, then :mod:`.shaping`), so the rows never differ: an unsuccessful answer or
parameter, a value of another JSON type than the contract says (``3.0`` or ``"7"`` for an
integer), or one column name typed differently by two of the request's types.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json


@dataclass(frozen=True, slots=True)
class ArrowAnswer:
    """A successful packed answer: each parameter's rows as a table of the requested columns."""

    request_id: str | None
    tables: dict[str, pa.Table]  # parameter id -> its rows


def answer_schema(row_schemas: Iterable[pa.Schema]) -> pa.Schema | None:
    """The schema of a packed answer whose parameters' rows have these schemas (the union of
    their columns); ``None`` if two of them type one column name differently."""
    columns: dict[str, pa.Field] = {}
    for schema in row_schemas:
        for f in schema:
            seen = columns.setdefault(f.name, f)
            if seen.type != f.type:
                return None
    entry = pa.struct(
        [
            pa.field("parameter", pa.string()),
            pa.field("success", pa.bool_()),
            pa.field("data", pa.list_(pa.struct(list(columns.values())))),
        ]
    )
    return pa.schema(
        [
            pa.field("success", pa.bool_()),
            pa.field("requestId", pa.string()),
            pa.field("data", pa.list_(entry)),
        ]
    )


def decode(raw: bytes, schema: pa.Schema) -> ArrowAnswer | None:
    """The answer in ``raw`` read with ``schema`` (from :func:`answer_schema`), or ``None``
    when it is not a plain success of the expected types (decode it the general way then)."""
    options = pa_json.ParseOptions(
        explicit_schema=schema,
        unexpected_field_behavior="ignore",
        # the common, faster case is one line; a pretty-printed answer is read too
        newlines_in_values=b"\n" in raw.strip(),
    )
    try:
        table = pa_json.read_json(
            pa.BufferReader(raw),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(raw) + 1),
            parse_options=options,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if table.num_rows != 1 or table.column("success")[0].as_py() is not True:
        return None
    answered = table.column("data").chunk(0)
    if not answered.is_valid()[0].as_py():
        return None
    parameters, successes, data = answered.flatten().flatten()  # the entries' three fields
    labels = parameters.to_pylist()
    if None in labels or any(s is not True for s in successes.to_pylist()):
        return None
    tables: dict[str, pa.Table] = {}
    for label, rows in zip(labels, data, strict=True):
        values = rows.values if rows.is_valid else pa.array([], data.type.value_type)
        tables[label] = pa.Table.from_struct_array(values)
    request_id = table.column("requestId")[0].as_py()
    return ArrowAnswer(request_id, tables)


def disjoint_concat(first: pa.Table, second: pa.Table) -> pa.Table | None:
    """``first`` followed by ``second`` when all their rows differ from one another (so no row
    of ``second`` repeats one of ``first``), found by Arrow's hashing without a Python object
    per row: a column whose values are all distinct proves it, else a grouping by every
    column. ``None`` when some rows may be equal, or the tables' columns differ: compare them
    row by row then."""
    try:
        joined = pa.concat_tables([first, second])
        n = joined.num_rows
        for column in joined.columns:  # one all-distinct column (a page's label) is enough
            if pa.types.is_null(column.type):  # a column the contract leaves untyped: all null
                continue
            if pc.count_distinct(column, mode="all").as_py() == n:
                return joined
        groups = joined.group_by(joined.column_names, use_threads=False).aggregate([])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    return joined if groups.num_rows == n else None
