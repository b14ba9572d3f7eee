"""Slices: the parameter objects of a packed ``POST /v1/query``, what the parameters of one
request share, and what came back for each. Plain values, no I/O: planning makes them,
packing groups them, the Query API sends them.

A *slice* is one parameter object with its own date range and id (the id labels its answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    import pyarrow as pa

    from .errors import APIError

Granularity = Literal["daily", "hourly", "day", "hour"]
Rows = list[dict[str, Any]]
SliceRows: TypeAlias = "Rows | pa.Table"  # decoded as JSON, or straight into Arrow


@dataclass(frozen=True, slots=True)
class Slice:
    """One parameter object: a query type over its own inclusive date range, labelled ``id``."""

    name: str
    start_date: str
    end_date: str
    id: str
    granularity: Granularity | None = None

    def parameter(self) -> dict[str, Any]:
        p: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "start_date": self.start_date,
            "end_date": self.end_date,
        }
        if self.granularity:
            p["granularity"] = self.granularity
        return p


@dataclass(frozen=True, slots=True)
class SliceOptions:
    """What the slices of one packed request share: scope ids, time zone, filters, paging."""

    website_id: str | None = None
    link_id: str | None = None
    schedule_id: str | None = None
    organization_id: str | None = None
    timezone: str | None = None
    filters: Sequence[dict[str, Any]] = ()
    limit: int | None = None
    page: int | None = None

    def query_params(self) -> dict[str, str]:
        """The request's query string: the scope ids and time zone that are set."""
        return {
            k: v
            for k, v in (
                ("website_id", self.website_id),
                ("link_id", self.link_id),
                ("schedule_id", self.schedule_id),
                ("organization_id", self.organization_id),
                ("timezone", self.timezone),
            )
            if v
        }


@dataclass(slots=True)
class SliceOutcome:
    """A slice's rows (one page of them), or the error that ended it, and the answer's id."""

    slice: Slice
    rows: SliceRows = field(default_factory=list)
    error: APIError | None = None
    request_id: str | None = None
