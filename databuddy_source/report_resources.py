"""The dlt resources of custom reports: one hidden resource that plans and reads report slices
over ``POST /v1/query/custom``, one merge table per report, and their ``sync_log`` rows.

Slices are planned by :mod:`.planning` from this resource's own state, exactly as the query
types' (same lookback, bounded backfills, settled days), one website-day each; a day is one
request (hourly reports: one per hour). Requests go one at a time under the endpoint's own rate
limiter (``Databuddy.custom_rate_limiter``, shared by every report of the key): at the
endpoint's 60 a minute, latency never binds. A failed slice is logged and leaves its table's
state where it was, so the next run reads it again; the other slices load.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from .catalog import EMPTY_SLICE, TableSpec
from .client import Databuddy
from .custom_reports import CustomReport, request_ranges, truncation_hint
from .errors import AccessDeniedError, APIError, AuthenticationError, ValidationError
from .fetching import SliceResult, Unit
from .planning import Parent, PlannedSlice, plan
from .resources import EndOfRun, sync_log_transformer, table_transformer
from .run_report import account
from .run_state import SETTLED_KEY, STATE_KEY, advance
from .shaping import fractional_integer
from .source_run import SourceRun, selected_tables

log = logging.getLogger("databuddy_source")

REPORT_SLICES_RESOURCE = "custom_report_slices"
REPORT_LOG_RESOURCE = "custom_report_sync_log"
CUSTOM_PATH = "/v1/query/custom"
HOUR_FIELD = "date"  # an hourly answer's rows get their hour here (the spec names it ``hour``)


def fetch_report_slice(
    client: Databuddy, report: CustomReport, planned: PlannedSlice, timezone: str
) -> SliceResult:
    """One website-day of a report: its rows (hourly: each hour's, with ``date`` = the hour's
    UTC start), or the error of its first failed request."""
    result = SliceResult(planned)
    rows: list[dict[str, Any]] = []
    for span in request_ranges(report, planned.slice_date, timezone):
        try:
            answer = client.request(
                "POST",
                CUSTOM_PATH,
                params={"website_id": planned.parent.id},
                json=report.body(span.start, span.end, timezone),
                limiter=client.custom_rate_limiter,
            )
        except APIError as exc:
            result.error = exc
            result.request_id = exc.request_id or result.request_id
            return result
        result.pages += 1
        result.request_id = _text(answer, "requestId") or result.request_id
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            result.error = ValidationError(
                f"{CUSTOM_PATH} answered without a list of rows in 'data'",
                request_id=result.request_id,
                path=CUSTOM_PATH,
            )
            return result
        if report.dimensions and len(data) >= report.limit:
            result.possibly_truncated = True
        if span.hourly:
            hour = span.start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
            data = [{**row, HOUR_FIELD: hour} for row in data]
        rows.extend(data)
    why = fractional_integer(planned.spec, rows)
    if why is not None:
        result.error = ValidationError(why, request_id=result.request_id, path=CUSTOM_PATH)
        return result
    result.rows = rows
    if result.possibly_truncated:
        log.warning(
            "%s, website %s, %s: %s",
            planned.spec.table_name,
            planned.parent.id,
            planned.slice_date,
            truncation_hint(report),
        )
    return result


def _text(answer: Any, key: str) -> str | None:
    value = answer.get(key) if isinstance(answer, dict) else None
    return value if isinstance(value, str) else None


def report_slices_resource(
    run: SourceRun, specs: dict[str, tuple[CustomReport, TableSpec]]
) -> DltResource:
    """Plans the reports' slices from this resource's state and yields one :class:`Unit` per
    slice, then an :class:`EndOfRun`. Not a table itself: the report tables read it.
    ``specs``: table name -> (report, its spec as the table transformer holds it)."""
    by_table = {name: r for name, (r, _) in specs.items()}
    tables = {name: spec for name, (_, spec) in specs.items()}
    client, timezone, report = run.client, run.options.timezone, run.report

    @dlt.resource(name=REPORT_SLICES_RESOURCE, selected=False)
    def custom_report_slices() -> Iterator[Any]:
        resource_state = dlt.current.resource_state()
        state = resource_state.setdefault(STATE_KEY, {})
        settled = resource_state.setdefault(SETTLED_KEY, {})
        window = run.window()
        planned = plan(selected_tables(tables), run.parents().by_kind(), window, state, settled)
        units = 0
        for parent, slices in planned.items():
            failed: set[tuple[str, str]] = set()
            for done, unit in enumerate(
                _parent_units(client, by_table, parent, slices, timezone, units), start=1
            ):
                account(report, unit, failed)
                units += 1
                log.info(
                    "custom reports, website %s: %d/%d slices, %d requests so far",
                    parent.name or parent.id,
                    done,
                    len(slices),
                    report.requests,
                )
                yield unit
                error = unit.results[0].error
                if isinstance(error, AuthenticationError):
                    raise error
            if window.end_date is None:
                advance(state, settled, slices, [], failed, window)  # failed: read again
        yield EndOfRun(units)

    return custom_report_slices


def _parent_units(
    client: Databuddy,
    reports: dict[str, CustomReport],
    parent: Parent,
    slices: Sequence[PlannedSlice],
    timezone: str,
    first_number: int,
) -> Iterator[Unit]:
    """One unit per slice, in plan order; once access to the parent is refused, its remaining
    slices fail with that error without a request."""
    blocked: APIError | None = None
    for number, planned in enumerate(slices, start=first_number):
        if blocked is not None:
            yield Unit(parent, number, [SliceResult(planned, error=blocked)])
            continue
        before = client.stats.thread_snapshot()
        result = fetch_report_slice(client, reports[planned.spec.table_name], planned, timezone)
        after = client.stats.thread_snapshot()
        if isinstance(result.error, AccessDeniedError | AuthenticationError):
            blocked = result.error
        yield Unit(
            parent,
            number,
            [result],
            requests=after["requests"] - before["requests"],
            retries=after["retries"] - before["retries"],
            rate_limited=after["rate_limited"] - before["rate_limited"],
        )


def report_table(report: CustomReport, spec: TableSpec, source: DltResource) -> DltResource:
    """The table of one report (merged like a query type's), with its descriptions."""
    table = table_transformer(spec, source)
    columns: Any = {
        EMPTY_SLICE: {"data_type": "bool", "hard_delete": True, "nullable": True},
        **{
            name: {"name": name, "description": text}
            for name, text in report.column_descriptions().items()
        },
    }
    table.apply_hints(columns=columns, additional_table_hints={"description": report.description()})
    return table


def report_resources(run: SourceRun) -> list[DltResource]:
    """Every resource the custom reports of ``run`` add to the source (none without any)."""
    if not run.options.custom_reports:
        return []
    specs = {r.table_name: (r, r.spec()) for r in run.options.custom_reports}
    slices = report_slices_resource(run, specs)
    return [
        slices,
        *(report_table(r, spec, slices) for r, spec in specs.values()),
        sync_log_transformer(slices, run.report, name=REPORT_LOG_RESOURCE),
    ]
