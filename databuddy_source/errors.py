"""The errors of databuddy-source, and the one function that classifies an API response.

Exception tree (named for what the caller should do)::

    DatabuddyError
     ├── ConfigurationError        bad input to this package (malformed key, option): fix and rerun
     └── APIError                  the API answered (or failed to): has status, code, request_id
          ├── AuthenticationError  401: the key or session is missing, wrong, revoked or expired
          ├── AccessDeniedError    403: the key cannot read this website / link / monitor / org
          ├── ValidationError      400 / 422 / hourly cap: the request is wrong; never retried
          ├── RateLimitedError     429 (or oRPC RATE_LIMITED): retried after ``retry_after``
          ├── RetriableError       5xx, timeouts, dropped connections, malformed bodies: retried
          ├── UnreachableError     no connection before the API ever answered (refused, unknown
          │                        host): the URL or the network is wrong; not retried
          └── FatalError           anything else (unknown route, plan limits): not retried

Retry decisions look at these types only (see :mod:`databuddy_source.retry`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import httpx


class DatabuddyError(Exception):
    """Base of every error raised by databuddy-source."""


class ConfigurationError(DatabuddyError, ValueError):
    """Bad input to this package, detected before any request."""


class APIError(DatabuddyError):
    """The API refused or failed a request. The message names the request id."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        details: list[dict[str, Any]] | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.request_id = request_id
        self.details = details or []
        self.path = path
        where = f" ({path})" if path else ""
        status_text = f"HTTP {status}" if status is not None else "no response"
        rid = f", requestId {request_id}" if request_id else ", no requestId"
        code_text = f" {code}" if code else ""
        super().__init__(f"{status_text}{code_text}{where}: {message}{rid}")
        self.message = message


class AuthenticationError(APIError):
    """401: credentials missing, unknown, disabled, revoked or expired."""


class AccessDeniedError(APIError):
    """403: authenticated, but not allowed to read this resource."""


class ValidationError(APIError):
    """The request is invalid (400, 422, or a range the API refuses). Never retried."""


