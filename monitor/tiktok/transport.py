"""One HTTP exchange with the Business API, and the retry loop around it.

Wire rules (tiktok-api.md §1): ``Access-Token`` header (no "Bearer"); list and object GET parameters are
JSON strings; POST bodies are JSON; the answer is an envelope ``{code, message, request_id, data}`` whose
``code`` decides success even when HTTP says 200. Every attempt first takes a slot from the shared
:class:`RateLimiter` and hands its grant back with the answer: a throttled answer goes to the limiter (which
pauses once per episode and logs it) and is retried when the limiter allows, without a delay or log line of its
own; other transient failures back off here.

**Send time** (issue 18): the limiter counts a request from the moment it is written, not from its grant
(:mod:`monitor.tiktok.sendwindow`): CPU-bound work on the event loop can hold a granted request back, and
requests granted a second apart must not leave together. A session built with :func:`send_trace` tells the
limiter when each request's bytes were written; on another session a request counts as sent when its answer
(or failure) came, which is later than it left and so never too early.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import aiohttp

from monitor import fastjson
from monitor.tiktok.callcount import count_call
from monitor.tiktok.errors import (
    ApiError,
    PermanentApiError,
    RateLimitedError,
    TransientApiError,
    error_for_code,
)
from monitor.tiktok.ratelimit import Grant, RateLimiter
from monitor.tiktok.sendtrace import BODY_KEY, SENT_KEY, send_trace

__all__ = ["ApiResponse", "RetryPolicy", "Transport", "encode_params", "send_trace"]

log = logging.getLogger(__name__)

API_PREFIX = "/open_api/v1.3/"
#: 20001 is "partial success": the call worked for some items, callers read its per-item error list.
SUCCESS_CODES = frozenset({0, 20001})
#: Answers at least this long (a page of 1,000 rows is ~100-400 kB) are decoded in a worker thread: json.loads
#: of one takes milliseconds to tens of milliseconds of CPU that would otherwise hold every granted request back.
OFF_LOOP_BYTES = 64 * 1024


class _Where(TypedDict):
    """Which request failed: passed to every error raised for it."""

    endpoint: str
    advertiser_id: str | None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter, a bounded number of times, for transient failures only."""

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based): "equal jitter", uniform in
        [c/2, c] with c = base * 2**(attempt-1) capped at max_delay, so retries spread yet always back off."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return rng.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class ApiResponse:
    """A successful envelope: its ``data``, the ``request_id`` and the response headers."""

    data: Mapping[str, Any]
    request_id: str | None
    headers: Mapping[str, str]
    code: int = 0
    text: str | None = None  # the raw body when it was not an envelope (CSV downloads)
    #: The envelope's ``data`` as it came (``data`` above is ``{}`` when it was not an object): what
    #: monitor.tiktok.shape checks, so a list or a missing ``data`` is an error rather than "nothing".
    payload: object = None


