"""Typed failures of the TikTok Business API, and the one function that classifies them.

The API answers errors with HTTP 200 and a non-zero ``code`` in the JSON envelope, so classification is by
code first and HTTP status second (see ../shared/tiktok-api.md §8.2). Every error keeps the ``request_id``
TikTok gave (needed for support tickets) and the endpoint path; none carries the access token or app secret.
"""

from __future__ import annotations

from typing import Required, TypedDict, Unpack

from monitor.errors import MonitorError

#: Codes worth retrying: system/processing errors, async task not ready, write conflict, internal validation,
#: maintenance. 51000-51099 (internal downstream), 52xxx and 53xxx (storage) are matched by range below.
TRANSIENT_CODES = frozenset({50000, 50002, 60001, 40200, 40201, 40202, 40700})
#: The app's whole budget (QPS/QPM/QPD: 40100; 61000 "too many requests, blacklist").
APP_RATE_LIMIT_CODES = frozenset({40100, 61000})
#: An app-level limit of one endpoint (tiktok-api.md §12: "app-level, per-endpoint"; the SDK names it
#: BIZ_FC_ERROR). Pausing that endpoint for every advertiser is enough; should TikTok send it for the whole app
#: after all, every endpoint it reaches pauses in turn.
ENDPOINT_RATE_LIMIT_CODE = 40016
ADVERTISER_RATE_LIMIT_CODE = 40133
AUTH_CODES = frozenset({40102, 40104, 40105})


class ApiError(MonitorError):
    """The API refused or failed a request.

    ``code`` is TikTok's return code (None when the failure happened below the envelope: HTTP status,
    timeout, broken body); ``http_status`` is the HTTP status when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        code: int | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        advertiser_id: str | None = None,
    ) -> None:
        self.message = message
        self.endpoint = endpoint
        self.code = code
        self.request_id = request_id
        self.http_status = http_status
        self.advertiser_id = advertiser_id
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"{self.endpoint}:"]
        if self.code is not None:
            parts.append(f"code {self.code}:")
        elif self.http_status is not None:
            parts.append(f"HTTP {self.http_status}:")
        parts.append(self.message)
        if self.advertiser_id:
            parts.append(f"(advertiser {self.advertiser_id})")
        if self.request_id:
            parts.append(f"[request_id {self.request_id}]")
        return " ".join(parts)


class ApiErrorFields(TypedDict, total=False):
    """The keyword arguments of :class:`ApiError`, for passing them along as ``**fields``."""

    endpoint: Required[str]
    code: int | None
    request_id: str | None
    http_status: int | None
    advertiser_id: str | None


class TransientApiError(ApiError):
    """A failure that may well succeed if tried again later."""


class RateLimitedError(TransientApiError):
    """TikTok throttled us. ``scope`` is "app" (40100, HTTP 429: the whole app's QPS/QPM budget), "endpoint"
    (40016: the app's limit on one endpoint) or "advertiser" (40133: one advertiser on one endpoint). Its text
    says which limit it was (:func:`throttle_meaning`), whatever TikTok's message says."""

    def __init__(self, message: str, *, scope: str, **kwargs: Unpack[ApiErrorFields]) -> None:
        self.scope = scope
        super().__init__(message, **kwargs)

    def _describe(self) -> str:
        return f"{super()._describe()} ({throttle_meaning(self.code, self.scope)})"


#: What each throttle code means, for people reading the journal and the operational messages.
THROTTLE_MEANINGS = {
    40100: "rate limited: the app's request budget (QPS/QPM/QPD)",
    61000: "rate limited: the app is blocked for too many requests",
    40016: "rate limited: the app's limit on this endpoint",
    40133: "rate limited: this advertiser's limit on this endpoint",
}


def throttle_meaning(code: int | None, scope: str | None = None) -> str:
    """Which TikTok limit a throttle code (or, without a known code, a scope) is."""
    if code in THROTTLE_MEANINGS:
        return THROTTLE_MEANINGS[code]
    return {"endpoint": THROTTLE_MEANINGS[40016], "advertiser": THROTTLE_MEANINGS[40133]}.get(
        scope or "", "rate limited: the app's request budget"
    )


def is_throttle_code(code: int | None) -> bool:
    return code in THROTTLE_MEANINGS


class AuthError(ApiError):
    """The access token is empty, expired or revoked. Tokens of this API never expire on a timer and there
    is nothing to refresh: the advertiser must authorize the app again (``tiktok-monitor auth login``)."""


class PermanentApiError(ApiError):
    """The request is wrong or not allowed (other 4xxxx codes). Retrying would give the same answer."""


class BadResponseError(ApiError):
    """TikTok said OK (code 0) but answered something this client does not understand, so nothing of it is
    used: ``data`` or a field of the wrong type or missing, or a list that cannot be read completely (its
    count needs more pages than :data:`monitor.tiktok.client_paging.MAX_PAGES`, or the pages held fewer rows than
    the count promised). ``field`` is where, e.g. ``data.list[3].advertiser_id``; the message reads
    ``campaign/get/: data.list[3].advertiser_id is a bool, expected a string or number``.

    Never retried at once (the same answer would come back); the poll fails as "advertiser unreachable" and
    the next poll reads everything again."""

    def __init__(self, message: str, *, field: str, **kwargs: Unpack[ApiErrorFields]) -> None:
        self.field = field
        super().__init__(message, **kwargs)


def is_transient_code(code: int) -> bool:
    return code in TRANSIENT_CODES or 51000 <= code <= 53999


def error_for_code(
    code: int, message: str, *, endpoint: str, request_id: str | None, advertiser_id: str | None = None
) -> ApiError:
    """Map a non-zero envelope ``code`` to the exception class the retry policy understands."""
    common: ApiErrorFields = {
        "endpoint": endpoint,
        "code": code,
        "request_id": request_id,
        "advertiser_id": advertiser_id,
    }
    if code in APP_RATE_LIMIT_CODES:
        return RateLimitedError(message or "too many requests for this app", scope="app", **common)
    if code == ENDPOINT_RATE_LIMIT_CODE:
        return RateLimitedError(
            message or "too many requests to this endpoint for this app", scope="endpoint", **common
        )
    if code == ADVERTISER_RATE_LIMIT_CODE:
        return RateLimitedError(message or "too many requests for this advertiser", scope="advertiser", **common)
    if code in AUTH_CODES:
        reason = message or "access token rejected"
        return AuthError(
            f"{reason}; the advertiser must re-authorize the app (tiktok-monitor auth login) and the new "
            "token must be configured. Tokens of this API do not expire and cannot be refreshed.",
            **common,
        )
    if is_transient_code(code):
        return TransientApiError(message or "temporary server error", **common)
    return PermanentApiError(message or "request refused", **common)
