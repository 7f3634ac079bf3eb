"""The `tiktok-monitor auth ...` commands: what a new user runs with nothing but an app id and secret.

``url``, ``login`` and ``exchange`` need no configuration file: the app id and secret come from the
environment (TIKTOK_APP_ID, TIKTOK_APP_SECRET) or options, the API host from ``--base-url``. The token is
stored in a 0600 file (or printed with ``--print``, for an environment variable); it is never logged.
``advertisers`` uses the configuration, like the daemon.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from monitor.actions.budget import NO_MINIMUMS, Minimums
from monitor.auth.errors import AuthFlowError
from monitor.auth.flow import authorization_url, login, new_state, open_in_browser, redirect_uri
from monitor.auth.listing import list_advertisers, render_advertisers
from monitor.auth.tokenfile import default_token_path, save_token
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import TokenGrant
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import Transport

DEFAULT_PORT = 8765


@dataclass(frozen=True)
class AppCredentials:
    """The developer app: what the authorization flow needs instead of a token."""

    app_id: str
    secret: str | None
    base_url: str = "https://business-api.tiktok.com"

    def require_secret(self) -> str:
        if not self.secret:
            raise AuthFlowError("the app secret is needed: set TIKTOK_APP_SECRET (or pass --secret)")
        return self.secret


def _app_client(session: aiohttp.ClientSession, app: AppCredentials) -> TikTokClient:
    secret = app.require_secret()
    transport = Transport(session, base_url=app.base_url, access_token="", limiter=RateLimiter(1), secrets=[secret])
    return TikTokClient(transport, app_id=app.app_id, secret=secret)


def url(app: AppCredentials, *, port: int = DEFAULT_PORT, redirect: str | None = None) -> str:
    """The advertiser authorization URL (the redirect URI must be registered in the app's settings)."""
    return authorization_url(app.app_id, redirect or redirect_uri("127.0.0.1", port), new_state(), base=app.base_url)


async def login_and_store(
    app: AppCredentials, *, port: int = 0, wait: float, print_token: bool, token_file: Path | None
) -> str:
    """Run the loopback login and store (or print) the token; returns what to tell the user."""
    async with aiohttp.ClientSession() as session:
        grant = await login(
            lambda: _app_client(session, app),
            app_id=app.app_id,
            port=port,
            open_browser=open_in_browser,
            timeout=wait,
            base=app.base_url,
        )
    return _keep(grant, print_token=print_token, token_file=token_file)


async def exchange_and_store(app: AppCredentials, code: str, *, print_token: bool, token_file: Path | None) -> str:
    async with aiohttp.ClientSession() as session:
        grant = await _app_client(session, app).exchange_auth_code(code)
    return _keep(grant, print_token=print_token, token_file=token_file)


def _keep(grant: TokenGrant, *, print_token: bool, token_file: Path | None) -> str:
    reached = f"the token reaches {len(grant.advertiser_ids)} advertiser(s): {', '.join(grant.advertiser_ids)}"
    if print_token:
        sys.stdout.write(grant.access_token.get_secret_value() + "\n")  # stdout only, for `export VAR=$(...)`
        return reached
    path = save_token(token_file or default_token_path(), grant.access_token)
    return f'{reached}\ntoken saved to {path} (mode 0600): set [tiktok] access_token_file = "{path}"'


async def advertisers(
    client_of: Callable[[aiohttp.ClientSession], TikTokClient], min_budget: Minimums = NO_MINIMUMS
) -> str:
    """The table of `auth advertisers`: name, time zone, currency, minimum budgets (``min_budget``: the
    configured ones), status and Business Center role, read with the client ``client_of`` builds on a session (the
    composition root builds it from the configuration)."""
    async with aiohttp.ClientSession() as session:
        return render_advertisers(await list_advertisers(client_of(session)), min_budget)
