"""Whether an alert is muted at one poll: by a live silence that matches it, or outside its rule's active time.

A muted alert keeps its lifecycle (see :mod:`monitor.rules.lifecycle`): it pends, fires and resolves as always,
but neither notifies nor acts. Pure: the silences, the advertiser's time zone and ``now`` are passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import cached_property
from types import MappingProxyType

from monitor.domain import EntityKey, EntityState, Level, Silence, zone_or_utc
from monitor.domain.silences import alert_facts
from monitor.rules.model import Rule


@dataclass(frozen=True)
class Muting:
    """What mutes the alerts of ``advertiser_id`` at ``now``: ``silences`` (those not active at ``now`` are left
    out) and the rules' active times, read in ``zone`` (the advertiser's; None: UTC). ``names``: entity names to
    match when an entity is no longer returned (e.g. from the previous snapshot)."""

    advertiser_id: str
    now: datetime
    zone: tzinfo | str | None = None
    silences: tuple[Silence, ...] = ()
    names: Mapping[EntityKey, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(
        cls,
        advertiser_id: str,
        now: datetime,
        zone: tzinfo | str | None = None,
        silences: Iterable[Silence] = (),
        names: Mapping[EntityKey, str] | None = None,
    ) -> Muting:
        live = tuple(s for s in silences if s.active(now))
        return cls(advertiser_id, now, zone, live, MappingProxyType(dict(names or {})))

    @cached_property
    def local(self) -> datetime:
        """``now`` in the advertiser's time zone (what active hours are read in)."""
        return self.now.astimezone(zone_or_utc(self.zone))

    def reason(self, rule: Rule, level: Level, entity_id: str, entity: EntityState | None = None) -> str | None:
        """Why the alert of ``rule`` for the entity is muted ("silenced by #3 rule=x", "outside the rule's active
        time 08:00-20:00"), or None when it may notify and act."""
        if rule.active is not None and not rule.active.contains(self.local):
            return f"outside the rule's active time {rule.active}"
        if not self.silences:
            return None
        name = entity.name if entity is not None else None
        if name is None:
            name = self.names.get((level, entity_id))
        facts = alert_facts(rule.name, self.advertiser_id, level, entity_id, name)
        for silence in self.silences:
            if silence.matches(facts):
                return f"silenced by {silence.describe()}"
        return None
