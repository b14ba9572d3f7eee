"""``POST /v1/query/compile``: the SQL one query type would run, without running it.

* Query string: ``website_id`` and ``timezone`` (default ``UTC``). Credentials and access are
  those of ``POST /v1/query``: a key without ``read:data`` is anonymous, a public
  website may be used anonymously, 401/403 otherwise; without ``website_id`` a global key or a
  session falls back to its organization, else 400 ``MISSING_PROJECT_ID``.
* Body: ``{projectId, type, from, to, timeUnit?, filters?, groupBy?, orderBy?, limit?, offset?}``.
  As in the API, the SQL is compiled for the body's ``projectId`` (a website, link, monitor or
  organization id, as the type's project kind says); compile returns text only, never data.
* Answer: ``{"success": true, "requestId", "sql", "params"}``. ``sql`` is the emulator's own
  statement for the type (its builder, then ``compose_sql``): DuckDB SQL over the raw tables with
  every value inlined as a literal, so running it in the store gives exactly the rows
  ``POST /v1/query`` answers for the same type, range, filters and paging at the current virtual
  time (the API returns ClickHouse SQL with query parameters). ``params`` describes the resolved
  inputs: project ids, range, time zone, granularity, filters, order, limit, offset and
  ``visibleAt`` (the virtual-clock cutoff on ``ingested_at``).
* Inputs: ``from``/``to`` follow the date rules of ``POST /v1/query`` (a date-only ``to`` is the
  end of that day); ``timeUnit`` minute/hour is hourly and day/week/month daily (the builders know
  hours and days only); ``limit`` 1..1000, default 100; ``offset`` >= 0 replaces the OFFSET of
  types that page (types that ignore ``page`` ignore it too); ``orderBy`` is
  ``"<field>[ asc|desc]"`` with a field of the ``sortBy`` whitelist; ``groupBy`` is accepted and
  echoed, no effect.
* Errors: any problem with the body (shape, unknown type, date, limit, filter, order, a builder's
  own refusal, an hourly range over 30 days, an unknown time zone) is 400 ``COMPILATION_ERROR``
  with the message; malformed JSON is the framework's plain-text 400 ``Bad Request``.
* Rate limit: a budget of its own per key, 300 per 60 s in the API (120 for ``/v1/query``). The
  emulator scales it from the config: ``config.rate_limit * 2.5`` rounded half up (at least 1) per
  ``config.rate_window_seconds``, in ``config.rate_limit_mode`` (120 -> 300). Anonymous calls are
  not limited. ``/__emulator__/rate-limit`` reconfigures the ``/v1/query`` limiter only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from databuddy_source.contract import ProjectKind, query_types_by_name

from ..auth import Principal
from ..config import EmulatorConfig
from ..http import json_response, parse_error, request_id
from ..ratelimit import RateLimiter
from ..store import Store
from .access import check_access
from .context import Filter, FilterOp, ParameterError
from .engine import BUILDERS, SORTABLE, compose_sql
from .resolve import HourlyRangeTooLong, Scope, make_context
from .routes import _error, _reader
from .schema import OPERATORS, SchemaError, check_compile_body

COMPILE_FACTOR = 2.5
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
TIME_UNITS: dict[str, Literal["daily", "hourly"]] = {
    "minute": "hourly",
    "hour": "hourly",
    "day": "daily",
    "week": "daily",
    "month": "daily",
}


class CompilationError(Exception):
    """A body the API cannot compile: 400 ``COMPILATION_ERROR`` with this message."""


def scaled_limiter(config: EmulatorConfig, factor: float) -> RateLimiter:
    """A limiter of ``config.rate_limit * factor`` (half up, at least 1) per the config window."""
    limit = max(1, math.floor(config.rate_limit * factor + 0.5))
    return RateLimiter(limit, config.rate_window_seconds, config.rate_limit_mode)


def limiter(config: EmulatorConfig) -> RateLimiter:
    """The compile endpoint's own limiter (300 per 60 s with the default config)."""
    return scaled_limiter(config, COMPILE_FACTOR)


def admit(
    limiter: RateLimiter,
    principal: Principal | None,
    endpoint: str,
    rid: str,
    request_headers: Mapping[str, str],
) -> tuple[Response | None, dict[str, str]]:
    """Count one attempt of a caller on ``endpoint``'s budget (anonymous callers by client IP):
    a 429 response or None, and the rate-limit headers every answer carries (docs mode)."""
    key = f"query:{endpoint}:{principal.rate_limit_key}" if principal else None
    decision = limiter.admit(key, request_headers)
    if decision is None:
        return None, {}
    if decision.allowed:
        return None, decision.headers
    body = limiter.rejection_body(decision, rid)
    return json_response(body, 429, decision.headers), decision.headers


async def read_json(request: Request) -> tuple[Any, Response | None]:
    """The decoded body, or the response for a vanished caller or malformed JSON."""
    try:
        raw = await request.body()
    except ClientDisconnect:  # the caller gave up: nobody to answer
        return None, Response(status_code=499)
    try:
        return orjson.loads(raw), None
    except orjson.JSONDecodeError:
        return None, parse_error()


def _string(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise CompilationError(f"'{key}' is required and must be a non-empty string")
    return value


def _integer(body: dict[str, Any], key: str, default: int, low: int, high: int | None) -> int:
    value = body.get(key, default)
    bounds = f"at least {low}" if high is None else f"between {low} and {high}"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value != int(value)
    ):
        raise CompilationError(f"'{key}' must be an integer {bounds}")
    if value < low or (high is not None and value > high):
        raise CompilationError(f"'{key}' must be {bounds}")
    return int(value)


