"""Logging of the command-line process (never of the library): this package's records above
the progress block, dlt's at its configured level, and nothing from the HTTP libraries. dlt's
"did not receive any data" warning blocks are dropped for this source's own tables: an RPC
collection an organization does not use is empty, which is expected, not worth 35 lines."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable

from .progress import Progress, ProgressHandler

FORMAT = "%(levelname)s %(name)s: %(message)s"
_EMPTY_COLUMNS = re.compile(r"columns in table [`'](?P<table>[^`']+)[`'] did not receive any data")


class ExpectedEmptyTables(logging.Filter):
    """Drops dlt's warnings about columns that received no data, for the tables named here."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: set[str] = set()

    def add(self, tables: Iterable[str]) -> None:
        self.tables.update(tables)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        found = _EMPTY_COLUMNS.search(record.getMessage())
        return found is None or found["table"] not in self.tables


def configure_logging(debug: bool, progress: Progress) -> ExpectedEmptyTables:
    """Set up this process's logging; the filter to give this source's table names to."""
    handler = ProgressHandler(progress)
    handler.setFormatter(logging.Formatter(FORMAT))
    ours = logging.getLogger("databuddy_source")
    ours.addHandler(handler)
    ours.propagate = False
    ours.setLevel(logging.DEBUG if debug else logging.WARNING)
    if debug:  # dlt sets its logger up from its config when a pipeline starts
        os.environ["RUNTIME__LOG_LEVEL"] = "DEBUG"
    expected = ExpectedEmptyTables()
    logging.getLogger("dlt").addFilter(expected)
    return expected
