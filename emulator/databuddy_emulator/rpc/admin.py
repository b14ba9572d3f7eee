"""Test-only object surface (mounted by the app under the admin prefix):

* ``POST   /__emulator__/objects/{collection}``       create (body = fields; returns it)
* ``PATCH  /__emulator__/objects/{collection}/{id}``  update fields, ``updatedAt`` = now
* ``DELETE /__emulator__/objects/{collection}/{id}``  soft delete (``?hard=true`` removes)
* ``GET    /__emulator__/objects/{collection}``       every object, soft-deleted included

String values of keys ending in ``At`` that parse as ISO date-times are stored as datetimes.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..http import json_response
from ..store import Store
from .schema import parse_datetime
from .seed import seed_collections

PREFIX = "/__emulator__/objects"


def _coerce(fields: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in fields.items():
        if key.endswith("At") and isinstance(value, str):
            parsed = parse_datetime(value)
            out[key] = parsed if parsed is not None else value
        else:
            out[key] = value
    return out


async def _body(request: Request) -> dict[str, Any] | Response:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        return json_response({"error": "Body must be JSON"}, 400)
    if not isinstance(body, dict):
        return json_response({"error": "Body must be a JSON object"}, 400)
    return _coerce(body)


def admin_routes(store: Store) -> list[BaseRoute]:
    seed_collections(store)
    reg = store.registry

    async def list_objects(request: Request) -> Response:
        name = request.path_params["collection"]
        with store.lock:
            rows = list(reg.collection(name).values())
        return json_response(rows)

    async def create(request: Request) -> Response:
        body = await _body(request)
        if isinstance(body, Response):
            return body
        now = store.now()
        obj = {"id": str(uuid.uuid4()), "createdAt": now, "updatedAt": now, **body}
        with store.lock:
            coll = reg.collection(request.path_params["collection"])
            if str(obj["id"]) in coll:
                return json_response({"error": f"Object {obj['id']} already exists"}, 409)
            obj["id"] = str(obj["id"])
            coll[obj["id"]] = obj
        return json_response(obj, 201)

    async def update(request: Request) -> Response:
        body = await _body(request)
        if isinstance(body, Response):
            return body
        with store.lock:
            obj = reg.get(request.path_params["collection"], request.path_params["id"])
            if obj is None:
                return json_response({"error": "Object not found"}, 404)
            body.pop("id", None)
            obj.update(body)
            obj["updatedAt"] = store.now()
        return json_response(obj)

    async def delete(request: Request) -> Response:
        hard = request.query_params.get("hard", "").lower() in ("1", "true", "yes")
        with store.lock:
            coll = reg.collection(request.path_params["collection"])
            obj = coll.get(request.path_params["id"])
            if obj is None:
                return json_response({"error": "Object not found"}, 404)
            if hard:
                del coll[obj["id"]]
                return json_response({"deleted": True, "id": obj["id"]})
            obj["deletedAt"] = store.now()
        return json_response(obj)

    return [
        Route(PREFIX + "/{collection}", list_objects, methods=["GET"]),
        Route(PREFIX + "/{collection}", create, methods=["POST"]),
        Route(PREFIX + "/{collection}/{id}", update, methods=["PATCH"]),
        Route(PREFIX + "/{collection}/{id}", delete, methods=["DELETE"]),
    ]
