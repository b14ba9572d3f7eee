"""The Databuddy API contract, as shipped with this package.

`query-types.json` and `rpc.json` are copies of the project's API contract (see
``shared/databuddy-api`` in the development tree). They are the single source of truth for query
type names, columns, limit/offset behaviour and RPC procedures, for both the emulator and the
connector.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

FieldType = Literal["integer", "number", "string", "date", "datetime"]
ProjectKind = Literal["website", "link", "schedule", "organization"]


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
def query_types(include_removed: bool = False) -> tuple[QueryType, ...]:
    """Every query type in registry order (153 current; 160 with the 7 removed ones)."""
    out = []
    for t in _read_json("query-types.json"):
        removed = bool(t.get("removed_after"))
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
            )
        )
    return tuple(out)


@cache
def query_types_by_name() -> dict[str, QueryType]:
    """Current query types keyed by name."""
    return {t.name: t for t in query_types()}


@cache
def rpc_procedures() -> tuple[dict[str, Any], ...]:
    """Every RPC procedure of `rpc.json` (132), as the raw contract dictionaries."""
    return tuple(_read_json("rpc.json"))
