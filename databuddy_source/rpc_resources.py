"""RPC collections as tables, merged on ``id``.

Each run lists a collection in full (per organization or per website, as the procedure takes
it). Soft-deleted objects keep the API's ``deletedAt`` and get ``is_deleted = true``; an object
that vanished from a list that answered is re-emitted once from the resource state with
``is_deleted = true`` and ``vanished_at`` set, so nothing deleted upstream is left looking live.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import dlt
from dlt.extract.resource import DltResource

from .client import Databuddy
from .contract import rpc_procedures
from .discovery import Parents
from .errors import APIError
from .planning import Parent

log = logging.getLogger("databuddy_source")

Scope = Literal["organization", "website", "status_page"]
MAX_REMEMBERED = 5_000  # objects per collection kept in state to mark vanished ones


@dataclass(frozen=True, slots=True)
class Collection:
    """An RPC list procedure and the scope it is called per."""

    name: str
    procedure: str
    scope: Scope
    extra_input: tuple[tuple[str, Any], ...] = ()
    # The API answers [] instead of an error when its database fails (websites.list): an
    # empty answer then never marks the objects known for that scope as vanished.
    empty_unreliable: bool = False


ANNOTATION_CONTEXT = {
    "dateRange": {"start_date": "2000-01-01", "end_date": "2100-01-01", "granularity": "daily"}
}

COLLECTIONS: dict[str, Collection] = {
    c.name: c
    for c in (
        Collection("websites", "websites.list", "organization", empty_unreliable=True),
        Collection("links", "links.list", "organization"),
        Collection("link_folders", "linkFolders.list", "organization"),
        Collection("flags", "flags.list", "website"),
        # flags of the organization itself (flags.list by organizationId), not of one website
        Collection("organization_flags", "flags.list", "organization"),
        Collection("target_groups", "targetGroups.list", "website"),
        Collection("funnels", "funnels.list", "website"),
        Collection("goals", "goals.list", "website"),
        Collection(
            "annotations",
            "annotations.list",
            "website",
            (("chartType", "metrics"), ("chartContext", ANNOTATION_CONTEXT)),
        ),
        Collection("uptime_schedules", "uptime.listSchedules", "organization"),
        Collection("alarms", "alarms.list", "organization"),
        Collection("status_pages", "statusPage.list", "organization"),
        Collection("status_page_incidents", "statusPage.listIncidents", "status_page"),
        Collection("api_keys", "apikeys.list", "organization"),
        Collection("pending_invitations", "organizations.getPendingInvitations", "organization"),
    )
}
DEFAULT_COLLECTIONS: tuple[str, ...] = (
    "websites",
    "links",
    "link_folders",
    "flags",
    "organization_flags",
    "target_groups",
    "funnels",
    "goals",
    "annotations",
    "uptime_schedules",
    "alarms",
    "status_pages",
)


def _inputs(
    collection: Collection,
    organizations: Sequence[Parent],
    websites: Sequence[Parent],
    client: Databuddy,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(scope id, procedure input)`` for every call a collection needs."""
    extra = dict(collection.extra_input)
    if collection.scope == "organization":
        for org in organizations:
            yield org.id, {"organizationId": org.id, **extra}
    elif collection.scope == "website":
        for site in websites:
            if site.deleted:  # per-website lists answer 404 for a soft-deleted website
                continue
            yield site.id, {"websiteId": site.id, **extra}
    else:
        for org in organizations:
            for page in client.rpc.call("statusPage.list", {"organizationId": org.id}):
                yield str(page["id"]), {"statusPageId": page["id"], **extra}


def _remembered(row: dict[str, Any]) -> dict[str, Any]:
    """A row as kept in state (JSON-safe: datetimes as ISO strings)."""

    def text(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: text(v) for k, v in value.items()}
        if isinstance(value, list):
            return [text(v) for v in value]
        return value

    return {k: text(v) for k, v in row.items()}


_DLT_TYPES = {
    "string": "text",
    "datetime": "timestamp",
    "boolean": "bool",
    "integer": "bigint",
    "number": "double",
}


