"""The OpenAPI 3.1 document of the REST transport, generated from rpc.json."""

from __future__ import annotations

from functools import cache
from typing import Any

from databuddy_source.contract import rpc_procedures

from .errors import STATUS

EXCLUDED_ROUTERS = frozenset({"revenue", "uptime", "billing"})
TAG_DESCRIPTIONS = {
    "Alarms": "Alert rules and their notification destinations",
    "Annotations": "Notes pinned to analytics charts",
    "API Keys": "API keys of an organization (secrets are never returned)",
    "Autocomplete": "Filter value suggestions from recent analytics data",
    "Feedback": "Product feedback and credits",
    "Flags": "Feature flags",
    "Funnels": "Conversion funnels and their analytics",
    "Goals": "Conversion goals and their analytics",
    "Links": "Short links and link folders",
    "Organizations": "Organization invitations and usage",
    "Preferences": "User preferences",
    "Target Groups": "Reusable audiences for feature flags",
    "Websites": "Tracked websites",
}
ERROR_STATUSES = ("400", "401", "403", "404", "409", "500")
NOT_FOUND_DATA = {
    "type": "object",
    "properties": {"resourceType": {"type": "string"}, "resourceId": {"type": "string"}},
    "required": ["resourceType"],
}
ERROR_DATA: dict[str, dict[str, Any]] = {
    "NOT_FOUND": NOT_FOUND_DATA,
    "RATE_LIMITED": {"type": "object", "properties": {"retryAfter": {"type": "number"}}},
    "PLAN_LIMIT_EXCEEDED": {
        "type": "object",
        "properties": {
            "limit": {"type": "number"},
            "current": {"type": "number"},
            "nextPlan": {"type": "string"},
        },
    },
    "FEATURE_UNAVAILABLE": {
        "type": "object",
        "properties": {"feature": {"type": "string"}, "requiredPlan": {"type": "string"}},
    },
}


def documented(procedure: dict[str, Any]) -> bool:
    return procedure["router"] not in EXCLUDED_ROUTERS and not procedure.get(
        "hidden_from_openapi_docs"
    )


def node_schema(node: dict[str, Any] | None) -> dict[str, Any]:
    """JSON Schema (2020-12, as OpenAPI 3.1 uses it) of an rpc.json field tree node."""
    if node is None:
        return {}
    kind = node.get("type")
    schema: dict[str, Any]
    if kind == "datetime":
        schema = {"type": "string", "format": "date-time"}
    elif kind in ("string", "number", "integer", "boolean"):
        schema = {"type": kind}
        for key in ("minLength", "maxLength", "pattern", "minimum", "maximum", "format"):
            if key in node:
                schema[key] = node[key]
        if node.get("enum"):
            schema["enum"] = list(node["enum"])
        if "const" in node:
            schema["const"] = node["const"]
    elif kind == "array":
        schema = {"type": "array", "items": node_schema(node.get("items"))}
    elif kind == "object":
        schema = {"type": "object"}
        fields = node.get("fields") or []
        if fields:
            schema["properties"] = {f["name"]: node_schema(f) for f in fields}
            required = [f["name"] for f in fields if f.get("required")]
            if required:
                schema["required"] = required
        else:
            schema["additionalProperties"] = {}
    elif kind == "union":
        schema = {"anyOf": [node_schema(v) for v in node.get("variants", [])]}
    else:
        schema = {}
    if "default" in node:
        schema["default"] = node["default"]
    if node.get("nullable") and schema:
        schema = _nullable(schema)
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    if "const" in out:
        out = {
            "anyOf": [
                {k: v for k, v in out.items() if k != "type"} | {"type": schema["type"]},
                {"type": "null"},
            ]
        }
    return out


def _defined_error(codes: list[str], status: int) -> dict[str, Any]:
    code: dict[str, Any] = {"const": codes[0]} if len(codes) == 1 else {"enum": codes}
    data = ERROR_DATA.get(codes[0], {}) if len(codes) == 1 else {}
    return {
        "type": "object",
        "properties": {
            "defined": {"const": True},
            "code": code,
            "status": {"const": status},
            "message": {"type": "string"},
            "data": data,
        },
        "required": ["defined", "code", "status", "message"],
    }


GENERIC_ERROR = {
    "type": "object",
    "properties": {
        "defined": {"const": False},
        "code": {"type": "string"},
        "status": {"type": "number"},
        "message": {"type": "string"},
        "data": {},
    },
    "required": ["defined", "code", "status", "message"],
}


def _error_response(status: str) -> dict[str, Any]:
    codes = [c for c, s in STATUS.items() if str(s) == status and c != "METHOD_NOT_SUPPORTED"]
    return {
        "description": f"{status} error",
        "content": {
            "application/json": {
                "schema": {"oneOf": [_defined_error(codes, int(status)), GENERIC_ERROR]}
            }
        },
    }


def _operation(proc: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": proc["id"],
        "summary": proc["summary"],
        "tags": [proc["tag"]],
        "x-auth": proc["auth"],
    }
    if proc["auth"] == "public":
        op["security"] = [{}, {"apiKey": []}]
    if proc.get("required_api_key_scopes"):
        op["x-required-scopes"] = list(proc["required_api_key_scopes"])
    if proc.get("input") is not None:
        op["requestBody"] = {
            "required": bool(proc.get("input_required")),
            "content": {"application/json": {"schema": node_schema(proc["input"])}},
        }
    responses: dict[str, Any] = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": node_schema(proc.get("output"))}},
        }
    }
    for status in proc.get("declared_error_statuses") or ERROR_STATUSES:
        responses[str(status)] = _error_response(str(status))
    op["responses"] = responses
    return op


@cache
def build_spec() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    used_tags: list[str] = []
    for proc in rpc_procedures():
        if not documented(proc):
            continue
        paths[proc["openapi_path"]] = {"post": _operation(proc)}
        if proc["tag"] not in used_tags:
            used_tags.append(proc["tag"])
    return {
        "openapi": "3.1.1",
        "info": {
            "title": "Databuddy API",
            "version": "1.0.0",
            "description": "Databuddy RPC procedures over plain JSON (local emulator).",
        },
        "servers": [{"url": "https://api.databuddy.cc"}],
        "security": [{"apiKey": []}],
        "tags": [{"name": name, "description": desc} for name, desc in TAG_DESCRIPTIONS.items()],
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}}
        },
        "x-tag-order": [t for t in TAG_DESCRIPTIONS if t in used_tags]
        + sorted(t for t in used_tags if t not in TAG_DESCRIPTIONS),
    }
