"""The status page in ``run``: built from the settings and the runtime, served beside ``/healthz`` (the health
listener's app gets its routes) or on ``[page] listen`` of its own."""

from __future__ import annotations

from aiohttp import web

from monitor.actions.base import GuardSettings
from monitor.config import Settings
from monitor.health import AppServer, host_middleware, parse_listen
from monitor.page.app import Page, add_routes
from monitor.page.auth import Authenticator
from monitor.page.csrf import Csrf, key_from_secrets
from monitor.page.view import Sources
from monitor.runtime import Runtime
from monitor.wiring import steering_of


def page_of(settings: Settings, runtime: Runtime) -> Page:
    """The page over the runtime's store, its changes made with the runtime's clock and HTTP session."""
    config = settings.page
    token = config.token.get_secret_value() if config.token is not None else None
    users = {name: password.get_secret_value() for name, password in config.users.items()}
    sources = Sources(
        store=runtime.store,
        interval=settings.monitor.interval,
        guards=GuardSettings.from_config(settings.actions, settings.monitor.interval),
        configured=settings.tiktok.configured_advertiser_ids(),
        severities=lambda: {rule.name: rule.severity.value for rule in runtime.rulebook.current},
    )
    return Page(
        sources=sources,
        steering=steering_of(settings, runtime.store, runtime.clock, runtime.session),
        clock=runtime.clock,
        auth=Authenticator(token, users),
        csrf=Csrf(key_from_secrets([*([token] if token else []), *users.values()])),
        refresh=config.refresh,
    )


def shares_health(settings: Settings) -> bool:
    """Whether the page is served by the health listener (same address, health enabled)."""
    return settings.health.enabled and settings.page_listen() == settings.health.listen


def page_server(settings: Settings, page: Page) -> AppServer:
    """A listener of the page's own on :meth:`Settings.page_listen` (when it does not share the health one)."""
    host, port = parse_listen(settings.page_listen())
    app = web.Application(middlewares=[host_middleware(settings.health.allowed_hosts)])
    add_routes(app, page)
    return AppServer(app, host=host, port=port)
