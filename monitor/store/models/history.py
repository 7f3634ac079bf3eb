"""The tables of the entities and their history: ``entities`` (the current state of every entity ever seen),
``entity_keys`` (the small integer key the history uses), ``history_states``, ``history_metrics`` and
``history_names`` (the compact, delta-encoded history: monitor.store.history_codec; see the package's docstring)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from monitor.store.models.schema import METADATA, BigId, key, optional, required


def _entity_fields() -> list[sa.Column[Any]]:
    """Columns shared by the current state and the history rows."""
    return [
        key("advertiser_id"),
        key("level"),
        key("entity_id"),
        required("present", sa.Boolean, default=True),
        optional("campaign_id"),
        optional("adgroup_id"),
        optional("name"),
        optional("operation_status"),
        optional("secondary_status"),
        optional("budget", sa.Float),
        optional("budget_mode"),
        required("metrics", sa.Text, default="{}"),  # canonical JSON: {window: {metric: value|null}}
    ]


class EntityRow:
    __table__ = sa.Table(
        "entities",
        METADATA,
        *_entity_fields(),
        required("first_seen_poll", sa.BigInteger),
        required("changed_poll", sa.BigInteger),  # the poll of its newest history state or window row
        sa.ForeignKeyConstraint(["advertiser_id"], ["advertisers.id"]),
    )


class EntityKeyRow:
    """The small integer key (``sid``) the history uses for an entity instead of its three text key columns."""

    __table__ = sa.Table(
        "entity_keys",
        METADATA,
        key("sid", BigId),
        required("advertiser_id"),
        required("level"),
        required("entity_id"),
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
        key("sid", sa.BigInteger, autoincrement=False),
        key("poll_id", sa.BigInteger, autoincrement=False),
        required("present", sa.Boolean, default=True),
        optional("name"),
        optional("operation_status"),
        optional("secondary_status"),
        optional("budget", sa.Float),
        optional("budget_mode"),
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
        key("sid", sa.BigInteger, autoincrement=False),
        key("window_id", sa.Integer, autoincrement=False),
        key("poll_id", sa.BigInteger, autoincrement=False),
        optional("metric_set", sa.Integer),
        optional("vals", sa.Text),
        sa.ForeignKeyConstraint(["sid"], ["entity_keys.sid"]),
        sqlite_with_rowid=False,
    )


class HistoryNameRow:
    """The few texts the history refers to by number: window names and metric sets (a JSON list of names)."""

    __table__ = sa.Table(
        "history_names",
        METADATA,
        key("id", sa.Integer),
        required("kind"),
        required("value", sa.Text),
        sa.UniqueConstraint("kind", "value"),
    )
