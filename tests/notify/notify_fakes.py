"""Small real servers for the notification tests: a Slack Web API, an SMTP mailbox and a webhook receiver.

All listen on 127.0.0.1 (port 0 or a free port) and record what arrived. Answers can be scripted: ``answer(...)``
queues answers for the next message requests, each one of

* ``"ok"``: accept (the default when the queue is empty);
* ``500`` (any int): that HTTP status;
* ``("429", seconds)``: HTTP 429 with Retry-After;
* a Slack error code (``"channel_not_found"``, ``"invalid_auth"``, ``"invalid_blocks"``, ...): HTTP 200 ``ok: false``
  (on the incoming-webhook endpoint: HTTP 400/403/404 with the code as body);
* ``"stall_after_accept"``: record the message as posted, then hold the answer until ``release`` is set;
* ``"stall_before_accept"``: hold the request without posting anything until ``release`` is set.

``meet(n)`` holds the next ``n`` message requests until all ``n`` have arrived, then lets them all go on: proof
that ``n`` senders had a request in flight at the same moment.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiohttp import web

SLACK_TOKEN = "xoxb-test-token"
HOOK_PATH = "/hooks/T000/B000/XXXX"
_HOOK_STATUS = {"invalid_token": 403, "action_prohibited": 403, "no_service": 404, "channel_not_found": 404}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Scripted:
    """A queue of scripted answers, and the stall events."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.stalled = asyncio.Event()
        self.release = asyncio.Event()
        self._meeting = 0
        self._arrived = 0
        self._met = asyncio.Event()

    def answer(self, *answers: Any) -> None:
        self.script.extend(answers)

    def meet(self, count: int) -> None:
        self._meeting, self._arrived = count, 0
        self._met.clear()

    async def rendezvous(self) -> None:
        """Called by each message request on arrival: waits while a meeting is gathering."""
        if self._arrived >= self._meeting:
            return
        self._arrived += 1
        if self._arrived == self._meeting:
            self._met.set()
        await self._met.wait()

    def next_answer(self) -> Any:
        return self.script.pop(0) if self.script else "ok"


class FakeSlack(Scripted):
    """chat.postMessage, conversations.history/list, auth.test and an incoming webhook, like Slack answers them."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, Any]] = []  # every chat.postMessage / webhook body, in order of arrival
        self.history: dict[str, list[dict[str, Any]]] = {}  # channel id -> posted messages, oldest first
        self.channels = {"ads-alerts": "C0ADSALERT", "other": "C0OTHER001", "private": "G0PRIVATE1"}
        self.members = {"C0ADSALERT", "C0OTHER001"}
        self.history_calls = 0
        self.history_error: str | None = None  # e.g. "missing_scope"
        self.answer_delay = 0.0  # seconds between posting a message and answering
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """Every posted message, all channels, in order."""
        return sorted((m for ms in self.history.values() for m in ms), key=lambda m: float(m["ts"]))

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/api/chat.postMessage", self._post_message)
        app.router.add_route("*", "/api/conversations.history", self._conversations_history)
        app.router.add_route("*", "/api/conversations.list", self._conversations_list)
        app.router.add_route("*", "/api/auth.test", self._auth_test)
        app.router.add_post(HOOK_PATH, self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    @property
    def hook_url(self) -> str:
        return f"{self.base_url}{HOOK_PATH}"

    # --- handlers ----------------------------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {SLACK_TOKEN}"

    def _channel_id(self, channel: str) -> str | None:
        if channel in self.channels.values():
            return channel
        return self.channels.get(channel.lstrip("#"))

    async def _post_message(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        await self.rendezvous()
        if not self._authorized(request):
            return _slack_error("invalid_auth")
        answer = self.next_answer()
        if answer == "stall_before_accept":
            self.stalled.set()
            await self.release.wait()
            return web.json_response({"ok": False, "error": "fatal_error"}, status=500)
        if isinstance(answer, int):
            return web.Response(status=answer, text="server error")
        if isinstance(answer, tuple):
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(answer[1])}
            )
        if answer not in ("ok", "stall_after_accept"):
            return _slack_error(answer)
        channel = self._channel_id(body.get("channel", ""))
        if channel is None:
            return _slack_error("channel_not_found")
        if channel not in self.members:
            return _slack_error("not_in_channel")
        ts = f"{time.time():.6f}"
        posted = {"type": "message", "ts": ts, "text": body.get("text"), "blocks": body.get("blocks")}
        if body.get("metadata"):
            posted["metadata"] = body["metadata"]
        self.history.setdefault(channel, []).append(posted)
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        if answer == "stall_after_accept":
            self.stalled.set()
            await self.release.wait()
        return web.json_response({"ok": True, "channel": channel, "ts": ts, "message": posted})

    async def _conversations_history(self, request: web.Request) -> web.StreamResponse:
        self.history_calls += 1
        if not self._authorized(request):
            return _slack_error("invalid_auth")
        if self.history_error:
            return _slack_error(self.history_error)
        params = request.query
        channel = params.get("channel", "")
        if channel not in self.history and channel not in self.channels.values():
            return _slack_error("channel_not_found")
        oldest = float(params.get("oldest", "0"))
        limit, offset = int(params.get("limit", "100")), int(params.get("cursor") or 0)
        messages = [m for m in reversed(self.history.get(channel, [])) if float(m["ts"]) > oldest]
        with_metadata = params.get("include_all_metadata") in ("1", "true", "True")
        page = [m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in messages]
        page = page[offset : offset + limit]
        more = offset + limit < len(messages)
        return web.json_response(
            {
                "ok": True,
                "messages": page,
                "has_more": more,
                "response_metadata": {"next_cursor": str(offset + limit) if more else ""},
            }
        )

    async def _conversations_list(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _slack_error("invalid_auth")
        channels = [{"id": cid, "name": name} for name, cid in self.channels.items()]
        return web.json_response({"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}})

    async def _auth_test(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _slack_error("invalid_auth")
        return web.json_response({"ok": True, "user_id": "U0BOT", "team": "Test"})

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        answer = self.next_answer()
        if isinstance(answer, int):
            return web.Response(status=answer, text="internal_error")
        if isinstance(answer, tuple):
            return web.Response(status=429, text="rate_limited", headers={"Retry-After": str(answer[1])})
        if answer != "ok":
            return web.Response(status=_HOOK_STATUS.get(answer, 400), text=answer)
        posted = {"type": "message", "ts": f"{time.time():.6f}", "text": body.get("text"), "blocks": body.get("blocks")}
        self.history.setdefault("HOOK", []).append(posted)
        return web.Response(text="ok")


def _slack_error(error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error})


# --- SMTP ------------------------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps every accepted message; ``refuse`` maps an address to an SMTP answer."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=default))  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


# --- webhook receiver ------------------------------------------------------------------------------------------


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver(Scripted):
    """Accepts POST /hook; answers from the script (ints are HTTP statuses, ("429", s) adds Retry-After)."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Received] = []
        self.answer_delay = 0.0  # seconds between receiving a message and answering
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append(Received(await request.read(), dict(request.headers)))
        await self.rendezvous()
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        answer = self.next_answer()
        if isinstance(answer, tuple):
            return web.Response(status=429, headers={"Retry-After": str(answer[1])})
        if isinstance(answer, int):
            headers = {"Location": "https://elsewhere.example/"} if 300 <= answer < 400 else {}
            return web.Response(status=answer, headers=headers)
        return web.Response(status=202, text="accepted")
