"""HTTP routes of the Query API: ``/v1/query/websites``, ``/v1/query/types`` and ``POST /v1/query``
(``POST /v1/query/compile`` and ``/v1/query/custom`` live in ``compile.py`` and ``custom.py``)."""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from databuddy_source.contract import CURRENT_API_VERSION, ApiVersion, QueryType, query_types

from ..auth import Principal, authenticate
from ..http import internal_error, iso, json_response, parse_error, request_id
from ..ratelimit import RateLimiter
from ..store import Store
from . import types as _types  # noqa: F401  (registers every builder)
from .access import check_access, check_plan
from .dates import PRESETS
from .execute import run_request
from .resolve import HourlyRangeTooLong, Scope
from .schema import SchemaError, as_parameter_list, check_body
from .validation import parameter_name, validate_request


def _scope(request: Request) -> Scope:
    q = request.query_params
    return Scope(
        website_id=q.get("website_id") or None,
        link_id=q.get("link_id") or None,
        schedule_id=q.get("schedule_id") or None,
        organization_id=q.get("organization_id") or None,
    )


def _reader(store: Store, request: Request, website_id: str | None) -> Principal | None:
    """The caller as the Query API sees it: a key without read:data counts as anonymous."""
    principal = authenticate(store.registry, request.headers, store.now())
    if principal and principal.kind == "key" and not principal.has_scope("read:data", website_id):
        return None
    return principal


def _error(
    status: int,
    error: str,
    code: str,
    rid: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {"success": False, "error": error, "code": code, "requestId": rid}
    body.update(extra)
    return json_response(body, status, headers)


def _invalid(details: list[dict[str, str]], rid: str, headers: dict[str, str]) -> Response:
    """400 ``VALIDATION_ERROR``: the first problem (and its suggestion) as the message."""
    first = details[0]
    message = first["message"] + (f". {first['suggestion']}" if "suggestion" in first else "")
    return _error(400, message, "VALIDATION_ERROR", rid, headers, details=details)


def _type_meta(t: QueryType) -> dict[str, Any]:
    kinds = {
        "integer": "number",
        "number": "number",
        "string": "string",
        "date": "datetime",
        "datetime": "datetime",
    }
    return {
        "title": t.name.replace("_", " ").title(),
        "description": t.description,
        "category": t.meta_category or t.category.replace("_", " ").title(),
        "tags": [t.category],
        "output_fields": [
            {
                "name": f.name,
                "type": "array" if f.array else kinds[f.type],
                "label": f.name.replace("_", " ").capitalize(),
                "description": f"{f.name} ({f.type})",
            }
            for f in t.fields
        ],
        "default_visualization": "timeseries" if t.time_series else "table",
        "supports_granularity": ["hour", "day"] if t.hourly_supported else ["day"],
        "version": "1.0",
    }


@cache
def type_configs(include_meta: bool, api_version: ApiVersion) -> dict[str, Any]:
    """``configs`` of ``/v1/query/types``: allowed filters, limits, public access (2026-05),
    and ``meta`` if asked."""
    configs: dict[str, Any] = {}
    for t in query_types(api_version=api_version):
        config: dict[str, Any] = {"allowedFilters": list(t.allowed_filters)}
        if t.customizable is not None:
            config["customizable"] = t.customizable
        elif "customizable" not in t.raw and (t.builder_declares_filters or t.default_limit):
            config["customizable"] = True  # 2026-04 types: reported when a builder sets limits
        if t.default_limit is not None:
            config["defaultLimit"] = t.default_limit
        if api_version == CURRENT_API_VERSION:
            config["publicAccess"] = t.public_access
        if include_meta and t.raw.get("has_meta", bool(t.meta_category)):
            config["meta"] = _type_meta(t)
        configs[t.name] = config
    return configs


def routes(store: Store, limiter: RateLimiter) -> list[BaseRoute]:
    async def websites(request: Request) -> Response:
        rid = request_id()
        principal = _reader(store, request, None)
        if principal is None:
            return _error(401, "Authentication required", "AUTH_REQUIRED", rid)
        rows = [
            w
            for w in store.registry.live("websites")
            if principal.can_access_website(w)
            and (principal.kind == "key" or w["organizationId"] == principal.organization_id)
        ]  # sessions see their active organization only; soft-deleted websites nobody
        rows.sort(key=lambda w: (w["createdAt"], w["id"]))
        body = [
            {
                "id": w["id"],
                "name": w["name"],
                "domain": w["domain"],
                "isPublic": w["isPublic"],
                "createdAt": iso(w["createdAt"]),
            }
            for w in rows
        ]
        return json_response(
            {"success": True, "requestId": rid, "websites": body, "total": len(body)}
        )

    async def types(request: Request) -> Response:
        include_meta = request.query_params.get("include_meta") == "true"
        api_version = store.config.api_version
        return json_response(
            {
                "success": True,
                "requestId": request_id(),
                "types": [t.name for t in query_types(api_version=api_version)],
                "configs": type_configs(include_meta, api_version),
                "presets": list(PRESETS),
            }
        )

    async def query(request: Request) -> Response:
        rid = request_id()
        scope = _scope(request)
        principal = _reader(store, request, scope.website_id)
        try:
            raw = await request.body()
        except ClientDisconnect:  # the caller gave up (a client timeout): nobody to answer
            return Response(status_code=499)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return parse_error()
        try:
            check_body(body)
        except SchemaError:
            return json_response(SchemaError.body(body), 422)
        batch = isinstance(body, list)
        objs: list[dict[str, Any]] = body if batch else [body]
        for obj in objs:
            as_parameter_list(obj)
        key = principal.rate_limit_key if principal else None
        decision = limiter.admit(key, request.headers)
        headers = decision.headers if decision else {}
        if decision is not None and not decision.allowed:
            return json_response(limiter.rejection_body(decision, rid), 429, headers)
        api_version = store.config.api_version
        names = [parameter_name(item) for obj in objs for item in obj["parameters"]]
        denial, scope = check_access(store.registry, principal, scope, names, api_version)
        if denial is None:
            denial = check_plan(store.registry, scope, names, api_version)
        if denial is not None:
            return _error(denial.status, denial.error, denial.code, rid, headers)
        for i, obj in enumerate(objs):
            details = validate_request(obj, api_version)
            if details:
                prefix = f"batch[{i}]." if batch else ""
                return _invalid([d.to_json(prefix) for d in details], rid, headers)
        timezone = request.query_params.get("timezone") or "UTC"
        fault = request.scope.get("state", {}).get("failed_parameter")
        try:
            results = await run_in_threadpool(
                lambda: [
                    run_request(store, o, scope, timezone, in_batch=batch, fault=fault)
                    for o in objs
                ]
            )
        except HourlyRangeTooLong:
            return internal_error()
        if batch:
            return json_response(
                {"success": True, "requestId": rid, "batch": True, "results": results},
                200,
                headers,
            )
        return json_response({"success": True, "requestId": rid, **results[0]}, 200, headers)

    return [
        Route("/v1/query/websites", websites, methods=["GET"]),
        Route("/v1/query/types", types, methods=["GET"]),
        Route("/v1/query", query, methods=["POST"]),
        Route("/v1/query/", query, methods=["POST"]),
    ]
