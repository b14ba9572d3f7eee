"""The Databuddy API contract, as shipped with this package.

`query-types.json` and `rpc.json` describe the API as read from Databuddy's server (upstream
commit dd2fa1aa9, the 2026-05 version, and the 2026-04 one before it) and checked against it
(docs/conformance.md). They hold query type names, columns, limit/offset behaviour and RPC
procedures for the emulator, which serves them, and for the connector, which uses them where the
live API does not say (the live catalogue, ``GET /v1/query/types``, wins at run time; see
docs/live-api.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

FieldType = Literal["integer", "number", "string", "date", "datetime"]
ProjectKind = Literal["website", "link", "schedule", "organization"]
ApiVersion = Literal["2026-04", "2026-05"]

API_VERSIONS: tuple[ApiVersion, ...] = ("2026-04", "2026-05")
CURRENT_API_VERSION: ApiVersion = "2026-05"
"""The API version served by api.databuddy.cc today (upstream dd2fa1aa9, 2026-05-15)."""


@dataclass(frozen=True, slots=True)
class Field:
    """One output column of a query type."""

    name: str
    type: FieldType
    array: bool = False


@dataclass(frozen=True, slots=True)
class QueryType:
    """One query type of `/v1/query`, with the behaviour the server gives it."""

    name: str
    category: str
    project: ProjectKind
    time_series: bool
    date_field: str | None
    fields: tuple[Field, ...]
    allowed_filters: tuple[str, ...]
    builder_declares_filters: bool
    default_limit: int | None
    hourly_supported: bool
    limit_applied: bool
    offset_applied: bool
    filters_applied: bool
    timezone_aware: bool
    date_range_ignored: bool
    meta_category: str | None
    description: str
    removed: bool
    raw: dict[str, Any]
    public_access: bool = False
    plan_gated: str | None = None
    accepted_filters: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    customizable: bool | None = None  # as /v1/query/types reports it (None: not reported)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _read_json(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath(name).read_text("utf-8"))


PROJECT_KINDS: tuple[ProjectKind, ...] = ("website", "link", "schedule", "organization")


def _project(raw: str) -> ProjectKind:
    for kind in PROJECT_KINDS:
        if raw.startswith(kind):
            return kind
    raise ValueError(f"unknown project kind in query-types.json: {raw!r}")


@cache
def query_types(
    include_removed: bool = False, api_version: ApiVersion = CURRENT_API_VERSION
) -> tuple[QueryType, ...]:
    """The query types of one API version in registry order (134 in 2026-05, 153 in 2026-04);
    ``include_removed``: every type the contract knows (162), whatever its version."""
    out = []
    for t in _read_json("query-types.json"):
        versions = tuple(t.get("versions", ()))
        removed = api_version not in versions
        if removed and not include_removed:
            continue
        out.append(
            QueryType(
                name=t["name"],
                category=t["category"],
                project=_project(t["project"]),
                time_series=t["time_series"],
                date_field=t["date_field"],
                fields=tuple(
                    Field(f["name"], f["type"], bool(f.get("array"))) for f in t["fields"]
                ),
                allowed_filters=tuple(t["allowed_filters"]),
                builder_declares_filters="allowed_filters_note" not in t,
                default_limit=t["default_limit"],
                hourly_supported=t["hourly_supported"],
                limit_applied=t["limit_applied"],
                offset_applied=t["offset_applied"],
                filters_applied=t["filters_applied"],
                timezone_aware=t["timezone_aware"],
                date_range_ignored=t["date_range_ignored"],
                meta_category=t.get("meta_category"),
                description=t["description"],
                removed=removed,
                raw=t,
                public_access=bool(t.get("public_access")),
                plan_gated=t.get("plan_gated"),
                accepted_filters=tuple(t.get("accepted_filters", t["allowed_filters"])),
                versions=versions,
                customizable=t.get("customizable"),
            )
        )
    return tuple(out)


@cache
def query_types_by_name(api_version: ApiVersion = CURRENT_API_VERSION) -> dict[str, QueryType]:
    """The query types of one API version (default: the current one) keyed by name."""
    return {t.name: t for t in query_types(api_version=api_version)}


@cache
def rpc_procedures(api_version: ApiVersion = CURRENT_API_VERSION) -> tuple[dict[str, Any], ...]:
    """The RPC procedures of one API version (132 in 2026-05 and in 2026-04), as the raw
    contract dictionaries of `rpc.json`."""
    return tuple(p for p in _read_json("rpc.json") if api_version in p.get("versions", ()))
