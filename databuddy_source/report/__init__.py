"""The HTML report: the model views of one website and date range as one self-contained page
(inline SVG charts and tables, nothing fetched). ``pipelines/report.py`` is its command line."""

from __future__ import annotations

from .build import build_report
from .data import (
    ReportData,
    ReportInputError,
    Website,
    choose_range,
    choose_website,
    load,
    websites,
)
from .databases import DuckDBFile, SqlClientDatabase
from .page import render

__all__ = [
    "DuckDBFile",
    "ReportData",
    "ReportInputError",
    "SqlClientDatabase",
    "Website",
    "build_report",
    "choose_range",
    "choose_website",
    "load",
    "render",
    "websites",
]
