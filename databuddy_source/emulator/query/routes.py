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

from ...contract import QueryType, query_types
from ..auth import Principal, authenticate
from ..http import iso, json_response, request_id, text_response
from ..ratelimit import RateLimiter
from ..store import Store
from . import types as _types  # noqa: F401  (registers every builder)
from .access import check_access
from .dates import PRESETS
from .execute import run_request
from .resolve import HourlyRangeTooLong, Scope
from .schema import SchemaError, check_body
from .validation import validate_request


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
        "category": t.meta_category,
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
def type_configs(include_meta: bool) -> dict[str, Any]:
    """``configs`` of ``/v1/query/types``: allowed filters, limits, and ``meta`` if asked."""
    configs: dict[str, Any] = {}
    for t in query_types():
        config: dict[str, Any] = {"allowedFilters": list(t.allowed_filters)}
        if t.builder_declares_filters or t.default_limit is not None:
            config["customizable"] = True
        if t.default_limit is not None:
            config["defaultLimit"] = t.default_limit
        if include_meta and t.meta_category:
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
            for w in store.registry.collection("websites").values()
            if principal.can_access_website(w)
        ]
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
        return json_response(
            {
                "success": True,
                "requestId": request_id(),
                "types": [t.name for t in query_types()],
                "configs": type_configs(include_meta),
                "presets": list(PRESETS),
            }
        )

    async def query(request: Request) -> Response:
        rid = request_id()
        scope = _scope(request)
        principal = _reader(store, request, scope.website_id)
        headers: dict[str, str] = {}
        if principal is not None:
            decision = limiter.check(principal.rate_limit_key)
            headers = decision.headers
            if not decision.allowed:
                return json_response(limiter.rejection_body(decision, rid), 429, headers)
        denial, scope = check_access(store.registry, principal, scope)
        if denial is not None:
            return _error(denial.status, denial.error, denial.code, rid, headers)
        try:
            raw = await request.body()
        except ClientDisconnect:  # the caller gave up (a client timeout): nobody to answer
            return Response(status_code=499)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return text_response("Bad Request", 400)
        try:
            check_body(body)
        except SchemaError as exc:
            return json_response(exc.body(body), 422, headers)
        batch = isinstance(body, list)
        objs = body if batch else [body]
        details = []
        for i, obj in enumerate(objs):
            prefix = f"batch[{i}]." if batch else ""
            details += [d.to_json(prefix) for d in validate_request(obj, check_names=not batch)]
        if batch and not objs:
            details.append({"field": "batch", "message": "At least one query is required"})
        if details:
            first = details[0]
            message = first["message"] + (
                f". {first['suggestion']}" if "suggestion" in first else ""
            )
            return _error(400, message, "VALIDATION_ERROR", rid, headers, details=details)
        timezone = request.query_params.get("timezone") or "UTC"
        fault = request.scope.get("state", {}).get("failed_parameter")
        try:
            results = await run_in_threadpool(
                lambda: [
                    run_request(store, o, scope, timezone, in_batch=batch, fault=fault)
                    for o in objs
                ]
            )
        except HourlyRangeTooLong as exc:
            return text_response(str(exc), 500)
        if batch:
            return json_response(
                {
                    "success": True,
                    "requestId": rid,
                    "batch": True,
                    "results": [
                        {"queryId": o.get("id", ""), "data": data, "meta": meta}
                        for o, (data, meta) in zip(objs, results, strict=True)
                    ],
                },
                200,
                headers,
            )
        data, meta = results[0]
        return json_response(
            {
                "success": True,
                "requestId": rid,
                "queryId": body.get("id", ""),
                "data": data,
                "meta": meta,
            },
            200,
            headers,
        )

    return [
        Route("/v1/query/websites", websites, methods=["GET"]),
        Route("/v1/query/types", types, methods=["GET"]),
        Route("/v1/query", query, methods=["POST"]),
        Route("/v1/query/", query, methods=["POST"]),
    ]
