"""The :class:`Sandbox`: a simulated TikTok Business API v1.3 served by a real aiohttp server.

    sb = Sandbox(SandboxSettings(), clock=FrozenClock(start))
    async with sb.serve() as base_url:          # "http://127.0.0.1:54321"
        ...                                     # point the client at base_url
    sb.faults.add(Fault(kind="http_error", status=502, path="campaign/get/"))
    sb.revoke_token(); sb.restore_token()
    token = sb.issue_token([advertiser_id, ...])  # a second token reaching only those advertisers
    sb.portal_advertiser_ids = (...)            # what /portal/auth grants (None: every advertiser)
    sb.arrivals                                 # one Arrival per API request, in order
    sb.world                                    # the World, for inspecting state

The world clock (``clock``) drives spend and statuses; rate limiting and ``Arrival.t`` use real monotonic time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from aiohttp import web

from monitor.clock import Clock
from monitor.sandbox.api_oauth import PORTAL_PATH
from monitor.sandbox.server import API_PREFIX, build_app
from monitor.sandbox.settings import SandboxSettings
from monitor.sandbox.state import SandboxState
from monitor.sandbox.subscriptions import Notifier

log = logging.getLogger("monitor.sandbox")

SHUTDOWN_TIMEOUT = 2.0


class Sandbox(SandboxState):
    """One simulated API (see :class:`SandboxState`), served by a real aiohttp server."""

    def app(self) -> web.Application:
        return build_app(self)

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve on ``host``:``port`` (0 = any free port); yields the base URL without a trailing slash."""
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-worker")
        previous, self.worker = self.worker, self.worker or worker  # served twice at once: one worker still
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound_host, bound_port = runner.addresses[0][:2]
            shown = f"[{bound_host}]" if ":" in bound_host else bound_host
            self.base_url = f"http://{shown}:{bound_port}"
            notifier = asyncio.get_running_loop().create_task(Notifier(self).run(), name="sandbox-webhooks")
            try:
                yield self.base_url
            finally:
                notifier.cancel()
                await asyncio.gather(notifier, return_exceptions=True)
        finally:
            self.base_url = None
            await runner.cleanup()
            if self.worker is worker:
                self.worker = previous
            worker.shutdown(wait=False, cancel_futures=True)


async def serve_forever(
    settings: SandboxSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    clock: Clock | None = None,
    on_built: Callable[[], None] | None = None,
) -> None:
    """Serve a sandbox until cancelled (Ctrl-C). Logs the URL, the sandbox's own credentials and its
    advertisers, so they can be copied into a config file (they are the sandbox's fake settings).

    ``on_built`` is called once the world is built (the sandbox command tunes the collector then)."""
    sb = Sandbox(settings, clock=clock)
    if on_built is not None:
        on_built()
    async with sb.serve(host, port) as url:
        log.info("TikTok Business API sandbox on %s (API base %s%s)", url, url, API_PREFIX)
        log.info("advertiser authorization portal: %s%s (for tiktok-monitor auth login)", url, PORTAL_PATH)
        # The built-in fake credentials are shown so they can be copied into a config file; values given
        # on the command line are not echoed, in case someone passed something real.
        defaults = SandboxSettings()
        log.info(
            "sandbox credentials: access_token=%s app_id=%s secret=%s",
            sb.settings.token if sb.settings.token == defaults.token else "(as given with --token)",
            sb.settings.app_id,
            sb.settings.secret if sb.settings.secret == defaults.secret else "(as given with --secret)",
        )
        for adv in sb.world.advertisers.values():
            log.info(
                "advertiser %s  %s  %s  %s  (%d ads)",
                adv.advertiser_id,
                adv.zone_name,
                adv.currency,
                adv.name,
                len(adv.ad_index),
            )
        await asyncio.Event().wait()
