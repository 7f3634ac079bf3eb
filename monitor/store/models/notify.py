"""The tables of telling people: ``outbox`` (a notification and its delivery record) and ``ops_states`` (what is
remembered about an operational problem, so it is told once)."""

from __future__ import annotations

import sqlalchemy as sa

from monitor.store.models.schema import METADATA, BigId, fk, key, optional, required, timestamp


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
        key("id", BigId),
        timestamp("created_at"),
        optional("advertiser_id", sa.String, fk("advertisers.id")),
        optional("poll_id", sa.BigInteger),
        required("channel"),
        optional("key"),
        required("payload", sa.Text),
        required("status"),
        required("attempts", sa.Integer, default=0),
        timestamp("next_attempt_at", nullable=True),
        timestamp("sent_at", nullable=True),
        optional("last_error", sa.Text),
        optional("claimed_by"),
        timestamp("claimed_until", nullable=True),
        sa.Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
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
        key("kind"),
        key("subject"),
        timestamp("since"),
        required("notified", sa.Boolean, default=False),
        timestamp("last_notified_at", nullable=True),
        required("failures", sa.Integer, default=0),
        required("detail", sa.Text, default=""),
        timestamp("updated_at"),
    )
