"""The tables of polling and of who polls: ``advertisers`` (each one known, and its latest poll), ``polls`` (one
row per poll run; a snapshot exists for each poll with status "ok"), ``leases`` (serialize the pollers of one
advertiser: one row per advertiser being polled), ``replicas`` and ``shards`` (the running ``run`` processes and
the shards of advertisers they own: monitor.store.shards)."""

from __future__ import annotations

import sqlalchemy as sa

from monitor.store.models.schema import METADATA, BigId, fk, key, optional, required, timestamp


class AdvertiserRow:
    __table__ = sa.Table(
        "advertisers",
        METADATA,
        key("id"),
        optional("name"),
        optional("timezone"),
        optional("currency"),
        optional("status"),
        timestamp("created_at"),
        timestamp("updated_at"),
        optional("last_poll_id", sa.BigInteger),
        timestamp("last_poll_at", nullable=True),
        optional("last_poll_status"),
        optional("last_poll_error", sa.Text),
        optional("smart_plus", sa.Boolean),  # did its latest poll find Upgraded Smart+ campaigns (NULL: never known)
    )


class LeaseRow:
    __table__ = sa.Table(
        "leases",
        METADATA,
        key("advertiser_id", sa.String, fk("advertisers.id")),
        required("owner"),
        required("token"),
        timestamp("acquired_at"),
        timestamp("expires_at"),
    )


class ReplicaRow:
    """One running ``run`` process (``<host>:<pid>``): alive while its ``heartbeat_at`` is within the replica TTL
    (see monitor.store.shards). A clean stop deletes its row."""

    __table__ = sa.Table("replicas", METADATA, key("id"), timestamp("started_at"), timestamp("heartbeat_at"))


class ShardRow:
    """One of the ``SHARD_COUNT`` shards advertisers hash into: its ``owner`` (a replica id, NULL: nobody) and its
    ``epoch``, incremented on every change of owner, so a poll that saw epoch N commits only while it is still N."""

    __table__ = sa.Table(
        "shards",
        METADATA,
        key("shard", sa.Integer, autoincrement=False),
        optional("owner"),
        required("epoch", sa.BigInteger, default=0),
        timestamp("changed_at", nullable=True),
    )


class PollRow:
    __table__ = sa.Table(
        "polls",
        METADATA,
        key("id", BigId),
        required("advertiser_id", sa.String, fk("advertisers.id")),
        required("owner"),
        timestamp("started_at"),
        timestamp("finished_at", nullable=True),
        required("status"),
        required("api_calls", sa.Integer, default=0),
        required("errors", sa.Text, default="[]"),  # JSON list of messages
        required("entities", sa.Integer, default=0),
        required("rows_written", sa.Integer, default=0),
        # The history's resolution at this poll (migration 0013): 0 every poll, 1 hourly, 2 daily (monitor.store.tiers).
        required("tier", sa.SmallInteger, default=0, server_default=sa.text("0")),
        # Who changed which entity, as the poll read it from TikTok's Change Log (migration 0014): a JSON list of
        # [level, entity_id, who]; NULL when the poll learned nothing
        # (monitor.store.poll_writer.PollWriter.note_changed_by).
        optional("changed_by", sa.Text),
        sa.Index("ix_polls_advertiser_status_id", "advertiser_id", "status", "id"),
    )
