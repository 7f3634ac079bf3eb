"""The tables (SQLModel). Internal to ``store/``: rows are converted to :mod:`monitor.store.values` on the way out.

Layout and why:

* ``entities`` holds the *current* state of every entity ever seen (fields, metrics as canonical JSON, whether it
  is still present). A row is written only when something about the entity changed.
* the history is compact and delta-encoded (migration 0013, monitor.store.history_codec): ``entity_keys`` gives
  each entity a small integer ``sid``; ``history_states`` holds a row per entity per poll at which it appeared,
  disappeared or its status, budget or name changed; ``history_metrics`` a row per entity, report window and poll
  at which *that window's* values changed, packed against a metric set of ``history_names``. The snapshot of poll
  P is, per entity, its newest state row with ``poll_id <= P`` if that says present, with per window its newest
  window row ``<= P``. An unchanged entity costs nothing per poll. Both are ``WITHOUT ROWID`` tables on SQLite:
  the primary key is the table, no second copy of the key in an index.
* ``polls`` is one row per poll run; a snapshot exists for each poll with status "ok".
* ``leases`` serializes pollers of one advertiser (one row per advertiser being polled).
* ``holds`` are the spans during which rules leave a field of an entity alone (:class:`HoldRow`).

Indexes, one per read a poll makes: ``leases`` and ``advertisers`` by primary key; the newest successful poll
by ``ix_polls_advertiser_status_id``; the current entities of an advertiser by the ``entities`` primary key
(advertiser first); history reads and pruning by ``entity_keys``' unique key (advertiser first), then the
history tables' primary keys (sid, [window,] poll); alert states by their primary key (advertiser first); an
advertiser's live holds by ``ix_holds_advertiser_id_ends_at``; due outbox messages by
``ix_outbox_status_next_attempt_at``; an advertiser's journal by ``ix_actions_advertiser_id_id``, the writes of
the circuit breaker's window by ``ix_actions_created_at``; its newest episode by the ``breaker_episodes`` key.

Bulk reads and writes go through SQLAlchemy Core on these tables (``Model.__table__``), not the ORM session.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

#: Constraint names are explicit so future migrations (SQLite batch mode included) can refer to them.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out. PostgreSQL stores ``timestamptz``; SQLite, which has no time zones, stores
    naive UTC text in one fixed format, so comparisons and ordering stay correct. Naive input is refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store takes aware datetimes (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Integer primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(nullable: bool = False, **kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable, **kw)


def _text(nullable: bool = True) -> Any:
    return Field(default=None, sa_type=sa.String, nullable=nullable)


class StoreModel(SQLModel, registry=registry(metadata=sa.MetaData(naming_convention=NAMING))):
    """Base of the store's tables; its own metadata keeps them apart from any other SQLModel tables."""

    if TYPE_CHECKING:  # SQLModel sets it on every table=True class but does not declare it
        __table__: ClassVar[sa.Table]


class AdvertiserRow(StoreModel, table=True):
    __tablename__ = "advertisers"

    id: str = Field(primary_key=True, sa_type=sa.String)
    name: str | None = _text()
    timezone: str | None = _text()
    currency: str | None = _text()
    status: str | None = _text()
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    last_poll_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    last_poll_at: datetime | None = _ts(nullable=True, default=None)
    last_poll_status: str | None = _text()
    last_poll_error: str | None = Field(default=None, sa_type=sa.Text)


class LeaseRow(StoreModel, table=True):
    __tablename__ = "leases"

    advertiser_id: str = Field(primary_key=True, foreign_key="advertisers.id", sa_type=sa.String)
    owner: str = Field(sa_type=sa.String)
    token: str = Field(sa_type=sa.String)
    acquired_at: datetime = _ts()
    expires_at: datetime = _ts()


class ReplicaRow(StoreModel, table=True):
    """One running ``run`` process (``<host>:<pid>``): alive while its ``heartbeat_at`` is within the replica TTL
    (see monitor.store.shards). A clean stop deletes its row."""

    __tablename__ = "replicas"

    id: str = Field(primary_key=True, sa_type=sa.String)
    started_at: datetime = _ts()
    heartbeat_at: datetime = _ts()


