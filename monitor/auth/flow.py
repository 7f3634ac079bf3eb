"""Advertiser authorization through the browser (tiktok-api.md §2.1), ending with a long-term token.

:func:`login` serves a one-shot loopback HTTP server as the redirect target, hands the portal URL to
``open_browser``, and waits. TikTok's portal redirects the advertiser's browser to
``http://127.0.0.1:PORT/callback?auth_code=...&state=...``; the server checks ``state`` against the random
value it sent (a missing or different one is refused: the redirect was forged or belongs to another
attempt), exchanges the code (oauth2/access_token/) and answers the browser with a short page saying what
happened. The page never repeats the code, the token is never logged, and the server's access log is off
(the request line holds the code).

With real TikTok the redirect URL must be registered for the app: give a fixed ``port`` and register
:func:`redirect_uri` of it ("Advertiser redirect URL" in the app's settings).
"""

from __future__ import annotations

import asyncio
import hmac
import html
import inspect
import logging
import secrets
import sys
import webbrowser
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from monitor.auth.errors import AuthFlowError
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.errors import ApiError
from monitor.tiktok.models import TokenGrant

log = logging.getLogger(__name__)

PORTAL_BASE = "https://business-api.tiktok.com"
PORTAL_PATH = "/portal/auth"
CALLBACK_PATH = "/callback"
DEFAULT_TIMEOUT = 300.0
BROWSER_GRACE = 2.0  # seconds an awaitable open_browser may take to read the final page


def new_state() -> str:
    """An unguessable ``state`` for one authorization attempt."""
    return secrets.token_urlsafe(32)


def authorization_url(app_id: str, redirect_uri: str, state: str, base: str = PORTAL_BASE) -> str:
    """The page where an advertiser authorizes the app: ``{base}/portal/auth?app_id=&redirect_uri=&state=``.
    ``base`` is the API host (tiktok.base_url); the portal lives on the same host."""
    query = urlencode({"app_id": app_id, "redirect_uri": redirect_uri, "state": state})
    return f"{base.rstrip('/')}{PORTAL_PATH}?{query}"


def redirect_uri(host: str, port: int, path: str = CALLBACK_PATH) -> str:
    """The loopback URL :func:`login` receives the authorization on."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{path}"


def open_in_browser(url: str) -> None:
    """Print ``url`` on stderr and try to open it in the user's browser (``open_browser`` for the CLI)."""
    print(f"Open this URL to authorize the app (waiting for the redirect):\n\n  {url}\n", file=sys.stderr)
    with suppress(webbrowser.Error):
        webbrowser.open(url)


async def login(
    client_factory: Callable[[], TikTokClient],
    *,
    app_id: str,
    redirect_host: str = "127.0.0.1",
    port: int = 0,
    open_browser: Callable[[str], Any] | None,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - bounds the user's time in the browser, from a CLI flag
    base: str = PORTAL_BASE,
    callback_path: str = CALLBACK_PATH,
) -> TokenGrant:
    """Run the whole authorization and return the exchanged :class:`TokenGrant` (not stored: the caller
    saves it with :func:`monitor.auth.save_token` or prints it).

    ``client_factory`` gives a client with the app's ``app_id``/``secret`` (its token is not used).
    ``open_browser(url)`` shows the URL to the user; if it returns an awaitable, that runs alongside (tests
    pass a coroutine acting as the browser). ``port`` 0 picks a free port. Raises :class:`AuthFlowError`
    on a forged or missing state, no code, a failing ``open_browser`` or after ``timeout`` seconds, and the
    client's :class:`ApiError` when TikTok refuses the code (40110 used or expired, 40101 app credentials).
    """
    state = new_state()
    callback = _Callback(state, client_factory)
    async with _serve(callback, redirect_host, port, callback_path) as bound_port:
        target = redirect_uri(redirect_host, bound_port, callback_path)
        log.info("waiting for the advertiser authorization on %s", target)
        browser: asyncio.Future[Any] | None = None
        if open_browser is not None:
            opened = open_browser(authorization_url(app_id, target, state, base))
            if inspect.isawaitable(opened):
                browser = asyncio.ensure_future(opened)
        try:
            return await _wait(callback.result, browser, timeout)
        finally:
            if browser is not None:
                await _settle(browser)


