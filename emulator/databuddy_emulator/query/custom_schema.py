"""The body schema of ``POST /v1/query/custom`` as the API's framework checks it, before
credentials, ``website_id`` and the rate limit: a body it refuses is 422 ``VALIDATION`` whose
``error`` is the JSON text ``{"type":"validation","on":"body","found":<the body>}`` (no
``requestId``). Extra keys are allowed; the enumerations are the endpoint's."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from databuddy_source.contract.custom_query import AGGREGATES, OPERATORS

from ..http import json_response


def _kind_error(value: Any, kind: str) -> bool:
    if kind == "string":
        return not isinstance(value, str)
    if kind == "number":
        return isinstance(value, bool) or not isinstance(value, int | float)
    if kind == "scalar":
        return _kind_error(value, "string") and _kind_error(value, "number")
    return not isinstance(value, list)


def _shape_ok(body: Any) -> bool:
    """The body as the API's request schema types it (extra keys allowed)."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), dict):
        return False
    query = body["query"]
    optional = {"timezone": "string", "limit": "number"}
    if _kind_error(query.get("table"), "string") or _kind_error(query.get("selects"), "list"):
        return False
    if any(_kind_error(body.get(k), "string") for k in ("startDate", "endDate")):
        return False
    if any(k in body and _kind_error(body[k], kind) for k, kind in optional.items()):
        return False
    if "granularity" in body and body["granularity"] not in ("hourly", "daily"):
        return False
    for select in query["selects"]:
        if not isinstance(select, dict) or _kind_error(select.get("field"), "string"):
            return False
        if select.get("aggregate") not in AGGREGATES:
            return False
        if "alias" in select and _kind_error(select["alias"], "string"):
            return False
    for key in ("filters", "groupBy"):
        if key in query and _kind_error(query[key], "list"):
            return False
    if any(_kind_error(g, "string") for g in query.get("groupBy", [])):
        return False
    for f in query.get("filters", []):
        if not isinstance(f, dict) or _kind_error(f.get("field"), "string"):
            return False
        if f.get("operator") not in OPERATORS:
            return False
        value = f.get("value")
        items = value if isinstance(value, list) else [value]
        if any(_kind_error(v, "scalar") for v in items):
            return False
    return True


def shape_error(body: Any) -> Response | None:
    """The API's 422 for a body its request schema refuses; None when the shape is right."""
    if _shape_ok(body):
        return None
    found = orjson.dumps({"type": "validation", "on": "body", "found": body}).decode()
    return json_response({"success": False, "error": found, "code": "VALIDATION"}, 422)
