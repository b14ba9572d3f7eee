"""links.* and linkFolders.* procedures (need read:links / write:links for API keys)."""

from __future__ import annotations

import random
import re
import string
from typing import Any
from urllib.parse import urlsplit

from ..context import Ctx
from ..errors import bad_request, conflict, not_found
from .registry import procedure

LINK_FIELDS = (
    "folderId",
    "expiresAt",
    "expiredRedirectUrl",
    "ogTitle",
    "ogDescription",
    "ogImageUrl",
    "ogVideoUrl",
    "iosUrl",
    "androidUrl",
    "externalId",
    "sourceType",
    "sourceId",
    "sourceOwnerId",
    "targetDomain",
    "deepLinkApp",
)
LIST_FILTERS = ("externalId", "sourceType", "sourceId", "sourceOwnerId", "targetDomain")


def _link(ctx: Ctx, link_id: str, permission: str) -> dict[str, Any]:
    link = ctx.get("links", link_id, "link", include_deleted=permission == "read")
    ctx.check(link["organizationId"], "read" if permission == "read" else "update", "links")
    return link


@procedure("links.list")
def list_links(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    """createdAt desc; deletedAt is not filtered (rpc.json), so soft-deleted links appear with
    ``deletedAt`` set."""
    org = ctx.workspace(data.get("organizationId"))
    ctx.check(org, "read", "links")

    def keep(link: dict[str, Any]) -> bool:
        if link["organizationId"] != org:
            return False
        if "folderId" in data and link.get("folderId") != data["folderId"]:
            return False
        return all(link.get(f) == data[f] for f in LIST_FILTERS if f in data)

    return ctx.rows("links", include_deleted=True, where=keep)


@procedure("links.get")
def get_link(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return _link(ctx, data["id"], "read")


def _slug_taken(ctx: Ctx, slug: str, exclude: str | None = None) -> bool:
    return any(
        link["slug"] == slug and link["id"] != exclude
        for link in ctx.registry.collection("links").values()
    )


def _check_folder(ctx: Ctx, org: str, folder_id: str | None) -> None:
    if folder_id is None:
        return
    folder = ctx.registry.get("linkFolders", folder_id)
    if folder is None or folder.get("deletedAt") or folder["organizationId"] != org:
        raise not_found("linkFolder", folder_id, "Folder not found")


def _domain(url: str) -> str | None:
    return urlsplit(url).hostname or None


@procedure("links.create")
def create_link(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    org = ctx.workspace(data.get("organizationId"))
    ctx.check(org, "create", "links")
    slug = data.get("slug")
    if slug is None:
        rng = random.Random(ctx.new_id())
        slug = "".join(rng.choices(string.ascii_letters + string.digits, k=8))
    if _slug_taken(ctx, slug):
        raise conflict("This slug is already taken")
    _check_folder(ctx, org, data.get("folderId"))
    link: dict[str, Any] = {
        "id": ctx.new_id(),
        "organizationId": org,
        "createdBy": ctx.user_id,
        "slug": slug,
        "name": data["name"],
        "targetUrl": data["targetUrl"],
        "deletedAt": None,
    }
    for field in LINK_FIELDS:
        link[field] = data.get(field)
    if link["targetDomain"] is None:
        link["targetDomain"] = _domain(data["targetUrl"])
    return ctx.insert("links", link)


@procedure("links.update")
def update_link(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    link = _link(ctx, data["id"], "update")
    changes = {k: v for k, v in data.items() if k != "id"}
    if "slug" in changes and _slug_taken(ctx, changes["slug"], exclude=link["id"]):
        raise conflict("This slug is already taken")
    if "folderId" in changes:
        _check_folder(ctx, link["organizationId"], changes["folderId"])
    if "targetUrl" in changes and "targetDomain" not in changes:
        changes["targetDomain"] = _domain(changes["targetUrl"])
    return ctx.update(link, changes)


@procedure("links.delete")
def delete_link(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    link = ctx.get("links", data["id"], "link")
    ctx.check(link["organizationId"], "delete", "links")
    ctx.soft_delete(link)
    return {"success": True}


# ------------------------------------------------------------------------------ folders
def _slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
    return slug[:64] or "folder"


@procedure("linkFolders.list")
def list_folders(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Non-deleted folders of the workspace, name asc."""
    org = ctx.workspace(data.get("organizationId"))
    ctx.check(org, "read", "links")
    return ctx.rows(
        "linkFolders", where=lambda f: f["organizationId"] == org, order="name", descending=False
    )


def _folder_slug_taken(ctx: Ctx, org: str, slug: str, exclude: str | None = None) -> bool:
    return any(
        f["organizationId"] == org
        and f["slug"] == slug
        and f["id"] != exclude
        and not f.get("deletedAt")
        for f in ctx.registry.collection("linkFolders").values()
    )


@procedure("linkFolders.create")
def create_folder(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    org = ctx.workspace(data.get("organizationId"))
    ctx.check(org, "create", "links")
    slug = data.get("slug") or _slugify(data["name"])
    if _folder_slug_taken(ctx, org, slug):
        raise conflict("A folder with this slug already exists")
    return ctx.insert(
        "linkFolders",
        {
            "id": ctx.new_id(),
            "organizationId": org,
            "createdBy": ctx.user_id,
            "name": data["name"],
            "slug": slug,
            "deletedAt": None,
        },
    )


@procedure("linkFolders.update")
def update_folder(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    folder = ctx.get("linkFolders", data["id"], "linkFolder")
    ctx.check(folder["organizationId"], "update", "links")
    changes: dict[str, Any] = {k: data[k] for k in ("name", "slug") if k in data}
    if not changes:
        raise bad_request("Nothing to update")
    if "slug" in changes and _folder_slug_taken(
        ctx, folder["organizationId"], changes["slug"], exclude=folder["id"]
    ):
        raise conflict("A folder with this slug already exists")
    return ctx.update(folder, changes)


@procedure("linkFolders.delete")
def delete_folder(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Soft-deletes the folder; its links move out of it (folderId = null)."""
    folder = ctx.get("linkFolders", data["id"], "linkFolder")
    ctx.check(folder["organizationId"], "delete", "links")
    ctx.soft_delete(folder)
    for link in ctx.registry.collection("links").values():
        if link.get("folderId") == folder["id"]:
            ctx.update(link, {"folderId": None})
    return {"success": True}
