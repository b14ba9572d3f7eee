"""The emulator's ASGI application: Query API, RPC API, docs, health and the admin surface."""

from __future__ import annotations

import threading

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import admin, rpc
from .config import EmulatorConfig
from .faults import FaultInjector, FaultMiddleware
from .http import internal_error, json_response, not_found
from .query import compile as query_compile
from .query import custom as query_custom
from .query import routes as query_routes
from .ratelimit import RateLimiter
from .store import Store


class StatsMiddleware:
    """Counts responses by ``"<METHOD> <path> <status>"`` (admin: ``/__emulator__/stats``)."""

    def __init__(self, app: ASGIApp, stats: dict[str, int], lock: threading.Lock) -> None:
        self.app, self.stats, self.lock = app, stats, lock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(admin.PREFIX):
            await self.app(scope, receive, send)
            return

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                key = f"{scope['method']} {scope['path']} {message['status']}"
                with self.lock:
                    self.stats[key] = self.stats.get(key, 0) + 1
            await send(message)

        await self.app(scope, receive, counting)


class Emulator:
    """One emulator instance: its state, its limiter and faults, and the ASGI app serving them.

    Pass ``store`` to serve an existing world (tests that inspect or mutate it directly).
    """

    def __init__(self, config: EmulatorConfig, store: Store | None = None) -> None:
        self.config = config
        self.store = store or Store(config)
        self.limiter = RateLimiter(
            config.rate_limit, config.rate_window_seconds, config.rate_limit_mode
        )
        self.compile_limiter = query_compile.limiter(config)
        self.custom_limiter = query_custom.limiter(config)
        if not config.current_api:  # 2026-04: every attempt counted, anonymous callers free
            for limiter in (self.limiter, self.compile_limiter, self.custom_limiter):
                limiter.record_rejected, limiter.anonymous_cap = True, None
        self.faults = FaultInjector(seed=config.seed)
        self.stats: dict[str, int] = {}
        self.app: ASGIApp = self._build()

    def _build(self) -> ASGIApp:
        async def health(_: Request) -> Response:
            return json_response({"status": "ok"})

        async def health_status(_: Request) -> Response:
            return json_response(
                {
                    "status": "ok",
                    "services": {
                        "postgres": {"status": "ok", "latency_ms": 1},
                        "redis": {"status": "ok", "latency_ms": 1},
                    },
                }
            )

        routes: list[BaseRoute] = [
            Route("/health", health, methods=["GET"]),
            Route("/health/status", health_status, methods=["GET"]),
            *query_routes.routes(self.store, self.limiter),
            *query_compile.routes(self.store, self.compile_limiter),
            *query_custom.routes(self.store, self.custom_limiter),
            *rpc.routes(self.store),
        ]
        if self.config.admin:
            routes[-1:-1] = [
                *admin.routes(self.store, self.faults, self.limiter, self.stats),
                *rpc.admin_routes(self.store),
            ]
        app = Starlette(routes=routes)
        app.add_exception_handler(404, lambda request, exc: not_found())
        app.add_exception_handler(405, lambda request, exc: not_found())
        # an exception escaping a handler answers like the API's global error handler
        app.add_exception_handler(Exception, lambda request, exc: internal_error())
        with_faults = FaultMiddleware(app, self.faults, self.limiter)
        return StatsMiddleware(with_faults, self.stats, threading.Lock())
