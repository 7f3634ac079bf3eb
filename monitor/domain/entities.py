"""Entities as one poll saw them (:class:`EntityState`) and everything one poll saw (:class:`Snapshot`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import compress
from operator import is_not
from types import MappingProxyType

from monitor.domain.levels import LEVEL_ORDER, Level
from monitor.domain.stored import StoredMetrics
from monitor.domain.values import EMPTY, Metrics, MetricValue, freeze_metrics

#: An entity within one advertiser: ``(Level.AD, "1790...")``.
EntityKey = tuple[Level, str]

#: An entity's own fields in :class:`EntityState`'s order, without its level and advertiser (those of a whole
#: list): ``(id, name, operation_status, secondary_status, budget, budget_mode, campaign_id, adgroup_id,
#: smart_plus)``. What a poll reads a list page into (monitor.tiktok.entity_rows).
EntityFields = tuple[str, str | None, str | None, str | None, float | None, str | None, str | None, str | None, bool]

#: The entity fields a snapshot tracks and the diff compares (parent ids never change for an entity).
TRACKED_FIELDS = ("name", "operation_status", "secondary_status", "budget", "budget_mode")


@dataclass(frozen=True, slots=True)  # slots: a snapshot holds 100,000s of these; less memory and GC work
class EntityState:
    """One campaign, ad group, ad (or the advertiser itself) as one poll saw it: fields and metrics per window."""

    level: Level
    id: str
    advertiser_id: str
    name: str | None = None
    operation_status: str | None = None
    secondary_status: str | None = None
    budget: float | None = None
    budget_mode: str | None = None
    campaign_id: str | None = None
    adgroup_id: str | None = None
    metrics: Metrics = field(default_factory=lambda: EMPTY)
    #: Part of an Upgraded Smart+ campaign: its status and budget are written through TikTok's smart_plus/*
    #: endpoints (and an ad's ``id`` is its smart_plus_ad_id). Read from the API each poll, not stored.
    smart_plus: bool = False
    #: Who changed its status or budget since the previous poll ("monitor", "another app", "a person", "TikTok";
    #: monitor.changes), from TikTok's Change Log; None: unchanged or not known. Set for one poll, not stored,
    #: and not compared (the diff and the store see the entity the API returned).
    changed_by: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if type(self.level) is not Level:
            object.__setattr__(self, "level", Level(self.level))
        if type(self.metrics) is not StoredMetrics:  # read-only already, and decoded only when read
            object.__setattr__(self, "metrics", freeze_metrics(self.metrics))

    @property
    def key(self) -> EntityKey:
        return (self.level, self.id)

    def with_changed_by(self, who: str | None) -> EntityState:
        """This entity with ``changed_by`` set to ``who``."""
        return replace(self, changed_by=who)

    def metric(self, name: str, window: str = "today") -> MetricValue:
        """The value of one metric, ``None`` when the poll did not report it."""
        return self.metrics.get(window, EMPTY).get(name)


@dataclass(frozen=True)
class Snapshot:
    """Everything one successful poll of one advertiser saw. ``entities`` is keyed by ``(level, id)``."""

    advertiser_id: str
    poll_id: int
    taken_at: datetime
    entities: Mapping[EntityKey, EntityState]

    def __post_init__(self) -> None:
        if not isinstance(self.entities, MappingProxyType):
            object.__setattr__(self, "entities", MappingProxyType(dict(self.entities)))

    def get(self, level: Level | str, entity_id: str) -> EntityState | None:
        return self.entities.get((Level(level), entity_id))

    def of_level(self, level: Level | str) -> tuple[EntityState, ...]:
        """The entities of one level, in the snapshot's order. The split by level is made in one pass on the first
        call and kept (the snapshot cannot change): the rules read it once per level and the debug tallies once per
        rule, each a pass over 100,000s of entities otherwise."""
        split: dict[Level, tuple[EntityState, ...]] | None = self.__dict__.get("_by_level")
        if split is None:
            lists: dict[Level, list[EntityState]] = {wanted: [] for wanted in Level}
            for entity in self.entities.values():
                lists[entity.level].append(entity)
            split = {wanted: tuple(entities) for wanted, entities in lists.items()}
            object.__setattr__(self, "_by_level", split)  # a cache, not a field: equality and repr ignore it
        return split[Level(level)]

    def __len__(self) -> int:
        return len(self.entities)


def sorted_states(states: Iterable[EntityState]) -> list[EntityState]:
    """States from the top of the tree down, then by id: the order diffs and writes use."""
    return sorted(states, key=lambda s: (LEVEL_ORDER[s.level], s.id))


def moved_keys(before: Mapping[EntityKey, EntityState], after: Mapping[EntityKey, EntityState]) -> list[EntityKey]:
    """The keys of ``after`` whose state is not the very object ``before`` holds for it (those not in ``before``
    too), in ``after``'s order: every other entity is its own previous state, so nothing about it changed. A poll's
    previous snapshot holds the new state itself for each entity the store found unchanged (monitor.store.lean:
    75-90 % of a large account's); worked out in C, without a Python step per entity."""
    return list(compress(after, map(is_not, map(before.get, after), after.values())))
