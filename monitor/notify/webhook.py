"""Webhook: the message as JSON, POSTed to a URL (PagerDuty via a transform, Teams via a workflow, anything).

The body is the message's JSON (monitor.notify.message.to_json: the same fields the templates get, documented in
docs/notifications.md) plus three fields: ``delivery_id`` (stable across retries: deduplicate on it),
``summary`` (one line, the e-mail subject) and ``severity``. Headers::

    Content-Type: application/json
    X-Monitor-Delivery: <delivery id>
    X-Monitor-Timestamp: <unix seconds>
    X-Monitor-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>   (with a secret)

A receiver verifies with :func:`verify` (or the same few lines in its own language) and should refuse timestamps
more than a few minutes old. Answers: 2xx is delivered; 408, 425, 429 (honouring Retry-After) and 5xx are retried;
redirects and other 4xx are permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import aiohttp

from monitor.notify.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.notify.message import AlertMessage, Message, to_json
from monitor.notify.templates import Templates

SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER = "X-Monitor-Signature", "X-Monitor-Timestamp", "X-Monitor-Delivery"
_RETRYABLE = frozenset({408, 425, 429})


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``timestamp.body``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None, tolerance: float = 300
) -> bool:
    """True if ``signature`` is ours for this body and the timestamp is within ``tolerance`` seconds of now."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def payload(message: Message, templates: Templates, delivery_id: str | None) -> dict[str, Any]:
    """The JSON body: the message, plus delivery_id, summary and severity."""
    severity = message.rule.severity if isinstance(message, AlertMessage) else message.severity
    extra = {"delivery_id": delivery_id, "summary": templates.subject(message), "severity": severity.value}
    return {**to_json(message), **extra}


class WebhookChannel:
    """POSTs each message as JSON to ``url``, signed when a ``secret`` is set."""

    def __init__(
        self,
        url: str,
        templates: Templates,
        *,
        secret: str | None = None,
        timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.url = url
        self._templates = templates
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None

    async def send(self, message: Message, target: str | None = None, *, delivery_id: str | None = None) -> None:
        if target:
            raise PermanentDeliveryError(f"webhook:{target}: the webhook channel takes no target", code="target")
        body = json.dumps(payload(message, self._templates, delivery_id), ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp, "User-Agent": "tiktok-ads-monitor"}
        if delivery_id:
            headers[DELIVERY_HEADER] = delivery_id
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, timestamp, body)
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        try:
            async with self._session.post(
                self.url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                status, retry_after = response.status, response.headers.get("Retry-After")
                await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            code = "timeout" if isinstance(exc, TimeoutError) else "network"
            raise TransientDeliveryError(f"webhook: cannot reach the URL: {type(exc).__name__}", code=code) from None
        if 200 <= status < 300:
            return
        if status in _RETRYABLE or status >= 500:
            raise TransientDeliveryError(
                f"webhook answered HTTP {status}", code=f"http_{status}", retry_after=_seconds(retry_after)
            )
        raise PermanentDeliveryError(f"webhook refused the message: HTTP {status}", code=f"http_{status}")

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()


def _seconds(value: str | None) -> float | None:
    try:
        return None if value is None else max(float(value), 0.0)
    except ValueError:
        return None
