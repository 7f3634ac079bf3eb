"""The tables of the monitor's writes to TikTok: ``actions`` (the journal), ``approvals`` (actions waiting for a
person) and ``breaker_episodes`` (the openings of the actions' circuit breaker)."""

from __future__ import annotations

import sqlalchemy as sa

from monitor.store.models.schema import METADATA, BigId, fk, key, optional, required, timestamp


class ApprovalRow:
    """An action waiting for a person (:class:`monitor.domain.approvals.Approval`, migration 0011): made in the
    transaction of the poll that would have acted, one pending per alert; decided by a conditional update
    (``WHERE state = 'pending'``), so of two people approving at once one wins. ``change`` (the rule's action and
    the state before) and ``reason`` (the rule's values) are JSON. Pruned ``retention`` after it was decided."""

    __table__ = sa.Table(
        "approvals",
        METADATA,
        key("id"),
        required("advertiser_id", sa.String, fk("advertisers.id")),
        required("rule"),
        required("level"),
        required("entity_id"),
        optional("entity_name"),
        required("change", sa.Text),
        required("reason", sa.Text, default="{}"),
        timestamp("requested_at"),
        timestamp("expires_at"),
        required("state"),
        optional("decided_by"),
        timestamp("decided_at", nullable=True),
        optional("journal_id", sa.BigInteger),
        optional("outcome", sa.Text),
        # Status, the page and Slack read the pending ones (of an advertiser, or due to expire): state, then expiry.
        sa.Index("ix_approvals_state_expires_at", "state", "expires_at"),
        sa.Index("ix_approvals_advertiser_id_state", "advertiser_id", "state"),
    )


class BreakerRow:
    """One opening of the actions' circuit breaker (:class:`monitor.domain.BreakerEpisode`): the newest row is
    the breaker's state (open while ``closed_at`` is null and ``breaker_reset`` has not passed). Rows are the
    breaker's journal: why it opened, what it held back (``held``: a JSON list, at most 50, ``held_count`` in
    all), when people were told (``told_at``: told once per opening), who closed it and when."""

    __table__ = sa.Table(
        "breaker_episodes",
        METADATA,
        key("id", BigId),
        timestamp("opened_at"),
        required("reason", sa.Text),
        required("held", sa.Text, default="[]"),
        required("held_count", sa.Integer, default=0),
        timestamp("told_at", nullable=True),
        timestamp("closed_at", nullable=True),
        optional("closed_by"),
    )


class ActionRow:
    __table__ = sa.Table(
        "actions",
        METADATA,
        key("id", BigId),
        timestamp("created_at"),
        timestamp("finished_at", nullable=True),
        required("advertiser_id", sa.String, fk("advertisers.id")),
        required("level"),
        required("entity_id"),
        required("action"),
        required("reason", sa.Text),
        optional("rule"),
        required("dry_run", sa.Boolean, default=False),
        optional("poll_id", sa.BigInteger),
        optional("reverts", sa.BigInteger, fk("actions.id")),
        required("before", sa.Text, default="{}"),
        required("after", sa.Text, default="{}"),
        required("status"),
        optional("request_id"),
        optional("error", sa.Text),
        optional("approved_by"),  # who approved the rule's action (approvals, migration 0011)
        # An advertiser's journal; the circuit breaker counts the real writes of the last window (every advertiser).
        sa.Index("ix_actions_advertiser_id_id", "advertiser_id", "id"),
        sa.Index("ix_actions_created_at", "created_at"),
    )
