"""The receiver of TikTok's REPORT_DATA_CHANGE notices (tiktok-api.md §9.1): a route on the daemon's health
listener (``[tiktok.subscription] path``) that turns a notice into a wish to poll the advertisers it names sooner
(:mod:`monitor.pollsoon` decides whether and when). A trigger, never the source of truth: nothing of the notice's
values is stored or evaluated; the poll reads the API as always.

Each POST is checked at the edge and answered at once: HTTP 200 for a notice (``object`` 11, ``entry`` a list of
objects whose ``changed_metrics_values`` maps advertiser ids, digit strings, to objects), HTTP 400 for anything
else (logged: one warning a minute, the others at debug; the body is never logged). Delivery is at-least-once: a
notice whose body was seen already (the last :data:`REMEMBERED` bodies, by SHA-256) is answered 200 and does
nothing more. An advertiser this process does not poll is ignored.

Authenticity: TikTok's docs mention a ``tiktok-signature`` header for webhooks, but how it is computed for
Subscription-API callbacks is not documented (tiktok-api.md §9.1 marks it unverified), so it is not checked: a
forged notice can only make a poll happen sooner, within the bounds of :mod:`monitor.pollsoon` (the floor between
polls, the API budget's spare share). To keep strangers from even that, give the callback URL an unguessable
path (``path`` is then the secret: keep it out of shared configuration) or filter at the reverse proxy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiohttp import web

__all__ = ["REMEMBERED", "NoticeError", "ReportChangeReceiver", "advertisers_of"]

log = logging.getLogger(__name__)

REPORT_OBJECT = 11
REMEMBERED = 1000
MAX_BODY = 256 * 1024
WARN_EVERY = 60.0


class NoticeError(ValueError):
    """Not a REPORT_DATA_CHANGE notice; the message says why (never quoting the body)."""


def advertisers_of(body: Any) -> list[str]:
    """The advertiser ids a notice names, in order; :class:`NoticeError` when ``body`` is not a notice."""
    if not isinstance(body, dict):
        raise NoticeError("the body is not a JSON object")
    if body.get("object") != REPORT_OBJECT:
        raise NoticeError(f"object is not {REPORT_OBJECT} (REPORT_DATA_CHANGE)")
    entries = body.get("entry")
    if not isinstance(entries, list) or not entries:
        raise NoticeError("entry is not a non-empty list")
    found: list[str] = []
    for index, entry in enumerate(entries):
        values = entry.get("changed_metrics_values") if isinstance(entry, dict) else None
        if not isinstance(values, dict):
            raise NoticeError(f"entry[{index}].changed_metrics_values is not an object")
        for advertiser_id, metrics in values.items():
            if not (advertiser_id.isascii() and advertiser_id.isdigit() and len(advertiser_id) <= 30):
                raise NoticeError(f"entry[{index}].changed_metrics_values has a key that is not an advertiser id")
            if not isinstance(metrics, dict):
                raise NoticeError(f"entry[{index}].changed_metrics_values[{advertiser_id}] is not an object")
            found.append(advertiser_id)
    return list(dict.fromkeys(found))


class ReportChangeReceiver:
    """``handle`` is the aiohttp handler; ``ask(advertiser_id)`` wishes a poll; ``count(result)`` is the metric
    (accepted | duplicate | refused)."""

    def __init__(
        self,
        ask: Callable[[str], object],
        *,
        count: Callable[[str], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ask = ask
        self._count = count or (lambda _result: None)
        self._monotonic = monotonic
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._warned = float("-inf")

    def add_route(self, app: web.Application, path: str) -> None:
        app.router.add_post(path, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            raw = await request.content.read(MAX_BODY + 1)
            if len(raw) > MAX_BODY:
                raise NoticeError(f"the body is larger than {MAX_BODY} bytes")
            try:
                body = json.loads(raw)
            except ValueError:
                raise NoticeError("the body is not JSON") from None
            advertisers = advertisers_of(body)
        except NoticeError as exc:
            self._refused(str(exc))
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        digest = hashlib.sha256(raw).digest()
        if digest in self._seen:
            self._count("duplicate")
            log.debug("REPORT_DATA_CHANGE notice delivered again: ignored")
            return web.json_response({"ok": True, "duplicate": True})
        self._seen[digest] = None
        while len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)
        self._count("accepted")
        log.debug("REPORT_DATA_CHANGE notice for advertiser(s) %s", ", ".join(advertisers))
        for advertiser_id in advertisers:
            self._ask(advertiser_id)
        return web.json_response({"ok": True})

    def _refused(self, why: str) -> None:
        self._count("refused")
        now = self._monotonic()
        if now - self._warned >= WARN_EVERY:
            self._warned = now
            log.warning("refused a request to the REPORT_DATA_CHANGE receiver (HTTP 400): %s", why)
        else:
            log.debug("refused a request to the REPORT_DATA_CHANGE receiver (HTTP 400): %s", why)
