"""Adaptive polling after each poll: when spend is projected to make a rule fire before the advertiser's next
scheduled poll (``PollSummary.crossing``).

:class:`CrossingForecast` is the pipeline's: it keeps each advertiser's last paces (:class:`monitor.pace.PaceBook`),
so a pace that rose in the last interval is projected at its recent speed (:func:`monitor.pace.paces`), and asks
:func:`monitor.adaptive.first_crossing` about the time up to the next poll of the advertiser's phase
(:func:`monitor.phases.next_poll_at`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from monitor.adaptive import Cadence, first_crossing
from monitor.domain import Snapshot
from monitor.pace import PaceBook, paces, velocities
from monitor.phases import next_poll_at
from monitor.rules.engine import Finding
from monitor.rules.model import RuleSet
from monitor.tiktok.models import AdvertiserInfo

__all__ = ["CrossingForecast"]


class CrossingForecast:
    """The first crossing after each poll, from the paces of the last interval and the one before it (kept here,
    per advertiser)."""

    def __init__(self) -> None:
        self._paces = PaceBook()

    def crossing(
        self,
        cadence: Cadence | None,
        ruleset: RuleSet,
        current: Snapshot,
        previous: Snapshot | None,
        info: AdvertiserInfo,
        now: datetime,
        found: Iterable[Finding],
    ) -> datetime | None:
        """When spend is projected to make a rule fire before the next poll at ``cadence``'s interval (None: no
        rule would newly fire by then, or adaptive polling is off: no ``cadence``); ``found``: this poll's
        findings."""
        if cadence is None:
            return None
        ahead = next_poll_at(info.id, cadence.interval, now + timedelta(microseconds=1)) - now
        last = velocities(current, previous)
        before = self._paces.recall(info.id, previous.taken_at if previous is not None else None)
        if previous is not None:  # else no pace is known, not "none grew"
            self._paces.remember(info.id, current.taken_at, last)
        span = current.taken_at - previous.taken_at if previous is not None else timedelta(0)
        speeds = paces(last, before, span, cadence.floor)
        zone, currency = info.timezone, info.currency
        return first_crossing(
            ruleset, current, previous, now, ahead, zone=zone, currency=currency, found=found, speeds=speeds
        )