def encode_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters as the API wants them: strings as-is, everything else as compact JSON."""
    encoded: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, str):
            encoded[key] = value
        else:
            encoded[key] = json.dumps(value, separators=(",", ":"))
    return encoded


class Transport:
    """Sends requests for one access token; shares its session and limiter with every other Transport."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        access_token: str,
        limiter: RateLimiter,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        on_call: Callable[[str, str], None] | None = None,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/") + API_PREFIX
        self._token = access_token
        self.limiter = limiter
        self._retry = retry or RetryPolicy()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._secrets = tuple(s for s in (access_token, *secrets) if s)
        self.sleep = sleep
        self._rng = rng or random.Random()
        self.calls = 0
        self._on_call = on_call  # (endpoint, "ok" or the error class name), for metrics

    @property
    def access_token(self) -> str:
        """The token this transport sends: for the one request body that carries it (a subscription's
        ``subscription_detail``); never for logs."""
        return self._token

    def redact(self, text: str) -> str:
        """``text`` with every secret this transport knows replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _observe(self, path: str, error: ApiError | None) -> None:
        if self._on_call is not None:
            self._on_call(path, "ok" if error is None else type(error).__name__)

    async def fetch_url(self, url: str) -> str:
        """GET an absolute URL TikTok handed us (a report download link): no token, no API envelope."""
        try:
            async with self._session.get(url, timeout=self._timeout) as resp:
                text = await resp.text(errors="replace")
                if resp.status >= 400:
                    raise TransientApiError(
                        f"download failed: HTTP {resp.status}", endpoint="report download", http_status=resp.status
                    )
                return text
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientApiError(f"download failed ({type(exc).__name__})", endpoint="report download") from None

    def _snippet(self, text: str, limit: int = 120) -> str:
        flat = self.redact(" ".join(text.split()))
        return flat if len(flat) <= limit else flat[:limit] + "..."

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        advertiser_id: str | None = None,
        allow_raw: bool = False,
        authenticated: bool = True,
    ) -> ApiResponse:
        """Send with retries. Raises AuthError/PermanentApiError at once, TransientApiError once retries
        are spent. ``allow_raw`` accepts a non-JSON body as the answer (report downloads);
        ``authenticated=False`` sends no ``Access-Token`` header (oauth2/access_token/ takes app credentials)."""
        attempt = 0
        while True:
            grant = await self.limiter.acquire(advertiser_id, path, hold=True)
            throttled = False
            try:
                try:
                    response = await self._send_once(
                        method, path, params, body, advertiser_id, allow_raw, authenticated=authenticated, grant=grant
                    )
                finally:
                    self.limiter.sent(grant)  # no send hook fired (another session, or it failed before writing)
            except RateLimitedError as exc:
                self._observe(path, exc)
                self.limiter.throttled(grant, exc.scope, code=exc.code)
                error: ApiError = exc
                throttled = True
            except TransientApiError as exc:
                self._observe(path, exc)
                error = exc
            except ApiError as exc:
                self._observe(path, exc)
                raise
            else:
                self._observe(path, None)
                return response
            attempt += 1
            if attempt > self._retry.max_retries:
                log.warning("giving up after %d attempts: %s", attempt, error)
                raise error
            if throttled:
                # the limiter paces the retry (its pause, then half rate) and logs the episode once: no own
                # delay, and no line per request
                log.debug("retry %d/%d once the rate limit allows: %s", attempt, self._retry.max_retries, error)
                continue
            delay = self._retry.delay(attempt, self._rng)
            log.info("retry %d/%d in %.1fs: %s", attempt, self._retry.max_retries, delay, error)
            await self.sleep(delay)

    async def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
        advertiser_id: str | None,
        allow_raw: bool,
        *,
        authenticated: bool = True,
        grant: Grant | None = None,
    ) -> ApiResponse:
        self.calls += 1
        count_call()  # for the poll this request belongs to (monitor.tiktok.callcount)
        where: _Where = {"endpoint": path, "advertiser_id": advertiser_id}
        try:
            async with self._session.request(
                method,
                self._base + path,
                params=encode_params(params or {}),
                json=body,
                headers={"Access-Token": self._token} if authenticated else {},
                timeout=self._timeout,
                allow_redirects=False,
                trace_request_ctx=self._send_context(grant, has_body=body is not None),
            ) as resp:
                body_bytes = await resp.read()
                status, headers = resp.status, dict(resp.headers)
        except TimeoutError as exc:
            raise TransientApiError("no answer within the timeout", **where) from exc
        except aiohttp.ClientError as exc:
            # str(exc) may hold the URL and so the app secret of oauth2 calls: keep only the class and a redacted text
            detail = self.redact(str(exc)).split("?")[0]
            raise TransientApiError(f"connection failed ({type(exc).__name__}: {detail})", **where) from None
        if len(body_bytes) >= OFF_LOOP_BYTES:  # a big page: parse it in a thread, the loop sends granted requests
            return await asyncio.to_thread(self._decode, status, headers, body_bytes, where, allow_raw)
        return self._decode(status, headers, body_bytes, where, allow_raw)

    def _send_context(self, grant: Grant | None, *, has_body: bool) -> dict[str, Any] | None:
        """What :func:`send_trace`'s hooks read: tell the limiter when the request was written."""
        if grant is None:
            return None
        limiter = self.limiter
        return {SENT_KEY: lambda: limiter.sent(grant), BODY_KEY: has_body}

    def _decode(
        self, status: int, headers: Mapping[str, str], raw: bytes, where: _Where, allow_raw: bool
    ) -> ApiResponse:
        request_id = headers.get("X-Tt-Logid")
        text = raw.decode("utf-8", errors="replace")  # for messages and raw answers (CSV); ~10 ms per 30 MB
        if status >= 500:
            raise TransientApiError(f"server error: {self._snippet(text)}", http_status=status, **where)
        if status == 429:
            raise RateLimitedError("HTTP 429 too many requests", scope="app", http_status=status, **where)
        if status >= 400:
            hint = " (check tiktok.base_url)" if status in (404, 405) else ""
            raise PermanentApiError(f"HTTP {status}{hint}: {self._snippet(text)}", http_status=status, **where)
        if 300 <= status < 400:  # redirects are not followed: the API never redirects, a wrong base_url does
            target = self.redact(headers.get("Location", "?")).split("?")[0]
            raise PermanentApiError(
                f"HTTP {status}: redirected to {target} (check tiktok.base_url)", http_status=status, **where
            )
        try:
            envelope = fastjson.loads(raw)
        except ValueError:
            if allow_raw:
                return ApiResponse(data={}, request_id=request_id, headers=headers, text=text)
            raise TransientApiError(
                f"answer was not JSON: {self._snippet(text)}", http_status=status, **where
            ) from None
        if not isinstance(envelope, dict) or "code" not in envelope:
            raise TransientApiError(
                f"answer was not an API envelope: {self._snippet(text)}", http_status=status, **where
            )
        request_id = str(envelope.get("request_id") or request_id or "") or None
        try:
            code = int(envelope["code"])
        except (TypeError, ValueError):
            raise TransientApiError(f"envelope code {envelope['code']!r} is not a number", **where) from None
        if code not in SUCCESS_CODES:
            message = self.redact(str(envelope.get("message") or ""))
            raise error_for_code(code, message, request_id=request_id, **where)
        data = envelope.get("data")
        return ApiResponse(
            data=data if isinstance(data, dict) else {},
            request_id=request_id,
            headers=headers,
            code=code,
            payload=data,
        )
