"""rpc.json field trees: input validation (zod-like issues), output shaping and Date meta.

A node is ``{"type": string|number|integer|boolean|datetime|object|array|any|union, ...}`` with
``fields`` (objects), ``items`` (arrays), ``variants`` (unions), ``nullable``, ``required``,
``enum``, ``const``, ``default``, ``minLength``/``maxLength``, ``pattern``, ``format``,
``minimum``/``maximum`` and ``free_form`` (objects without a fixed field list).
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

Node = dict[str, Any]
Issue = dict[str, Any]
Path = list[str | int]

_MISSING: Any = object()
_EXPECTED = {
    "string": "string",
    "number": "number",
    "integer": "int",
    "boolean": "boolean",
    "datetime": "date",
    "object": "object",
    "array": "array",
}
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?)?$"
)


def received(value: Any) -> str:
    """The zod name of a value's type."""
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 date or date-time as naive UTC, or None."""
    m = _ISO.match(text.strip())
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    try:
        value = datetime(
            int(y),
            int(mo),
            int(d),
            int(hh or 0),
            int(mi or 0),
            min(int(ss or 0), 59),
            int(((frac or "0") + "000000")[:6]),
        )
        if tz and tz not in ("Z", "z"):
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
            if abs(offset) >= 24 * 60:
                return None
            value = value.replace(tzinfo=timezone(timedelta(minutes=offset)))
            value = value.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None
    return value


def _type_issue(node: Node, value: Any, path: Path) -> Issue:
    expected = _EXPECTED.get(node["type"], node["type"])
    issue: Issue = {
        "expected": expected,
        "code": "invalid_type",
        "path": list(path),
        "message": f"Invalid input: expected {expected}, received {received(value)}",
    }
    if node["type"] == "integer":
        issue["format"] = "safeint"
    return issue


def validate(value: Any, node: Node | None, path: Path, issues: list[Issue]) -> Any:
    """Check ``value`` against ``node``; append issues; return the parsed value (defaults
    applied, unknown object keys stripped, date-times as naive UTC ``datetime``)."""
    if node is None:
        return value
    kind = node.get("type")
    if value is None and node.get("nullable"):
        return None
    if kind == "any":
        return value
    if kind == "union":
        return _validate_union(value, node, path, issues)
    checker = _CHECKERS.get(str(kind))
    if checker is None:
        return value
    return checker(value, node, path, issues)


def _validate_union(value: Any, node: Node, path: Path, issues: list[Issue]) -> Any:
    errors: list[list[Issue]] = []
    for variant in node.get("variants", []):
        found: list[Issue] = []
        parsed = validate(value, variant, path, found)
        if not found:
            return parsed
        errors.append(found)
    issues.append(
        {"code": "invalid_union", "errors": errors, "path": list(path), "message": "Invalid input"}
    )
    return value


def _check_string(value: Any, node: Node, path: Path, issues: list[Issue]) -> Any:
    if not isinstance(value, str):
        issues.append(_type_issue(node, value, path))
        return value
    if "const" in node and value != node["const"]:
        issues.append(_value_issue([node["const"]], path))
    enum = node.get("enum")
    if enum and value not in enum:
        issues.append(_value_issue(enum, path))
    if "minLength" in node and len(value) < node["minLength"]:
        issues.append(
            {
                "origin": "string",
                "code": "too_small",
                "minimum": node["minLength"],
                "inclusive": True,
                "path": list(path),
                "message": f"Too small: expected string to have >={node['minLength']} characters",
            }
        )
    if "maxLength" in node and len(value) > node["maxLength"]:
        issues.append(
            {
                "origin": "string",
                "code": "too_big",
                "maximum": node["maxLength"],
                "inclusive": True,
                "path": list(path),
                "message": f"Too big: expected string to have <={node['maxLength']} characters",
            }
        )
    pattern = node.get("pattern")
    if pattern and not re.search(pattern, value):
        issues.append(
            {
                "origin": "string",
                "code": "invalid_format",
                "format": "regex",
                "pattern": pattern,
                "path": list(path),
                "message": f"Invalid string: must match pattern /{pattern}/",
            }
        )
    if node.get("format") == "uri" and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$", value):
        issues.append(
            {
                "code": "invalid_format",
                "format": "url",
                "path": list(path),
                "message": "Invalid URL",
            }
        )
    return value


def _value_issue(values: list[Any], path: Path) -> Issue:
    if len(values) == 1:
        message = f"Invalid input: expected {json.dumps(values[0])}"
    else:
        message = "Invalid option: expected one of " + "|".join(json.dumps(v) for v in values)
    return {"code": "invalid_value", "values": list(values), "path": list(path), "message": message}


def _check_number(value: Any, node: Node, path: Path, issues: list[Issue]) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        issues.append(_type_issue(node, value, path))
        return value
    if node["type"] == "integer":
        if isinstance(value, float) and not value.is_integer():
            issues.append(_type_issue(node, value, path))
            return value
        value = int(value)
    if "minimum" in node and value < node["minimum"]:
        issues.append(
            {
                "origin": "number",
                "code": "too_small",
                "minimum": node["minimum"],
                "inclusive": True,
                "path": list(path),
                "message": f"Too small: expected number to be >={node['minimum']}",
            }
        )
    if "maximum" in node and value > node["maximum"]:
        issues.append(
            {
                "origin": "number",
                "code": "too_big",
                "maximum": node["maximum"],
                "inclusive": True,
                "path": list(path),
                "message": f"Too big: expected number to be <={node['maximum']}",
            }
        )
    return value


def _check_boolean(value: Any, node: Node, path: Path, issues: list[Issue]) -> Any:
    if not isinstance(value, bool):
        issues.append(_type_issue(node, value, path))
    elif "const" in node and value != node["const"]:
        issues.append(_value_issue([node["const"]], path))
    return value


def _check_datetime(value: Any, node: Node, path: Path, issues: list[Issue]) -> Any:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        issues.append(_type_issue(node, value, path))
        return value
    return parsed


def _check_object(value: Any, node: Node, path: Path, issues: list[Issue]) -> Any:
    if not isinstance(value, dict):
        issues.append(_type_issue(node, value, path))
        return value
    fields = node.get("fields")
    if not fields:
        return dict(value)
    out: dict[str, Any] = {}
    for field in fields:
        name = field["name"]
        raw = value.get(name, _MISSING)
        if raw is _MISSING:
            if "default" in field:
                out[name] = copy.deepcopy(field["default"])
            elif field.get("required") and field.get("type") != "any":
                issues.append(_type_issue(field, raw, [*path, name]))
            continue
        out[name] = validate(raw, field, [*path, name], issues)
    return out


def _check_array(value: Any, node: Node, path: Path, issues: list[Issue]) -> Any:
    if not isinstance(value, list):
        issues.append(_type_issue(node, value, path))
        return value
    items = node.get("items")
    return [validate(item, items, [*path, i], issues) for i, item in enumerate(value)]


_CHECKERS = {
    "string": _check_string,
    "number": _check_number,
    "integer": _check_number,
    "boolean": _check_boolean,
    "datetime": _check_datetime,
    "object": _check_object,
    "array": _check_array,
}


def validate_input(raw: Any, procedure: dict[str, Any]) -> tuple[Any, list[Issue]]:
    """The parsed input of a call (``_MISSING`` -> ``{}`` when the input is optional)."""
    node = procedure.get("input")
    issues: list[Issue] = []
    if node is None:
        return ({} if raw is _MISSING or raw is None else raw), issues
    if raw is _MISSING:
        if not procedure.get("input_required"):
            raw = {}
        else:
            issues.append(_type_issue(node, raw, []))
            return raw, issues
    return validate(raw, node, [], issues), issues


MISSING = _MISSING


# ---------------------------------------------------------------------------- output shaping
def default_for(node: Node) -> Any:
    if node.get("nullable"):
        return None
    if "const" in node:
        return node["const"]
    kind = node.get("type")
    if kind == "object":
        return shape({}, node) if node.get("fields") else {}
    return {"string": "", "number": 0, "integer": 0, "boolean": False, "array": []}.get(str(kind))


def shape(value: Any, node: Node | None) -> Any:
    """``value`` reduced to exactly the fields of ``node`` (missing nullable fields as null)."""
    if node is None or value is None:
        return value
    kind = node.get("type")
    if kind == "object" and node.get("fields") and isinstance(value, dict):
        out: dict[str, Any] = {}
        for field in node["fields"]:
            name = field["name"]
            if name in value:
                out[name] = shape(value[name], field)
            elif field.get("required"):
                out[name] = default_for(field)
            elif field.get("nullable"):
                out[name] = None
        return out
    if kind == "array" and isinstance(value, list):
        return [shape(item, node.get("items")) for item in value]
    return value


def date_meta(value: Any, path: Path | None = None) -> list[list[Any]]:
    """oRPC meta entries ``[1, ...path]`` for every ``datetime`` inside ``value``."""
    path = path or []
    if isinstance(value, datetime):
        return [[1, *path]]
    out: list[list[Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(date_meta(item, [*path, key]))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            out.extend(date_meta(item, [*path, i]))
    return out
