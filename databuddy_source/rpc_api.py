"""The RPC surface: ``call`` over the oRPC protocol (``{"json": …}`` with Date ``meta``) or the
REST twins, plus helpers for the list and get procedures."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

from .contract import rpc_procedures
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .transport import Transport

WireProtocol = Literal["rpc", "rest"]  # oRPC over /rpc, or its REST twin


class Website(TypedDict):
    """``websites.list`` / ``websites.getById`` output."""

    id: str
    domain: str
    name: str | None
    status: str
    isPublic: bool
    createdAt: datetime
    updatedAt: datetime
    organizationId: str
    deletedAt: datetime | None
    integrations: dict[str, Any] | None
    settings: dict[str, Any] | None


class Link(TypedDict):
    """``links.list`` / ``links.get`` output (short URL ``https://dby.to/<slug>``)."""

    id: str
    organizationId: str
    createdBy: str
    folderId: str | None
    slug: str
    name: str
    targetUrl: str
    targetDomain: str | None
    sourceType: str | None
    sourceId: str | None
    sourceOwnerId: str | None
    expiresAt: datetime | None
    expiredRedirectUrl: str | None
    ogTitle: str | None
    ogDescription: str | None
    ogImageUrl: str | None
    ogVideoUrl: str | None
    iosUrl: str | None
    androidUrl: str | None
    externalId: str | None
    deepLinkApp: str | None
    deletedAt: datetime | None
    createdAt: datetime
    updatedAt: datetime


class UptimeSchedule(TypedDict):
    """``uptime.listSchedules`` output."""

    id: str
    websiteId: str | None
    organizationId: str
    url: str
    name: str | None
    granularity: str
    cron: str
    isPaused: bool
    createdAt: datetime
    updatedAt: datetime


Objects = list[dict[str, Any]]
Websites = list[Website]
Links = list[Link]
UptimeSchedules = list[UptimeSchedule]


@cache
def _procedures() -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in rpc_procedures()}


def _revive_dates(value: Any, meta: list[list[Any]]) -> Any:
    """Turn the Dates listed in oRPC ``meta`` (type code 1) back into aware datetimes."""
    for entry in meta:
        if not entry or entry[0] != 1:
            continue
        path = entry[1:]
        if not path:
            if isinstance(value, str):
                value = _parse_date(value)
            continue
        parent = value
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        if isinstance(parent[last], str):
            parent[last] = _parse_date(parent[last])
    return value


def _parse_date(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class RPCAPI:
    """``client.rpc``: call procedures by id, e.g. ``client.rpc.call("websites.list", {})``."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def call(
        self, procedure: str, input: dict[str, Any] | None = None, transport: WireProtocol = "rpc"
    ) -> Any:
        """Run a procedure of ``rpc.json`` and return its output (Dates as ``datetime`` over the
        RPC transport, ISO strings over REST)."""
        spec = _procedures().get(procedure)
        if spec is None:
            raise ConfigurationError(
                f"Unknown RPC procedure {procedure!r}: see rpc.json for "
                "the list (e.g. 'websites.list', 'links.list')"
            )
        if transport == "rest":
            return self._transport.request("POST", spec["openapi_path"], json=input or {})
        answer = self._transport.request("POST", spec["rpc_path"], json={"json": input or {}})
        if not isinstance(answer, dict) or "json" not in answer:
            return answer
        return _revive_dates(answer["json"], answer.get("meta") or [])

    def list(self, collection: str, **input: Any) -> list[dict[str, Any]]:
        """``<collection>.list`` (or ``uptime.listSchedules`` for ``uptime``)."""
        procedure = "uptime.listSchedules" if collection == "uptime" else f"{collection}.list"
        result = self.call(procedure, {k: v for k, v in input.items() if v is not None})
        return list(result)

    def get(self, procedure: str, **input: Any) -> dict[str, Any]:
        """A get procedure, e.g. ``get("websites.getById", id=...)``."""
        return dict(self.call(procedure, input))

    # Typed helpers for the collections a sync reads.
    def websites(self, organization_id: str | None = None) -> Websites:
        return cast(Websites, self.list("websites", organizationId=organization_id))

    def website(self, website_id: str) -> Website:
        return cast(Website, self.get("websites.getById", id=website_id))

    def links(self, organization_id: str | None = None, folder_id: str | None = None) -> Links:
        return cast(
            list[Link], self.list("links", organizationId=organization_id, folderId=folder_id)
        )

    def link(self, link_id: str) -> Link:
        return cast(Link, self.get("links.get", id=link_id))

    def uptime_schedules(self, organization_id: str | None = None) -> UptimeSchedules:
        return cast(UptimeSchedules, self.list("uptime", organizationId=organization_id))

    def funnels(self, website_id: str) -> Objects:
        return self.list("funnels", websiteId=website_id)

    def goals(self, website_id: str) -> Objects:
        return self.list("goals", websiteId=website_id)

    def flags(self, website_id: str | None = None, organization_id: str | None = None) -> Objects:
        return self.list("flags", websiteId=website_id, organizationId=organization_id)
