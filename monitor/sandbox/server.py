"""The aiohttp application: routes under /open_api/v1.3/, the envelope, auth, rate limit and fault injection.

Request pipeline for an API path:

1. log an :class:`Arrival` (real monotonic time);
2. unknown path (also a missing trailing slash, except ``user/info``) → HTTP 404, wrong method → HTTP 405,
   as the real API;
3. a pending matching fault is applied (``slow`` sleeps and continues; the others answer instead);
4. ``Access-Token`` header: missing or empty → 40104 (an ``Authorization: Bearer`` header does not count),
   wrong or revoked → 40105; the configured token reaches every advertiser, a token issued by
   oauth2/access_token/ only those it was granted (:data:`PUBLIC_ROUTES` take no token);
5. the app-wide rate limit (QPS and QPM over sliding windows) → 40100, then the endpoint's own limit
   (endpoint_limits, e.g. report/task/create/ 2 QPS / 60 QPM) → 40016;
6. parameters (GET: query string with JSON-string arrays; POST: ``application/json`` object body) and the
   endpoint itself. Failures are HTTP 200 envelopes ``{code, message, request_id, data: {}}``.

The advertiser authorization portal (``GET /portal/auth``, api_oauth) is served beside the API.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from monitor.sandbox import (
    api_accounts,
    api_bc,
    api_entities,
    api_library,
    api_oauth,
    api_pixels,
    api_reports,
    api_smartplus,
    api_subscription,
    api_user,
    api_writes,
    changelog,
)
from monitor.sandbox.admin import add_admin_routes
from monitor.sandbox.arrivals import Arrival
from monitor.sandbox.call import Answer, Call
from monitor.sandbox.endpoint_limits import ENDPOINT_RATE_LIMITED
from monitor.sandbox.faults import Fault, PatchError, apply_patch
from monitor.sandbox.params import ApiFailure, Params, param_error

if TYPE_CHECKING:
    from monitor.sandbox.state import SandboxState

log = logging.getLogger("monitor.sandbox")

API_PREFIX = "/open_api/v1.3/"
TOKEN_MISSING, TOKEN_INVALID, RATE_LIMITED = 40104, 40105, 40100
CODE_KEY = "sandbox.code"
#: Set when a ``patch`` fault was consumed by this request: the operations to apply to its answer.
PATCH_KEY = "sandbox.patch"
ARRIVED_KEY = "sandbox.arrived"  # the request's arrival time (time.monotonic), which the rate limit counts

Handler = Callable[[Call], Awaitable[Any]]
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "oauth2/advertiser/get/", api_accounts.oauth2_advertiser_get),
    ("GET", "advertiser/info/", api_accounts.advertiser_info),
    ("GET", "campaign/get/", api_entities.campaign_get),
    ("GET", "adgroup/get/", api_entities.adgroup_get),
    ("GET", "ad/get/", api_entities.ad_get),
    ("POST", "campaign/status/update/", api_writes.campaign_status_update),
    ("POST", "adgroup/status/update/", api_writes.adgroup_status_update),
    ("POST", "ad/status/update/", api_writes.ad_status_update),
    ("POST", "campaign/update/", api_writes.campaign_update),
    ("POST", "adgroup/budget/update/", api_writes.adgroup_budget_update),
    ("GET", "report/integrated/get/", api_reports.report_integrated_get),
    ("POST", "report/task/create/", api_reports.task_create),
    ("GET", "report/task/check/", api_reports.task_check),
    ("GET", "report/task/download/", api_reports.task_download),
    ("POST", "report/task/cancel/", api_reports.task_cancel),
    ("GET", "bc/get/", api_bc.bc_get),
    ("GET", "bc/asset/get/", api_bc.bc_asset_get),
    ("GET", "user/info/", api_user.user_info),
    ("GET", "smart_plus/campaign/get/", api_smartplus.campaign_get),
    ("GET", "smart_plus/adgroup/get/", api_smartplus.adgroup_get),
    ("GET", "smart_plus/ad/get/", api_smartplus.ad_get),
    ("POST", "smart_plus/campaign/status/update/", api_smartplus.campaign_status_update),
    ("POST", "smart_plus/adgroup/status/update/", api_smartplus.adgroup_status_update),
    ("POST", "smart_plus/ad/status/update/", api_smartplus.ad_status_update),
    ("POST", "smart_plus/campaign/update/", api_smartplus.campaign_update),
    ("POST", "smart_plus/adgroup/budget/update/", api_smartplus.adgroup_budget_update),
    ("POST", "changelog/task/create/", changelog.task_create),
    ("GET", "changelog/task/check/", changelog.task_check),
    ("GET", "changelog/task/download/", changelog.task_download),
    ("GET", "dmp/custom_audience/list/", api_library.custom_audience_list),
    ("GET", "file/video/ad/search/", api_library.video_ad_search),
    ("GET", "file/image/ad/search/", api_library.image_ad_search),
    ("GET", "file/music/get/", api_library.music_get),
    ("GET", "creative/portfolio/list/", api_library.portfolio_list),
    ("GET", "tt_video/list/", api_library.tt_video_list),
    ("GET", "pixel/list/", api_pixels.pixel_list),
    ("GET", "pixel/instant_page/event/", api_pixels.instant_page_events),
    ("GET", "pixel/event/stats/", api_pixels.event_stats),
)
#: Endpoints called with app credentials in the body instead of an ``Access-Token`` header.
PUBLIC_ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "oauth2/access_token/", api_oauth.oauth2_access_token),
    ("POST", "subscription/subscribe/", api_subscription.subscribe),
    ("GET", "subscription/get/", api_subscription.get),
    ("POST", "subscription/unsubscribe/", api_subscription.unsubscribe),
)

HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
    "<p>The upstream server is temporarily unavailable.</p></body></html>"
)


def build_app(sandbox: SandboxState) -> web.Application:
    app = web.Application(middlewares=[_api_middleware(sandbox)])
    for method, path, handler in ROUTES:
        app.router.add_route(method, API_PREFIX + path, _endpoint(sandbox, handler, path))
    for method, path, handler in PUBLIC_ROUTES:
        app.router.add_route(method, API_PREFIX + path, _endpoint(sandbox, handler, path, public=True))
    # The Singer tap checks its token with user/info (no trailing slash); answered both ways (tiktok-api.md §12).
    app.router.add_route("GET", API_PREFIX + "user/info", _endpoint(sandbox, api_user.user_info, "user/info/"))
    api_oauth.add_portal_route(app, sandbox)
    add_admin_routes(app, sandbox)
    return app


def envelope(
    sandbox: SandboxState, code: int, message: str, data: dict[str, Any], headers: dict[str, str] | None = None
) -> web.Response:
    request_id = sandbox.new_request_id()
    body = {"code": code, "message": message, "request_id": request_id, "data": data}
    return web.json_response(
        body, headers={"X-Tt-Logid": request_id, **(headers or {})}, dumps=lambda o: json.dumps(o, ensure_ascii=False)
    )


def _endpoint(
    sandbox: SandboxState, handler: Handler, path: str, *, public: bool = False
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            reach = None if public else _authenticate(sandbox, request)
            arrived = request.get(ARRIVED_KEY)  # counted when it arrived (see ratelimit.py)
            if not sandbox.limiter.allows(arrived):
                raise ApiFailure(
                    RATE_LIMITED,
                    f"Due to too many requests, requests from App "
                    f"[{sandbox.settings.app_id}] are temporarily restricted.",
                )
            if not sandbox.endpoint_limits.allows(path):
                raise ApiFailure(ENDPOINT_RATE_LIMITED, sandbox.endpoint_limits.message(path, sandbox.settings.app_id))
            sandbox.limiter.try_acquire(arrived)
            sandbox.endpoint_limits.acquire(path)
            call = Call(sandbox, request, await _params(request), sandbox.now(), reach)
            result = await handler(call)
        except ApiFailure as failure:
            request[CODE_KEY] = failure.code
            return envelope(sandbox, failure.code, failure.message, {})
        if isinstance(result, web.StreamResponse):
            request[CODE_KEY] = 0
            return result
        answer = result if isinstance(result, Answer) else Answer(result)
        request[CODE_KEY] = answer.code
        return envelope(sandbox, answer.code, answer.message, answer.data, answer.headers)

    return run


def _authenticate(sandbox: SandboxState, request: web.Request) -> frozenset[str]:
    """The advertisers the request's token reaches, or the 40104/40105 failure."""
    token = request.headers.get("Access-Token", "").strip()
    if not token:
        raise ApiFailure(
            TOKEN_MISSING, "Access token is null, please pass your access token in the Access-Token header."
        )
    reach = sandbox.reach(token)
    if reach is None:
        raise ApiFailure(TOKEN_INVALID, "Access token is incorrect or has been revoked.")
    return reach


