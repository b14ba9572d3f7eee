"""Paging: what a slice's answer says about its next page. Pure: no I/O.

A type whose answer is cut at the request's ``limit`` says so by a full page. Then, as the type
allows: a first read at a small limit is read again at the full limit (packing learns the
table's size), a type that honours ``page`` (an OFFSET) is asked for its next page, and any
other (it repeats its first page, or merges each page on its own) is flagged possibly
truncated. Pages of rows tied on the sort key can overlap: :func:`join_pages` drops the
repeated rows and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

import orjson
import pyarrow as pa

from .arrow_answers import disjoint_concat
from .catalog import MERGED_AFTER_LIMIT, TableSpec
from .slices import SliceOptions, SliceRows

MAX_PAGES = 1_000


class Next(Enum):
    """What follows one page of a slice."""

    DONE = "done"  # the page was not full: the slice is read
    PAGE = "page"  # ask for the next page
    READ_AGAIN = "read again"  # a first read filled its small page: read again at the full limit
    TRUNCATED = "truncated"  # full, and no next page can be asked for: possibly truncated


@dataclass(slots=True)
class Pager:
    """The pages of one packed request: ``page`` is the one to ask for next. ``limit`` is the
    rows a page may hold; ``first_read``: a small first limit, whose full pages are read again
    rather than paged."""

    limit: int
    first_read: bool = False
    page: int = 1

    def options(self, options: SliceOptions) -> SliceOptions:
        """The request options of the current page (the first page names none)."""
        return replace(options, page=self.page) if self.page > 1 else options

    def next(self, spec: TableSpec, rows: int) -> Next:
        """What follows a page of ``rows`` rows of a slice of ``spec``."""
        qtype = spec.qtype
        merged = spec.name in MERGED_AFTER_LIMIT
        # a merged page shrinks below its limit: half full may already be cut
        full = qtype.limit_applied and rows >= (self.limit // 2 if merged else self.limit)
        if not full:
            return Next.DONE
        if self.first_read:
            return Next.READ_AGAIN
        if qtype.offset_applied and not merged:
            return Next.PAGE
        return Next.TRUNCATED

    def advance(self) -> bool:
        """Move to the next page; False once ``MAX_PAGES`` pages were asked for."""
        self.page += 1
        return self.page <= MAX_PAGES


def join_pages(rows: SliceRows, page: SliceRows) -> tuple[SliceRows, bool]:
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
