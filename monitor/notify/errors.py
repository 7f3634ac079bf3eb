"""Delivery errors: every channel classifies a failure as transient (try again later) or permanent (give up).

::

    MonitorError
    └── DeliveryError                 a notification could not be delivered
        ├── TransientDeliveryError    network, timeout, 5xx, 429 after the client's own retries: back off and retry
        └── PermanentDeliveryError    bad token, unknown channel, refused recipient, 4xx: retrying cannot help

``code`` is a short, stable name for the cause ("invalid_auth", "http_404", "smtp_550", "timeout"): the outbox
logs a permanent error once per (channel, code), not once per message. Messages never contain secrets.
"""

from __future__ import annotations

from monitor.errors import MonitorError


class DeliveryError(MonitorError):
    """A notification could not be delivered. ``code`` names the cause."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class TransientDeliveryError(DeliveryError):
    """Worth retrying later. ``retry_after`` (seconds) is the receiver's own wish, e.g. Slack's Retry-After."""

    def __init__(self, message: str, *, code: str, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help: the configuration (token, channel, address, URL) or the request is wrong."""
