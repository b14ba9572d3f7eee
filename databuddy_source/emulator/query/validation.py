"""Request-level checks of ``POST /v1/query`` that answer 400 ``VALIDATION_ERROR`` (SPEC 3.6)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from ...contract import query_types_by_name
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


def suggest_type(name: str) -> str | None:
    """The closest registered name, comparing whole names and name prefixes (so ``summry``
    suggests ``summary_metrics``)."""

    def score(candidate: str) -> float:
        whole = difflib.SequenceMatcher(None, name, candidate).ratio()
        prefix = difflib.SequenceMatcher(None, name, candidate[: len(name) + 2]).ratio()
        return max(whole, prefix)

    best = max(query_types_by_name(), key=score)
    return f"Did you mean '{best}'?" if score(best) >= 0.6 else None


def parameter_name(item: str | dict[str, Any]) -> str:
    return item if isinstance(item, str) else str(item["name"])


def validate_request(obj: dict[str, Any], *, check_names: bool = True) -> list[Detail]:
    """Every 400-level problem of one (schema-valid) request object, in order."""
    details: list[Detail] = []
    params = obj["parameters"]
    if not params:
        details.append(Detail("parameters", "At least one parameter is required"))
    if check_names:
        known = query_types_by_name()
        for i, item in enumerate(params):
            name = parameter_name(item)
            if name not in known:
                details.append(
                    Detail(f"parameters[{i}]", f"Unknown query type: {name}", suggest_type(name))
                )
    if "preset" not in obj:
        if not obj.get("startDate"):
            details.append(Detail("startDate", "Either startDate or preset is required"))
        elif not obj.get("endDate"):
            details.append(Detail("endDate", "Either startDate or preset is required"))
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


def error_message(details: list[Detail]) -> str:
    first = details[0]
    return first.message + (f". {first.suggestion}" if first.suggestion else "")
