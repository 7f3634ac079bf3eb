"""DNS-rebinding protection for the daemon's HTTP listeners: a request is answered only when its ``Host`` is an IP
address, ``localhost`` or an allowed name (``[health] allowed_hosts``); otherwise 421."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from aiohttp import web

__all__ = ["host_allowed", "host_middleware"]


def host_allowed(host_header: str | None, allowed: frozenset[str]) -> bool:
    """Whether a request's ``Host`` may be answered: an IP address (v4 or v6, with or without a port),
    ``localhost``, or a name in ``allowed`` (``[health] allowed_hosts``). Any other DNS name is refused: that is
    how a web page reaches a loopback service through DNS rebinding."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:9108
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host.rstrip(".") in {"localhost", *allowed}


def host_middleware(allowed_hosts: Iterable[str] = ()) -> Any:
    """An aiohttp middleware answering 421 to a request whose ``Host`` fails :func:`host_allowed`."""
    allowed = frozenset(h.lower().rstrip(".") for h in allowed_hosts)

    @web.middleware
    async def check_host(request: web.Request, handler: Any) -> web.StreamResponse:
        if not host_allowed(request.headers.get("Host"), allowed):
            return web.Response(status=421, text="misdirected request: this Host is not allowed (allowed_hosts)\n")
        response: web.StreamResponse = await handler(request)
        return response

    return check_host
