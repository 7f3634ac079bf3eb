"""An outbox sender's claims on the rows it delivers, when several senders share one database (replicas of
``run``; the rows' side: monitor.store.outbox).

A claim lasts ``CLAIM_MARGIN`` × ``send_timeout``; before each call to a channel the sender renews its claim if fewer
than ``RENEW_MARGIN`` × ``send_timeout`` are left (:meth:`Claims.keep`), so a claim never runs out during a delivery
of a live sender, and no two senders hold a row at once: each row is delivered once however many senders run. Only
the claimant records a result. A sender that dies (or hangs past its claim) leaves its rows claimed; once the claim
has run out, another sender takes them over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.clock import Clock
from monitor.notify.outbox_results import SendReport
from monitor.store import OutboxMessage, Store

#: The sender's logger: every line about delivering and recording the outbox's rows goes to one logger name.
log = logging.getLogger("monitor.notify.outbox")

#: A claim lasts this many ``send_timeout``s ...
CLAIM_MARGIN = 3
#: ... and is renewed before a call to a channel when fewer than this many are left: the call (at most one
#: ``send_timeout``) and the recording of its result fit in what is left.
RENEW_MARGIN = 2


@dataclass
class Held:
    """One channel task's share of a claim: until when it lasts, and the rows lost to another sender."""

    until: datetime
    lost: set[int] = field(default_factory=set)


class Claims:
    """The claims of one sender (``claimant``) whose calls to a channel take at most ``send_timeout`` seconds."""

    def __init__(self, store: Store, clock: Clock, claimant: str, send_timeout: float) -> None:
        self._store = store
        self._clock = clock
        self._claimant = claimant
        #: how long a claim lasts from when it is made or renewed
        self.lasts = timedelta(seconds=send_timeout * CLAIM_MARGIN)
        self._renew_below = timedelta(seconds=send_timeout * RENEW_MARGIN)

    async def keep(self, rows: list[OutboxMessage], held: Held, report: SendReport) -> None:
        """Before a call to a channel: renew the claim on ``rows`` if the call might outlast it."""
        now = self._clock.now()
        if held.until - now >= self._renew_below:
            return
        wanted = [row.id for row in rows if row.id not in held.lost]
        until = now + self.lasts
        kept = await self._store.outbox.renew(wanted, self._claimant, until)
        held.until = until
        for row_id in set(wanted) - kept:
            held.lost.add(row_id)
            report.lost += 1
            log.warning("outbox row %s: this sender's claim ran out and another sender took it over", row_id)
