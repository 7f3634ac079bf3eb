"""The ``/healthz`` and ``/metrics`` endpoints over HTTP: :func:`build_app` and :class:`HealthServer`.

``/healthz`` answers :meth:`monitor.health.HealthState.status` (the rule is in :mod:`monitor.health`) as JSON,
200 or 503; ``/metrics`` the Prometheus registry. Served on 127.0.0.1 unless told otherwise: the details name
advertisers and error messages (never secrets), which is for the operator, not the internet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from monitor.appserver import AppServer
from monitor.hostcheck import host_middleware

if TYPE_CHECKING:
    from monitor.health import HealthState

__all__ = ["HealthServer", "build_app"]


class _Handlers:
    def __init__(self, state: HealthState, registry: CollectorRegistry) -> None:
        self.state = state
        self.registry = registry

    async def healthz(self, request: web.Request) -> web.Response:
        ok, details = self.state.status()
        return web.Response(
            status=200 if ok else 503,
            text=json.dumps(details, indent=2) + "\n",
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def metrics(self, request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encoder(self.registry), headers={"Content-Type": content_type})


def build_app(state: HealthState, registry: CollectorRegistry, *, allowed_hosts: Iterable[str] = ()) -> web.Application:
    """The aiohttp application: ``GET /healthz`` (JSON) and ``GET /metrics`` (Prometheus text format), answering
    only requests whose ``Host`` passes :func:`host_allowed` (421 otherwise)."""
    handlers = _Handlers(state, registry)
    app = web.Application(middlewares=[host_middleware(allowed_hosts)])
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/metrics", handlers.metrics)
    return app


class HealthServer(AppServer):
    """Serves :func:`build_app` on ``host:port``; ``add_routes`` adds more to it (the status page beside it)."""

    def __init__(
        self,
        state: HealthState,
        registry: CollectorRegistry,
        *,
        host: str = "127.0.0.1",
        port: int = 9108,
        allowed_hosts: Iterable[str] = (),
        add_routes: Callable[[web.Application], None] | None = None,
    ) -> None:
        app = build_app(state, registry, allowed_hosts=allowed_hosts)
        if add_routes is not None:
            add_routes(app)
        super().__init__(app, host=host, port=port)
