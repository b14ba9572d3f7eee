"""The two transports of the RPC procedures (``/rpc/<router>/<procedure>`` and its REST twin),
plus ``/spec.json`` and ``/``.

* oRPC RPC protocol: ``POST /rpc/<router>/<procedure>``, body ``{"json": input}``, success
  ``{"json": output, "meta": [[1, ...path], ...]}``, errors ``{"json": error}``.
* REST twin: ``POST <openapi_path>``, plain input/output, bare error object. Other methods
  on a twin path fall through to the plain-text ``404 Not Found`` (no matching operation).
* Non-POST on an RPC path: 405 ``METHOD_NOT_SUPPORTED``; unknown ``/rpc/...``: plain-text 404.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from databuddy_source.contract import rpc_procedures

from ..auth import authenticate
from ..http import json_response, not_found
from ..store import Store
from .context import Ctx
from .errors import RpcError, unauthorized, validation_failed
from .openapi import build_spec
from .procedures import HANDLERS
from .reference import render_reference
from .schema import MISSING, date_meta, shape, validate_input

log = logging.getLogger(__name__)
# Procedures that only read (the rest may change what a query answers).
_READS = ("list", "get", "check", "is", "peek", "timeSeries", "bulkAnalytics", "suggested")
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
Endpoint = Callable[[Request], Awaitable[Response]]


def call(store: Store, proc: dict[str, Any], headers: Mapping[str, str], raw: Any) -> Any:
    """Run one procedure: auth kind, input validation, handler, output shaping. Calls are
    serialized on ``store.lock`` so handlers see a registry no one mutates meanwhile."""
    with store.lock:
        if not proc["procedure"].startswith(_READS):
            store.changed()  # a mutation may change query answers
        now = store.now()
        principal = authenticate(store.registry, headers, now)
        auth = proc["auth"]
        if auth == "session":
            if principal is None:
                raise unauthorized()
            if principal.kind != "session":
                raise unauthorized("Session required")
        elif auth == "protected" and principal is None:
            raise unauthorized()
        data, issues = validate_input(raw, proc)
        if issues:
            raise validation_failed(issues)
        ctx = Ctx(store=store, procedure=proc, principal=principal, now=now)
        return shape(HANDLERS[proc["id"]](ctx, data), proc.get("output"))


async def _read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return MISSING
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RpcError("BAD_REQUEST", "Cannot parse request body as JSON", defined=False) from exc


async def _execute(store: Store, proc: dict[str, Any], request: Request, raw: Any) -> Any:
    try:
        return await run_in_threadpool(call, store, proc, request.headers, raw)
    except RpcError:
        raise
    except Exception as exc:  # a handler bug: answer like oRPC does for unknown errors
        log.exception("procedure %s failed", proc["id"])
        raise RpcError("INTERNAL_SERVER_ERROR", defined=False) from exc


def _rpc_endpoint(store: Store, proc: dict[str, Any]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            if request.method != "POST":
                raise RpcError("METHOD_NOT_SUPPORTED", defined=False)
            body = await _read_json(request)
            if body is MISSING:
                raw = MISSING
            elif isinstance(body, dict):
                raw = body.get("json", MISSING)
            else:
                raise RpcError("BAD_REQUEST", "Invalid RPC request body", defined=False)
            output = await _execute(store, proc, request, raw)
        except RpcError as err:
            return json_response({"json": err.body()}, err.status)
        payload: dict[str, Any] = {"json": output}
        meta = date_meta(output)
        if meta:
            payload["meta"] = meta
        return json_response(payload)

    return endpoint


def _rest_endpoint(store: Store, proc: dict[str, Any]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        if request.method != "POST":
            return not_found()
        try:
            raw = await _read_json(request)
            output = await _execute(store, proc, request, raw)
        except RpcError as err:
            return json_response(err.body(), err.status)
        return json_response(output)

    return endpoint


async def _not_found(request: Request) -> Response:
    return not_found()


async def _spec(request: Request) -> Response:
    return json_response(build_spec())


async def _reference(request: Request) -> Response:
    return HTMLResponse(render_reference())


def transport_routes(store: Store) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/spec.json", _spec, methods=["GET"]),
        Route("/", _reference, methods=["GET"]),
    ]
    for proc in rpc_procedures(store.config.api_version):
        routes.append(
            Route(
                proc["rpc_path"],
                _rpc_endpoint(store, proc),
                methods=ALL_METHODS,
                name=f"rpc:{proc['id']}",
            )
        )
        routes.append(
            Route(
                proc["openapi_path"],
                _rest_endpoint(store, proc),
                methods=ALL_METHODS,
                name=f"rest:{proc['id']}",
            )
        )
    routes.append(Route("/rpc", _not_found, methods=ALL_METHODS))
    routes.append(Route("/rpc/{rest:path}", _not_found, methods=ALL_METHODS))
    return routes
