"""Every answer of the API maps to one outcome: the decoded body, or one exception named for
what the caller does (retry, wait, fix the request, fix the key, stop). Responses come from a
real ``httpx.Client`` over ``httpx.MockTransport``: no server, no sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from databuddy_source.errors import (
    PARAMETER_FAILED,
    AccessDeniedError,
    APIError,
    AuthenticationError,
    FatalError,
    RateLimitedError,
    RetriableError,
    ValidationError,
    classify,
    classify_parameter_failure,
)

NOW = 1_800_000_000.0  # the wall clock's "now" in these tests


def clock() -> float:
    return NOW


def respond(
    status: int,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The response a real client receives when the server answers this."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=json, content=content, headers=headers)

    with httpx.Client(transport=httpx.MockTransport(handler), base_url="https://api.test") as c:
        return c.post("/v1/query")


def outcome(response: httpx.Response, **kw: Any) -> Any:
    return classify(response, clock=clock, **kw)


def raised(response: httpx.Response) -> APIError:
    with pytest.raises(APIError) as caught:
        outcome(response)
    return caught.value


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, {"error": "Invalid date", "code": "VALIDATION_ERROR"}, ValidationError),
        (401, {"error": "Invalid API key", "code": "UNAUTHORIZED"}, AuthenticationError),
        (403, {"error": "No access to this website", "code": "FORBIDDEN"}, AccessDeniedError),
        (404, {"error": "Not found", "code": "NOT_FOUND"}, FatalError),
        (402, {"error": "Upgrade", "code": "FEATURE_UNAVAILABLE"}, FatalError),
        (408, {"error": "Request timeout"}, RetriableError),
        (409, {"error": "Conflict"}, ValidationError),
        (422, {"error": "Unprocessable"}, ValidationError),
        (425, {"error": "Too early"}, RetriableError),
        (429, {"error": "Slow down", "code": "RATE_LIMITED"}, RateLimitedError),
        (500, {"error": "Query failed", "code": "INTERNAL_SERVER_ERROR"}, RetriableError),
        (502, None, RetriableError),
        (503, {"error": "Unavailable"}, RetriableError),
        (504, {"error": "Gateway timeout"}, RetriableError),
        (500, {"error": "Limit reached", "code": "PLAN_LIMIT_EXCEEDED"}, FatalError),
        (501, {"error": "Not on this plan", "code": "FEATURE_UNAVAILABLE"}, FatalError),
        (400, {"error": "Too many", "code": "RATE_LIMIT_EXCEEDED"}, RateLimitedError),
        (500, {"error": "Hourly granularity is limited to 7 days"}, ValidationError),
    ],
)
def test_each_status_maps_to_the_exception_named_for_what_to_do(
    status: int, body: Any, expected: type[APIError]
) -> None:
    error = raised(respond(status, json=body))
    assert type(error) is expected, f"HTTP {status} {body} -> {type(error).__name__}"
    assert error.status == status and error.path == "/v1/query"


def test_a_success_returns_the_decoded_body() -> None:
    body = {"success": True, "requestId": "req_1", "data": [{"parameter": "x", "data": []}]}
    assert outcome(respond(200, json=body)) == body


def test_a_failure_inside_an_http_200_is_an_error_not_data() -> None:
    body = {"success": False, "error": "Website not found", "code": "NOT_FOUND", "requestId": "r9"}
    error = raised(respond(200, json=body))
    assert type(error) is FatalError
    assert (error.status, error.code, error.request_id) == (200, "NOT_FOUND", "r9")
    assert str(error) == "HTTP 200 NOT_FOUND (/v1/query): Website not found, requestId r9"


@pytest.mark.parametrize("body", [b'{"success": true, "data": [', b"<html>oops</html>", b""])
def test_a_truncated_or_malformed_success_is_worth_another_try(body: bytes) -> None:
    error = raised(respond(200, content=body))
    assert type(error) is RetriableError and "not valid JSON" in error.message


def test_the_message_names_status_code_path_and_request_id_or_its_absence() -> None:
    body = {"error": "Invalid API key", "code": "UNAUTHORIZED", "requestId": "req_42"}
    assert str(raised(respond(401, json=body))) == (
        "HTTP 401 UNAUTHORIZED (/v1/query): Invalid API key, requestId req_42"
    )
    assert str(raised(respond(401, json={"error": "Invalid API key"}))).endswith(
        ": Invalid API key, no requestId"
    )


def test_a_body_that_is_not_json_gives_its_text_else_the_reason_phrase() -> None:
    assert raised(respond(502, content=b"  upstream connect error  ")).message == (
        "upstream connect error"
    )
    assert raised(respond(503, content=b"")).message == "Service Unavailable"


def test_validation_details_and_suggestions_join_the_message() -> None:
    body = {
        "error": "Invalid request",
        "code": "VALIDATION_ERROR",
        "details": [
            {"field": "startDate", "message": "must be a date", "suggestion": "use YYYY-MM-DD"},
            {"field": "limit", "message": "too big"},
        ],
    }
    error = raised(respond(400, json=body))
    assert error.message == (
        "Invalid request [startDate: must be a date (use YYYY-MM-DD); limit: too big]"
    )
    assert [d["field"] for d in error.details] == ["startDate", "limit"]


def test_the_orpc_envelope_gives_message_code_and_issue_paths() -> None:
    body = {
        "json": {
            "defined": True,
            "code": "BAD_REQUEST",
            "message": "Input validation failed",
            "data": {"issues": [{"path": ["input", "id"], "message": "Required"}]},
        }
    }
    error = raised(respond(400, json=body))
    assert type(error) is ValidationError and error.code == "BAD_REQUEST"
    assert error.details == [{"field": "input.id", "message": "Required"}]
    assert error.message == "Input validation failed [input.id: Required]"


def test_an_orpc_rate_limit_is_a_rate_limit_whatever_its_status() -> None:
    body = {"defined": True, "code": "RATE_LIMITED", "message": "Too many", "data": {}}
    assert type(raised(respond(400, json=body))) is RateLimitedError


def test_an_elysia_422_names_the_property() -> None:
    body = {"type": "validation", "summary": "Expected string", "property": "/startDate"}
    error = raised(respond(422, json=body))
    assert (type(error), error.code) == (ValidationError, "VALIDATION")
    assert error.message == "Expected string (at /startDate)"


def http_date(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch, UTC), usegmt=True)


@pytest.mark.parametrize(
    ("headers", "body", "wait"),
    [
        ({"retry-after": "7"}, None, 7.0),
        ({"retry-after": "2.5"}, None, 2.5),
        ({"retry-after": "-3"}, None, 0.0),
        ({"retry-after": http_date(NOW + 90)}, None, 90.0),
        ({"retry-after": http_date(NOW - 90)}, None, 0.0),
        ({"x-ratelimit-reset": str(int(NOW + 12))}, None, 12.0),
        ({"x-ratelimit-reset": str(int((NOW + 12) * 1000))}, None, 12.0),  # milliseconds
        ({"retry-after": "5", "x-ratelimit-reset": str(int(NOW + 60))}, None, 5.0),
        ({}, {"error": "Slow down", "retryAfter": 11}, 11.0),
        ({}, {"success": False, "data": {"retryAfter": 4}}, 4.0),
        ({}, {"error": "Slow down"}, None),
        ({"retry-after": "soon"}, None, None),
    ],
)
def test_a_429_says_how_long_to_wait(
    headers: dict[str, str], body: Any, wait: float | None
) -> None:
    error = raised(respond(429, json=body, headers=headers))
    assert isinstance(error, RateLimitedError)
    if wait is None:
        assert error.retry_after is None
    else:
        assert error.retry_after == pytest.approx(wait)


def test_a_custom_decoder_reads_successes_only_and_may_decline() -> None:
    seen: list[bytes] = []

    def decode(raw: bytes) -> Any:
        seen.append(raw)
        return "arrow" if b"fast" in raw else None

    decoder: Callable[[bytes], Any] = decode
    assert outcome(respond(200, json={"fast": 1}), decode=decoder) == "arrow"
    assert outcome(respond(200, json={"slow": 1}), decode=decoder) == {"slow": 1}
    with pytest.raises(AuthenticationError):
        outcome(respond(401, json={"fast": 1}), decode=decoder)
    assert len(seen) == 2, "an error body is never handed to the decoder"


def test_a_streamed_body_is_classified_from_the_content_given() -> None:
    response = respond(200, json={"ignored": True})
    assert outcome(response, content=b'{"streamed": true}') == {"streamed": True}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Invalid date range", ValidationError),
        ("Missing website_id", ValidationError),
        ("Unknown query type: nope", ValidationError),
        ("Hourly granularity is limited to 7 days", ValidationError),
        ("Cannot load time zone Mars/Olympus", ValidationError),
        ("Code: 159. Timeout exceeded: elapsed 30.1 seconds", RetriableError),
        ("Query failed", RetriableError),
    ],
)
def test_a_failed_parameter_is_wrong_request_or_worth_another_try(
    message: str, expected: type[APIError]
) -> None:
    error = classify_parameter_failure(message, parameter="p1", request_id="r1", path="/v1/query")
    assert type(error) is expected
    assert (error.status, error.code, error.request_id) == (200, PARAMETER_FAILED, "r1")
    assert f"parameter 'p1' failed: {message}" in str(error)
