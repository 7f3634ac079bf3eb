"""Cross-site request forgery: every form of the status page carries a token, and every POST is checked.

A token is ``ISSUED.SIGNATURE``: an HMAC of who the form was made for and when (the key derives from the page's
configured secrets, so every replica sharing them accepts a form another made; without any, it is random per
process), valid for :data:`MAX_AGE`. A POST is refused unless its token was issued to the same person and is
not too old, and unless the browser says the request comes from the page itself: an ``Origin`` (when sent) equal
to the page's own, and no ``Sec-Fetch-Site`` of ``cross-site`` or ``same-site``. The ``Host`` is checked before
(DNS rebinding, :func:`monitor.health.host_allowed`). Pure but for the key: ``now`` is passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

#: How long a form may stay open (the page refreshes itself long before).
MAX_AGE = timedelta(hours=12)
FIELD = "csrf"


def key_from_secrets(values: Iterable[str]) -> bytes | None:
    """The forms' key derived from the page's configured secrets (token, users' passwords): the same on every
    replica configured alike, and never one of the secrets. None when there are none (then a random key)."""
    material = sorted(values)
    if not material:
        return None
    digest = hmac.new(b"tiktok-monitor page csrf key", digestmod=hashlib.sha256)
    for secret in material:
        digest.update(len(secret).to_bytes(4, "big") + secret.encode())
    return digest.digest()


class Csrf:
    """Issues and checks the forms' tokens with ``key`` (default: random, so tokens die with the process)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def issue(self, who: str, now: datetime) -> str:
        """A token for a form shown to ``who`` at ``now``."""
        issued = str(int(now.timestamp()))
        return f"{issued}.{self._sign(who, issued)}"

    def valid(self, token: str | None, who: str, now: datetime) -> bool:
        """Whether ``token`` was issued by this process to ``who`` within :data:`MAX_AGE` of ``now``."""
        issued, sep, signature = (token or "").partition(".")
        if not sep or not issued.isdigit():
            return False
        if not hmac.compare_digest(signature.encode(), self._sign(who, issued).encode()):
            return False
        age = now.timestamp() - int(issued)
        return -60 <= age <= MAX_AGE.total_seconds()

    def _sign(self, who: str, issued: str) -> str:
        return hmac.new(self._key, f"{who}\n{issued}".encode(), hashlib.sha256).hexdigest()


def same_origin(origin: str | None, host: str | None, fetch_site: str | None) -> bool:
    """Whether the browser's headers say a POST comes from the page itself: ``Origin`` absent (older browsers,
    curl) or naming ``host``; ``Sec-Fetch-Site`` absent or not ``cross-site``/``same-site``."""
    if fetch_site is not None and fetch_site.lower() in ("cross-site", "same-site"):
        return False
    if origin is None:
        return True
    if not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.strip().lower()
