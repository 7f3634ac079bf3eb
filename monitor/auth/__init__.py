"""Getting and checking an advertiser token: ``tiktok-monitor auth url|login|exchange|advertisers``.

flow (authorization URL, state, loopback login), tokenfile (0600 storage), roles (Business Center roles
per advertiser), listing (the ``auth advertisers`` table), errors.
"""

from __future__ import annotations

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
from monitor.auth.roles import Role, parse_role, roles
from monitor.auth.tokenfile import default_token_path, load_token, save_token

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
