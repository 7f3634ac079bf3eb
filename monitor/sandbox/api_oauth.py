"""Advertiser authorization: the portal page and oauth2/access_token/ (tiktok-api.md §2.1).

``GET /portal/auth?app_id=&redirect_uri=&state=`` (outside /open_api, no token) stands for the advertiser
signing in and clicking "authorize": it answers HTTP 302 to ``redirect_uri`` with ``auth_code``, ``code``
(the same value; Airbyte reads either) and ``state`` (echoed unchanged) added to its query. A wrong
``app_id`` or a ``redirect_uri`` that is not an absolute http(s) URL gets an HTTP 400 page and no redirect.
The real portal accepts only the redirect URL registered for the app; the sandbox accepts any, because
loopback ports change from run to run. The code grants :attr:`SandboxState.portal_advertiser_ids` (default: every
advertiser).

``POST oauth2/access_token/`` takes a JSON body ``app_id``, ``secret``, ``auth_code`` and optional
``return_advertiser_ids`` (default true), needs no ``Access-Token`` header, and answers ``data``
``{access_token, advertiser_ids, scope}``. Wrong app credentials: 40101; unknown, used or expired code: 40110.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web

from monitor.sandbox.call import Call
from monitor.sandbox.params import ApiFailure

if TYPE_CHECKING:
    from monitor.sandbox.state import SandboxState

PORTAL_PATH = "/portal/auth"
INVALID_APP, INVALID_AUTH_CODE = 40101, 40110
#: Permission ids granted with every sandbox token (the real ids name API scopes; these mean nothing).
SCOPES = (1, 2, 3, 4, 8, 12)


def add_portal_route(app: web.Application, sandbox: SandboxState) -> None:
    async def portal_auth(request: web.Request) -> web.Response:
        query = request.query
        if query.get("app_id") != sandbox.settings.app_id:
            return _page(400, "This app does not exist (app_id is missing or unknown).")
        target = urlsplit(query.get("redirect_uri", ""))
        if target.scheme not in ("http", "https") or not target.netloc:
            return _page(400, "redirect_uri must be an absolute http(s) URL.")
        granted = sandbox.portal_advertiser_ids
        if granted is None:
            granted = tuple(sandbox.world.advertisers)
        code = sandbox.grants.issue_code(granted, sandbox.now())
        added = [("auth_code", code), ("code", code)]
        if "state" in query:
            added.append(("state", query["state"]))
        location = urlunsplit(target._replace(query=urlencode([*parse_qsl(target.query), *added])))
        raise web.HTTPFound(location)

    app.router.add_get(PORTAL_PATH, portal_auth)


def _page(status: int, text: str) -> web.Response:
    html = f"<!DOCTYPE html><html><head><title>TikTok For Business</title></head><body><p>{text}</p></body></html>"
    return web.Response(status=status, text=html, content_type="text/html")


async def oauth2_access_token(call: Call) -> dict[str, Any]:
    p = call.params
    app_id, secret = p.string("app_id", required=True), p.string("secret", required=True)
    auth_code = p.string("auth_code", required=True)
    settings = call.sandbox.settings
    if app_id != settings.app_id or secret != settings.secret:
        raise ApiFailure(INVALID_APP, "Invalid app_id or secret: the app credentials do not match.")
    assert auth_code is not None
    redeemed = call.sandbox.grants.redeem(auth_code, call.now)
    if redeemed is None:
        raise ApiFailure(INVALID_AUTH_CODE, "The auth_code is invalid, has expired or has already been used.")
    token, advertiser_ids = redeemed
    returned = list(advertiser_ids) if p.boolean("return_advertiser_ids", default=True) else []
    return {"access_token": token, "advertiser_ids": returned, "scope": list(SCOPES)}