class RateLimitedError(APIError):
    """429. ``retry_after`` is the wait in seconds the server asked for, if it said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class RetriableError(APIError):
    """A failure worth retrying: 5xx, a timeout, a dropped connection, a malformed body."""


class UnreachableError(APIError):
    """The API could not be reached at all (connection refused, a host name that does not
    resolve, no connection within the connect timeout) before it ever answered this client.
    Not retried: retries are for answers that fail, not for a host that is not there. Once the
    API has answered, a failed connection is a :class:`RetriableError` again."""

    def __init__(self, message: str, *, url: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.url = url


class FatalError(APIError):
    """A failure that retrying cannot fix."""


# Messages of failed parameters that mean "the request is wrong"; any other message
# (a database error, "Query failed") may pass and is worth one more try.
_INVALID_PARAMETER = re.compile(
    r"not permitted|Invalid|Missing|required|Unknown query type|Could not resolve owner|"
    r"Hourly granularity|Cannot load time zone",
    re.IGNORECASE,
)


PARAMETER_FAILED = "PARAMETER_FAILED"  # the code of one failed parameter of an HTTP 200 answer


def classify_parameter_failure(
    message: str, *, parameter: str, request_id: str | None, path: str | None = None
) -> APIError:
    """The exception for one failed parameter of an HTTP 200 answer: a :class:`ValidationError`
    when the message says the request is wrong, else a :class:`RetriableError`."""
    kind = ValidationError if _INVALID_PARAMETER.search(message) else RetriableError
    return kind(
        f"parameter {parameter!r} failed: {message}",
        status=200,
        code=PARAMETER_FAILED,
        request_id=request_id,
        path=path,
    )


def _retry_after(headers: Mapping[str, str], body: Any, clock: Callable[[], float]) -> float | None:
    """Seconds to wait before retrying a 429: ``Retry-After`` (seconds or an HTTP date), else
    ``X-RateLimit-Reset`` (epoch seconds, or milliseconds when > 10^12), else a ``retryAfter``
    in the body."""
    now = clock()
    value = headers.get("retry-after")
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                when = when if when.tzinfo else when.replace(tzinfo=UTC)
                return max(when.timestamp() - now, 0.0)
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            epoch = float(reset)
        except ValueError:
            epoch = None
        if epoch is not None:
            if epoch > 1e12:
                epoch /= 1000.0
            return max(epoch - now, 0.0)
    if isinstance(body, dict):
        data = body.get("data") if isinstance(body.get("data"), dict) else body
        seconds = data.get("retryAfter") if isinstance(data, dict) else None
        if isinstance(seconds, int | float):
            return max(float(seconds), 0.0)
    return None


def _parse_json(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _envelope(body: Any) -> tuple[str | None, str | None, str | None, list[dict[str, Any]]]:
    """``(message, code, request_id, details)`` from any of the API's error envelopes."""
    if not isinstance(body, dict):
        return None, None, None, []
    wrapped = body.get("json")
    inner: dict[str, Any] = wrapped if isinstance(wrapped, dict) else body
    if "defined" in inner and "code" in inner:  # oRPC (RPC or REST transport)
        data = inner.get("data")
        issues = data.get("issues") if isinstance(data, dict) else None
        details = [
            {"field": ".".join(map(str, i.get("path", []))), "message": i.get("message")}
            for i in issues or []
            if isinstance(i, dict)
        ]
        return _text(inner.get("message")), _text(inner.get("code")), None, details
    if body.get("type") == "validation":  # Elysia 422
        summary = body.get("summary") or body.get("message")
        return f"{summary} (at {body.get('property')})", "VALIDATION", None, []
    raw_details = body.get("details")
    details = (
        [d for d in raw_details if isinstance(d, dict)] if isinstance(raw_details, list) else []
    )
    return (
        _text(body.get("error")),
        _text(body.get("code")),
        _text(body.get("requestId")),
        details,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _with_details(message: str, details: list[dict[str, Any]]) -> str:
    extra = []
    first = details[0].get("message") if details else None
    for d in details[1:] if isinstance(first, str) and first in message else details:
        text = f"{d.get('field')}: {d.get('message')}"
        if d.get("suggestion"):
            text += f" ({d['suggestion']})"
        extra.append(text)
    return message + (" [" + "; ".join(extra) + "]" if extra else "")


def classify(
    response: httpx.Response,
    *,
    clock: Callable[[], float],
    content: bytes | None = None,
    decode: Callable[[bytes], Any] | None = None,
) -> Any:
    """The decoded JSON body of a successful response, or the one exception it maps to.
    ``content`` is the body when it was streamed rather than read into the response; ``decode``
    may read a successful body its own way (``None`` from it: decode as JSON)."""
    status = response.status_code
    raw = response.content if content is None else content
    if decode is not None and 200 <= status < 300:
        decoded = decode(raw)
        if decoded is not None:
            return decoded
    body = _parse_json(raw)
    path = response.request.url.path if response.request else None
    if 200 <= status < 300:
        if body is None:
            raise RetriableError(
                "the response body is not valid JSON (truncated or malformed)",
                status=status,
                path=path,
            )
        if isinstance(body, dict) and body.get("success") is False:  # error inside an HTTP 200
            message, code, rid, details = _envelope(body)
            raise FatalError(
                message or "the API reported a failure",
                status=status,
                code=code,
                request_id=rid,
                details=details,
                path=path,
            )
        return body
    message, code, rid, details = _envelope(body)
    text = (
        message
        or (raw.decode("utf-8", "replace").strip()[:300] if body is None else "")
        or response.reason_phrase
    )
    kw: dict[str, Any] = {
        "status": status,
        "code": code,
        "request_id": rid,
        "details": details,
        "path": path,
    }
    if status == 429 or code in ("RATE_LIMITED", "RATE_LIMIT_EXCEEDED"):
        raise RateLimitedError(text, retry_after=_retry_after(response.headers, body, clock), **kw)
    if status == 401:
        raise AuthenticationError(text, **kw)
    if status == 403:
        raise AccessDeniedError(text, **kw)
    if status in (400, 409, 422) or "Hourly granularity" in text:
        raise ValidationError(_with_details(text, details), **kw)
    if status in (408, 425) or (
        status >= 500 and code not in ("PLAN_LIMIT_EXCEEDED", "FEATURE_UNAVAILABLE")
    ):
        raise RetriableError(text, **kw)
    raise FatalError(text, **kw)
