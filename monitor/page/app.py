"""The status page's routes (aiohttp), served by ``run`` beside ``/healthz`` or on a listener of its own.

``GET /`` shows the page (it refreshes itself: ``<meta http-equiv="refresh">``, no JavaScript); its forms POST
``/silences`` (a new silence), ``/silences/{id}/expire``, ``/journal/{id}/revert`` and ``/approvals/{id}/approve``
(or ``reject``), each answered with the page and a notice saying what happened. ``/login`` takes the token when
one is configured. Every request must say who it is (:mod:`monitor.page.auth`), every POST carries a CSRF token
and comes from the page's own origin (:mod:`monitor.page.csrf`); every change goes through
:class:`~monitor.steering.Steering` with ``by`` = who.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
from aiohttp import web

from monitor.clock import Clock
from monitor.domain import Matcher, MatcherError
from monitor.durations import parse_duration
from monitor.notify.links import ads_manager_url
from monitor.page.auth import COOKIE, Authenticator
from monitor.page.csrf import FIELD, Csrf, same_origin
from monitor.page.view import FILTERS, Sources, read_view, revertible
from monitor.status.render_text import when
from monitor.steering import Steering, SteeringError

log = logging.getLogger(__name__)

#: Headers of every page: no caching, no framing, no scripts, forms post to the page only.
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make browsers send Origin: null
}
#: The longest silence the page makes (the command line makes any).
MAX_SILENCE = timedelta(days=30)

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("monitor.page", "templates"),
    autoescape=True,  # names from TikTok are data
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    enable_async=True,
)


@jinja2.pass_context
def _when(context: Any, moment: datetime | None) -> str:
    """``20:03:12 (2m ago)``: relative to the rendering's ``now``."""
    return when(moment, context["now"])


_TEMPLATES.filters.update(FILTERS, when=_when)
_TEMPLATES.globals["ads_manager"] = ads_manager_url


@dataclass(frozen=True)
class Page:
    """What the page needs: where its facts come from, the changes it makes, who may look, the forms' tokens."""

    sources: Sources
    steering: Steering
    clock: Clock
    auth: Authenticator
    csrf: Csrf
    refresh: timedelta = timedelta(seconds=30)


def add_routes(app: web.Application, page: Page) -> None:
    """Add the page's routes to ``app`` (the health app, or one of its own)."""
    handlers = _Handlers(page)
    app.router.add_get("/", handlers.index)
    app.router.add_get("/login", handlers.login_form)
    app.router.add_post("/login", handlers.login)
    app.router.add_post("/silences", handlers.add_silence)
    app.router.add_post("/silences/{id:[0-9]{1,18}}/expire", handlers.expire_silence)
    app.router.add_post("/journal/{id:[0-9]{1,18}}/revert", handlers.revert)
    app.router.add_post("/approvals/{id:[0-9]{1,18}-[0-9]{1,9}}/{decision:approve|reject}", handlers.decide)


