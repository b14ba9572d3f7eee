"""One call from a dataset to a written report: choose the website and range, read the models,
render, write."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from .data import (
    Database,
    ReportInputError,
    choose_range,
    choose_website,
    load,
    relations,
    websites,
)
from .page import render


def build_report(
    database: Database,
    out: Path,
    website: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> str:
    """Write the report of ``website`` (id, domain or name; default: the most viewed) from
    ``start`` to ``end`` (default: the last 28 days with data) to ``out``; a line saying what
    was written and where. Raises :class:`ReportInputError` for a dataset without models, an
    unknown website or a range without data."""
    present = relations(database)
    if "mart_daily_traffic" not in present:
        raise ReportInputError(
            f"dataset {database.dataset} has no models (mart_daily_traffic), and the table it "
            "reads (events_by_date) was not synced: run databuddy-sync (then databuddy-sync "
            "--models for the weekly and monthly sections), or create the views with "
            "databuddy_source.models.create_models"
        )
    site = choose_website(websites(database, present), website)
    first, last = choose_range(database, site, start, end)
    data = load(database, site, first, last)
    out.write_text(render(data, datetime.now(UTC)), encoding="utf-8")
    return f"Report of {site.title}, {first} to {last}: {out.resolve().as_uri()}"
