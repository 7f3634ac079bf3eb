"""Failures of getting and keeping an advertiser token (``tiktok-monitor auth ...``).

    MonitorError
    └── AuthFlowError        the browser authorization did not complete: forged or missing state, no
        │                    auth code, declined, timed out, the redirect server could not start
        └── TokenFileError   the token file or its directory is unsafe, missing or empty

API refusals of the exchange itself (40101 app credentials, 40110 used or expired code) stay the
:class:`monitor.tiktok.errors.ApiError` subclasses the client raises. No message ever holds a token or code.
"""

from __future__ import annotations

from monitor.errors import MonitorError


class AuthFlowError(MonitorError):
    """The advertiser authorization flow failed; the message says what happened and what to do."""


class TokenFileError(AuthFlowError):
    """The token file cannot be written or read safely. The message names the path and the fix."""
