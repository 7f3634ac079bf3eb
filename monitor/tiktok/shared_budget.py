"""The app's request budget shared with other processes, from the rate limiter's side (monitor.tiktok.ratelimit;
the database's side: :class:`monitor.store.budget.AppBudget`).

**Several processes, one app** (issue 14). Given a :class:`SharedBudget`, a request also needs a token of the
fleet's budget: the limiter leases a small batch (at most the callers waiting, at most ``batch_max``), spends it
within the lease's validity and leases again, so the sum of every process's requests stays within ``max_qps`` and
``per_minute`` at the cost of one database transaction per batch, not per request. It counts its own requests in
windows as long as the fleet's (a batch counts there from its lease, up to its validity before it is sent), so it
asks only when the fleet can have room, and for what it can send while the batch is valid. An app pause it makes is
recorded there too, and a pause another process recorded is adopted at the next lease (as if this process had made
it: answers to grants from before it change nothing, a throttle after it escalates from its length). Should the
database fail, the limiter goes on with its own windows alone and tries it again a second later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from monitor.tiktok.sendwindow import SendWindow
from monitor.tiktok.throttle import Throttling

#: The limiter's logger: every line about throttles and the shared budget goes to one logger name.
log = logging.getLogger("monitor.tiktok.ratelimit")

#: After the shared budget failed (database unreachable), the limiter runs alone this long before asking again.
SHARED_RETRY = 1.0


@dataclass(frozen=True, slots=True)
class BudgetLease:
    """What :meth:`SharedBudget.lease` gives: ``tokens`` requests that may be sent within ``valid_for`` seconds of
    asking (0: none now, ask again in ``retry_in`` seconds), and the app's shared throttle state: paused for
    ``paused_for`` more seconds by a pause of ``pause`` seconds, at half rate for ``slow_for`` more seconds."""

    tokens: int
    valid_for: float
    retry_in: float = 0.0
    paused_for: float = 0.0
    pause: float = 0.0
    slow_for: float = 0.0


class SharedBudget(Protocol):
    """The app's budget shared with other processes (monitor.store.budget.AppBudget)."""

    async def lease(self, wanted: int, qps: int, per_minute: int) -> BudgetLease: ...

    async def pause(self, seconds: float, slow_period: float) -> None: ...


class FleetTokens:
    """The tokens one limiter holds of ``budget`` (see the module docstring): the limiter spends one per grant
    (:meth:`spend`) once :meth:`has_token` said one may be. ``second`` and ``minute`` are the limiter's windows
    (counted as long as the fleet's from the first lease on; ``margin`` their extra spacing), ``throttling`` its
    throttles (the rate now; the pauses recorded in the budget are adopted there). ``leases`` counts the leases."""

    def __init__(
        self,
        budget: SharedBudget,
        *,
        batch_max: int,
        per_minute: int,
        margin: float,
        second: SendWindow,
        minute: SendWindow,
        throttling: Throttling,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.budget = budget
        self._batch_max = batch_max
        self._per_minute = per_minute
        self._margin = margin
        self._second = second
        self._minute = minute
        self._throttling = throttling
        self._clock = clock
        self._sleep = sleep
        self._tokens = 0  # tokens of the shared budget leased and not spent yet ...
        self._tokens_until = float("-inf")  # ... spendable until then
        self._lease_after = float("-inf")  # no lease before then (the fleet's budget is spent, or it failed)
        self._own_until = float("-inf")  # the latest app pause we recorded in the shared budget ends by then
        self._publishing: set[asyncio.Task[None]] = set()
        self.leases = 0
        self._valid_for = 0.0  # how long a batch of the shared budget may be spent (known from the first lease)

    def spend(self) -> None:
        """A grant took one token."""
        self._tokens -= 1

    async def has_token(self, waiting: int, granted: int) -> bool:
        """Whether a token of the shared budget may be spent now; leases a batch when none is left (for at most
        the ``waiting`` callers; waiting first if the fleet's budget said when it has room again). Adopts the
        shared pause (``granted``: the grants made so far)."""
        now = self._clock()
        if self._tokens > 0 and now < self._tokens_until:
            return True
        if now < self._lease_after:
            await self._sleep(self._lease_after - now)
            return False
        # what can be spent while the batch is valid: slots that leave the window by then count as room
        room = self._throttling.qps(now) - self._second.used(now, ahead=self._valid_for)
        wanted = max(1, min(waiting, self._batch_max, room))
        try:
            lease = await self.budget.lease(wanted, self._throttling.max_qps, self._per_minute)
        except Exception as exc:  # the database is away: go on alone, as a process without a shared budget
            log.warning(
                "the app's shared request budget is unavailable (%s): this process limits itself alone for %.0fs",
                exc,
                SHARED_RETRY,
            )
            self._tokens, self._tokens_until = self._per_minute, now + SHARED_RETRY
            self._lease_after = now + SHARED_RETRY
            return True
        self.leases += 1
        after = self._clock()
        self._fleet_windows(lease.valid_for)
        self._throttling.adopt(lease, after, granted=granted, own_until=self._own_until)
        self._tokens, self._tokens_until = lease.tokens, now + lease.valid_for
        if lease.tokens == 0:
            self._lease_after = after + lease.retry_in
        return lease.tokens > 0 and self._clock() < self._tokens_until

    def _fleet_windows(self, valid_for: float) -> None:
        """Count this process's requests in windows as long as the fleet's (a second or a minute, plus the margin and
        a batch's ``valid_for``: the shared budget counts a batch from its lease, up to ``valid_for`` before its
        requests leave). With shorter windows the limiter asked the fleet as soon as its own requests left its
        second and was refused, in vain, until they had left the fleet's too: a lease more per second."""
        self._second.length = 1.0 + self._margin + valid_for
        self._minute.length = 60.0 + self._margin + valid_for
        self._valid_for = valid_for

    def publish(self, pause: float) -> None:
        """Record an app pause this process made in the shared budget, in the background."""
        try:
            task = asyncio.get_running_loop().create_task(self._record_pause(pause))
        except RuntimeError:  # no event loop (a synchronous test): nobody else to tell
            return
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def _record_pause(self, pause: float) -> None:
        try:
            await self.budget.pause(pause, self._throttling.slow_period)
            # the shared pause began while it was recorded: it ends no later than this, on our clock
            self._own_until = max(self._own_until, self._clock() + pause)
        except Exception as exc:
            log.warning("could not share the app's rate-limit pause with other processes: %s", exc)