def _filters(raw: Any) -> list[Filter]:
    if not isinstance(raw, list):
        raise CompilationError("'filters' must be an array of {field, op, value}")
    out = []
    for i, f in enumerate(raw):
        if not isinstance(f, dict) or not isinstance(f.get("field"), str):
            raise CompilationError(f"filters[{i}] must be an object with a string 'field'")
        op = f.get("op")
        if op not in OPERATORS:
            raise CompilationError(f"filters[{i}].op must be one of {', '.join(OPERATORS)}")
        value = f.get("value")
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in items):
            raise CompilationError(f"filters[{i}].value must be a string, number or array")
        op_name: FilterOp = op
        out.append(Filter(f["field"], op_name, value))
    return out


def _order(raw: Any) -> tuple[str | None, Literal["asc", "desc"] | None]:
    if raw is None:
        return None, None
    parts = raw.split() if isinstance(raw, str) else []
    direction = parts[1].lower() if len(parts) == 2 else "desc"
    if not 1 <= len(parts) <= 2 or parts[0] not in SORTABLE or direction not in ("asc", "desc"):
        raise CompilationError(f"Ordering by '{raw}' is not permitted.")
    return parts[0], "asc" if direction == "asc" else "desc"


def _scope(kind: ProjectKind, project_id: str) -> Scope:
    if kind == "link":
        return Scope(link_id=project_id)
    if kind == "schedule":
        return Scope(schedule_id=project_id)
    if kind == "organization":
        return Scope(organization_id=project_id)
    return Scope(website_id=project_id)


def compile_query(store: Store, body: Any, timezone: str) -> tuple[str, dict[str, Any]]:
    """``(sql, params)`` for one compile body. Raises :class:`CompilationError`."""
    if not isinstance(body, dict):
        raise CompilationError("The body must be an object")
    project_id, name = _string(body, "projectId"), _string(body, "type")
    qtype = query_types_by_name(store.config.api_version).get(name)
    if qtype is None or name not in BUILDERS:
        raise CompilationError(f"Unknown query type: {name}")
    start, end = _string(body, "from"), _string(body, "to")
    unit = body.get("timeUnit", "day")
    if unit not in TIME_UNITS:
        raise CompilationError(f"'timeUnit' must be one of {', '.join(TIME_UNITS)}")
    limit = _integer(body, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _integer(body, "offset", 0, 0, None)
    filters = _filters(body.get("filters", []))
    group_by = body.get("groupBy", [])
    if not isinstance(group_by, list) or not all(isinstance(g, str) for g in group_by):
        raise CompilationError("'groupBy' must be an array of strings")
    sort_by, sort_order = _order(body.get("orderBy"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CompilationError(f"Cannot load time zone {timezone}") from exc
    now = store.now()
    try:
        ctx = make_context(
            store.registry,
            qtype,
            _scope(qtype.project, project_id),
            start_date=start,
            end_date=end,
            timezone=timezone,
            granularity=TIME_UNITS[unit],
            filters=filters,
            limit=limit,
            page=1,
            now=now,
            sort_by=sort_by,
            sort_order=sort_order,
        )
        sql = compose_sql(ctx, BUILDERS[name](ctx))
    except (ParameterError, HourlyRangeTooLong) as exc:
        raise CompilationError(str(exc)) from exc
    if qtype.limit_applied and qtype.offset_applied:  # compose_sql ended with " OFFSET 0"
        sql = f"{sql.rpartition(' OFFSET ')[0]} OFFSET {offset}"
    params = {
        "projectId": ctx.project_id,
        "type": name,
        "websiteId": ctx.website_id,
        "organizationId": ctx.organization_id or None,
        "from": ctx.start.isoformat(sep=" "),
        "to": ctx.end.isoformat(sep=" "),
        "timezone": timezone,
        "timeUnit": unit,
        "granularity": ctx.granularity,
        "filters": [{"field": f.field, "op": f.op, "value": f.value} for f in filters],
        "groupBy": group_by,
        "orderBy": f"{sort_by} {sort_order}" if sort_by else None,
        "limit": limit,
        "offset": offset,
        "visibleAt": now.isoformat(sep=" "),
    }
    return sql, params


def routes(store: Store, limiter: RateLimiter) -> list[BaseRoute]:
    async def compile_endpoint(request: Request) -> Response:
        rid = request_id()
        scope = Scope(website_id=request.query_params.get("website_id") or None)
        principal = _reader(store, request, scope.website_id)
        body, failed = await read_json(request)
        if failed is not None:
            return failed
        api_version = store.config.api_version
        try:
            check_compile_body(body, tuple(query_types_by_name(api_version)))
        except SchemaError:
            return json_response(SchemaError.body(body), 422)
        rejected, headers = admit(limiter, principal, "compile", rid, request.headers)
        if rejected is not None:
            return rejected
        denial, _ = check_access(store.registry, principal, scope, [body["type"]], api_version)
        if denial is not None:
            return _error(denial.status, denial.error, denial.code, rid, headers)
        timezone = request.query_params.get("timezone") or "UTC"
        try:
            sql, params = compile_query(store, body, timezone)
        except CompilationError as exc:
            return _error(400, str(exc), "COMPILATION_ERROR", rid, headers)
        return json_response(
            {"success": True, "requestId": rid, "sql": sql, "params": params}, 200, headers
        )

    return [Route("/v1/query/compile", compile_endpoint, methods=["POST"])]
