"""The admin surface under ``/__emulator__/`` (not part of Databuddy's API): the virtual clock,
fault injection, rate-limit settings, billing plans, database limits, request statistics,
fixtures and ground truth."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import fixtures
from .faults import FaultInjector
from .http import iso, json_response
from .query.context import ParameterError
from .ratelimit import RateLimiter
from .store import Store
from .truth import expected_rows

PREFIX = "/__emulator__"


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    body = orjson.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body


def _bad(message: str) -> Response:
    return json_response({"error": message}, 400)


def fixture_summary(store: Store) -> dict[str, Any]:
    """Ids and credentials of the fixed world (what docs/emulator.md documents)."""
    reg = store.registry
    return {
        "organizations": {"demo": reg.demo_org_id, "other": reg.other_org_id},
        "plans": dict(reg.plans),
        "api_version": store.config.api_version,
        "websites": [
            {k: w[k] for k in ("id", "name", "domain", "isPublic", "organizationId")}
            | {"deleted": w["deletedAt"] is not None}
            for w in reg.websites_of(reg.demo_org_id) + reg.websites_of(reg.other_org_id)
        ],
        "links": [
            {"id": x["id"], "slug": x["slug"], "deleted": x["deletedAt"] is not None}
            for x in reg.collection("links").values()
        ],
        "uptime_schedules": [
            {"id": x["id"], "websiteId": x["websiteId"]}
            for x in reg.collection("uptimeSchedules").values()
        ],
        "api_keys": {
            "global": store.config.api_key,
            "website_scoped": fixtures.WEBSITE_SCOPED_KEY,
            "no_read_data": fixtures.NO_READ_DATA_KEY,
            "disabled": fixtures.DISABLED_KEY,
            "revoked": fixtures.REVOKED_KEY,
            "expired": fixtures.EXPIRED_KEY,
            "links_only": fixtures.LINKS_ONLY_KEY,
            "other_org": fixtures.OTHER_ORG_KEY,
            "read_data": fixtures.READ_DATA_KEY,
        },
        "session_cookies": {
            "owner": f"{fixtures.SESSION_COOKIE_NAMES[0]}={fixtures.OWNER_SESSION_TOKEN}",
            "viewer": f"{fixtures.SESSION_COOKIE_NAMES[0]}={fixtures.VIEWER_SESSION_TOKEN}",
        },
    }


def routes(
    store: Store, faults: FaultInjector, limiter: RateLimiter, stats: dict[str, int]
) -> list[BaseRoute]:
    async def clock(request: Request) -> Response:
        if request.method == "POST":
            store.changed()
            try:
                body = await _json(request)
                if "set" in body:
                    store.clock.set(
                        datetime.fromisoformat(body["set"].replace("Z", "+00:00")),
                        body.get("frozen"),
                    )
                if "advance_seconds" in body:
                    store.clock.advance(timedelta(seconds=float(body["advance_seconds"])))
                if "frozen" in body and "set" not in body:
                    store.clock.set(store.clock.now(), bool(body["frozen"]))
            except (ValueError, TypeError, KeyError) as exc:
                return _bad(f"clock: {exc}")
        return json_response({"now": iso(store.clock.now()), "frozen": store.clock.frozen})

    async def fault_rules(request: Request) -> Response:
        if request.method == "DELETE":
            faults.clear()
        elif request.method == "POST":
            try:
                body = await _json(request)
                for spec in body.get("rules", [body] if "kind" in body else []):
                    faults.add(spec)
            except (ValueError, TypeError) as exc:
                return _bad(f"faults: {exc}")
        return json_response({"rules": [r.to_json() for r in faults.rules]})

    async def rate_limit(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await _json(request)
                mode = body.get("mode")
                if mode not in (None, "code", "docs", "off"):
                    raise ValueError("mode must be code, docs or off")
                limiter.configure(body.get("limit"), body.get("window_seconds"), mode)
            except (ValueError, TypeError) as exc:
                return _bad(f"rate-limit: {exc}")
        return json_response(
            {
                "limit": limiter.limit,
                "window_seconds": limiter.window,
                "mode": limiter.mode,
                "rejected": limiter.rejected,
            }
        )

    async def plans(request: Request) -> Response:
        """``POST {"organization_id" | "website_id": id, "plan": "free"|"hobby"|"pro"|"scale"}``
        puts an organization (or a website's organization) on a plan."""
        reg = store.registry
        if request.method == "POST":
            try:
                body = await _json(request)
                org = body.get("organization_id")
                if "website_id" in body:
                    site = reg.get("websites", str(body["website_id"]))
                    if site is None:
                        raise ValueError(f"no website {body['website_id']!r}")
                    org = site["organizationId"]
                if reg.get("organizations", str(org)) is None:
                    raise ValueError(
                        f"no organization {org!r} (give organization_id or website_id)"
                    )
                if body.get("plan") not in fixtures.PLANS:
                    raise ValueError(f"plan must be one of {', '.join(fixtures.PLANS)}")
            except (ValueError, TypeError) as exc:
                return _bad(f"plans: {exc}")
            with store.lock:
                reg.plans[str(org)] = body["plan"]
            store.changed()
        return json_response(dict(reg.plans))

    async def limits(request: Request) -> Response:
        """The database guards: ``max_result_rows``, ``max_execution_seconds`` and
        ``query_cache_seconds`` (0 turns the query cache off)."""
        if request.method == "POST":
            try:
                body = await _json(request)
                rows = int(body.get("max_result_rows", store.max_result_rows))
                seconds = float(body.get("max_execution_seconds", store.max_execution_seconds))
                ttl = float(body.get("query_cache_seconds", store.query_cache.ttl))
                if rows < 1 or seconds <= 0 or ttl < 0:
                    raise ValueError(
                        "need max_result_rows >= 1, max_execution_seconds > 0, "
                        "query_cache_seconds >= 0"
                    )
            except (ValueError, TypeError) as exc:
                return _bad(f"limits: {exc}")
            store.max_result_rows, store.max_execution_seconds = rows, seconds
            store.query_cache.ttl = ttl
            store.changed()
        return json_response(
            {
                "max_result_rows": store.max_result_rows,
                "max_execution_seconds": store.max_execution_seconds,
                "query_cache_seconds": store.query_cache.ttl,
                "query_cache_hits": store.query_cache.hits,
            }
        )

    async def statistics(request: Request) -> Response:
        if request.method == "DELETE":
            stats.clear()
        return json_response(dict(stats))

    async def fixture_info(_: Request) -> Response:
        return json_response(fixture_summary(store))

    async def truth(request: Request) -> Response:
        try:
            body = await _json(request)
            rows = await run_in_threadpool(lambda: expected_rows(store, **body))
        except ParameterError as exc:
            return json_response({"success": False, "error": str(exc)}, 200)
        except (TypeError, ValueError, KeyError) as exc:
            return _bad(f"truth: {exc}")
        return json_response({"success": True, "data": rows})

    return [
        Route(f"{PREFIX}/clock", clock, methods=["GET", "POST"]),
        Route(f"{PREFIX}/faults", fault_rules, methods=["GET", "POST", "DELETE"]),
        Route(f"{PREFIX}/rate-limit", rate_limit, methods=["GET", "POST"]),
        Route(f"{PREFIX}/plans", plans, methods=["GET", "POST"]),
        Route(f"{PREFIX}/limits", limits, methods=["GET", "POST"]),
        Route(f"{PREFIX}/stats", statistics, methods=["GET", "DELETE"]),
        Route(f"{PREFIX}/fixtures", fixture_info, methods=["GET"]),
        Route(f"{PREFIX}/truth", truth, methods=["POST"]),
    ]
