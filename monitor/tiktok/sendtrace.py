"""The aiohttp trace that tells the rate limiter when a request's bytes were written (issue 18).

:class:`monitor.tiktok.transport.Transport` passes ``trace_request_ctx={SENT_KEY: callback, BODY_KEY: bool}``
with each request; a session built with ``trace_configs=[send_trace()]`` calls the callback when the request
left: when its headers were written for a request without a body (aiohttp writes them at once), when its body
was written otherwise (the headers then wait to go out with the body). Sessions without it work too: the
transport then counts a request as sent when its answer came.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import aiohttp

SENT_KEY = "monitor.sent"
BODY_KEY = "monitor.has_body"


def _context(ctx: SimpleNamespace) -> Mapping[str, Any]:
    found = getattr(ctx, "trace_request_ctx", None)
    return found if isinstance(found, Mapping) else {}


def _call(callback: object) -> None:
    if callable(callback):
        callback()


def send_trace() -> aiohttp.TraceConfig:
    """A TraceConfig for the session every :class:`~monitor.tiktok.transport.Transport` of the monitor uses."""
    trace = aiohttp.TraceConfig()

    async def headers_sent(_session: aiohttp.ClientSession, ctx: SimpleNamespace, _params: object) -> None:
        context = _context(ctx)
        if not context.get(BODY_KEY):
            _call(context.get(SENT_KEY))

    async def chunk_sent(_session: aiohttp.ClientSession, ctx: SimpleNamespace, _params: object) -> None:
        context = _context(ctx)
        if context.get(BODY_KEY):
            _call(context.get(SENT_KEY))

    trace.on_request_headers_sent.append(headers_sent)
    trace.on_request_chunk_sent.append(chunk_sent)
    return trace


__all__ = ["BODY_KEY", "SENT_KEY", "send_trace"]
