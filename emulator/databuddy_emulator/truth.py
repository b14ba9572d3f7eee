"""Ground truth for tests: the rows the API would answer, computed without HTTP.

For the types the connector syncs by default (website scope, plain filters) the rows come from
:mod:`.reference`, a plain-Python computation over the raw rows that shares nothing with the SQL
builders but the parameter's resolution; other types run the same engine as ``POST /v1/query``
in-process. Either way at the current virtual time, so a test can compare a destination table
with what the emulator serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from databuddy_source.contract import query_types_by_name

from .query import types as _types  # noqa: F401  (registers every builder)
from .query.context import Filter
from .query.engine import run_parameter
from .query.resolve import Scope, make_context
from .reference import reference_rows, supported
from .store import Store


def expected_rows(
    store: Store,
    query_type: str,
    *,
    start_date: str,
    end_date: str,
    website_id: str | None = None,
    link_id: str | None = None,
    schedule_id: str | None = None,
    organization_id: str | None = None,
    timezone: str = "UTC",
    granularity: Literal["daily", "hourly"] = "daily",
    filters: Sequence[dict[str, Any]] = (),
    limit: int = 100,
    page: int = 1,
    sort_by: str | None = None,
    sort_order: Literal["asc", "desc"] | None = None,
) -> list[dict[str, Any]]:
    """The ``data`` of one successful parameter, as ``POST /v1/query`` would return it now.

    Raises ``ParameterError`` where the API would answer a failed entry.
    """
    ctx = make_context(
        store.registry,
        query_types_by_name(store.config.api_version)[query_type],
        Scope(website_id, link_id, schedule_id, organization_id),
        start_date=start_date,
        end_date=end_date,
        timezone=timezone,
        granularity=granularity,
        filters=[Filter(f["field"], f["op"], f["value"]) for f in filters],
        limit=limit,
        page=page,
        now=store.now(),
        sort_by=sort_by,
        sort_order=sort_order,
    )
    if supported(ctx):
        return reference_rows(store, ctx)
    with store.cursor() as cur:
        return run_parameter(cur, ctx)


def engine_rows(store: Store, query_type: str, **kwargs: Any) -> list[dict[str, Any]]:
    """The SQL engine's answer for the same arguments as :func:`expected_rows` (for tests that
    compare it with the reference)."""
    ctx = make_context(
        store.registry,
        query_types_by_name()[query_type],
        Scope(
            kwargs.pop("website_id", None),
            kwargs.pop("link_id", None),
            kwargs.pop("schedule_id", None),
            kwargs.pop("organization_id", None),
        ),
        filters=[Filter(f["field"], f["op"], f["value"]) for f in kwargs.pop("filters", ())],
        now=store.now(),
        **{
            "timezone": "UTC",
            "granularity": "daily",
            "limit": 100,
            "page": 1,
            "sort_by": None,
            "sort_order": None,
            **kwargs,
        },
    )
    with store.cursor() as cur:
        return run_parameter(cur, ctx)