async def _params(request: web.Request) -> Params:
    if request.method != "POST":
        return Params(request.query, from_query=True)
    if request.content_type != "application/json":
        raise param_error("Content-Type: POST requests must send a JSON body with Content-Type: application/json.")
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        raise param_error("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise param_error("The request body must be a JSON object.")
    return Params(body, from_query=False)


async def _advertiser_hint(request: web.Request) -> str | None:
    value: object = request.query.get("advertiser_id")
    if request.method == "POST" and request.content_type == "application/json":
        try:
            body = json.loads(await request.read() or b"null")
        except ValueError:
            body = None
        value = body.get("advertiser_id") if isinstance(body, dict) else None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _api_middleware(sandbox: SandboxState) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/open_api/"):
            return await handler(request)
        rel = request.path.removeprefix(API_PREFIX) if request.path.startswith(API_PREFIX) else request.path
        arrival = Arrival(time.monotonic(), request.method, rel, await _advertiser_hint(request))
        sandbox.arrivals.append(arrival)
        request[ARRIVED_KEY] = arrival.t
        try:
            response = None
            if request.match_info.http_exception is None:
                fault = sandbox.faults.take(rel, arrival.advertiser_id)
                if fault is not None:
                    response = await _apply_fault(sandbox, fault, request, arrival)
            if response is None:
                response = await handler(request)
                arrival.code = request.get(CODE_KEY)
                if request.get(PATCH_KEY) is not None:
                    response = _patched(response, request[PATCH_KEY], arrival)
        except _Disconnected:
            log.debug("%s %s -> connection closed without an answer", request.method, rel)
            raise
        except web.HTTPException as exc:
            arrival.http_status = exc.status
            log.debug("%s %s -> HTTP %s", request.method, rel, exc.status)
            raise
        arrival.http_status = response.status
        log.debug(
            "%s %s advertiser=%s -> HTTP %s code %s",
            request.method,
            rel,
            arrival.advertiser_id,
            arrival.http_status,
            arrival.code,
        )
        return response

    return middleware


async def _apply_fault(
    sandbox: SandboxState, fault: Fault, request: web.Request, arrival: Arrival
) -> web.StreamResponse | None:
    """The answer a fault gives instead of the endpoint, or None to carry on (slow, task_failed)."""
    log.info("injecting fault %s on %s %s", fault.kind, request.method, request.path)
    if fault.kind == "slow":
        await asyncio.sleep(fault.delay)
        return None
    if fault.kind == "task_failed":
        request[api_reports.FAIL_TASK_KEY] = fault.message or "Report generation failed (injected)."
        return None
    if fault.kind == "patch":
        request[PATCH_KEY] = fault.patch
        return None
    if fault.kind == "http_error":
        reason = web.Response(status=fault.status).reason
        return web.Response(status=fault.status, text=fault.message or f"{fault.status} {reason}")
    if fault.kind == "html":
        return web.Response(status=200, text=HTML_PAGE, content_type="text/html")
    if fault.kind == "api_code":
        arrival.code = fault.code
        return envelope(sandbox, fault.code, fault.envelope_message(sandbox.settings.app_id), {})
    assert fault.kind == "disconnect"
    if request.transport is not None:
        request.transport.close()
    raise _Disconnected


def _patched(response: web.StreamResponse, patch: list[dict[str, Any]], arrival: Arrival) -> web.StreamResponse:
    """The JSON answer ``response`` changed by ``patch`` (a ``patch`` fault), or HTTP 500 saying why it could not be."""
    try:
        if isinstance(response, web.Response) and response.content_type == "application/json":
            answer = json.loads(response.text or "null")
        elif patch[0]["path"] == "" and patch[0]["op"] != "remove":  # replaces the whole answer: any will do
            answer, response = None, web.Response(status=response.status)
        else:
            raise PatchError("the answer is not JSON")
        body = apply_patch(answer, patch)
    except PatchError as exc:
        log.warning("patch fault not applied: %s", exc)
        arrival.code = None
        return web.Response(status=500, text=f"sandbox: the patch fault does not apply: {exc}")
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
    code = body.get("code") if isinstance(body, dict) else None
    arrival.code = code if isinstance(code, int) and not isinstance(code, bool) else None
    return web.json_response(
        body, status=response.status, headers=headers, dumps=lambda o: json.dumps(o, ensure_ascii=False)
    )


class _Disconnected(web.HTTPInternalServerError):
    """Raised after the transport is closed: nothing reaches the client."""
