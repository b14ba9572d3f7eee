"""Pure triage of a refused packed request: which of its slices are to blame.

A whole request can be refused for one of its parameters: a 402 ``FEATURE_UNAVAILABLE`` when it
carries a type the website's plan lacks (the answer does not say which: the plan-gated types
are known, see :data:`catalog.PLAN_GATED`), or a 400 ``VALIDATION_ERROR`` naming a type the API
no longer knows. The culprits are skipped (not failed: the plan, or the API, says so) and the
rest is sent again. A refusal that names no culprit is bisected, at a bounded cost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .catalog import PLAN_GATED
from .errors import APIError, ValidationError
from .planning import PlannedSlice

_UNKNOWN_TYPE = re.compile(r"Unknown query type: ([A-Za-z0-9_]+)")
PLAN_GATE_CODE = "FEATURE_UNAVAILABLE"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Slices to skip (slice id -> why), and what the run learns for later requests."""

    skip: dict[str, str] = field(default_factory=dict)
    gated: frozenset[str] = frozenset()  # types the parent's plan lacks
    gone: frozenset[str] = frozenset()  # types the API no longer knows


def plan_feature(p: PlannedSlice) -> str | None:
    """The plan feature a slice's type needs, if any (the contract may name it too)."""
    named = p.spec.qtype.raw.get("plan_gated")
    if named:
        return str(named).replace("_", " ")
    return PLAN_GATED.get(p.spec.name)


def plan_reason(feature: str, kind: str) -> str:
    return f"{feature} is not available on this {kind}'s plan"


def plan_reason_of(p: PlannedSlice) -> str:
    return plan_reason(plan_feature(p) or "this feature", p.parent.kind)


def gone_reason(name: str) -> str:
    return f"the API no longer lists query type {name!r}"


def is_plan_gate(error: APIError) -> bool:
    return error.status == 402 or error.code == PLAN_GATE_CODE


def culprits(pending: Sequence[PlannedSlice], error: APIError) -> Verdict | None:
    """The slices ``error`` (a refusal of the whole request) blames, or None if it names none."""
    if is_plan_gate(error):
        gated = {p.id: feature for p in pending if (feature := plan_feature(p))}
        if not gated:
            return None
        kind = pending[0].parent.kind
        return Verdict(
            skip={i: plan_reason(f, kind) for i, f in gated.items()},
            gated=frozenset(p.spec.name for p in pending if p.id in gated),
        )
    if isinstance(error, ValidationError) and error.status == 400:
        text = " ".join([error.message, *(str(d.get("message", "")) for d in error.details)])
        named = set(_UNKNOWN_TYPE.findall(text)) & {p.spec.name for p in pending}
        if not named:
            return None
        return Verdict(
            skip={p.id: gone_reason(p.spec.name) for p in pending if p.spec.name in named},
            gone=frozenset(named),
        )
    return None


def bisectable(error: APIError) -> bool:
    """A refusal of the whole request that one of its parameters may cause (so halves help)."""
    return is_plan_gate(error) or (isinstance(error, ValidationError) and error.status == 400)
