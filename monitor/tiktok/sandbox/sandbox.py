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
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiohttp import web

from monitor.clock import Clock, SystemClock
from monitor.tiktok.sandbox.api_oauth import PORTAL_PATH
from monitor.tiktok.sandbox.arrivals import Arrival
from monitor.tiktok.sandbox.business import BusinessCenter, build_business_centers
from monitor.tiktok.sandbox.faults import FaultQueue
from monitor.tiktok.sandbox.grants import Grants
from monitor.tiktok.sandbox.ratelimit import RateLimiter
from monitor.tiktok.sandbox.report import ReportCache
from monitor.tiktok.sandbox.server import API_PREFIX, build_app
from monitor.tiktok.sandbox.settings import SandboxSettings
from monitor.tiktok.sandbox.tasks import ReportTasks
from monitor.tiktok.sandbox.world import World

log = logging.getLogger("monitor.sandbox")

SHUTDOWN_TIMEOUT = 2.0


class Sandbox:
    """One simulated API: world, auth state, faults, rate limiter, request log and async report tasks."""

    def __init__(self, settings: SandboxSettings | None = None, *, clock: Clock | None = None) -> None:
        self.settings = settings or SandboxSettings()
        self.clock: Clock = clock or SystemClock()
        self.world = World(self.settings, self.clock.now())
        self.faults = FaultQueue()
        self.arrivals: list[Arrival] = []
        self.limiter = RateLimiter(self.settings.qps, self.settings.effective_qpm)
        self.tasks = ReportTasks()
        self.report_cache = ReportCache()
        self.grants = Grants(self.settings.app_id)
        self.business_centers: tuple[BusinessCenter, ...] = build_business_centers(self.world.advertisers)
        #: The advertisers an authorization through /portal/auth grants (None: every advertiser).
        self.portal_advertiser_ids: tuple[str, ...] | None = None
        #: The URL :meth:`serve` is serving on (None when not serving).
        self.base_url: str | None = None
        self._revoked = False
        self._instance = secrets.randbelow(10_000)
        self._seq = 0

    # ---- control --------------------------------------------------------------------------------------------
    def revoke_token(self) -> None:
        """From now on every request carrying the token gets 40105 (until :meth:`restore_token`)."""
        self._revoked = True

    def restore_token(self) -> None:
        self._revoked = False

    @property
    def token_revoked(self) -> bool:
        return self._revoked

    def issue_token(self, advertiser_ids: Iterable[str] | None = None) -> str:
        """A further long-term token, as oauth2/access_token/ issues, reaching ``advertiser_ids`` (None: all)."""
        return self.grants.issue_token(self.world.advertisers if advertiser_ids is None else advertiser_ids)

    def set_advertiser_status(self, advertiser_id: str, status: str) -> None:
        """What advertiser/info reports as the account's ``status`` from now on (STATUS_LIMIT: penalised)."""
        self.world.advertisers[advertiser_id].status = status

    def reach(self, token: str) -> frozenset[str] | None:
        """The advertisers ``token`` reaches (the configured one: all), or None if it is unknown or revoked."""
        if token == self.settings.token:
            return None if self._revoked else frozenset(self.world.advertisers)
        return self.grants.reach(token) if token else None

    def reset(self) -> None:
        """Clear pending faults, the request log and the rate limiter's windows (the world is kept)."""
        self.faults.clear()
        self.arrivals.clear()
        self.limiter.reset()

    # ---- helpers used by the server ---------------------------------------------------------------------------
    def now(self) -> float:
        """World time as UTC epoch seconds."""
        return self.clock.now().timestamp()

    def new_request_id(self) -> str:
        """Unique per sandbox: world time "YYYYMMDDHHMMSS" + instance + sequence, all digits."""
        self._seq += 1
        return f"{self.clock.now():%Y%m%d%H%M%S}{self._instance:04d}{self._seq:08d}"

    def app(self) -> web.Application:
        return build_app(self)

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve on ``host``:``port`` (0 = any free port); yields the base URL without a trailing slash."""
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound_host, bound_port = runner.addresses[0][:2]
            shown = f"[{bound_host}]" if ":" in bound_host else bound_host
            self.base_url = f"http://{shown}:{bound_port}"
            yield self.base_url
        finally:
            self.base_url = None
            await runner.cleanup()


async def serve_forever(
    settings: SandboxSettings | None = None, host: str = "127.0.0.1", port: int = 8765, *, clock: Clock | None = None
) -> None:
    """Serve a sandbox until cancelled (Ctrl-C). Logs the URL, the sandbox's own credentials and its
    advertisers, so they can be copied into a config file (they are the sandbox's fake settings)."""
    sb = Sandbox(settings, clock=clock)
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
