"""Getting and checking an advertiser token: ``tiktok-monitor auth url|login|exchange|advertisers``.

flow (authorization URL, state, loopback login), tokenfile (0600 storage), roles (Business Center roles
per advertiser), listing (the ``auth advertisers`` table), errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.auth.roles import Role, parse_role, roles
from monitor.lazy import lazy_exports

if TYPE_CHECKING:
    from monitor.auth.errors import AuthFlowError, TokenFileError
    from monitor.auth.flow import (
        CALLBACK_PATH,
        PORTAL_BASE,
        authorization_url,
        login,
        new_state,
        open_in_browser,
        redirect_uri,
    )
    from monitor.auth.listing import AdvertiserRow, list_advertisers, render_advertisers
    from monitor.auth.tokenfile import default_token_path, load_token, save_token

# The login flow (a loopback web server, the browser), the listing and the token file are the `auth` commands'
# own: loaded on first use, so a poll that reads roles does not load them.
__getattr__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(
            ("CALLBACK_PATH", "PORTAL_BASE", "authorization_url", "login", "new_state", "open_in_browser"), ".flow"
        ),
        "redirect_uri": ".flow",
        **dict.fromkeys(("AdvertiserRow", "list_advertisers", "render_advertisers"), ".listing"),
        **dict.fromkeys(("AuthFlowError", "TokenFileError"), ".errors"),
        **dict.fromkeys(("default_token_path", "load_token", "save_token"), ".tokenfile"),
    },
)

__all__ = [
    "CALLBACK_PATH",
    "PORTAL_BASE",
    "AdvertiserRow",
    "AuthFlowError",
    "Role",
    "TokenFileError",
    "authorization_url",
    "default_token_path",
    "list_advertisers",
    "load_token",
    "login",
    "new_state",
    "open_in_browser",
    "parse_role",
    "redirect_uri",
    "render_advertisers",
    "roles",
    "save_token",
]