async def _wait(result: asyncio.Future[TokenGrant], browser: asyncio.Future[Any] | None, seconds: float) -> TokenGrant:
    try:
        async with asyncio.timeout(seconds):
            if browser is not None:
                await asyncio.wait({result, browser}, return_when=asyncio.FIRST_COMPLETED)
                if not result.done() and browser.exception() is not None:
                    exc = browser.exception()
                    raise AuthFlowError(f"opening the authorization page failed ({type(exc).__name__})") from exc
            return await result
    except TimeoutError:
        raise AuthFlowError(
            f"no authorization arrived within {seconds:g} s; run `tiktok-monitor auth login` again"
        ) from None


async def _settle(browser: asyncio.Future[Any], grace: float = BROWSER_GRACE) -> None:
    """Let the browser read the page it was sent (then cancel it); its own failures no longer matter."""
    await asyncio.wait({browser}, timeout=grace)
    if not browser.done():
        browser.cancel()
        with suppress(asyncio.CancelledError):
            await browser
    elif not browser.cancelled():
        browser.exception()  # retrieved, so asyncio does not report it


class _Callback:
    """Handles the redirect: only the first request with the right state is exchanged."""

    def __init__(self, state: str, client_factory: Callable[[], TikTokClient]) -> None:
        self._state = state
        self._client_factory = client_factory
        self.result: asyncio.Future[TokenGrant] = asyncio.get_running_loop().create_future()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.result.done():
            return _page(409, "Already handled", "This authorization was already handled. You can close this tab.")
        query = request.query
        state = query.get("state")
        if not state or not hmac.compare_digest(state.encode(), self._state.encode()):
            return await self._finish(
                request,
                _page(400, "Refused", "The answer did not carry the state this login sent, so it was refused."),
                AuthFlowError(
                    "the authorization redirect carried a missing or wrong state (forged, or from another "
                    "attempt); nothing was exchanged. Run `tiktok-monitor auth login` again."
                ),
            )
        code = query.get("auth_code") or query.get("code")
        if not code:
            reason = "the advertiser declined" if "error" in query else "no auth_code in the redirect"
            return await self._finish(
                request,
                _page(400, "Not authorized", f"No authorization code arrived ({reason})."),
                AuthFlowError(f"authorization failed: {reason}. Run `tiktok-monitor auth login` again."),
            )
        try:
            grant = await self._client_factory().exchange_auth_code(code)
        except ApiError as exc:
            page = _page(502, "Exchange failed", f"TikTok refused the authorization code: {exc.message}")
            return await self._finish(request, page, exc)
        count = len(grant.advertiser_ids)
        done = f"tiktok-monitor is authorized for {count} advertiser(s). You can close this tab."
        page = _page(200, "Authorized", done)
        return await self._finish(request, page, grant)

    async def _finish(
        self, request: web.Request, page: web.Response, outcome: TokenGrant | BaseException
    ) -> web.StreamResponse:
        """Send the page first, then release :func:`login` (which then stops the server)."""
        await page.prepare(request)
        await page.write_eof()
        if not self.result.done():
            if isinstance(outcome, BaseException):
                self.result.set_exception(outcome)
            else:
                self.result.set_result(outcome)
        return page


@asynccontextmanager
async def _serve(callback: _Callback, host: str, port: int, path: str) -> AsyncIterator[int]:
    app = web.Application()
    app.router.add_get(path, callback.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)  # the request line holds the code
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise AuthFlowError(
                f"cannot listen on {host}:{port} for the redirect ({exc.strerror or exc}); choose another --port"
            ) from None
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


def _page(status: int, title: str, text: str) -> web.Response:
    body = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>tiktok-monitor: {html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html", headers={"Cache-Control": "no-store"})
