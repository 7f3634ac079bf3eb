"""Channels from settings: what the composition root (wiring.py) calls to get ``{"slack": ..., "email": ...}``.

Each channel's module (and its library: slack_sdk, aiosmtplib) is imported only when the configuration sets that
channel up, so a configuration without ``[slack]`` never loads the Slack SDK."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from monitor.config import Settings
from monitor.notify.base import Channel

if TYPE_CHECKING:
    from monitor.notify.templates import Templates


def build_channels(
    settings: Settings,
    templates: Templates,
    *,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    webhook_timeout: float = 10.0,
) -> dict[str, Channel]:
    """One channel per configured section, named as rules name them: ``slack``, ``email``, ``webhook``,
    ``console``."""
    channels: dict[str, Channel] = {}
    if settings.slack is not None:
        from monitor.notify.slack import SlackChannel

        channels["slack"] = SlackChannel.from_settings(settings.slack, templates)
    if settings.email is not None:
        from monitor.notify.email import EmailChannel

        channels["email"] = EmailChannel.from_settings(settings.email, templates)
    if webhook_url is not None:
        from monitor.notify.webhook import WebhookChannel

        channels["webhook"] = WebhookChannel(webhook_url, templates, secret=webhook_secret, timeout=webhook_timeout)
    if settings.console is not None:
        from monitor.notify.console import ConsoleChannel

        stream = sys.stderr if settings.console.stream == "stderr" else sys.stdout
        channels["console"] = ConsoleChannel(templates, stream)
    return channels


async def close_channels(channels: dict[str, Any]) -> None:
    """Release what channels hold (the webhook's HTTP session)."""
    for channel in channels.values():
        close = getattr(channel, "aclose", None)
        if close is not None:
            await close()
