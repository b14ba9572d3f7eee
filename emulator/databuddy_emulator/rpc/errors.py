"""oRPC errors: one exception type carrying the error body of both transports."""

from __future__ import annotations

from typing import Any

DEFAULT_MESSAGES = {
    "UNAUTHORIZED": "Authentication is required for this action",
    "FORBIDDEN": "You do not have permission to perform this action",
    "NOT_FOUND": "The requested resource was not found",
    "BAD_REQUEST": "Invalid request parameters",
    "CONFLICT": "The resource already exists",
    "INTERNAL_SERVER_ERROR": "Internal server error",
    "METHOD_NOT_SUPPORTED": "Method Not Supported",
    "FEATURE_UNAVAILABLE": "This feature is not available in the emulator",
}

STATUS = {
    "BAD_REQUEST": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_SUPPORTED": 405,
    "CONFLICT": 409,
    "INTERNAL_SERVER_ERROR": 500,
    # No status mapping in the API: oRPC sends these as 500.
    "RATE_LIMITED": 500,
    "PLAN_LIMIT_EXCEEDED": 500,
    "FEATURE_UNAVAILABLE": 500,
}

DEFINED_CODES = (
    "UNAUTHORIZED",
    "FORBIDDEN",
    "NOT_FOUND",
    "CONFLICT",
    "BAD_REQUEST",
    "INTERNAL_SERVER_ERROR",
    "RATE_LIMITED",
    "PLAN_LIMIT_EXCEEDED",
    "FEATURE_UNAVAILABLE",
)


class RpcError(Exception):
    """An error a procedure answers with. ``defined`` is true for the codes the procedures
    declare (``errors.X()`` in the API), false for framework errors (validation, 405)."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        data: Any = None,
        defined: bool = True,
        status: int | None = None,
    ) -> None:
        self.code = code
        self.status = status or STATUS.get(code, 500)
        self.message = message or DEFAULT_MESSAGES.get(code, code.replace("_", " ").title())
        self.data = data
        self.defined = defined
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "defined": self.defined,
            "code": self.code,
            "status": self.status,
            "message": self.message,
        }
        if self.data is not None:
            out["data"] = self.data
        return out


def unauthorized(message: str | None = None) -> RpcError:
    return RpcError("UNAUTHORIZED", message)


def forbidden(message: str | None = None) -> RpcError:
    return RpcError("FORBIDDEN", message)


def bad_request(message: str | None = None) -> RpcError:
    return RpcError("BAD_REQUEST", message)


def conflict(message: str | None = None) -> RpcError:
    return RpcError("CONFLICT", message)


def not_found(
    resource_type: str, resource_id: str | None = None, message: str | None = None
) -> RpcError:
    data: dict[str, Any] = {"resourceType": resource_type}
    if resource_id is not None:
        data["resourceId"] = resource_id
    label = resource_type[:1].upper() + resource_type[1:]
    return RpcError("NOT_FOUND", message or f"{label} not found", data=data)


def validation_failed(issues: list[dict[str, Any]]) -> RpcError:
    return RpcError(
        "BAD_REQUEST", "Input validation failed", data={"issues": issues}, defined=False
    )
