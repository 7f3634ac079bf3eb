"""``HOST:PORT`` of the daemon's listeners (``[health] listen``, ``[page] listen``), without aiohttp: the
configuration checks it with :func:`parse_listen` while loading, and :mod:`monitor.appserver` binds it."""

from __future__ import annotations


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:9108"``, ``"[::1]:9108"``, ``"0.0.0.0:9108"`` -> ``(host, port)``; ValueError otherwise."""
    host, sep, port = listen.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT like '127.0.0.1:9108', got {listen!r}")
    return host, int(port)
