"""Request-level checks of ``POST /v1/query`` that answer 400 ``VALIDATION_ERROR``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from databuddy_source.contract import CURRENT_API_VERSION, ApiVersion, query_types_by_name

from .dates import InvalidDate, normalize_date

MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Detail:
    field: str
    message: str
    suggestion: str | None = None

    def to_json(self, prefix: str = "") -> dict[str, str]:
        out = {"field": prefix + self.field, "message": self.message}
        if self.suggestion:
            out["suggestion"] = self.suggestion
        return out


def closest_name(name: str, options: Iterable[str]) -> str | None:
    """The option the API suggests for a misspelt name, or None.

    A candidate scores by the shorter/longer length ratio when one name starts with the other
    (case-insensitive), and by the share of equal characters at equal positions when that share
    is above 0.6; the best score wins if it is above 0.5 (so ``top_pagez`` suggests
    ``top_pages`` but ``summry_metrics`` suggests nothing)."""
    lowered = name.lower()
    best, best_score = None, 0.0
    for option in options:
        candidate = option.lower()
        longest = max(len(name), len(option))
        if candidate.startswith(lowered) or lowered.startswith(candidate):
            score = min(len(name), len(option)) / longest
            if score > best_score:
                best, best_score = option, score
        same = sum(a == b for a, b in zip(lowered, candidate, strict=False)) / longest
        if same > 0.6 and same > best_score:
            best, best_score = option, same
    return best if best_score > 0.5 else None


def suggest_type(name: str, api_version: ApiVersion = CURRENT_API_VERSION) -> str | None:
    best = closest_name(name, query_types_by_name(api_version))
    return f"Did you mean '{best}'?" if best else None


def parameter_name(item: str | dict[str, Any]) -> str:
    return item if isinstance(item, str) else str(item["name"])


def validate_request(
    obj: dict[str, Any], api_version: ApiVersion = CURRENT_API_VERSION
) -> list[Detail]:
    """Every 400-level problem of one (schema-valid) request object, in the API's order:
    parameters, dates, paging."""
    details: list[Detail] = []
    params = obj["parameters"]
    if not params:
        details.append(Detail("parameters", "At least one parameter is required"))
    known = query_types_by_name(api_version)
    for i, item in enumerate(params):
        name = parameter_name(item)
        if name and name not in known:
            details.append(
                Detail(
                    f"parameters[{i}]",
                    f"Unknown query type: {name}",
                    suggest_type(name, api_version),
                )
            )
    if "preset" not in obj:
        for key in ("startDate", "endDate"):
            if not obj.get(key):
                details.append(Detail(key, f"Either {key} or preset is required"))
        for key in ("startDate", "endDate"):
            if obj.get(key):
                try:
                    normalize_date(obj[key])
                except InvalidDate as exc:
                    details.append(Detail(key, str(exc)))
    if "limit" in obj:
        if obj["limit"] < 1:
            details.append(Detail("limit", "Limit must be at least 1"))
        elif obj["limit"] > MAX_LIMIT:
            details.append(Detail("limit", f"Limit cannot exceed {MAX_LIMIT}"))
    if "page" in obj and obj["page"] < 1:
        details.append(Detail("page", "Page must be at least 1"))
    return details
