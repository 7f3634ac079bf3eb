"""The frozen value objects that leave ``store/``: what the rest of the daemon reads and hands in.

ORM rows never leave the package; every read returns these. Times are aware UTC datetimes. A metric the API did
not return is ``None`` (or absent), never 0, and the store keeps that distinction: ``None`` round-trips as
``None``, ``0`` as ``0`` and ``0.0`` as ``0.0``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from monitor.tiktok.models import Entity, Level, MetricValue

#: An entity within one advertiser: ``(Level.AD, "1790...")``.
EntityKey = tuple[Level, str]
#: Metrics of one entity: window (``"today"``, ``"yesterday"``, ``"last_7d"``, ...) -> metric name -> value.
Metrics = Mapping[str, Mapping[str, MetricValue]]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
#: Levels from the top of the tree down, for stable ordering.
LEVEL_ORDER = {level: rank for rank, level in enumerate(Level)}


def aware(moment: datetime, what: str = "time") -> datetime:
    """Refuse naive datetimes at the door: the store works in aware UTC only."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} {moment.isoformat()} is naive: the store takes aware datetimes (UTC)")
    return moment


def freeze(value: Any) -> Any:
    """A read-only deep copy of JSON-like data: dicts become mapping proxies, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def freeze_metrics(metrics: Metrics | None) -> Metrics:
    """Read-only metrics. Already frozen ones (proxies all the way down, as the store builds them) are kept as is."""
    if not metrics:
        return _EMPTY
    if type(metrics) is MappingProxyType and all(type(m) is MappingProxyType for m in metrics.values()):
        return metrics
    return MappingProxyType({str(w): MappingProxyType(dict(m)) for w, m in metrics.items()})


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """Canonical compact JSON (sorted keys, no NaN): equal data gives equal text, so text compares for change."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_thaw)


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
    metrics: Metrics = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        if type(self.level) is not Level:
            object.__setattr__(self, "level", Level(self.level))
        object.__setattr__(self, "metrics", freeze_metrics(self.metrics))

    @property
    def key(self) -> EntityKey:
        return (self.level, self.id)

    def metric(self, name: str, window: str = "today") -> MetricValue:
        """The value of one metric, ``None`` when the poll did not report it."""
        return self.metrics.get(window, _EMPTY).get(name)

    @classmethod
    def from_entity(cls, entity: Entity, metrics: Metrics | None = None) -> EntityState:
        """Combine what campaign|adgroup|ad/get returned with the report values for it."""
        return cls(
            level=entity.level,
            id=entity.id,
            advertiser_id=entity.advertiser_id,
            name=entity.name,
            operation_status=entity.operation_status,
            secondary_status=entity.secondary_status,
            budget=entity.budget,
            budget_mode=entity.budget_mode,
            campaign_id=entity.campaign_id,
            adgroup_id=entity.adgroup_id,
            metrics=metrics or _EMPTY,
        )


#: The entity fields a snapshot tracks and the diff compares (parent ids never change for an entity).
TRACKED_FIELDS = ("name", "operation_status", "secondary_status", "budget", "budget_mode")


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
        wanted = Level(level)
        return tuple(e for e in self.entities.values() if e.level is wanted)

    def __len__(self) -> int:
        return len(self.entities)


class PollStatus(enum.StrEnum):
    RUNNING = "running"  # the lease is held and the poll has not finished (or the process died)
    OK = "ok"  # committed: its snapshot is part of the history
    FAILED = "failed"  # rolled back; nothing but this row and the advertiser's last result was written
    ABANDONED = "abandoned"  # was still "running" when another poller took the expired lease over


@dataclass(frozen=True)
class PollRun:
    """One poll of one advertiser: when, by whom, how it ended, how many API calls and which errors."""

    id: int
    advertiser_id: str
    owner: str
    started_at: datetime
    finished_at: datetime | None
    status: PollStatus
    api_calls: int
    errors: tuple[str, ...]
    entities: int
    rows_written: int


@dataclass(frozen=True)
class AdvertiserRecord:
    """An advertiser the daemon watches, and the result of its last poll."""

    id: str
    name: str | None
    timezone: str | None
    currency: str | None
    status: str | None
    last_poll_id: int | None
    last_poll_at: datetime | None
    last_poll_status: PollStatus | None
    last_poll_error: str | None


@dataclass(frozen=True)
class AlertState:
    """Where one rule stands for one entity: the lifecycle's memory between polls.

    ``state`` is the lifecycle's own vocabulary (e.g. "pending", "firing", "resolved"): the store keeps it as text.
    ``values`` are the numbers the rule last saw (for messages and "no data" reasoning), ``None`` kept distinct.
    """

    rule: str
    advertiser_id: str
    level: Level
    entity_id: str
    state: str
    since: datetime
    last_notified_at: datetime | None = None
    values: Mapping[str, MetricValue] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", Level(self.level))
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    @property
    def key(self) -> tuple[str, Level, str]:
        return (self.rule, self.level, self.entity_id)


@dataclass(frozen=True)
class Notification:
    """A message to deliver, handed to the outbox inside the poll's transaction.

    ``channel`` is a configured channel name, optionally with a target ("slack:#other"). ``payload`` is the
    template context (JSON data). ``key`` groups messages about the same alert (e.g. "rule/level/id").
    """

    channel: str
    payload: Mapping[str, Any]
    advertiser_id: str | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload", freeze(self.payload))


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up: permanent error or out of attempts


@dataclass(frozen=True)
class OutboxMessage:
    """A row of the outbox: a notification and its delivery record."""

    id: int
    channel: str
    payload: Mapping[str, Any]
    advertiser_id: str | None
    key: str | None
    poll_id: int | None
    created_at: datetime
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class ActionIntent:
    """What an action is about to do, and why: journaled before the API call is made.

    ``before`` is what the entity looked like (e.g. ``{"operation_status": "ENABLE"}``), ``after`` what the action
    asks for (``{"operation_status": "DISABLE"}``). ``reverts`` names the journal entry this one undoes.
    """

    advertiser_id: str
    level: Level
    entity_id: str
    action: str
    reason: str
    before: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    after: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    rule: str | None = None
    dry_run: bool = False
    poll_id: int | None = None
    reverts: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", Level(self.level))
        object.__setattr__(self, "before", freeze(self.before))
        object.__setattr__(self, "after", freeze(self.after))


class ActionStatus(enum.StrEnum):
    PENDING = "pending"  # journaled, API call not (yet) answered: after a crash, check the entity before retrying
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DRY_RUN = "dry_run"  # nothing was sent


@dataclass(frozen=True)
class JournalEntry:
    """One journaled action: the intent, and once known its result, request ids and error."""

    id: int
    created_at: datetime
    intent: ActionIntent
    status: ActionStatus
    finished_at: datetime | None
    request_id: str | None
    error: str | None


def sorted_states(states: Iterable[EntityState]) -> list[EntityState]:
    """States from the top of the tree down, then by id: the order diffs and writes use."""
    return sorted(states, key=lambda s: (LEVEL_ORDER[s.level], s.id))


@dataclass(frozen=True)
class PruneReport:
    """What one pruning pass deleted."""

    cutoff: datetime
    polls: int = 0
    snapshot_rows: int = 0
    entities: int = 0
    outbox: int = 0
