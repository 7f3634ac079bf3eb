"""Slack's failures as delivery errors (:mod:`monitor.notify.errors`): transient (rate limits, 5xx, Slack's own
transient errors, timeouts, network errors) or permanent (``invalid_auth``, ``channel_not_found``,
``not_in_channel`` and other request errors, with a hint at the fix)."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_sdk.errors import SlackApiError

from monitor.notify.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

_TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
#: Slack's refusals of a message's Block Kit form: the message is sent again as text alone.
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "msg_too_long"})
_HINTS = {
    "invalid_auth": "the bot token is wrong or was revoked: check [slack] token",
    "not_authed": "no bot token was sent: check [slack] token",
    "token_revoked": "the bot token was revoked: install the app again and update [slack] token",
    "account_inactive": "the bot's account was deactivated: install the app again",
    "channel_not_found": "no such channel, or the bot cannot see it (invite the bot to private channels)",
    "not_in_channel": "the bot is not a member of the channel: /invite it there",
    "is_archived": "the channel is archived",
    "missing_scope": "the bot token lacks the chat:write scope",
}


def classify(exc: SlackApiError, channel: str) -> DeliveryError:
    """Turn a Slack Web API error into a transient or permanent delivery error."""
    response = exc.response
    status = getattr(response, "status_code", 0) or 0
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    code = error or f"http_{status}"
    if status == 429 or error == "ratelimited":
        retry_after = parse_retry_after(getattr(response, "headers", None) or {})
        return TransientDeliveryError("Slack is rate limiting the bot", code="ratelimited", retry_after=retry_after)
    if status >= 500 or error in _TRANSIENT:
        return TransientDeliveryError(f"Slack failed: {code}", code=code)
    if status == 200 and error is None:  # a 200 whose body was not Slack's JSON: a proxy or a broken answer
        return TransientDeliveryError("Slack sent an unreadable answer", code="bad_answer")
    hint = _HINTS.get(code)
    return PermanentDeliveryError(
        f"Slack refused the message for {channel}: {code}" + (f" ({hint})" if hint else ""), code=code
    )


def parse_retry_after(headers: Any) -> float | None:
    """The seconds a ``Retry-After`` header asks for (any case of its name), or None."""
    for name, value in dict(headers).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return None
    return None


def network_error(exc: BaseException) -> TransientDeliveryError:
    """A timeout or a network error on the way to Slack."""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return TransientDeliveryError("Slack did not answer in time", code="timeout")
    return TransientDeliveryError(f"cannot reach Slack: {type(exc).__name__}: {exc}", code="network")
