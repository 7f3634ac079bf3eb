"""A local fake of Slack for the buttons: Socket Mode (``apps.connections.open`` and the WebSocket) and the Web
API methods the monitor calls (chat.postMessage, chat.update, chat.postEphemeral, usergroups.users.list).

Like Slack, it hands out ``ws://127.0.0.1:PORT/link/?ticket=...`` to a client presenting the app-level token,
greets each connection with ``hello``, and sends ``interactive`` envelopes (``block_actions`` payloads, as Slack
sends them) to one connection of the caller's choice; :meth:`FakeSocketMode.acked` checks the client's
acknowledgement (an ``envelope_id``) arrives within 3 seconds, as Slack requires. Everything listens on
127.0.0.1 and records what arrived.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import WSMsgType, web

APP_TOKEN = "xapp-1-A0FAKE-1-fake"
BOT_TOKEN = "xoxb-fake-bot"
CHANNEL = "C0ADSALERT"
ACK_LIMIT = 3.0  # Slack's deadline for an acknowledgement, seconds


class FakeSocketMode:
    def __init__(self) -> None:
        self.base_url = ""
        self.connections: list[web.WebSocketResponse] = []
        self.opened = 0  # apps.connections.open calls answered with a URL
        self.refuse_app_token: str | None = None  # e.g. "invalid_auth"
        self.sent_at: dict[str, float] = {}
        self.acks: dict[str, float] = {}  # envelope_id -> seconds from sending to the acknowledgement
        self.ack_connection: dict[str, int] = {}  # envelope_id -> the connection that acknowledged it
        self.posted: list[dict[str, Any]] = []  # chat.postMessage bodies, with the ts given
        self.updates: list[dict[str, Any]] = []  # chat.update bodies
        self.ephemerals: list[dict[str, Any]] = []  # chat.postEphemeral bodies
        self.groups: dict[str, list[str]] = {}  # user group id -> member ids
        self.group_calls = 0
        self.group_delay = 0.0  # seconds usergroups.users.list takes to answer
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/api/apps.connections.open", self._connections_open)
        app.router.add_get("/link/", self._socket)
        for method, handler in (
            ("chat.postMessage", self._post_message),
            ("chat.update", self._update),
            ("chat.postEphemeral", self._ephemeral),
            ("usergroups.users.list", self._group_users),
        ):
            app.router.add_route("*", f"/api/{method}", handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        for ws in self.connections:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- what tests drive ----------------------------------------------------------------------------------------

    async def wait_until(self, condition: Callable[[], bool], within: float = 5.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), within)

    async def connected(self, count: int = 1) -> None:
        """Wait until ``count`` clients are connected (and greeted)."""
        await self.wait_until(lambda: len([ws for ws in self.connections if not ws.closed]) >= count)

    async def click(self, payload: Mapping[str, Any], connection: int = 0) -> str:
        """Send ``payload`` in an ``interactive`` envelope over connection ``connection``; its envelope_id."""
        envelope_id = f"env-{next(self._ids)}"
        envelope = {"envelope_id": envelope_id, "payload": payload, "type": "interactive",
                    "accepts_response_payload": False}  # fmt: skip
        self.sent_at[envelope_id] = time.monotonic()
        await self.connections[connection].send_str(json.dumps(envelope))
        return envelope_id

    async def acked(self, envelope_id: str) -> float:
        """Seconds the acknowledgement of ``envelope_id`` took; AssertionError if none came within 3 seconds."""
        try:
            await self.wait_until(lambda: envelope_id in self.acks, within=ACK_LIMIT)
        except TimeoutError:
            raise AssertionError(f"{envelope_id} was not acknowledged within {ACK_LIMIT}s") from None
        return self.acks[envelope_id]

    def message(self, index: int = -1) -> dict[str, Any]:
        """A posted message (default the newest) as Slack stores it: ts, channel, text, blocks."""
        return self.posted[index]

    # --- handlers ------------------------------------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _connections_open(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {APP_TOKEN}":
            return _error("invalid_auth")
        if self.refuse_app_token:
            return _error(self.refuse_app_token)
        self.opened += 1
        host, port = request.url.host, request.url.port
        return web.json_response({"ok": True, "url": f"ws://{host}:{port}/link/?ticket=t{self.opened}&app_id=A0FAKE"})

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        index = len(self.connections)
        self.connections.append(ws)
        hello = {"type": "hello", "num_connections": index + 1, "connection_info": {"app_id": "A0FAKE"},
                 "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060}}  # fmt: skip
        await ws.send_str(json.dumps(hello))
        await self._notify()
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            envelope_id = data.get("envelope_id")
            if envelope_id in self.sent_at and envelope_id not in self.acks:
                self.acks[envelope_id] = time.monotonic() - self.sent_at[envelope_id]
                self.ack_connection[envelope_id] = index
                await self._notify()
        await self._notify()
        return ws

    async def _body(self, request: web.Request) -> dict[str, Any] | None:
        """The call's arguments (JSON, form or query), or None when the bot token is missing."""
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return None
        if request.content_type == "application/json":
            return dict(await request.json())
        return {**request.query, **(await request.post())}

    async def _post_message(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        if body is None:
            return _error("invalid_auth")
        ts = f"{time.time():.6f}"
        self.posted.append({**body, "channel": CHANNEL, "ts": ts})
        await self._notify()
        return web.json_response({"ok": True, "channel": CHANNEL, "ts": ts})

    async def _update(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        if body is None:
            return _error("invalid_auth")
        self.updates.append(body)
        await self._notify()
        return web.json_response({"ok": True, "channel": body.get("channel"), "ts": body.get("ts")})

    async def _ephemeral(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        if body is None:
            return _error("invalid_auth")
        self.ephemerals.append(body)
        await self._notify()
        return web.json_response({"ok": True, "message_ts": f"{time.time():.6f}"})

    async def _group_users(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        if body is None:
            return _error("invalid_auth")
        self.group_calls += 1
        await asyncio.sleep(self.group_delay)
        group = str(body.get("usergroup"))
        if group not in self.groups:
            return _error("no_such_subteam")
        return web.json_response({"ok": True, "users": self.groups[group]})


def _error(code: str) -> web.Response:
    return web.json_response({"ok": False, "error": code})


def block_actions(
    message: Mapping[str, Any],
    action_id: str,
    *,
    user: str = "U0ALICE",
    username: str = "alice",
    value: str | None = None,
) -> dict[str, Any]:
    """The ``block_actions`` payload Slack sends when ``user`` clicks the button ``action_id`` (the first, or the
    one with ``value``) of a posted ``message``."""
    buttons = [e for b in message.get("blocks") or () if b.get("type") == "actions" for e in b["elements"]]
    button = next(e for e in buttons if e["action_id"] == action_id and value in (None, e["value"]))
    return {
        "type": "block_actions",
        "user": {"id": user, "username": username, "name": username, "team_id": "T0FAKE"},
        "api_app_id": "A0FAKE",
        "token": "verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": message["channel"],
            "is_ephemeral": False,
        },
        "trigger_id": "1.2.3",
        "team": {"id": "T0FAKE", "domain": "fake"},
        "channel": {"id": message["channel"], "name": "ads-alerts"},
        "message": {
            "type": "message",
            "ts": message["ts"],
            "text": message.get("text"),
            "blocks": message.get("blocks"),
        },
        "response_url": "https://hooks.slack.invalid/actions/T0FAKE/1/xyz",
        "actions": [{**button, "block_id": "tiktok_monitor_actions", "action_ts": f"{time.time():.6f}"}],
    }
