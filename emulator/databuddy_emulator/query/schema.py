"""Body schema of ``POST /v1/query`` as the API's framework checks it, before anything else
(rate limit, access): a failure is a 422 (docs/api-notes.md, "Request-level errors")."""

from __future__ import annotations

from typing import Any

import orjson

from .dates import PRESETS

GRANULARITIES = ("hourly", "daily", "hour", "day")
OPERATORS = ("eq", "ne", "contains", "not_contains", "starts_with", "in", "not_in")
SORT_ORDERS = ("asc", "desc")

_STRING_FIELDS = ("startDate", "endDate", "sortBy", "id", "timeZone")


class SchemaError(Exception):
    """The first schema violation: JSON pointer, what was expected, what was found.

    The API answers every violation alike, 422 ``{"success": false, "code": "VALIDATION",
    "error": <a JSON text naming the body it found>}``; the pointer is kept for our messages.
    """

    def __init__(self, path: str, expected: str, found: Any) -> None:
        super().__init__(f"{path or '/'}: expected {expected}")
        self.path = path
        self.expected = expected
        self.found = found

    @staticmethod
    def body(whole: Any) -> dict[str, Any]:
        found = orjson.dumps({"type": "validation", "on": "body", "found": whole}).decode()
        return {"success": False, "error": found, "code": "VALIDATION"}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_enum(path: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SchemaError(path, " | ".join(f"'{a}'" for a in allowed), value)


def _check_parameter(path: str, item: Any) -> None:
    if isinstance(item, str):
        return
    if not isinstance(item, dict):
        raise SchemaError(path, "string | object", item)
    if not isinstance(item.get("name"), str):
        raise SchemaError(f"{path}/name", "string", item.get("name"))
    for key in ("start_date", "end_date", "id"):
        if key in item and not isinstance(item[key], str):
            raise SchemaError(f"{path}/{key}", "string", item[key])
    if "granularity" in item:
        _check_enum(f"{path}/granularity", item["granularity"], GRANULARITIES)


def _check_filter(
    path: str, item: Any, op_key: str = "op", operators: tuple[str, ...] = OPERATORS
) -> None:
    if not isinstance(item, dict):
        raise SchemaError(path, "object", item)
    if not isinstance(item.get("field"), str):
        raise SchemaError(f"{path}/field", "string", item.get("field"))
    _check_enum(f"{path}/{op_key}", item.get(op_key), operators)
    value = item.get("value")
    scalar = isinstance(value, str) or _is_number(value)
    if not scalar and not (
        isinstance(value, list) and all(isinstance(v, str) or _is_number(v) for v in value)
    ):
        raise SchemaError(f"{path}/value", "string | number | (string | number)[]", value)


def check_request(obj: Any, prefix: str = "") -> None:
    """Raise :class:`SchemaError` for the first violation in one request object."""
    if not isinstance(obj, dict):
        raise SchemaError(prefix, "object", obj)
    params = obj.get("parameters")
    if isinstance(params, str):
        return  # accepted: the API then reads the string as a list of one-letter type names
    if not isinstance(params, list):
        raise SchemaError(f"{prefix}/parameters", "array", params)
    for i, item in enumerate(params):
        _check_parameter(f"{prefix}/parameters/{i}", item)
    for key in _STRING_FIELDS:
        if key in obj and not isinstance(obj[key], str):
            raise SchemaError(f"{prefix}/{key}", "string", obj[key])
    if "preset" in obj:
        _check_enum(f"{prefix}/preset", obj["preset"], PRESETS)
    if "granularity" in obj:
        _check_enum(f"{prefix}/granularity", obj["granularity"], GRANULARITIES)
    if "sortOrder" in obj:
        _check_enum(f"{prefix}/sortOrder", obj["sortOrder"], SORT_ORDERS)
    for key in ("limit", "page"):
        if key in obj and not _is_number(obj[key]):
            raise SchemaError(f"{prefix}/{key}", "number", obj[key])
    if "filters" in obj:
        if not isinstance(obj["filters"], list):
            raise SchemaError(f"{prefix}/filters", "array", obj["filters"])
        for i, item in enumerate(obj["filters"]):
            _check_filter(f"{prefix}/filters/{i}", item)
    group_by = obj.get("groupBy")
    if "groupBy" in obj and not (
        isinstance(group_by, str)
        or (isinstance(group_by, list) and all(isinstance(g, str) for g in group_by))
    ):
        raise SchemaError(f"{prefix}/groupBy", "string | string[]", group_by)


def as_parameter_list(obj: dict[str, Any]) -> None:
    """A ``parameters`` string (valid for the schema) becomes the list of its characters, as the
    API reads it (so ``"x"`` names the unknown type ``x``)."""
    if isinstance(obj.get("parameters"), str):
        obj["parameters"] = list(obj["parameters"])


def check_body(body: Any) -> None:
    """A request object, or an array of them (a batch; empty is allowed)."""
    if isinstance(body, list):
        for i, obj in enumerate(body):
            check_request(obj, f"/{i}")
    else:
        check_request(body)


def _check_fields(obj: dict[str, Any], path: str, required: tuple[str, ...], kinds: Any) -> None:
    """``kinds``: field -> "string" | "string[]" | (low, high) for a number in bounds."""
    for key in required:
        if key not in obj:
            raise SchemaError(f"{path}/{key}", "string", None)
    for key, kind in kinds.items():
        if key not in obj:
            continue
        value, where = obj[key], f"{path}/{key}"
        if kind == "string" and not isinstance(value, str):
            raise SchemaError(where, "string", value)
        if kind == "string[]" and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise SchemaError(where, "string[]", value)
        if isinstance(kind, tuple):
            low, high = kind
            if (
                not _is_number(value)
                or (low is not None and value < low)
                or (high is not None and value > high)
            ):
                raise SchemaError(where, "number", value)


def _check_filters(obj: dict[str, Any], path: str, op_key: str, operators: tuple[str, ...]) -> None:
    if "filters" in obj:
        if not isinstance(obj["filters"], list):
            raise SchemaError(f"{path}/filters", "array", obj["filters"])
        for i, item in enumerate(obj["filters"]):
            _check_filter(f"{path}/filters/{i}", item, op_key, operators)


TIME_UNITS = ("minute", "hour", "day", "week", "month")
AGGREGATES = ("count", "sum", "avg", "max", "min", "uniq")
CUSTOM_OPERATORS = ("eq", "ne", "gt", "lt", "gte", "lte", *OPERATORS[2:])


def check_compile_body(body: Any, types: tuple[str, ...]) -> None:
    """The body of ``POST /v1/query/compile``: a registered ``type``, a project and a range."""
    if not isinstance(body, dict):
        raise SchemaError("", "object", body)
    _check_fields(
        body,
        "",
        ("projectId", "type", "from", "to"),
        {
            "projectId": "string",
            "from": "string",
            "to": "string",
            "groupBy": "string[]",
            "orderBy": "string",
            "limit": (1, 1000),
            "offset": (0, None),
        },
    )
    _check_enum("/type", body["type"], types)
    if "timeUnit" in body:
        _check_enum("/timeUnit", body["timeUnit"], TIME_UNITS)
    _check_filters(body, "", "op", OPERATORS)


def check_custom_body(body: Any) -> None:
    """The body of ``POST /v1/query/custom``: a query over a table and a range."""
    if not isinstance(body, dict):
        raise SchemaError("", "object", body)
    _check_fields(
        body,
        "",
        ("query", "startDate", "endDate"),
        {"startDate": "string", "endDate": "string", "timezone": "string", "limit": (None, None)},
    )
    if "granularity" in body:
        _check_enum("/granularity", body["granularity"], ("hourly", "daily"))
    query = body["query"]
    if not isinstance(query, dict):
        raise SchemaError("/query", "object", query)
    _check_fields(query, "/query", ("table", "selects"), {"table": "string", "groupBy": "string[]"})
    if not isinstance(query["selects"], list):
        raise SchemaError("/query/selects", "array", query["selects"])
    for i, select in enumerate(query["selects"]):
        where = f"/query/selects/{i}"
        if not isinstance(select, dict):
            raise SchemaError(where, "object", select)
        _check_fields(select, where, ("field",), {"field": "string", "alias": "string"})
        _check_enum(f"{where}/aggregate", select.get("aggregate"), AGGREGATES)
    _check_filters(query, "/query", "operator", CUSTOM_OPERATORS)
