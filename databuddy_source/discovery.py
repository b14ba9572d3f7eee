"""Finding the parents a run syncs: websites (``/v1/query/websites``), their organizations,
short links and uptime monitors (RPC), each with the date it was created."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from .catalog import suggest
from .client import Databuddy
from .errors import APIError, ConfigurationError
from .planning import Parent

log = logging.getLogger("databuddy_source")


@dataclass(slots=True)
class Parents:
    websites: list[Parent] = field(default_factory=list)
    organizations: list[Parent] = field(default_factory=list)
    links: list[Parent] = field(default_factory=list)
    schedules: list[Parent] = field(default_factory=list)

    def shard(self, index: int, count: int) -> Parents:
        """The parents of shard ``index`` (from 1) of ``count``. Each parent, of every kind,
        belongs to exactly one shard, by a hash of its own id: a parent never moves when others
        come or go, so each worker's incremental state stays its own."""

        def mine(parents: list[Parent]) -> list[Parent]:
            return [p for p in parents if shard_of(p.id, count) == index]

        return Parents(
            mine(self.websites), mine(self.organizations), mine(self.links), mine(self.schedules)
        )

    def by_kind(self) -> dict[str, list[Parent]]:
        return {
            "website": self.websites,
            "organization": self.organizations,
            "link": self.links,
            "schedule": self.schedules,
        }


def shard_of(parent_id: str, count: int) -> int:
    """The shard (from 1) of ``count`` that syncs ``parent_id``: stable across runs, machines
    and Python versions (SHA-256, not ``hash()``)."""
    digest = hashlib.sha256(parent_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def _created(value: Any, tz: str) -> date:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(ZoneInfo(tz)).date()


def _select_websites(
    available: list[dict[str, Any]], wanted: Sequence[str] | None
) -> list[dict[str, Any]]:
    if not wanted:
        return available
    out: list[dict[str, Any]] = []
    for token in wanted:
        match = [w for w in available if token in (w["id"], w.get("domain"), w.get("name"))]
        if not match:
            names = [w["id"] for w in available] + [str(w.get("domain")) for w in available]
            raise ConfigurationError(
                f"sources.databuddy.websites: {token!r} is not a website this key can read."
                f"{suggest(token, names)} Websites it can read: "
                + ", ".join(f"{w.get('domain')} ({w['id']})" for w in available)
            )
        out.extend(m for m in match if m not in out)
    return out


def read_catalogue(client: Databuddy) -> frozenset[str] | None:
    """The query types the API lists now (``GET /v1/query/types``), or None when it cannot say
    (the bundled contract then stands in, with a warning)."""
    try:
        answer = client.query.types()
    except APIError as exc:
        log.warning("the query type catalogue could not be read (%s): using the bundled one", exc)
        return None
    names = answer.get("types")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        log.warning("the query type catalogue answered no list of types: using the bundled one")
        return None
    return frozenset(names)


def discover(
    client: Databuddy,
    *,
    websites: Sequence[str] | None,
    timezone: str,
    kinds: set[str],
    failures: Callable[[str, str, APIError], None],
) -> Parents:
    """The parents of every kind in ``kinds`` (``website``, ``organization``, ``link``,
    ``schedule``). Websites come from the Query API; the rest from RPC lists, whose failures
    (e.g. a key without ``read:links``) are reported and leave that kind empty."""
    found = Parents()
    selected = _select_websites(client.query.websites(), websites)
    organization_of: dict[str, str] = {}
    deleted: set[str] = set()
    if kinds - {"website"}:
        try:
            for site in client.rpc.call("websites.list", {}):
                organization_of[site["id"]] = site["organizationId"]
                if site.get("deletedAt"):
                    deleted.add(site["id"])
        except APIError as exc:
            failures("organizations", "websites.list", exc)
    for site in selected:
        found.websites.append(
            Parent(
                "website",
                site["id"],
                _created(site["createdAt"], timezone),
                site.get("name") or site.get("domain"),
                deleted=site["id"] in deleted,
            )
        )
    if "organization" in kinds:
        first_site: dict[str, Parent] = {}
        for parent in found.websites:
            org = organization_of.get(parent.id)
            if org and (org not in first_site or parent.created < first_site[org].created):
                first_site[org] = parent
        found.organizations = [
            Parent("organization", org, p.created, org, p.id)
            for org, p in sorted(first_site.items())
        ]
    if "link" in kinds:
        try:
            for link in client.rpc.call("links.list", {}):
                if link.get("deletedAt"):  # listed, but the Query API refuses it (403)
                    continue
                found.links.append(
                    Parent(
                        "link", link["id"], _created(link["createdAt"], timezone), link.get("slug")
                    )
                )
        except APIError as exc:
            failures("link_*", "links.list", exc)
    if "schedule" in kinds:
        site_ids = {p.id for p in found.websites}
        try:
            for sch in client.rpc.call("uptime.listSchedules", {}):
                if sch.get("websiteId") in site_ids or not websites:
                    found.schedules.append(
                        Parent(
                            "schedule",
                            sch["id"],
                            _created(sch["createdAt"], timezone),
                            sch.get("name"),
                        )
                    )
        except APIError as exc:
            failures("uptime_*", "uptime.listSchedules", exc)
    return found
