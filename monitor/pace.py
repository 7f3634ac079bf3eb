"""Adaptive polling's spend pace (pure estimates, and the little memory they need between polls).

The pace of an entity is the growth of today's spend between two snapshots, divided by the time between them
(:func:`velocities`). Averaged over a whole interval it hides a change of pace: an ad that began to spend fast
shortly before a poll looks slow at that poll, and the projection (:mod:`monitor.adaptive`) then sees its crossing
too late, or not before the next scheduled poll at all.

:func:`paces` looks at the last two intervals instead of one. When the pace of the last interval is at least
:data:`RISE` times the pace of the interval before (the entity **accelerated**), the extra spend of the last
interval (what it spent beyond the earlier pace) is taken to have come within the last ``floor`` of it (the
least gap between polls, ``[monitor] min_poll_gap``): the latest a change of pace can have begun for the monitor
to be able to look again sooner. That is the fastest pace consistent with what was seen that another poll could
still tell apart, so the projection asks for an extra poll early enough to *measure* the pace; the extra poll's
own interval is then about ``floor`` long, its average pace is the current one, and the next projection finds
the crossing at its time. The span is never shorter than the last :data:`MAX_STRETCH`-th of the interval (at a
1-hour interval and a 15 s gap, assuming the last 15 s would make every ad within 240 times its rise of a
threshold ask for polls). An entity whose pace did not at least double, or whose last interval is no longer than
``floor``, keeps its average pace: noise in a steady spender is not amplified.

:class:`PaceBook` keeps, per advertiser, the paces of its last poll (only entities whose spend grew), so the
next poll knows the interval before its own; after a gap in the chain (a restart, a failed poll) there is no
earlier pace and the average pace is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.domain import EntityKey, EntityState, Snapshot

__all__ = ["MAX_STRETCH", "RISE", "PaceBook", "paces", "spend_in", "velocities"]

#: The pace of the last interval must be at least this many times the pace of the one before to count as a rise.
RISE = 2.0
#: The extra spend of a rise is assumed within the last ``1 / MAX_STRETCH`` of the interval at the shortest.
MAX_STRETCH = 4.0
#: A snapshot read back from the store is the poll remembered when their times differ by less than this.
SAME_POLL = timedelta(seconds=1)


def spend_in(entity: EntityState | None, window: str) -> float | None:
    """The entity's spend in ``window`` as a float, or None (no entity, no report row, not a number)."""
    value = entity.metric("spend", window) if entity is not None else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def velocities(current: Snapshot, previous: Snapshot | None) -> dict[EntityKey, float]:
    """Spend per second of each entity whose today's spend grew since ``previous`` (none without one, or when
    the local day began in between: today's spend fell)."""
    if previous is None:
        return {}
    seconds = (current.taken_at - previous.taken_at).total_seconds()
    if seconds <= 0:
        return {}
    found: dict[EntityKey, float] = {}
    for key, entity in current.entities.items():
        now, before = spend_in(entity, "today"), spend_in(previous.entities.get(key), "today")
        if now is not None and before is not None and now > before:
            found[key] = (now - before) / seconds
    return found


def paces(
    last: Mapping[EntityKey, float],
    before: Mapping[EntityKey, float] | None,
    last_interval: timedelta,
    floor: timedelta,
) -> dict[EntityKey, float]:
    """The pace to project each entity of ``last`` at (spend per second; see the module docstring).

    ``last``: the paces over the last interval (``last_interval`` long); ``before``: those over the interval
    before it (an entity missing from it did not spend then), None when unknown: ``last`` as it is."""
    if before is None or last_interval <= floor or floor <= timedelta(0):
        return dict(last)
    # how many times shorter than the interval the extra spend's assumed span is
    stretch = min(last_interval / floor, MAX_STRETCH)
    found: dict[EntityKey, float] = {}
    for key, pace in last.items():
        earlier = before.get(key, 0.0)
        found[key] = earlier + (pace - earlier) * stretch if pace >= RISE * earlier else pace
    return found


@dataclass(frozen=True, slots=True)
class _Entry:
    taken_at: datetime
    paces: Mapping[EntityKey, float]


class PaceBook:
    """The paces of each advertiser's last poll, to be the next poll's ``before`` (:func:`paces`)."""

    def __init__(self) -> None:
        self._last: dict[str, _Entry] = {}

    def recall(self, advertiser_id: str, previous_at: datetime | None) -> Mapping[EntityKey, float] | None:
        """The paces remembered for the advertiser's poll at ``previous_at`` (this poll's previous snapshot), or
        None when the last remembered poll is another one (or none)."""
        entry = self._last.get(advertiser_id)
        if entry is None or previous_at is None or abs(entry.taken_at - previous_at) > SAME_POLL:
            return None
        return entry.paces

    def remember(self, advertiser_id: str, taken_at: datetime, found: Mapping[EntityKey, float]) -> None:
        """Keep the paces of the advertiser's poll taken at ``taken_at`` (replacing the earlier ones)."""
        self._last[advertiser_id] = _Entry(taken_at, dict(found))
