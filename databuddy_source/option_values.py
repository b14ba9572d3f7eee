"""How each source option's value is read: lists of names given as a list or a comma-separated
string, dates, query types, RPC collections, filters and the shard; each mistake is one
:class:`~.errors.ConfigurationError` naming the key and the fix."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from .catalog import DEFAULT_QUERY_TYPES, all_query_type_names, is_typo, suggest
from .contract import query_types, query_types_by_name
from .errors import ConfigurationError
from .rpc_resources import COLLECTIONS, DEFAULT_COLLECTIONS

FILTER_OPERATORS = ("eq", "ne", "contains", "not_contains", "starts_with", "in", "not_in")
# Every field some query type accepts in filters (from the contract, not a copy of it).
FILTER_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(f for t in query_types() for f in t.allowed_filters)
)


def bad_option(key: str, problem: str, fix: str) -> ConfigurationError:
    return ConfigurationError(
        f"sources.databuddy.{key}: {problem}. {fix} (set it in .dlt/config.toml under "
        f"[sources.databuddy], or as SOURCES__DATABUDDY__{key.upper()})"
    )


def name_list(value: Any, key: str) -> list[str] | None:
    """A list option given as a list, or a comma-separated string; None when unset."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value]
    raise bad_option(
        key,
        f"expected a list of names, got {type(value).__name__}",
        'Use a list, e.g. ["top_pages", "country"], or a comma-separated string',
    )


def day(value: Any, key: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise bad_option(
            key, f"{value!r} is not a date", "Use YYYY-MM-DD, e.g. 2026-01-31"
        ) from None


def resolve_shard(value: Any) -> tuple[int, int] | None:
    """``"I/N"`` (or ``(I, N)``): this worker syncs the I-th of N disjoint sets of parents."""
    if value is None or value == "":
        return None
    text = "/".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]) <= 1000:
        raise bad_option(
            "shard",
            f"{value!r} is not I/N with 1 <= I <= N <= 1000",
            "Use e.g. 2/4 for the second of four workers",
        )
    return int(match[1]), int(match[2])


def resolve_query_types(value: Any) -> tuple[str, ...]:
    names = name_list(value, "queries")
    if names is None:
        return DEFAULT_QUERY_TYPES
    if names == ["all"]:
        return tuple(
            n
            for n in all_query_type_names()
            if not query_types_by_name()[n].raw.get("requires_filter")
        )
    known = all_query_type_names()
    out: list[str] = []
    for name in names:
        if name == "default":
            out.extend(DEFAULT_QUERY_TYPES)
        elif name not in known and not is_typo(name):
            out.append(name)  # removed, or added by the API since: the live catalogue decides
        elif name not in known:
            raise bad_option(
                "queries",
                f"unknown query type {name!r}.{suggest(name, known)}",
                "Pick names from GET /v1/query/types, or 'all' / 'default'",
            )
        elif required := query_types_by_name()[name].raw.get("requires_filter"):
            field = str(required).split()[0]  # "anonymous_id (…)" / "session_id (…)"
            what = "one visitor" if field == "anonymous_id" else "one session"
            raise bad_option(
                "queries",
                f"{name!r} needs a filter on {what} ({field})",
                "It is not a table-shaped type: leave it out",
            )
        else:
            out.append(name)
    return tuple(dict.fromkeys(out))


def resolve_collections(value: Any) -> tuple[str, ...]:
    names = name_list(value, "rpc_collections")
    if names is None:
        return DEFAULT_COLLECTIONS
    if names in (["all"],):
        return tuple(COLLECTIONS)
    if names in (["none"], ["-"]):
        return ()
    for name in names:
        if name not in COLLECTIONS:
            raise bad_option(
                "rpc_collections",
                f"unknown collection {name!r}.{suggest(name, list(COLLECTIONS))}",
                f"Choose from {', '.join(COLLECTIONS)}, or 'all' / 'none'",
            )
    return tuple(dict.fromkeys(names))


def resolve_filters(value: Any) -> tuple[dict[str, Any], ...]:
    if not value:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise bad_option(
            "filters",
            "expected a list of {field, op, value} objects",
            'e.g. [{"field": "country", "op": "eq", "value": "US"}]',
        )
    out: list[dict[str, Any]] = []
    for f in value:
        if not isinstance(f, dict) or set(f) - {"field", "op", "value"} or "field" not in f:
            raise bad_option(
                "filters",
                f"{f!r} is not a {{field, op, value}} object",
                'e.g. {"field": "country", "op": "eq", "value": "US"}',
            )
        if f["field"] not in FILTER_FIELDS:
            raise bad_option(
                "filters",
                f"unknown filter field {f['field']!r}.{suggest(str(f['field']), FILTER_FIELDS)}",
                f"Filterable fields: {', '.join(FILTER_FIELDS)}",
            )
        if f.get("op") not in FILTER_OPERATORS:
            raise bad_option(
                "filters",
                f"unknown operator {f.get('op')!r}.{suggest(str(f.get('op')), FILTER_OPERATORS)}",
                f"Operators: {', '.join(FILTER_OPERATORS)}",
            )
        out.append({"field": f["field"], "op": f["op"], "value": f.get("value", "")})
    return tuple(out)


def named_query_types(value: Any) -> tuple[str, ...]:
    """The query types a user named one by one: a type of them the API no longer lists is
    worth a warning; a default one is simply left out."""
    names = name_list(value, "queries") or []
    return tuple(n for n in names if n not in ("default", "all"))
