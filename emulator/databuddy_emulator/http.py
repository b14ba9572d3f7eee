"""JSON bodies and responses for the emulator's routes (orjson; Dates as ISO strings)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import orjson
from starlette.responses import Response

JSON_HEADERS = {"content-type": "application/json"}


def iso(value: datetime) -> str:
    """A JavaScript ``Date.toISOString()``: UTC, milliseconds, ``Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialize {type(value).__name__}")


def dumps(body: Any) -> bytes:
    return orjson.dumps(body, default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(dumps(body), status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def text_response(text: str, status: int) -> Response:
    return Response(text, status_code=status, media_type="text/plain;charset=utf-8")


def not_found() -> Response:
    """The API's answer to a path no route serves: ``Not Found`` as an untyped byte stream."""
    return Response(b"Not Found", status_code=404, media_type="application/octet-stream")


def parse_error() -> Response:
    """The API's answer to a body that is not JSON (the framework's parse error)."""
    return json_response({"success": False, "error": "Bad Request", "code": "PARSE"}, 400)


def internal_error() -> Response:
    """The API's answer to an exception that escapes a handler (its global error handler)."""
    body = {"success": False, "error": "An internal server error occurred", "code": "UNKNOWN"}
    return json_response(body, 500)


def request_id() -> str:
    """``req_`` + 16 hex characters, new for every request."""
    return "req_" + secrets.token_hex(8)
