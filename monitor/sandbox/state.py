"""A simulated API's state and its controls (:class:`SandboxState`), apart from serving it.

The server and the handlers depend on this module; :mod:`monitor.sandbox.sandbox` depends on the server. So the
package has no import cycle: state <- server <- sandbox.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from monitor.clock import Clock, SystemClock
from monitor.sandbox.arrivals import Arrival
from monitor.sandbox.business import BusinessCenter, build_business_centers
from monitor.sandbox.changelog import ChangeLog
from monitor.sandbox.endpoint_limits import EndpointLimits
from monitor.sandbox.faults import FaultQueue
from monitor.sandbox.grants import Grants
from monitor.sandbox.ratelimit import RateLimiter
from monitor.sandbox.report import ReportCache
from monitor.sandbox.settings import SandboxSettings
from monitor.sandbox.subscriptions import Subscriptions
from monitor.sandbox.tasks import ReportTasks
from monitor.sandbox.world import World

_T = TypeVar("_T")


class SandboxState:
    """One simulated API's state: world, auth state, faults, rate limiter, request log and async report tasks.

    What the server and its handlers read and change; :class:`~monitor.sandbox.sandbox.Sandbox` adds serving."""

    def __init__(self, settings: SandboxSettings | None = None, *, clock: Clock | None = None) -> None:
        self.settings = settings or SandboxSettings()
        self.clock: Clock = clock or SystemClock()
        self.world = World(self.settings, self.clock.now())
        self.faults = FaultQueue()
        self.arrivals: list[Arrival] = []
        self.limiter = RateLimiter(self.settings.qps, self.settings.effective_qpm)
        self.endpoint_limits = EndpointLimits()
        self.tasks = ReportTasks()
        #: Status and budget changes (API, people, TikTok) for the changelog/task/* endpoints.
        self.changelog = ChangeLog()
        self.report_cache = ReportCache(self.settings.sync_ad_limit)
        self.grants = Grants(self.settings.app_id)
        #: REPORT_DATA_CHANGE subscriptions and their deliveries (sent while serving: subscriptions.Notifier).
        self.subscriptions = Subscriptions()
        self.business_centers: tuple[BusinessCenter, ...] = build_business_centers(self.world.advertisers)
        #: The advertisers an authorization through /portal/auth grants (None: every advertiser).
        self.portal_advertiser_ids: tuple[str, ...] | None = None
        #: The URL the sandbox is serving on (None when not serving).
        self.base_url: str | None = None
        self._revoked = False
        self._instance = secrets.randbelow(10_000)
        self._seq = 0
        #: While serving: the one worker thread that computes big answers (see :meth:`offload`).
        self.worker: ThreadPoolExecutor | None = None

    async def offload(self, work: Callable[[], _T]) -> _T:
        """Run ``work`` (building a page or a report from the world) in the worker thread while serving, so
        the server's event loop goes on reading, logging and rate-limiting requests as they arrive (issue 18:
        100,000-ad answers took a few hundred milliseconds each, and requests that came meanwhile were logged
        and counted together). One worker: the world is read by one thread at a time. Inline when not serving."""
        if self.worker is None:
            return work()
        return await asyncio.get_running_loop().run_in_executor(self.worker, work)

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
        self.endpoint_limits.reset()

    # ---- helpers used by the server ---------------------------------------------------------------------------
    def now(self) -> float:
        """World time as UTC epoch seconds."""
        return self.clock.now().timestamp()

    def new_request_id(self) -> str:
        """Unique per sandbox: world time "YYYYMMDDHHMMSS" + instance + sequence, all digits."""
        self._seq += 1
        return f"{self.clock.now():%Y%m%d%H%M%S}{self._instance:04d}{self._seq:08d}"
