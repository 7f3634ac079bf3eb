"""The tables (Core), internal to ``store/``: rows are converted to :mod:`monitor.store.values` on the way out.

One module per part of the store that owns its tables, all in one :data:`METADATA` (:mod:`.schema`, with the column
type and shorthands): :mod:`.polling` (advertisers, polls, leases, replicas, shards), :mod:`.history` (entities and
their history), :mod:`.alerts` (alert states, holds, silences), :mod:`.actions` (journal, approvals, circuit
breaker), :mod:`.notify` (outbox, ops states), :mod:`.budget` (the shared API budget). Importing this package (or
any of its modules: Python runs this file first) registers every one of those tables; monitor.store.hourly adds
its own two.

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

from monitor.store.models.actions import ActionRow, ApprovalRow, BreakerRow
from monitor.store.models.alerts import AlertStateRow, HoldRow, SilenceRow
from monitor.store.models.budget import ApiBudgetLeaseRow, ApiBudgetRow
from monitor.store.models.history import EntityKeyRow, EntityRow, HistoryMetricsRow, HistoryNameRow, HistoryStateRow
from monitor.store.models.notify import OpsStateRow, OutboxRow
from monitor.store.models.polling import AdvertiserRow, LeaseRow, PollRow, ReplicaRow, ShardRow
from monitor.store.models.schema import METADATA, NAMING, BigId, StoreModel, UTCDateTime

__all__ = [
    "METADATA",
    "NAMING",
    "ActionRow",
    "AdvertiserRow",
    "AlertStateRow",
    "ApiBudgetLeaseRow",
    "ApiBudgetRow",
    "ApprovalRow",
    "BigId",
    "BreakerRow",
    "EntityKeyRow",
    "EntityRow",
    "HistoryMetricsRow",
    "HistoryNameRow",
    "HistoryStateRow",
    "HoldRow",
    "LeaseRow",
    "OpsStateRow",
    "OutboxRow",
    "PollRow",
    "ReplicaRow",
    "ShardRow",
    "SilenceRow",
    "StoreModel",
    "UTCDateTime",
]
