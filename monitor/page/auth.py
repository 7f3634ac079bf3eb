"""Who is looking at the status page: a configured token, basic-auth users, or nobody asked on the loopback.

* No ``token`` and no ``users``: everyone who reaches the page is ``page:local``; the configuration allows that on
  a loopback address only (:func:`is_loopback`, checked by ``Settings``).
* ``token``: sent as ``Authorization: Bearer TOKEN``, or typed once into ``/login``, which sets a cookie holding an
  HMAC of the token (never the token itself); the person is ``page:token``.
* ``users``: HTTP basic auth, the person is ``page:NAME``.

Secrets are compared in constant time and never logged or shown.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from collections.abc import Mapping

#: The cookie a token login sets.
COOKIE = "monitor_page"
LOCAL, TOKEN = "page:local", "page:token"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is the loopback: 127.0.0.0/8, ::1 or localhost."""
    host = host.strip().strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Authenticator:
    """Decides who a request comes from (:meth:`who`), from the configured ``token`` and ``users``."""

    def __init__(self, token: str | None = None, users: Mapping[str, str] | None = None) -> None:
        self._token = token
        self._users = dict(users or {})

    @property
    def required(self) -> bool:
        """Whether anyone must say who they are (a token or users configured)."""
        return self._token is not None or bool(self._users)

    @property
    def has_token(self) -> bool:
        return self._token is not None

    @property
    def has_users(self) -> bool:
        return bool(self._users)

    def session_value(self) -> str | None:
        """The cookie value a token login sets: an HMAC of the token, so the cookie never holds the token."""
        if self._token is None:
            return None
        return hmac.new(self._token.encode(), b"tiktok-monitor status page session", hashlib.sha256).hexdigest()

    def check_token(self, candidate: str) -> bool:
        """Whether ``candidate`` is the configured token (constant time)."""
        return self._token is not None and hmac.compare_digest(candidate.encode(), self._token.encode())

    def who(self, authorization: str | None, cookie: str | None) -> str | None:
        """``page:local`` without authentication; else ``page:NAME`` (basic auth), ``page:token`` (bearer token or
        the login cookie), or None: unknown."""
        if not self.required:
            return LOCAL
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        scheme, credentials = scheme.lower(), credentials.strip()
        if scheme == "bearer" and self.check_token(credentials):
            return TOKEN
        if scheme == "basic" and self._users:
            user = self._basic(credentials)
            if user is not None:
                return f"page:{user}"
        session = self.session_value()
        if cookie and session is not None and hmac.compare_digest(cookie.encode(), session.encode()):
            return TOKEN
        return None

    def _basic(self, credentials: str) -> str | None:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, sep, password = decoded.partition(":")
        expected = self._users.get(name)
        if not sep or expected is None:
            hmac.compare_digest(password.encode(), password.encode())  # about the same time for unknown names
            return None
        return name if hmac.compare_digest(password.encode(), expected.encode()) else None