class _Handlers:
    def __init__(self, page: Page) -> None:
        self.page = page

    def who(self, request: web.Request) -> str | None:
        return self.page.auth.who(request.headers.get("Authorization"), request.cookies.get(COOKIE))

    async def index(self, request: web.Request) -> web.StreamResponse:
        who = self.who(request)
        if who is None:
            return await self.unknown(request)
        return await self.render(who)

    async def render(self, who: str, notice: str | None = None, ok: bool = True, status: int = 200) -> web.Response:
        now = self.page.clock.now()
        view = await read_view(self.page.sources, now)
        template = _TEMPLATES.get_template("page.html.j2")
        html = await template.render_async(
            view=view,
            report=view.report,
            now=now,
            who=who,
            csrf=self.page.csrf.issue(who, now),
            csrf_field=FIELD,
            notice=notice,
            notice_ok=ok,
            refresh=int(self.page.refresh.total_seconds()),
            revertible=lambda entry: revertible(entry, view.reverted),
        )
        return web.Response(text=html, content_type="text/html", status=status, headers=HEADERS)

    async def unknown(self, request: web.Request) -> web.StreamResponse:
        """Ask who is there: basic auth when users are configured, else the token's login form."""
        auth = self.page.auth
        if not auth.has_users:
            raise web.HTTPSeeOther("/login", headers=HEADERS)
        html = await _TEMPLATES.get_template("login.html.j2").render_async(
            basic=True, token=auth.has_token, csrf_field=FIELD, error=None
        )
        if request.headers.get("Authorization"):  # credentials that did not match: seen, never their content
            log.warning("status page: credentials that match no user or token from %s", request.remote)
        headers = {**HEADERS, "WWW-Authenticate": 'Basic realm="tiktok-monitor", charset="UTF-8"'}
        return web.Response(status=401, text=html, content_type="text/html", headers=headers)

    async def login_form(self, request: web.Request) -> web.Response:
        return await self.login_page(error=None, status=200)

    async def login_page(self, error: str | None, status: int) -> web.Response:
        auth = self.page.auth
        html = await _TEMPLATES.get_template("login.html.j2").render_async(
            basic=auth.has_users, token=auth.has_token, csrf_field=FIELD, error=error
        )
        return web.Response(status=status, text=html, content_type="text/html", headers=HEADERS)

    async def login(self, request: web.Request) -> web.StreamResponse:
        if not _same_origin(request):
            return _refused("this form was not sent from the status page")
        form = await request.post()
        token = form.get("token")
        session = self.page.auth.session_value()
        if session is None or not isinstance(token, str) or not self.page.auth.check_token(token.strip()):
            log.warning("status page: a login with a wrong token from %s", request.remote)
            return await self.login_page(error="That is not the token.", status=401)
        response = web.Response(status=303, headers={**HEADERS, "Location": "/"})
        response.set_cookie(COOKIE, session, httponly=True, samesite="Strict", path="/")
        return response

    async def change(
        self, request: web.Request, make: Callable[[Any, str], Awaitable[tuple[bool, str]]]
    ) -> web.StreamResponse:
        """A POST: who it is, from the page, with a valid CSRF token; then ``make(form, who)`` -> (ok, notice)."""
        who = self.who(request)
        if who is None:
            return await self.unknown(request)
        if not _same_origin(request):
            return _refused("this form was not sent from the status page")
        form = await request.post()
        token = form.get(FIELD)
        if not self.page.csrf.valid(token if isinstance(token, str) else None, who, self.page.clock.now()):
            return _refused("this form is too old or was not made for you: reload the page and try again")
        ok, notice = await make(form, who)
        log.info("status page: %s: %s", who, notice)
        return await self.render(who, notice, ok, status=200 if ok else 400)

    async def add_silence(self, request: web.Request) -> web.StreamResponse:
        return await self.change(request, self._add_silence)

    async def _add_silence(self, form: Any, who: str) -> tuple[bool, str]:
        try:
            texts = [m for m in form.getall("matcher", []) if isinstance(m, str) and m.strip()]
            written = form.get("matchers")
            if isinstance(written, str):
                texts += shlex.split(written)
            matchers = [Matcher.parse(text) for text in texts]
            duration = parse_duration(str(form.get("duration", "")).strip())
            if duration > MAX_SILENCE:
                return False, "not silenced: the page makes silences of at most 30d (the command line makes longer)"
            comment = str(form.get("comment", "")).strip() or None
            silence = await self.page.steering.add_silence(matchers, by=who, duration=duration, comment=comment)
        except (MatcherError, SteeringError, ValueError) as exc:
            return False, f"not silenced: {exc}"
        shown = " ".join(str(m) for m in silence.matchers)
        until = silence.ends_at.astimezone(UTC)
        return True, f"silence #{silence.id} ({shown}) until {until:%Y-%m-%d %H:%M} UTC, by {who}"

    async def expire_silence(self, request: web.Request) -> web.StreamResponse:
        silence_id = int(request.match_info["id"])

        async def expire(form: Any, who: str) -> tuple[bool, str]:
            try:
                expired = await self.page.steering.expire_silence(silence_id, by=who)
            except SteeringError as exc:
                return False, str(exc)
            if not expired.ended_now:
                return True, f"silence #{silence_id} had ended already"
            return True, f"silence #{silence_id} expired by {who}"

        return await self.change(request, expire)

    async def revert(self, request: web.Request) -> web.StreamResponse:
        entry_id = int(request.match_info["id"])

        async def revert(form: Any, who: str) -> tuple[bool, str]:
            try:
                result = await self.page.steering.revert(entry_id, by=who)
            except Exception as exc:  # the API or the database: said on the page, logged with the traceback
                log.exception("status page: the revert of #%d failed", entry_id)
                return False, f"not reverted: {type(exc).__name__}: {exc}"
            return result.ok, result.message

        return await self.change(request, revert)

    async def decide(self, request: web.Request) -> web.StreamResponse:
        approval_id, decision = request.match_info["id"], request.match_info["decision"]

        async def decide(form: Any, who: str) -> tuple[bool, str]:
            steering = self.page.steering
            try:
                if decision == "approve":
                    result = await steering.approve(approval_id, by=who)
                else:
                    result = await steering.reject(approval_id, by=who)
            except Exception as exc:  # the API or the database: said on the page, logged with the traceback
                log.exception("status page: the %s of approval #%s failed", decision, approval_id)
                return False, f"not decided: {type(exc).__name__}: {exc}"
            return result.ok, result.message

        return await self.change(request, decide)


def _same_origin(request: web.Request) -> bool:
    return same_origin(request.headers.get("Origin"), request.host, request.headers.get("Sec-Fetch-Site"))


def _refused(why: str) -> web.Response:
    return web.Response(status=403, text=f"refused: {why}\n", headers=HEADERS)