class ShardRow(StoreModel, table=True):
    """One of the ``SHARD_COUNT`` shards advertisers hash into: its ``owner`` (a replica id, NULL: nobody) and its
    ``epoch``, incremented on every change of owner, so a poll that saw epoch N commits only while it is still N."""

    __tablename__ = "shards"

    shard: int = Field(primary_key=True, sa_type=sa.Integer, sa_column_kwargs={"autoincrement": False})
    owner: str | None = _text()
    epoch: int = Field(default=0, sa_type=sa.BigInteger)
    changed_at: datetime | None = _ts(nullable=True, default=None)


class PollRow(StoreModel, table=True):
    __tablename__ = "polls"
    __table_args__ = (sa.Index("ix_polls_advertiser_status_id", "advertiser_id", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    advertiser_id: str = Field(foreign_key="advertisers.id", sa_type=sa.String)
    owner: str = Field(sa_type=sa.String)
    started_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True, default=None)
    status: str = Field(sa_type=sa.String)
    api_calls: int = Field(default=0)
    errors: str = Field(default="[]", sa_type=sa.Text)  # JSON list of messages
    entities: int = Field(default=0)
    rows_written: int = Field(default=0)
    # The history's resolution at this poll (migration 0013): 0 every poll, 1 hourly, 2 daily (monitor.store.tiers).
    tier: int = Field(default=0, sa_type=sa.SmallInteger, sa_column_kwargs={"server_default": sa.text("0")})
    # Who changed which entity, as the poll read it from TikTok's Change Log (migration 0014): a JSON list of
    # [level, entity_id, who]; NULL when the poll learned nothing (monitor.store.poll.PollWriter.note_changed_by).
    changed_by: str | None = Field(default=None, sa_type=sa.Text, nullable=True)


class _EntityFields(StoreModel):
    """Columns shared by the current state and the history rows."""

    advertiser_id: str = Field(primary_key=True, sa_type=sa.String)
    level: str = Field(primary_key=True, sa_type=sa.String)
    entity_id: str = Field(primary_key=True, sa_type=sa.String)
    present: bool = Field(default=True)
    campaign_id: str | None = _text()
    adgroup_id: str | None = _text()
    name: str | None = _text()
    operation_status: str | None = _text()
    secondary_status: str | None = _text()
    budget: float | None = Field(default=None, sa_type=sa.Float)
    budget_mode: str | None = _text()
    metrics: str = Field(default="{}", sa_type=sa.Text)  # canonical JSON: {window: {metric: value|null}}


class EntityRow(_EntityFields, table=True):
    __tablename__ = "entities"
    __table_args__ = (sa.ForeignKeyConstraint(["advertiser_id"], ["advertisers.id"]),)

    first_seen_poll: int = Field(sa_type=sa.BigInteger)
    changed_poll: int = Field(sa_type=sa.BigInteger)  # the poll of its newest history state or window row


class EntityKeyRow(StoreModel, table=True):
    """The small integer key (``sid``) the history uses for an entity instead of its three text key columns."""

    __tablename__ = "entity_keys"
    __table_args__ = (
        sa.UniqueConstraint("advertiser_id", "level", "entity_id"),
        sa.ForeignKeyConstraint(
            ["advertiser_id", "level", "entity_id"],
            ["entities.advertiser_id", "entities.level", "entities.entity_id"],
        ),
    )

    sid: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    advertiser_id: str = Field(sa_type=sa.String)
    level: str = Field(sa_type=sa.String)
    entity_id: str = Field(sa_type=sa.String)


class HistoryStateRow(StoreModel, table=True):
    """An entity's state from poll ``poll_id`` on (see monitor.store.history_codec): written when it appears,
    disappears (``present`` false) or a status, budget or name changes. No foreign key to polls: the oldest kept
    row of an entity may outlive its pruned poll (it is the base state). On PostgreSQL the table is partitioned by
    day and has a ``day`` column this model leaves out (monitor.store.partitions)."""

    __tablename__ = "history_states"
    __table_args__ = (sa.ForeignKeyConstraint(["sid"], ["entity_keys.sid"]), {"sqlite_with_rowid": False})

    sid: int = Field(primary_key=True, sa_type=sa.BigInteger, sa_column_kwargs={"autoincrement": False})
    poll_id: int = Field(primary_key=True, sa_type=sa.BigInteger, sa_column_kwargs={"autoincrement": False})
    present: bool = Field(default=True)
    name: str | None = _text()
    operation_status: str | None = _text()
    secondary_status: str | None = _text()
    budget: float | None = Field(default=None, sa_type=sa.Float)
    budget_mode: str | None = _text()


class HistoryMetricsRow(StoreModel, table=True):
    """One report window's values of an entity from poll ``poll_id`` on, written when that window changed:
    ``vals`` a JSON array in the order of metric set ``metric_set`` (``history_names``); both null: the window
    is not reported from then on. ``window_id`` is a ``history_names`` id too. Partitioned by day on PostgreSQL,
    like ``history_states``."""

    __tablename__ = "history_metrics"
    __table_args__ = (sa.ForeignKeyConstraint(["sid"], ["entity_keys.sid"]), {"sqlite_with_rowid": False})

    sid: int = Field(primary_key=True, sa_type=sa.BigInteger, sa_column_kwargs={"autoincrement": False})
    window_id: int = Field(primary_key=True, sa_type=sa.Integer, sa_column_kwargs={"autoincrement": False})
    poll_id: int = Field(primary_key=True, sa_type=sa.BigInteger, sa_column_kwargs={"autoincrement": False})
    metric_set: int | None = Field(default=None, sa_type=sa.Integer)
    vals: str | None = Field(default=None, sa_type=sa.Text)


class HistoryNameRow(StoreModel, table=True):
    """The few texts the history refers to by number: window names and metric sets (a JSON list of names)."""

    __tablename__ = "history_names"
    __table_args__ = (sa.UniqueConstraint("kind", "value"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)
    kind: str = Field(sa_type=sa.String)
    value: str = Field(sa_type=sa.Text)


class AlertStateRow(StoreModel, table=True):
    __tablename__ = "alert_states"

    # Advertiser first: every poll loads the states of one advertiser through this primary key.
    advertiser_id: str = Field(primary_key=True, foreign_key="advertisers.id", sa_type=sa.String)
    rule: str = Field(primary_key=True, sa_type=sa.String)
    level: str = Field(primary_key=True, sa_type=sa.String)
    entity_id: str = Field(primary_key=True, sa_type=sa.String)
    state: str = Field(sa_type=sa.String)
    since: datetime = _ts()
    last_notified_at: datetime | None = _ts(nullable=True, default=None)
    last_values: str = Field(default="{}", sa_type=sa.Text)
    updated_at: datetime = _ts()
    # The firing was muted (silence, active time) and is still to be told and acted on (migration 0010).
    withheld: bool = Field(default=False, sa_type=sa.Boolean, sa_column_kwargs={"server_default": sa.false()})


class HoldRow(StoreModel, table=True):
    """A hold: rules leave ``field`` (operation_status, budget) of one entity alone from ``starts_at`` until
    ``ends_at`` (see :class:`monitor.domain.Hold`). One row per hold, never updated but to end it early (set
    ``ends_at``); a hold is live while ``ends_at`` is in the future, and pruned ``retention`` after it ended.

    ``created_by`` is who made it ("a person" seen undoing the monitor's change, "revert #13", later a user
    name), ``comment`` their note, ``journal_id`` the monitor's journal entry that was undone (no foreign key: it
    is a reference for people, and the hold means the same without it), ``value`` what the person set (JSON).

    Silences live beside this table with the same shape of columns (:class:`SilenceRow`).
    """

    __tablename__ = "holds"
    # Every poll reads the live holds of one advertiser: advertiser, then end.
    __table_args__ = (sa.Index("ix_holds_advertiser_id_ends_at", "advertiser_id", "ends_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    advertiser_id: str = Field(foreign_key="advertisers.id", sa_type=sa.String)
    level: str = Field(sa_type=sa.String)
    entity_id: str = Field(sa_type=sa.String)
    field: str = Field(sa_type=sa.String)
    starts_at: datetime = _ts()
    ends_at: datetime = _ts()
    created_by: str = Field(sa_type=sa.String)
    comment: str | None = Field(default=None, sa_type=sa.Text)
    journal_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    value: str | None = Field(default=None, sa_type=sa.Text)  # JSON
    created_at: datetime = _ts()


class SilenceRow(StoreModel, table=True):
    """A silence (see :class:`monitor.domain.Silence`): alerts matched by every one of ``matchers`` (JSON:
    ``[{"name", "value", "is_glob"}]``) neither notify nor act from ``starts_at`` until ``ends_at``. Never updated
    but to expire it (``ends_at`` set to the time of ``silence expire``); pruned ``retention`` after it ended.
    ``created_by`` is who made it, ``comment`` why."""

    __tablename__ = "silences"
    # Every poll reads the silences not yet ended.
    __table_args__ = (sa.Index("ix_silences_ends_at", "ends_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    matchers: str = Field(sa_type=sa.Text)
    starts_at: datetime = _ts()
    ends_at: datetime = _ts()
    created_by: str = Field(sa_type=sa.String)
    comment: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _ts()
    expired_by: str | None = _text()  # who ended it early (``silence expire --by``; migration 0011)


class ApprovalRow(StoreModel, table=True):
    """An action waiting for a person (:class:`monitor.domain.approvals.Approval`, migration 0011): made in the
    transaction of the poll that would have acted, one pending per alert; decided by a conditional update
    (``WHERE state = 'pending'``), so of two people approving at once one wins. ``change`` (the rule's action and
    the state before) and ``reason`` (the rule's values) are JSON. Pruned ``retention`` after it was decided."""

    __tablename__ = "approvals"
    # Status, the page and Slack read the pending ones (of an advertiser, or due to expire): state, then expiry.
    __table_args__ = (
        sa.Index("ix_approvals_state_expires_at", "state", "expires_at"),
        sa.Index("ix_approvals_advertiser_id_state", "advertiser_id", "state"),
    )

    id: str = Field(primary_key=True, sa_type=sa.String)
    advertiser_id: str = Field(foreign_key="advertisers.id", sa_type=sa.String)
    rule: str = Field(sa_type=sa.String)
    level: str = Field(sa_type=sa.String)
    entity_id: str = Field(sa_type=sa.String)
    entity_name: str | None = _text()
    change: str = Field(sa_type=sa.Text)
    reason: str = Field(default="{}", sa_type=sa.Text)
    requested_at: datetime = _ts()
    expires_at: datetime = _ts()
    state: str = Field(sa_type=sa.String)
    decided_by: str | None = _text()
    decided_at: datetime | None = _ts(nullable=True, default=None)
    journal_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    outcome: str | None = Field(default=None, sa_type=sa.Text)


class OpsStateRow(StoreModel, table=True):
    """What is remembered about one operational problem (:class:`monitor.notify.ops.OpsState`), so "told once"
    survives restarts and a cron'd ``once``: one row per (kind, subject), deleted when the problem clears.

    ``subject`` is an advertiser id, ``rules``, ``discovery:<account>``, or ``journal:<id>`` for an interrupted
    action that was told (so it is told once per journal entry).
    """

    __tablename__ = "ops_states"

    kind: str = Field(primary_key=True, sa_type=sa.String)
    subject: str = Field(primary_key=True, sa_type=sa.String)
    since: datetime = _ts()
    notified: bool = Field(default=False, sa_type=sa.Boolean)
    last_notified_at: datetime | None = _ts(nullable=True, default=None)
    failures: int = Field(default=0, sa_type=sa.Integer)
    detail: str = Field(default="", sa_type=sa.Text)
    updated_at: datetime = _ts()


class BreakerRow(StoreModel, table=True):
    """One opening of the actions' circuit breaker (:class:`monitor.domain.BreakerEpisode`): the newest row is
    the breaker's state (open while ``closed_at`` is null and ``breaker_reset`` has not passed). Rows are the
    breaker's journal: why it opened, what it held back (``held``: a JSON list, at most 50, ``held_count`` in
    all), when people were told (``told_at``: told once per opening), who closed it and when."""

    __tablename__ = "breaker_episodes"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    opened_at: datetime = _ts()
    reason: str = Field(sa_type=sa.Text)
    held: str = Field(default="[]", sa_type=sa.Text)
    held_count: int = Field(default=0, sa_type=sa.Integer)
    told_at: datetime | None = _ts(nullable=True, default=None)
    closed_at: datetime | None = _ts(nullable=True, default=None)
    closed_by: str | None = _text()


class OutboxRow(StoreModel, table=True):
    """A notification and its delivery record. ``status`` is pending until it is sent or given up (failed).

    A sender *claims* a pending row before delivering it: ``claimed_by`` names the sender, ``claimed_until`` is
    when the claim runs out. No other sender takes a row while its claim lasts; recording the result (sent, or a
    failed attempt) releases it (``claimed_until`` back to NULL; ``claimed_by`` stays, naming the last claimant).
    A claim that ran out without a result belonged to a sender that died or hung: another sender takes the row
    over, and asks the channel first whether it arrived (see monitor.store.outbox).
    """

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    created_at: datetime = _ts()
    advertiser_id: str | None = Field(default=None, foreign_key="advertisers.id", sa_type=sa.String)
    poll_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    channel: str = Field(sa_type=sa.String)
    key: str | None = _text()
    payload: str = Field(sa_type=sa.Text)
    status: str = Field(sa_type=sa.String)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = _ts(nullable=True, default=None)
    sent_at: datetime | None = _ts(nullable=True, default=None)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    claimed_by: str | None = _text()
    claimed_until: datetime | None = _ts(nullable=True, default=None)


class ActionRow(StoreModel, table=True):
    __tablename__ = "actions"
    # An advertiser's journal; the circuit breaker counts the real writes of the last window (every advertiser).
    __table_args__ = (
        sa.Index("ix_actions_advertiser_id_id", "advertiser_id", "id"),
        sa.Index("ix_actions_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    created_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True, default=None)
    advertiser_id: str = Field(foreign_key="advertisers.id", sa_type=sa.String)
    level: str = Field(sa_type=sa.String)
    entity_id: str = Field(sa_type=sa.String)
    action: str = Field(sa_type=sa.String)
    reason: str = Field(sa_type=sa.Text)
    rule: str | None = _text()
    dry_run: bool = Field(default=False)
    poll_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    reverts: int | None = Field(default=None, foreign_key="actions.id", sa_type=sa.BigInteger)
    before: str = Field(default="{}", sa_type=sa.Text)
    after: str = Field(default="{}", sa_type=sa.Text)
    status: str = Field(sa_type=sa.String)
    request_id: str | None = _text()
    error: str | None = Field(default=None, sa_type=sa.Text)
    approved_by: str | None = _text()  # who approved the rule's action (approvals, migration 0011)


class ApiBudgetRow(StoreModel, table=True):
    """The API budget of one developer app, shared by every process on this database (monitor.store.budget):
    the shared throttle pause. Times are seconds since the epoch on the database's clock (PostgreSQL) or the
    host's (SQLite, one host)."""

    __tablename__ = "api_budget"

    app: str = Field(primary_key=True, sa_type=sa.String)
    paused_until: float = Field(default=0.0, sa_type=sa.Double)  # every request of the app waits until then
    pause: float = Field(default=0.0, sa_type=sa.Double)  # the length of the latest pause (escalation)
    slow_until: float = Field(default=0.0, sa_type=sa.Double)  # half rate until then


class ApiBudgetLeaseRow(StoreModel, table=True):
    """One batch of request tokens a process leased at ``t``: spent within the lease's validity or never.
    Kept for the minute window, then deleted by the next lease."""

    __tablename__ = "api_budget_leases"
    __table_args__ = (sa.Index("ix_api_budget_leases_app_t", "app", "t"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    app: str = Field(sa_type=sa.String)
    t: float = Field(sa_type=sa.Double)
    tokens: int = Field(sa_type=sa.Integer)