def column_hints(procedure: str) -> dict[str, dict[str, Any]]:
    """dlt column hints from the output tree of a list procedure in ``rpc.json``, so every
    documented column exists from the first run, even while all its values are null."""
    spec = next(p for p in rpc_procedures() if p["id"] == procedure)
    node = spec["output"]
    node = node.get("items", node) if node.get("type") == "array" else node
    hints: dict[str, dict[str, Any]] = {}
    for f in node.get("fields", []):
        kind = _DLT_TYPES.get(f.get("type", ""), "json")
        hints[f["name"]] = {"data_type": kind, "nullable": True}
    return hints


def collection_resource(
    collection: Collection,
    client: Databuddy,
    parents: Callable[[], Parents],
    history: bool,
    failures: Callable[[str, str, APIError], None],
) -> DltResource:
    """The dlt resource of one collection (``history``: keep every version, scd2), listed
    for the organizations and websites ``parents()`` finds when the resource runs.

    Without history the table is merged by ``delete-insert`` on its primary key ``id``: the
    one merge strategy every dlt SQL destination has (``upsert`` is missing on ClickHouse and
    SQLAlchemy). Each run yields an object at most once, so the rows of a listed object are
    replaced by its current version. ``id`` is declared non-null: ClickHouse refuses a
    nullable sorting key, and every listed object has one."""
    disposition: Any = (
        {"disposition": "merge", "strategy": "scd2"}
        if history
        else {"disposition": "merge", "strategy": "delete-insert"}
    )

    columns: Any = {
        **column_hints(collection.procedure),
        "id": {"data_type": "text", "nullable": False},
        "is_deleted": {"data_type": "bool"},
        "vanished_at": {"data_type": "timestamp", "nullable": True},
    }

    @dlt.resource(
        name=collection.name,
        write_disposition=disposition,
        primary_key="id",
        max_table_nesting=0,
        columns=columns,
    )
    def rows() -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state()
        known: dict[str, dict[str, Any]] = state.setdefault("objects", {})
        listed_scopes: set[str] = set()
        current: dict[str, dict[str, Any]] = {}
        carried: dict[str, dict[str, Any]] = {}  # known, in a scope that answered unreliably
        found = parents()
        for scope_id, body in _inputs(collection, found.organizations, found.websites, client):
            try:
                answer = client.rpc.call(collection.procedure, body)
            except APIError as exc:
                failures(collection.name, scope_id, exc)
                continue
            column = _scope_column(collection)
            mine = {k: v for k, v in known.items() if v.get(column) == scope_id}
            if collection.empty_unreliable and not answer and mine:
                log.warning(
                    "%s: the API listed none for %s while %d were known: not taken as deleted "
                    "(it answers [] when its database fails)",
                    collection.name,
                    scope_id,
                    len(mine),
                )
                carried.update(mine)
                continue
            listed_scopes.add(scope_id)
            for obj in answer if isinstance(answer, list) else []:
                row = dict(obj)  # only top-level keys are added below
                row.setdefault(_scope_column(collection), scope_id)
                row["is_deleted"] = row.get("deletedAt") is not None
                row["vanished_at"] = None
                current[str(row["id"])] = row
        now = datetime.now(UTC)
        vanished = []
        for object_id, old in known.items():
            if object_id not in current and old.get(_scope_column(collection)) in listed_scopes:
                vanished.append({**old, "is_deleted": True, "vanished_at": now})
        yield list(current.values()) + vanished
        if len(current) + len(carried) <= MAX_REMEMBERED:
            state["objects"] = {k: _remembered(v) for k, v in current.items()} | carried
        else:
            state["objects"] = {}
            log.warning(
                "%s: %d objects, too many to remember: vanished ones will not be marked",
                collection.name,
                len(current),
            )

    return rows


def _scope_column(collection: Collection) -> str:
    return {
        "organization": "organizationId",
        "website": "websiteId",
        "status_page": "statusPageId",
    }[collection.scope]
