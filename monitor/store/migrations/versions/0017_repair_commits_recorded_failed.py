"""Repair the advertisers frozen by a poll that committed but was recorded failed (fixed in session 14).

Before monitor.store.commit_wait, a poll cancelled by its deadline while its final COMMIT ran had that COMMIT
land (its ``entities`` rows, history, alert states, outbox rows, the lease released) and its record then
overwritten as failed (errors ending ``"cancelled"``, entities 0, rows_written 0) along with the advertiser's
``last_poll_status``/``last_poll_error``. The newest snapshot is labelled with the newest *ok* poll
(monitor.store.snapshots.latest_poll) but read from the present ``entities`` rows, some of which carry that
failed poll's id as ``changed_poll``: every later poll reading texts "as of" the ok poll (monitor.store.lean)
missed them and failed with ``LeaseLostError``, so the advertiser was never polled again.

The signature: an advertiser whose greatest ``entities.changed_poll`` (the poll of the newest write to its rows;
a poll that really failed rolled back and wrote none) is newer than its newest ok poll (or it has none), where
that poll's record says ``failed``. That poll is marked ``ok``, as its COMMIT had it: ``started_at`` and
``finished_at`` kept, ``errors`` without the last message (the one the failure path appended; the earlier ones
are the poll's own, which an ok poll keeps), ``entities`` the advertiser's present rows and ``rows_written`` its
rows with that ``changed_poll`` (both exact: no later poll wrote its rows, and monitor.store.forget_gone deletes
none that new). Its ``changed_by`` (never recorded for a failed poll) stays NULL. The advertiser's
``last_poll_*`` say ok, as the poll would have, where that poll is its newest; a later poll that failed with
``LeaseLostError`` stays the newest, failed, until the next poll, which now runs. An older poll recorded failed
whose rows a later one overwrote, or one that changed no row, froze nothing and is not found (only the newest
write per advertiser is cheap to know, and a poll that wrote no row cannot be told from a real failure): it stays
failed.

Cost: one pass over ``entities`` grouped by advertiser (its primary key's first column), the newest ok poll
from ``ix_polls_advertiser_status_id``; then two updates per repaired poll (at most one an advertiser), their
counts over that advertiser's rows. The history is not read (on PostgreSQL it is partitioned by day, and the
``entities`` rows are what froze the advertiser).

The downgrade does nothing: the repair only makes the records say what the database already held, which the
older code reads as it is (it needs no failed record back, and which polls were repaired is not kept).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from monitor.store.values import dumps

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

entities = sa.table(
    "entities", sa.column("advertiser_id"), sa.column("changed_poll"), sa.column("present", sa.Boolean())
)
polls = sa.table(
    "polls",
    sa.column("id"),
    sa.column("advertiser_id"),
    sa.column("status"),
    sa.column("started_at"),
    sa.column("errors"),
    sa.column("entities"),
    sa.column("rows_written"),
)
advertisers = sa.table(
    "advertisers",
    sa.column("id"),
    sa.column("last_poll_id"),
    sa.column("last_poll_at"),
    sa.column("last_poll_status"),
    sa.column("last_poll_error"),
)


def _committed_recorded_failed() -> sa.Select[Any]:
    """Id, advertiser, start and errors of each poll recorded failed that wrote its advertiser's newest rows,
    newer than its newest ok poll."""
    ok = polls.alias("ok")
    newest_ok = (
        sa.select(sa.func.coalesce(sa.func.max(ok.c.id), 0))
        .where(ok.c.advertiser_id == entities.c.advertiser_id, ok.c.status == "ok")
        .scalar_subquery()
    )
    newest_write = (
        sa.select(entities.c.advertiser_id, sa.func.max(entities.c.changed_poll).label("poll_id"))
        .group_by(entities.c.advertiser_id)
        .having(sa.func.max(entities.c.changed_poll) > newest_ok)
        .subquery()
    )
    same = (polls.c.id == newest_write.c.poll_id) & (polls.c.advertiser_id == newest_write.c.advertiser_id)
    return (
        sa.select(polls.c.id, polls.c.advertiser_id, polls.c.started_at, polls.c.errors)
        .join_from(polls, newest_write, same)
        .where(polls.c.status == "failed")
    )


def upgrade() -> None:
    bind = op.get_bind()
    found = bind.execute(_committed_recorded_failed()).all()
    if not found:
        return
    repairs = []
    for poll_id, advertiser_id, started_at, errors in found:
        own = json.loads(errors or "[]")[:-1]  # the failure path appended one message to the poll's own
        error = own[-1] if own else None  # what an ok poll says on its advertiser (monitor.store.poll)
        repairs.append({"p": poll_id, "a": advertiser_id, "t": started_at, "e": dumps(own), "le": error})
    mine = entities.c.advertiser_id == sa.bindparam("a")
    present = sa.select(sa.func.count()).where(mine, entities.c.present.is_(True)).scalar_subquery()
    written = sa.select(sa.func.count()).where(mine, entities.c.changed_poll == sa.bindparam("p")).scalar_subquery()
    bind.execute(
        sa.update(polls)
        .where(polls.c.id == sa.bindparam("p"))
        .values(status="ok", errors=sa.bindparam("e"), entities=present, rows_written=written),
        repairs,
    )
    newest = sa.or_(advertisers.c.last_poll_id.is_(None), advertisers.c.last_poll_id <= sa.bindparam("p"))
    bind.execute(
        sa.update(advertisers)
        .where(advertisers.c.id == sa.bindparam("a"), newest)
        .values(
            last_poll_id=sa.bindparam("p"),
            last_poll_at=sa.bindparam("t"),
            last_poll_status="ok",
            last_poll_error=sa.bindparam("le"),
        ),
        repairs,
    )


def downgrade() -> None:
    pass
