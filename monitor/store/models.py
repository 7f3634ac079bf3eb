"""The tables (Core), internal to ``store/``: rows are converted to :mod:`monitor.store.values` on the way out.

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

Every read and write goes through SQLAlchemy Core. Each table is a plain ``sa.Table``, the ``__table__`` of a
class named after its rows (``PollRow.__table__``), with no ORM mapping and no validating model: they were
SQLModel classes until issue 18, and building those (sqlmodel's import, a mapper and a pydantic model per table)
cost about 120 ms of every command's start-up, against about 10 ms for the tables themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa

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


def _ts(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, UTCDateTime, nullable=nullable)


def _text(name: str, type_: Any = sa.String, *args: Any) -> sa.Column[Any]:
    """A column that may be NULL."""
    return sa.Column(name, type_, *args, nullable=True)


def _req(name: str, type_: Any = sa.String, *args: Any, **kw: Any) -> sa.Column[Any]:
    """A column that may not be NULL; ``default``: the value an insert that leaves it out writes."""
    return sa.Column(name, type_, *args, nullable=False, **kw)


def _key(name: str, type_: Any = sa.String, *args: Any, **kw: Any) -> sa.Column[Any]:
    """A column of the primary key."""
    return sa.Column(name, type_, *args, primary_key=True, nullable=False, **kw)


def _fk(target: str) -> sa.ForeignKey:
    return sa.ForeignKey(target)


#: Every table of the store (alembic's target: monitor.store.migrations.env; tests/store/test_migrations.py).
METADATA = sa.MetaData(naming_convention=NAMING)


class StoreModel:
    """The store's tables' metadata: ``StoreModel.metadata``."""

    metadata: ClassVar[sa.MetaData] = METADATA


class AdvertiserRow:
    __table__ = sa.Table(
        "advertisers",
        METADATA,
        _key("id"),
        _text("name"),
        _text("timezone"),
        _text("currency"),
        _text("status"),
        _ts("created_at"),
        _ts("updated_at"),
        _text("last_poll_id", sa.BigInteger),
        _ts("last_poll_at", nullable=True),
        _text("last_poll_status"),
        _text("last_poll_error", sa.Text),
        _text("smart_plus", sa.Boolean),  # did its latest poll find Upgraded Smart+ campaigns (NULL: never known)
    )


class LeaseRow:
    __table__ = sa.Table(
        "leases",
        METADATA,
        _key("advertiser_id", sa.String, _fk("advertisers.id")),
        _req("owner"),
        _req("token"),
        _ts("acquired_at"),
        _ts("expires_at"),
    )


class ReplicaRow:
    """One running ``run`` process (``<host>:<pid>``): alive while its ``heartbeat_at`` is within the replica TTL
    (see monitor.store.shards). A clean stop deletes its row."""

    __table__ = sa.Table("replicas", METADATA, _key("id"), _ts("started_at"), _ts("heartbeat_at"))


class ShardRow:
    """One of the ``SHARD_COUNT`` shards advertisers hash into: its ``owner`` (a replica id, NULL: nobody) and its
    ``epoch``, incremented on every change of owner, so a poll that saw epoch N commits only while it is still N."""

    __table__ = sa.Table(
        "shards",
        METADATA,
        _key("shard", sa.Integer, autoincrement=False),
        _text("owner"),
        _req("epoch", sa.BigInteger, default=0),
        _ts("changed_at", nullable=True),
    )


class PollRow:
    __table__ = sa.Table(
        "polls",
        METADATA,
        _key("id", BigId),
        _req("advertiser_id", sa.String, _fk("advertisers.id")),
        _req("owner"),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        _req("status"),
        _req("api_calls", sa.Integer, default=0),
        _req("errors", sa.Text, default="[]"),  # JSON list of messages
        _req("entities", sa.Integer, default=0),
        _req("rows_written", sa.Integer, default=0),
        # The history's resolution at this poll (migration 0013): 0 every poll, 1 hourly, 2 daily (monitor.store.tiers).
        _req("tier", sa.SmallInteger, default=0, server_default=sa.text("0")),
        # Who changed which entity, as the poll read it from TikTok's Change Log (migration 0014): a JSON list of
        # [level, entity_id, who]; NULL when the poll learned nothing
        # (monitor.store.poll_writer.PollWriter.note_changed_by).
        _text("changed_by", sa.Text),
        sa.Index("ix_polls_advertiser_status_id", "advertiser_id", "status", "id"),
    )


def _entity_fields() -> list[sa.Column[Any]]:
    """Columns shared by the current state and the history rows."""
    return [
        _key("advertiser_id"),
        _key("level"),
        _key("entity_id"),
        _req("present", sa.Boolean, default=True),
        _text("campaign_id"),
        _text("adgroup_id"),
        _text("name"),
        _text("operation_status"),
        _text("secondary_status"),
        _text("budget", sa.Float),
        _text("budget_mode"),
        _req("metrics", sa.Text, default="{}"),  # canonical JSON: {window: {metric: value|null}}
    ]


class EntityRow:
    __table__ = sa.Table(
        "entities",
        METADATA,
        *_entity_fields(),
        _req("first_seen_poll", sa.BigInteger),
        _req("changed_poll", sa.BigInteger),  # the poll of its newest history state or window row
        sa.ForeignKeyConstraint(["advertiser_id"], ["advertisers.id"]),
    )


class EntityKeyRow:
    """The small integer key (``sid``) the history uses for an entity instead of its three text key columns."""

    __table__ = sa.Table(
        "entity_keys",
        METADATA,
        _key("sid", BigId),
        _req("advertiser_id"),
        _req("level"),
        _req("entity_id"),
        sa.UniqueConstraint("advertiser_id", "level", "entity_id"),
        sa.ForeignKeyConstraint(
            ["advertiser_id", "level", "entity_id"],
            ["entities.advertiser_id", "entities.level", "entities.entity_id"],
        ),
    )


class HistoryStateRow:
    """An entity's state from poll ``poll_id`` on (see monitor.store.history_codec): written when it appears,
    disappears (``present`` false) or a status, budget or name changes. No foreign key to polls: the oldest kept
    row of an entity may outlive its pruned poll (it is the base state). On PostgreSQL the table is partitioned by
    day and has a ``day`` column this model leaves out (monitor.store.partitions)."""

    __table__ = sa.Table(
        "history_states",
        METADATA,
        _key("sid", sa.BigInteger, autoincrement=False),
        _key("poll_id", sa.BigInteger, autoincrement=False),
        _req("present", sa.Boolean, default=True),
        _text("name"),
        _text("operation_status"),
        _text("secondary_status"),
        _text("budget", sa.Float),
        _text("budget_mode"),
        sa.ForeignKeyConstraint(["sid"], ["entity_keys.sid"]),
        sqlite_with_rowid=False,
    )


class HistoryMetricsRow:
    """One report window's values of an entity from poll ``poll_id`` on, written when that window changed:
    ``vals`` a JSON array in the order of metric set ``metric_set`` (``history_names``); both null: the window
    is not reported from then on. ``window_id`` is a ``history_names`` id too. Partitioned by day on PostgreSQL,
    like ``history_states``."""

    __table__ = sa.Table(
        "history_metrics",
        METADATA,
        _key("sid", sa.BigInteger, autoincrement=False),
        _key("window_id", sa.Integer, autoincrement=False),
        _key("poll_id", sa.BigInteger, autoincrement=False),
        _text("metric_set", sa.Integer),
        _text("vals", sa.Text),
        sa.ForeignKeyConstraint(["sid"], ["entity_keys.sid"]),
        sqlite_with_rowid=False,
    )


class HistoryNameRow:
    """The few texts the history refers to by number: window names and metric sets (a JSON list of names)."""

    __table__ = sa.Table(
        "history_names",
        METADATA,
        _key("id", sa.Integer),
        _req("kind"),
        _req("value", sa.Text),
        sa.UniqueConstraint("kind", "value"),
    )


class AlertStateRow:
    __table__ = sa.Table(
        "alert_states",
        METADATA,
        # Advertiser first: every poll loads the states of one advertiser through this primary key.
        _key("advertiser_id", sa.String, _fk("advertisers.id")),
        _key("rule"),
        _key("level"),
        _key("entity_id"),
        _req("state"),
        _ts("since"),
        _ts("last_notified_at", nullable=True),
        _req("last_values", sa.Text, default="{}"),
        _ts("updated_at"),
        # The firing was muted (silence, active time) and is still to be told and acted on (migration 0010).
        _req("withheld", sa.Boolean, default=False, server_default=sa.false()),
    )


class HoldRow:
    """A hold: rules leave ``field`` (operation_status, budget) of one entity alone from ``starts_at`` until
    ``ends_at`` (see :class:`monitor.domain.Hold`). One row per hold, never updated but to end it early (set
    ``ends_at``); a hold is live while ``ends_at`` is in the future, and pruned ``retention`` after it ended.

    ``created_by`` is who made it ("a person" seen undoing the monitor's change, "revert #13", later a user
    name), ``comment`` their note, ``journal_id`` the monitor's journal entry that was undone (no foreign key: it
    is a reference for people, and the hold means the same without it), ``value`` what the person set (JSON).

    Silences live beside this table with the same shape of columns (:class:`SilenceRow`).
    """

    __table__ = sa.Table(
        "holds",
        METADATA,
        _key("id", BigId),
        _req("advertiser_id", sa.String, _fk("advertisers.id")),
        _req("level"),
        _req("entity_id"),
        _req("field"),
        _ts("starts_at"),
        _ts("ends_at"),
        _req("created_by"),
        _text("comment", sa.Text),
        _text("journal_id", sa.BigInteger),
        _text("value", sa.Text),  # JSON
        _ts("created_at"),
        # Every poll reads the live holds of one advertiser: advertiser, then end.
        sa.Index("ix_holds_advertiser_id_ends_at", "advertiser_id", "ends_at"),
    )


class SilenceRow:
    """A silence (see :class:`monitor.domain.Silence`): alerts matched by every one of ``matchers`` (JSON:
    ``[{"name", "value", "is_glob"}]``) neither notify nor act from ``starts_at`` until ``ends_at``. Never updated
    but to expire it (``ends_at`` set to the time of ``silence expire``); pruned ``retention`` after it ended.
    ``created_by`` is who made it, ``comment`` why."""

    __table__ = sa.Table(
        "silences",
        METADATA,
        _key("id", BigId),
        _req("matchers", sa.Text),
        _ts("starts_at"),
        _ts("ends_at"),
        _req("created_by"),
        _text("comment", sa.Text),
        _ts("created_at"),
        _text("expired_by"),  # who ended it early (``silence expire --by``; migration 0011)
        # Every poll reads the silences not yet ended.
        sa.Index("ix_silences_ends_at", "ends_at"),
    )


class ApprovalRow:
    """An action waiting for a person (:class:`monitor.domain.approvals.Approval`, migration 0011): made in the
    transaction of the poll that would have acted, one pending per alert; decided by a conditional update
    (``WHERE state = 'pending'``), so of two people approving at once one wins. ``change`` (the rule's action and
    the state before) and ``reason`` (the rule's values) are JSON. Pruned ``retention`` after it was decided."""

    __table__ = sa.Table(
        "approvals",
        METADATA,
        _key("id"),
        _req("advertiser_id", sa.String, _fk("advertisers.id")),
        _req("rule"),
        _req("level"),
        _req("entity_id"),
        _text("entity_name"),
        _req("change", sa.Text),
        _req("reason", sa.Text, default="{}"),
        _ts("requested_at"),
        _ts("expires_at"),
        _req("state"),
        _text("decided_by"),
        _ts("decided_at", nullable=True),
        _text("journal_id", sa.BigInteger),
        _text("outcome", sa.Text),
        # Status, the page and Slack read the pending ones (of an advertiser, or due to expire): state, then expiry.
        sa.Index("ix_approvals_state_expires_at", "state", "expires_at"),
        sa.Index("ix_approvals_advertiser_id_state", "advertiser_id", "state"),
    )


class OpsStateRow:
    """What is remembered about one operational problem (:class:`monitor.notify.ops.OpsState`), so "told once"
    survives restarts and a cron'd ``once``: one row per (kind, subject), deleted when the problem clears.

    ``subject`` is an advertiser id, ``rules``, ``discovery:<account>``, or ``journal:<id>`` for an interrupted
    action that was told (so it is told once per journal entry).
    """

    __table__ = sa.Table(
        "ops_states",
        METADATA,
        _key("kind"),
        _key("subject"),
        _ts("since"),
        _req("notified", sa.Boolean, default=False),
        _ts("last_notified_at", nullable=True),
        _req("failures", sa.Integer, default=0),
        _req("detail", sa.Text, default=""),
        _ts("updated_at"),
    )


class BreakerRow:
    """One opening of the actions' circuit breaker (:class:`monitor.domain.BreakerEpisode`): the newest row is
    the breaker's state (open while ``closed_at`` is null and ``breaker_reset`` has not passed). Rows are the
    breaker's journal: why it opened, what it held back (``held``: a JSON list, at most 50, ``held_count`` in
    all), when people were told (``told_at``: told once per opening), who closed it and when."""

    __table__ = sa.Table(
        "breaker_episodes",
        METADATA,
        _key("id", BigId),
        _ts("opened_at"),
        _req("reason", sa.Text),
        _req("held", sa.Text, default="[]"),
        _req("held_count", sa.Integer, default=0),
        _ts("told_at", nullable=True),
        _ts("closed_at", nullable=True),
        _text("closed_by"),
    )


class OutboxRow:
    """A notification and its delivery record. ``status`` is pending until it is sent or given up (failed).

    A sender *claims* a pending row before delivering it: ``claimed_by`` names the sender, ``claimed_until`` is
    when the claim runs out. No other sender takes a row while its claim lasts; recording the result (sent, or a
    failed attempt) releases it (``claimed_until`` back to NULL; ``claimed_by`` stays, naming the last claimant).
    A claim that ran out without a result belonged to a sender that died or hung: another sender takes the row
    over, and asks the channel first whether it arrived (see monitor.store.outbox).
    """

    __table__ = sa.Table(
        "outbox",
        METADATA,
        _key("id", BigId),
        _ts("created_at"),
        _text("advertiser_id", sa.String, _fk("advertisers.id")),
        _text("poll_id", sa.BigInteger),
        _req("channel"),
        _text("key"),
        _req("payload", sa.Text),
        _req("status"),
        _req("attempts", sa.Integer, default=0),
        _ts("next_attempt_at", nullable=True),
        _ts("sent_at", nullable=True),
        _text("last_error", sa.Text),
        _text("claimed_by"),
        _ts("claimed_until", nullable=True),
        sa.Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )


class ActionRow:
    __table__ = sa.Table(
        "actions",
        METADATA,
        _key("id", BigId),
        _ts("created_at"),
        _ts("finished_at", nullable=True),
        _req("advertiser_id", sa.String, _fk("advertisers.id")),
        _req("level"),
        _req("entity_id"),
        _req("action"),
        _req("reason", sa.Text),
        _text("rule"),
        _req("dry_run", sa.Boolean, default=False),
        _text("poll_id", sa.BigInteger),
        _text("reverts", sa.BigInteger, _fk("actions.id")),
        _req("before", sa.Text, default="{}"),
        _req("after", sa.Text, default="{}"),
        _req("status"),
        _text("request_id"),
        _text("error", sa.Text),
        _text("approved_by"),  # who approved the rule's action (approvals, migration 0011)
        # An advertiser's journal; the circuit breaker counts the real writes of the last window (every advertiser).
        sa.Index("ix_actions_advertiser_id_id", "advertiser_id", "id"),
        sa.Index("ix_actions_created_at", "created_at"),
    )


class ApiBudgetRow:
    """The API budget of one developer app, shared by every process on this database (monitor.store.budget):
    the shared throttle pause. Times are seconds since the epoch on the database's clock (PostgreSQL) or the
    host's (SQLite, one host)."""

    __table__ = sa.Table(
        "api_budget",
        METADATA,
        _key("app"),
        _req("paused_until", sa.Double, default=0.0),  # every request of the app waits until then
        _req("pause", sa.Double, default=0.0),  # the length of the latest pause (escalation)
        _req("slow_until", sa.Double, default=0.0),  # half rate until then
    )


class ApiBudgetLeaseRow:
    """One batch of request tokens a process leased at ``t``: spent within the lease's validity or never.
    Kept for the minute window, then deleted by the next lease."""

    __table__ = sa.Table(
        "api_budget_leases",
        METADATA,
        _key("id", BigId),
        _req("app"),
        _req("t", sa.Double),
        _req("tokens", sa.Integer),
        sa.Index("ix_api_budget_leases_app_t", "app", "t"),
    )
