"""Holds: while one is live, rules leave one field (status or budget) of one entity alone.

A hold is made when a person undoes a change the monitor made: seen in the diff between two polls ("a person"
re-enabled what a rule paused, set another budget) or done with ``tiktok-monitor revert`` ("revert #13"). It
lasts ``override_hold`` from then. The store keeps holds in a table of their own; the guards read the live ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.domain.entities import EntityKey
from monitor.domain.levels import Level
from monitor.domain.values import aware

#: Who made a hold seen in the diff; a revert's hold is made by "revert #<journal id of the revert>".
A_PERSON = "a person"


@dataclass(frozen=True)
class Hold:
    """Rules leave ``field`` of the entity ``key`` of ``advertiser_id`` alone from ``since`` until ``until``.

    ``journal_id`` is the monitor's journal entry that was undone, ``value`` what the person set (a status, a
    budget), ``by`` who made the hold ("a person", "revert #13", later a user name), ``comment`` a note from
    them. ``id`` is the store's: None until the hold is stored (it takes no part in equality).
    """

    advertiser_id: str
    key: EntityKey
    field: str
    since: datetime
    until: datetime
    journal_id: int | None = None
    value: Any = None
    by: str = A_PERSON
    comment: str | None = None
    id: int | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        level, entity_id = self.key
        object.__setattr__(self, "key", (Level(level), str(entity_id)))
        aware(self.since, "hold start")
        aware(self.until, "hold end")

    @property
    def level(self) -> Level:
        return self.key[0]

    @property
    def entity_id(self) -> str:
        return self.key[1]

    def live(self, now: datetime) -> bool:
        """Whether rules must still leave the field alone at ``now`` (only the end counts: a hold made a moment
        after a poll read its clock holds for that poll too)."""
        return now < self.until

    def describe(self) -> str:
        what = "status" if self.field == "operation_status" else "budget"
        undone = f" after journal #{self.journal_id}" if self.journal_id is not None else ""
        return (
            f"{self.by} set it to {self.value} at {self.since:%Y-%m-%d %H:%M} UTC{undone}; rules leave its {what} "
            f"alone until {self.until:%Y-%m-%d %H:%M} UTC (override_hold)"
        )
