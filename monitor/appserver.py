"""The daemon's HTTP listeners' plumbing: :func:`parse_listen` (``[health] listen``, ``[page] listen``; from
:mod:`monitor.listen`) and :class:`AppServer`, which serves any aiohttp application (``/healthz`` and ``/metrics``,
the status page)."""

from __future__ import annotations

from typing import Self

from aiohttp import web

from monitor.listen import parse_listen

__all__ = ["AppServer", "parse_listen"]


class AppServer:
    """Serves an aiohttp ``app`` on ``host:port`` (port 0 picks a free one; see :attr:`port` after start)."""

    def __init__(self, app: web.Application, *, host: str = "127.0.0.1", port: int = 9108) -> None:
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        self._host = host
        self._port = port
        self._bound: tuple[str, int] | None = None

    async def start(self) -> None:
        """Bind and serve; raises OSError when the address is taken."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            raise
        address = self._runner.addresses[0]
        self._bound = (address[0], address[1])

    async def stop(self) -> None:
        await self._runner.cleanup()
        self._bound = None

    @property
    def port(self) -> int:
        if self._bound is None:
            raise RuntimeError("HealthServer is not started")
        return self._bound[1]

    @property
    def url(self) -> str:
        """Base URL, like ``http://127.0.0.1:9108``."""
        if self._bound is None:
            raise RuntimeError("HealthServer is not started")
        host = f"[{self._bound[0]}]" if ":" in self._bound[0] else self._bound[0]
        return f"http://{host}:{self._bound[1]}"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
