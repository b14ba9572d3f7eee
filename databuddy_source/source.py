"""``databuddy``: the dlt source. Configured the dlt way: ``[sources.databuddy]`` in
``.dlt/config.toml``, the key in ``.dlt/secrets.toml`` or ``SOURCES__DATABUDDY__API_KEY``."""

from __future__ import annotations

import threading
import weakref
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dlt
import httpx
from dlt.extract.resource import DltResource

from . import settings
from .catalog import table_spec
from .client import Databuddy
from .custom_report_options import resolve_custom_rate_limit, resolve_reports
from .discovery import discover
from .options import resolve_options
from .packing import by_request_scope
from .planning import Window, plan
from .report_resources import report_resources
from .resources import (
    SyncReport,
    slices_resource,
    sync_log_transformer,
    table_transformer,
)
from .retry import RetryPolicy
from .rpc_resources import COLLECTIONS, collection_resource

_LAST = threading.local()


def last_report() -> SyncReport | None:
    """The report of the source most recently created in this thread (for CLIs)."""
    return getattr(_LAST, "report", None)


@dlt.source(name="databuddy", max_table_nesting=0)
def databuddy(
    api_key: str = dlt.secrets.value,
    base_url: str = settings.DEFAULT_BASE_URL,
    websites: list[str] | None = None,
    queries: list[str] | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    lookback_days: int = 2,
    timezone: str = "UTC",
    include_today: bool = False,
    granularity: str = "daily",
    grain: str = "day",
    filters: list[dict[str, Any]] | None = None,
    rpc_collections: list[str] | None = None,
    rpc_history: bool = False,
    max_parameters_per_request: int = settings.MAX_PARAMETERS_PER_REQUEST,
    limit: int = settings.MAX_LIMIT,
    rows_per_request: int = settings.ROWS_PER_REQUEST,
    concurrency: int = settings.CONCURRENCY,
    max_rows_per_run: int = settings.MAX_ROWS_PER_RUN,
    rate_limit: int = settings.QUERY_RATE_LIMIT,
    rate_window_seconds: float = settings.QUERY_RATE_WINDOW_SECONDS,
    request_timeout: float = settings.READ_TIMEOUT,
    max_attempts: int = settings.MAX_ATTEMPTS,
    as_of: str | None = None,
    shard: str | None = None,
    custom_reports: list[dict[str, Any]] | None = None,
    custom_rate_limit: int = settings.CUSTOM_RATE_LIMIT,
    allow_insecure_http: bool = False,
) -> list[DltResource]:
    """Databuddy analytics and objects: one merge table per query type, one per RPC collection,
    one per custom report (``report_<name>``, see docs/custom-reports.md), and ``sync_log``.
    Every option is documented in ``.dlt/config.toml``."""
    options = resolve_options(
        queries=queries,
        websites=websites,
        start_date=start_date,
        end_date=end_date,
        lookback_days=lookback_days,
        timezone=timezone,
        include_today=include_today,
        granularity=granularity,
        grain=grain,
        filters=filters,
        rpc_collections=rpc_collections,
        rpc_history=rpc_history,
        max_parameters_per_request=max_parameters_per_request,
        limit=limit,
        rows_per_request=rows_per_request,
        concurrency=concurrency,
        max_rows_per_run=max_rows_per_run,
        rate_limit=rate_limit,
        rate_window_seconds=rate_window_seconds,
        request_timeout=request_timeout,
        max_attempts=max_attempts,
        as_of=as_of,
        shard=shard,
    )
    reports = resolve_reports(custom_reports)  # checked before any request
    client = Databuddy(
        api_key,
        base_url=base_url,
        rate_limit=options.rate_limit,
        rate_window=options.rate_window_seconds,
        custom_rate_limit=resolve_custom_rate_limit(custom_rate_limit),
        timeout=httpx.Timeout(settings.CONNECT_TIMEOUT, read=options.request_timeout),
        retry=RetryPolicy(max_attempts=options.max_attempts),
        allow_insecure_http=allow_insecure_http,
    )
    report = SyncReport()
    _LAST.report = report
    specs = {
        s.table_name: s
        for s in (
            table_spec(name, options.grain, options.hourly, options.timezone)
            for name in options.query_types
        )
    }
    kinds: set[str] = {s.qtype.project for s in specs.values()}
    if options.rpc_collections:
        kinds.add("organization")
    if reports:
        kinds.add("website")
    parents = discover(
        client,
        websites=options.websites,
        timezone=options.timezone,
        kinds=kinds,
        failures=report.refuse,
    )
    if options.shard is not None:
        parents = parents.shard(*options.shard)
    today = options.as_of or datetime.now(ZoneInfo(options.timezone)).date()
    window = Window(
        today=today,
        lookback_days=options.lookback_days,
        include_today=options.include_today,
        start_date=options.start_date,
        end_date=options.end_date,
    )
    report.planner = lambda state, settled=None: by_request_scope(
        plan(list(specs.values()), parents.by_kind(), window, state, settled)
    )
    slices = slices_resource(client, options, parents, window, specs, report)
    resources = [
        slices,
        *(table_transformer(spec, slices) for spec in specs.values()),
        sync_log_transformer(slices, report),
    ]
    resources += [
        collection_resource(
            COLLECTIONS[name],
            client,
            parents.organizations,
            parents.websites,
            options.rpc_history,
            report.refuse,
        )
        for name in options.rpc_collections
    ]
    if reports:
        resources += report_resources(client, options.timezone, reports, parents, window, report)
    weakref.finalize(report, client.close)
    return resources
