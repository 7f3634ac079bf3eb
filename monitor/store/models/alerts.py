"""The tables of what the rules remember and what keeps them quiet: ``alert_states`` (an alert's state per rule
and entity), ``holds`` (spans during which rules leave a field of an entity alone) and ``silences`` (spans during
which matching alerts neither notify nor act)."""

from __future__ import annotations

import sqlalchemy as sa

from monitor.store.models.schema import METADATA, BigId, fk, key, optional, required, timestamp


class AlertStateRow:
    __table__ = sa.Table(
        "alert_states",
        METADATA,
        # Advertiser first: every poll loads the states of one advertiser through this primary key.
        key("advertiser_id", sa.String, fk("advertisers.id")),
        key("rule"),
        key("level"),
        key("entity_id"),
        required("state"),
        timestamp("since"),
        timestamp("last_notified_at", nullable=True),
        required("last_values", sa.Text, default="{}"),
        timestamp("updated_at"),
        # The firing was muted (silence, active time) and is still to be told and acted on (migration 0010).
        required("withheld", sa.Boolean, default=False, server_default=sa.false()),
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
        key("id", BigId),
        required("advertiser_id", sa.String, fk("advertisers.id")),
        required("level"),
        required("entity_id"),
        required("field"),
        timestamp("starts_at"),
        timestamp("ends_at"),
        required("created_by"),
        optional("comment", sa.Text),
        optional("journal_id", sa.BigInteger),
        optional("value", sa.Text),  # JSON
        timestamp("created_at"),
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
        key("id", BigId),
        required("matchers", sa.Text),
        timestamp("starts_at"),
        timestamp("ends_at"),
        required("created_by"),
        optional("comment", sa.Text),
        timestamp("created_at"),
        optional("expired_by"),  # who ended it early (``silence expire --by``; migration 0011)
        # Every poll reads the silences not yet ended.
        sa.Index("ix_silences_ends_at", "ends_at"),
    )
