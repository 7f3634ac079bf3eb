"""The per-advertiser poll lease: at most one poller writes an advertiser's snapshots at a time.

A lease is one row in ``leases`` (advertiser, owner, token, expiry). It is *taken* with a single
``INSERT ... ON CONFLICT DO UPDATE ... WHERE expires_at <= now`` statement, which both SQLite and PostgreSQL
execute atomically: of two pollers racing, exactly one gets its token back. An expired lease (its poller
crashed or hung) can be taken over. The poll's commit *fences* on the token: its first statement deletes the
lease row by token, inside the same transaction as the writes, so a poller whose lease was taken over cannot
commit (``LeaseLostError``), and on PostgreSQL the row lock makes a competing taker wait for that commit.
Expiry is judged with the ``now`` the pollers pass in, so replicas should keep their clocks in sync (NTP).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.errors import LeaseHeldError
from monitor.store.models import LeaseRow

leases_t = LeaseRow.__table__


def dialect_insert(conn: AsyncConnection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """The INSERT construct of the connection's dialect, for ``ON CONFLICT`` clauses."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


async def take(conn: AsyncConnection, advertiser_id: str, owner: str, now: datetime, ttl: timedelta) -> str:
    """Take the advertiser's lease for ``ttl`` and return its token, or raise :class:`LeaseHeldError`."""
    token = secrets.token_hex(16)
    insert = dialect_insert(conn, leases_t).values(
        advertiser_id=advertiser_id, owner=owner, token=token, acquired_at=now, expires_at=now + ttl
    )
    excluded = insert.excluded
    statement = insert.on_conflict_do_update(
        index_elements=[leases_t.c.advertiser_id],
        set_={
            "owner": excluded.owner,
            "token": excluded.token,
            "acquired_at": excluded.acquired_at,
            "expires_at": excluded.expires_at,
        },
        where=leases_t.c.expires_at <= now,
    ).returning(leases_t.c.token)
    got = (await conn.execute(statement)).scalar_one_or_none()
    if got == token:
        return token
    holder = (
        await conn.execute(
            sa.select(leases_t.c.owner, leases_t.c.expires_at).where(leases_t.c.advertiser_id == advertiser_id)
        )
    ).first()
    raise LeaseHeldError(advertiser_id, holder.owner if holder else None, holder.expires_at if holder else None)


async def release(conn: AsyncConnection, advertiser_id: str, token: str) -> bool:
    """Delete our lease row; False when it is no longer ours (it expired and was taken over)."""
    result = await conn.execute(
        sa.delete(leases_t).where(leases_t.c.advertiser_id == advertiser_id, leases_t.c.token == token)
    )
    return result.rowcount == 1
