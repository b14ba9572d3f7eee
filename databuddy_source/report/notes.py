"""The report's words for what it cannot draw: a card whose view was not created or has no
rows in the range, and weeks or months that reach outside the range (their numbers are the whole
period's). Each note sits inside its card."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape
from typing import Any

from .data import ReportData, missing_reason


def period_label(grain: str, start: date) -> str:
    return f"Week of {start.isoformat()}" if grain == "week" else start.strftime("%B %Y")


def _period_name(grain: str, start: date) -> str:
    return f"week of {start.isoformat()}" if grain == "week" else f"month {start:%B %Y}"


def empty(view: str, text: str) -> str:
    """The note of a card with nothing to draw, inside the card."""
    return f'<p class="note empty" data-empty="{escape(view)}">{escape(text)}</p>'


def not_created(data: ReportData, view: str) -> str:
    why = data.missing.get(view) or missing_reason(view)
    return empty(view, f"Not shown: the view {view} is {why}.")


def no_rows(data: ReportData, view: str, what: str) -> str:
    return empty(
        view,
        f"No {what} for {data.website.title} from {data.start} to {data.end} in {view}: none "
        "was recorded, or those days were not synced.",
    )


def section(key: str, title: str, view: str, data: ReportData, body: str) -> str:
    """A card: its body, or why it is empty when its view was not created."""
    inside = not_created(data, view) if view in data.missing else body
    return f'<section id="{key}"><h2>{title}</h2>{inside}</section>'


def beyond_range(data: ReportData, grain: str, rows: Sequence[dict[str, Any]]) -> str:
    """A note when the first or last week (month) reaches outside the report's range: its
    numbers are the whole period's."""
    starts = sorted({(r["period_start"], r["period_end"]) for r in rows})
    if not starts:
        return ""
    outside = []
    first_start = starts[0][0]
    last_start, last_end = starts[-1]
    if first_start < data.start:
        outside.append(
            f"the {_period_name(grain, first_start)} starts on {first_start}, before the range"
        )
    if last_end > data.end:
        outside.append(f"the {_period_name(grain, last_start)} ends on {last_end}, after the range")
    if not outside:
        return ""
    return (
        f'<p class="note" data-beyond="{grain}">Whole {grain}s: '
        + "; ".join(escape(x) for x in outside)
        + f" ({data.start} to {data.end}). Their numbers are the whole period's, days "
        "outside the range included (as far as they are synced).</p>"
    )
