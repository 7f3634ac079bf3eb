"""What a poll reads besides its snapshot, in one read transaction (issue 18: each read transaction of its own
was a connection checkout, a BEGIN and a COMMIT more per poll): the advertiser's alert states, the silences
active at the poll's time, and the advertiser's live holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.domain import AlertState, Hold, Silence
from monitor.store.alerts import AlertKey, load_states
from monitor.store.db import reading
from monitor.store.holds import live_holds
from monitor.store.silences import active_at


@dataclass(frozen=True)
class PollReads:
    """``Alerts.load``, ``Silences.active`` and ``Holds.active`` of one advertiser at one time, read together."""

    alert_states: Mapping[AlertKey, AlertState]
    silences: Sequence[Silence]
    holds: Sequence[Hold]


async def poll_reads(engine: AsyncEngine, advertiser_id: str, now: datetime) -> PollReads:
    """The alert states and live holds of ``advertiser_id`` and the silences active at ``now``, in one read
    transaction."""
    async with reading(engine) as conn:
        states = await load_states(conn, advertiser_id)
        silences = await active_at(conn, now)
        holds = await live_holds(conn, advertiser_id, now)
    return PollReads(states, silences, holds)
