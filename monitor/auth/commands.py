"""The `tiktok-monitor auth ...` commands: what a new user runs with nothing but an app id and secret.

``url``, ``login`` and ``exchange`` need no configuration file: the app id and secret come from the
environment (TIKTOK_APP_ID, TIKTOK_APP_SECRET) or options, the API host from ``--base-url``. The token is
stored in a 0600 file (or printed with ``--print``, for an environment variable); it is never logged. An
existing token file is never replaced without ``--force``: the check comes before the browser opens, so no
authorization is spent on a refusal.
``advertisers`` uses the configuration, like the daemon; listing what a token reaches (oauth2/advertiser/get)
needs the app's id and secret too, from ``[tiktok] app_id`` / ``secret`` or else, as for the other commands,
TIKTOK_APP_ID / TIKTOK_APP_SECRET (:func:`with_app_keys`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from monitor.actions.budget import NO_MINIMUMS, Minimums
from monitor.auth.errors import AuthFlowError, TokenFileError
from monitor.auth.flow import authorization_url, login, new_state, open_in_browser, redirect_uri
from monitor.auth.listing import list_advertisers, render_advertisers
from monitor.auth.tokenfile import default_token_path, save_token
from monitor.config import Settings
from monitor.errors import ConfigError, Problem
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


def _target(print_token: bool, token_file: Path | None, force: bool) -> Path | None:
    """Where the token goes (None: printed); refuses an existing file unless ``force``."""
    if print_token:
        return None
    path = (token_file or default_token_path()).expanduser().absolute()
    if path.exists() and not force:
        raise TokenFileError(
            f"{path}: a token is stored here already and was left as it is; to replace it run the command again "
            "with --force (revoke the old token if nothing uses it any more), or choose another --token-file"
        )
    return path


async def login_and_store(
    app: AppCredentials,
    *,
    port: int = 0,
    wait: float,
    print_token: bool,
    token_file: Path | None,
    force: bool = False,
) -> str:
    """Run the loopback login and store (or print) the token; returns what to tell the user. An existing token
    file is refused before the browser opens, unless ``force``."""
    target = _target(print_token, token_file, force)
    async with aiohttp.ClientSession() as session:
        grant = await login(
            lambda: _app_client(session, app),
            app_id=app.app_id,
            port=port,
            open_browser=open_in_browser,
            timeout=wait,
            base=app.base_url,
        )
    return _keep(grant, target)


async def exchange_and_store(
    app: AppCredentials, code: str, *, print_token: bool, token_file: Path | None, force: bool = False
) -> str:
    """Trade ``code`` for the token and store (or print) it; an existing token file is refused first, unless
    ``force``."""
    target = _target(print_token, token_file, force)
    async with aiohttp.ClientSession() as session:
        grant = await _app_client(session, app).exchange_auth_code(code)
    return _keep(grant, target)


def _keep(grant: TokenGrant, target: Path | None) -> str:
    reached = f"the token reaches {len(grant.advertiser_ids)} advertiser(s): {', '.join(grant.advertiser_ids)}"
    if target is None:
        sys.stdout.write(grant.access_token.get_secret_value() + "\n")  # stdout only, for `export VAR=$(...)`
        return reached
    path = save_token(target, grant.access_token)
    return f'{reached}\ntoken saved to {path} (mode 0600): set [tiktok] access_token_file = "{path}"'


async def advertisers(
    client_of: Callable[[aiohttp.ClientSession], TikTokClient], min_budget: Minimums = NO_MINIMUMS
) -> str:
    """The table of `auth advertisers`: name, time zone, currency, minimum budgets (``min_budget``: the
    configured ones), status and Business Center role, read with the client ``client_of`` builds on a session (the
    composition root builds it from the configuration)."""
    async with aiohttp.ClientSession() as session:
        return render_advertisers(await list_advertisers(client_of(session)), min_budget)


def with_app_keys(settings: Settings, app_id: str | None, secret: str | None) -> Settings:
    """``settings`` with the app's id and secret for listing advertisers: the configuration's, else ``app_id``
    and ``secret`` (TIKTOK_APP_ID / TIKTOK_APP_SECRET or the options). Raises :class:`ConfigError` naming the
    keys and the variables when one is still missing (nothing is sent then)."""
    tiktok = settings.tiktok
    found_id = tiktok.app_id or (app_id or None)
    found_secret = tiktok.secret or (SecretStr(secret) if secret else None)
    missing = [key for key, value in (("app_id", found_id), ("secret", found_secret)) if value is None]
    if missing:
        variables = {"app_id": "TIKTOK_APP_ID", "secret": "TIKTOK_APP_SECRET"}
        raise ConfigError(
            [
                Problem(
                    str(settings.source or "config"),
                    None,
                    f"tiktok.{key}",
                    f"listing the advertisers a token reaches (oauth2/advertiser/get) needs the developer app's "
                    f"{key.replace('_', ' ')}: set it in [tiktok] (or {key}_file), or the environment variable "
                    f"{variables[key]}",
                )
                for key in missing
            ]
        )
    update = {"app_id": found_id, "secret": found_secret}
    return settings.model_copy(update={"tiktok": tiktok.model_copy(update=update)})
