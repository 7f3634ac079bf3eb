"""Slack: a bot token (chat.postMessage, Block Kit plus a text fallback) or an incoming webhook.

Messages are rendered from the ``<type>.slack.j2`` templates (monitor.notify.templates), where every piece of
text from the API is escaped (& < >): no campaign name can mention @channel, fake a link or break the message.
Links to Ads Manager are built by us from ids. The Block Kit blocks and Slack's size limits are
monitor.notify.slack_blocks; a Block Kit form Slack refuses is sent again as text alone.

HTTP 429 is retried by slack-sdk itself, honouring Retry-After, ``rate_limit_retries`` times. After that, failures
are classified (monitor.notify.slack_errors): 429, 5xx, Slack's own transient errors, timeouts and network errors
raise :class:`TransientDeliveryError`; ``invalid_auth``, ``channel_not_found``, ``not_in_channel`` and other
request errors raise :class:`PermanentDeliveryError` (the outbox logs each code once).

With a bot token, every message carries metadata ``{"event_type": "tiktok_ads_monitor", "event_payload":
{"delivery_id": ...}}``; :meth:`SlackChannel.find_delivered` reads the channel's recent history for those ids, so
the outbox can tell whether a message whose delivery was interrupted (a crash, a timeout) arrived after all,
instead of posting it twice. That needs the ``channels:history`` and ``channels:read`` scopes (``groups:*`` for
private channels); without them the check is skipped (logged once) and delivery is at-least-once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from monitor.config import SlackSettings
from monitor.notify.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.notify.message import Message
from monitor.notify.slack_blocks import TEXT_LIMIT, build_blocks, truncate
from monitor.notify.slack_errors import BLOCK_ERRORS, classify, network_error, parse_retry_after
from monitor.notify.templates import Templates
from monitor.slackapp.buttons import actions_block

log = logging.getLogger(__name__)

SLACK_API = "https://slack.com/api/"
EVENT_TYPE = "tiktok_ads_monitor"
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")


class SlackChannel:
    """Posts messages to Slack. Give ``token`` and ``channel`` (Web API) or ``webhook_url`` (incoming webhook).
    ``buttons``: messages carry the Slack app's buttons (:mod:`monitor.slackapp.buttons`); only when something
    takes the clicks (``[slack] app_token``), or they would do nothing."""

    def __init__(
        self,
        templates: Templates,
        *,
        token: str | None = None,
        channel: str | None = None,
        webhook_url: str | None = None,
        base_url: str = SLACK_API,
        timeout: float = 30.0,
        rate_limit_retries: int = 2,
        history_pages: int = 5,
        buttons: bool = False,
    ) -> None:
        if (token is None) == (webhook_url is None):
            raise ValueError("give either token (with channel) or webhook_url")
        if token is not None and not channel:
            raise ValueError("a bot token needs a channel")
        self._templates = templates
        self.channel = channel
        self._history_pages = history_pages
        self._buttons = buttons and token is not None
        retry: list[AsyncRetryHandler] = [AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)]
        self._web: AsyncWebClient | None = None
        self._hook: AsyncWebhookClient | None = None
        # the ignores: slack-sdk types timeout as int, but hands it to aiohttp, which takes a float
        if token is not None:
            self._web = AsyncWebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=retry)  # type: ignore[arg-type]
        elif webhook_url is not None:  # one of the two, checked above
            self._hook = AsyncWebhookClient(webhook_url, timeout=timeout, retry_handlers=retry)  # type: ignore[arg-type]
        self._channel_ids: dict[str, str] = {}
        self._warned: set[str] = set()

    @classmethod
    def from_settings(cls, settings: SlackSettings, templates: Templates, **options: Any) -> SlackChannel:
        return cls(
            templates,
            token=None if settings.token is None else settings.token.get_secret_value(),
            channel=settings.channel,
            webhook_url=None if settings.webhook_url is None else settings.webhook_url.get_secret_value(),
            base_url=settings.base_url,
            buttons=settings.app_token is not None,
            **options,
        )

    # --- sending ---------------------------------------------------------------------------------------------

    async def send(self, message: Message, target: str | None = None, *, delivery_id: str | None = None) -> None:
        rendered = self._templates.slack(message)
        tail = actions_block(message) if self._buttons else []
        text, blocks = truncate(rendered.text, TEXT_LIMIT), build_blocks(rendered, tail)
        if self._hook is not None:
            if target:
                raise PermanentDeliveryError(
                    f"slack:{target}: an incoming webhook posts to its own channel; a target needs a bot token",
                    code="target_with_webhook",
                )
            await self._post_webhook(text, blocks)
            return
        channel = target or self.channel
        assert channel is not None and self._web is not None
        metadata = (
            None if delivery_id is None else {"event_type": EVENT_TYPE, "event_payload": {"delivery_id": delivery_id}}
        )
        try:
            await self._post(channel, text, blocks, metadata)
        except PermanentDeliveryError as exc:
            if exc.code not in BLOCK_ERRORS:
                raise
            log.warning("Slack refused the Block Kit form (%s); sending the text alone", exc.code)
            await self._post(channel, text, None, metadata)

    async def _post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None, metadata: Any) -> None:
        assert self._web is not None
        try:
            response = await self._web.chat_postMessage(
                channel=channel, text=text, blocks=blocks, metadata=metadata, unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as exc:
            raise classify(exc, channel) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise network_error(exc) from None
        if isinstance(response.get("channel"), str):
            self._channel_ids[channel.lstrip("#")] = response["channel"]

    async def _post_webhook(self, text: str, blocks: list[dict[str, Any]]) -> None:
        assert self._hook is not None
        try:
            response = await self._hook.send(text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise network_error(exc) from None
        if response.status_code == 200:
            return
        code = (response.body or "").strip()[:60] or f"http_{response.status_code}"
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientDeliveryError(
                f"Slack webhook answered HTTP {response.status_code}",
                code=code,
                retry_after=parse_retry_after(response.headers),
            )
        if code in BLOCK_ERRORS or code == "invalid_payload":
            log.warning("Slack refused the Block Kit form (%s); sending the text alone", code)
            response = await self._hook.send(text=text, unfurl_links=False, unfurl_media=False)
            if response.status_code == 200:
                return
        raise PermanentDeliveryError(
            f"Slack webhook refused the message: HTTP {response.status_code} {code}", code=code
        )

    # --- after an interrupted delivery ----------------------------------------------------------------------

    async def find_delivered(
        self, target: str | None, since: datetime, delivery_ids: Collection[str]
    ) -> set[str] | None:
        """Which deliveries are already in the channel's history (newest ``history_pages`` × 200 messages)."""
        if self._web is None:
            return None  # an incoming webhook cannot read anything back
        wanted, found = set(delivery_ids), set()
        try:
            channel_id = await self._channel_id(target or self.channel or "")
            if channel_id is None:
                return None
            cursor = None
            for _ in range(self._history_pages):
                page = await self._web.conversations_history(
                    channel=channel_id,
                    oldest=f"{since.timestamp() - 60:.6f}",
                    limit=200,
                    include_all_metadata=True,
                    cursor=cursor,
                )
                for item in page.get("messages") or ():
                    metadata = item.get("metadata") or {}
                    if metadata.get("event_type") == EVENT_TYPE:
                        found.add((metadata.get("event_payload") or {}).get("delivery_id"))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if wanted <= found or not cursor or not page.get("has_more"):
                    break
        except SlackApiError as exc:
            error = classify(exc, target or self.channel or "")
            if isinstance(error, TransientDeliveryError):
                raise error from None
            self._warn_once(
                error.code, f"cannot read Slack history to avoid duplicates ({error}); delivery is at-least-once"
            )
            return None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise network_error(exc) from None
        return wanted & found

    async def _channel_id(self, channel: str) -> str | None:
        if _CHANNEL_ID.fullmatch(channel):
            return channel
        name = channel.lstrip("#")
        if name not in self._channel_ids:
            assert self._web is not None
            cursor = None
            for _ in range(20):
                page = await self._web.conversations_list(
                    types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor
                )
                for item in page.get("channels") or ():
                    self._channel_ids.setdefault(item.get("name", ""), item.get("id", ""))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if name in self._channel_ids or not cursor:
                    break
        return self._channel_ids.get(name)

    async def check(self) -> None:
        """Verify the bot token (auth.test); PermanentDeliveryError if Slack refuses it. A webhook is not checked."""
        if self._web is None:
            return
        try:
            await self._web.auth_test()
        except SlackApiError as exc:
            raise classify(exc, self.channel or "") from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise network_error(exc) from None

    def _warn_once(self, code: str, text: str) -> None:
        if code not in self._warned:
            self._warned.add(code)
            log.warning("slack: %s", text)
