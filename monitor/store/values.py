"""The store's own frozen value objects: poll runs, advertiser records, outbox rows, journal entries.

Entity states, snapshots and alert states are the daemon's shared vocabulary and live in :mod:`monitor.domain`.

ORM rows never leave the package; every read returns these. Times are aware UTC datetimes. A metric the API did
not return is ``None`` (or absent), never 0, and the store keeps that distinction: ``None`` round-trips as
``None``, ``0`` as ``0`` and ``0.0`` as ``0.0``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.domain import Level
from monitor.domain.values import EMPTY as _EMPTY
from monitor.domain.values import freeze


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """Canonical compact JSON (sorted keys, no NaN): equal data gives equal text, so text compares for change."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_thaw)


class PollStatus(enum.StrEnum):
    RUNNING = "running"  # the lease is held and the poll has not finished (or the process died)
    OK = "ok"  # committed: its snapshot is part of the history
    FAILED = "failed"  # rolled back; nothing but this row and the advertiser's last result was written
    ABANDONED = "abandoned"  # was still "running" when another poller took the expired lease over
    MERGED = "merged"  # older than its tier's resolution: merged into its span's kept poll (monitor.store.compact)


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
    #: Whether its latest successful poll that could tell found Upgraded Smart+ campaigns (None: never known).
    smart_plus: bool | None = None


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
    claimed_by: str | None = None  # the sender delivering it (or, once released, the last one that did)
    claimed_until: datetime | None = None  # when that claim runs out; None: not claimed


@dataclass(frozen=True)
class OutboxBacklog:
    """The pending messages of one channel (as rows name it: ``slack``, ``slack:#ops``): how many, how many of
    them failed an attempt already (waiting for a retry), and when the oldest was queued."""

    channel: str
    pending: int
    retrying: int
    oldest: datetime


@dataclass(frozen=True)
class OutboxClaim:
    """The rows one sender claimed: no other sender takes them before ``until`` unless this one releases them.

    ``taken_over`` maps the id of each row whose previous claim had run out without a result (its sender died,
    hung, or this sender's own earlier run was interrupted) to that claimant: such a row may have been delivered
    already, so the channel is asked first where it can tell.
    """

    claimant: str
    until: datetime
    messages: tuple[OutboxMessage, ...] = ()
    taken_over: Mapping[int, str] = field(default_factory=dict)


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
    approved_by: str | None = None  # who approved the rule's action (``approve`` rules), else None

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


@dataclass(frozen=True)
class PruneReport:
    """What one pruning pass deleted."""

    cutoff: datetime
    polls: int = 0
    history_rows: int = 0  # state and window rows (monitor.store.history_codec)
    entities: int = 0
    outbox: int = 0
    holds: int = 0
    silences: int = 0
    approvals: int = 0
    days_dropped: int = 0  # PostgreSQL: history partitions dropped whole (monitor.store.partition_drop)
    breaker_episodes: int = 0  # closed before the cutoff, never the newest (monitor.store.breaker)
