"""The Socket Mode client's life in ``run``: connect with the app-level token, ack every envelope at once, hand
clicks to the :class:`~monitor.slackapp.handlers.ClickHandler`, close.

slack-sdk's asyncio client (``slack_sdk.socket_mode.aiohttp``) asks the Web API (``apps.connections.open`` at
``[slack] base_url``) for a WebSocket URL and keeps the connection (pings, reconnects). Slack wants each envelope
acknowledged within 3 seconds, so the acknowledgement is sent before any work; the click is then handled in a
task of its own, and :meth:`SlackApp.close` gives running ones a moment to finish. An app token Slack refuses at
start (``invalid_auth`` and the like) is logged as an error and the buttons stay off; the daemon goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from monitor.slackapp.handlers import ClickHandler

log = logging.getLogger(__name__)

#: How long close() waits for clicks being handled.
CLOSE_WAIT_SECONDS = 5.0
#: Errors of apps.connections.open that no retry mends.
_REFUSED = frozenset({"invalid_auth", "not_authed", "token_revoked", "not_allowed_token_type", "account_inactive"})


class SlackApp:
    """One Socket Mode connection: :meth:`start`, then :meth:`close`."""

    def __init__(self, app_token: str, base_url: str, handler: ClickHandler, *, ping_interval: float = 5.0) -> None:
        self._app_token = app_token
        self._base_url = base_url
        self._handler = handler
        self._ping_interval = ping_interval
        self._client: SocketModeClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._connecting: asyncio.Task[None] | None = None

    async def start(self) -> bool:
        """Connect (in the background: a Slack outage does not hold up the daemon; slack-sdk retries). False when
        Slack refuses the app token: then there are no buttons, and the error is logged."""
        client = SocketModeClient(
            self._app_token,
            web_client=AsyncWebClient(base_url=self._base_url),
            ping_interval=self._ping_interval,
            logger=logging.getLogger("monitor.slackapp.sdk"),
        )
        client.socket_mode_request_listeners.append(self._on_request)
        self._client = client
        try:
            client.wss_uri = await client.issue_new_wss_url()
        except SlackApiError as exc:
            data = exc.response.data
            code = data.get("error") if isinstance(data, dict) else None
            if code in _REFUSED:
                log.error("slack buttons off: Slack refused [slack] app_token (%s); check the app-level token", code)
                await self.close()
                return False
            log.warning("slack buttons: cannot connect yet (%s); retrying", code)
        except Exception as exc:  # Slack unreachable: slack-sdk's connect loop retries
            log.warning("slack buttons: cannot connect yet (%s); retrying", type(exc).__name__)
        self._connecting = asyncio.ensure_future(client.connect())
        log.info("slack buttons: Socket Mode connecting")
        return True

    async def _on_request(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        # acknowledge first, whatever it is: Slack redelivers an envelope not acked within 3 seconds
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        if request.type != "interactive":
            return
        task = asyncio.ensure_future(self._handler.handle(request.payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Let clicks being handled finish (up to :data:`CLOSE_WAIT_SECONDS`), then disconnect."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=CLOSE_WAIT_SECONDS)
        for task in list(self._tasks):
            task.cancel()
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connecting
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
