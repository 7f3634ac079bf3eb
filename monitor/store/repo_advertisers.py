"""The store's advertisers face (a part of :class:`monitor.store.Store`): the accounts' rows (what
advertiser/info says, and their last poll) and which of them another process polls now."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.domain import aware
from monitor.store import db, lease
from monitor.store.lease import dialect_insert
from monitor.store.models import AdvertiserRow
from monitor.store.values import AdvertiserRecord, PollStatus
from monitor.tiktok.models import AdvertiserInfo

advertisers_t = AdvertiserRow.__table__


class AdvertiserAccess:
    """The ``advertisers`` table and the advertisers' leases; :class:`monitor.store.Store` sets the attributes."""

    _engine: AsyncEngine
    owner: str
    _stored_advertisers: set[str]

    async def upsert_advertisers(self, infos: Iterable[AdvertiserInfo], now: datetime) -> None:
        """Insert or update what advertiser/info says about each advertiser (one statement)."""
        aware(now)
        rows = [
            {
                "id": info.id,
                "name": info.name,
                "timezone": info.timezone,
                "currency": info.currency,
                "status": info.status,
                "created_at": now,
                "updated_at": now,
            }
            for info in infos
        ]
        if not rows:
            return
        async with db.writing(self._engine) as conn:
            insert = dialect_insert(conn, advertisers_t)
            changing = ("name", "timezone", "currency", "status", "updated_at")
            statement = insert.on_conflict_do_update(
                index_elements=[advertisers_t.c.id], set_={name: insert.excluded[name] for name in changing}
            )
            await conn.execute(statement, rows)
        self._stored_advertisers.update(str(row["id"]) for row in rows)

    async def advertisers(self) -> list[AdvertiserRecord]:
        async with db.reading(self._engine) as conn:
            rows = await conn.execute(sa.select(advertisers_t).order_by(advertisers_t.c.id))
            return [_advertiser(row) for row in rows]

    async def polled_elsewhere(self, now: datetime) -> set[str]:
        """The advertisers another live process polls now (it holds their lease)."""
        async with db.reading(self._engine) as conn:
            return await lease.held_elsewhere(conn, self.owner, aware(now))

    async def advertiser(self, advertiser_id: str) -> AdvertiserRecord | None:
        async with db.reading(self._engine) as conn:
            row = (await conn.execute(_ADVERTISER, {"advertiser_id": advertiser_id})).first()
            return None if row is None else _advertiser(row)


#: :meth:`AdvertiserAccess.advertiser`'s statement, built once: polls ask it (monitor.store.prebuilt).
_ADVERTISER = sa.select(advertisers_t).where(advertisers_t.c.id == sa.bindparam("advertiser_id"))


def _advertiser(row: Any) -> AdvertiserRecord:
    return AdvertiserRecord(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        currency=row.currency,
        status=row.status,
        last_poll_id=row.last_poll_id,
        last_poll_at=row.last_poll_at,
        last_poll_status=PollStatus(row.last_poll_status) if row.last_poll_status else None,
        last_poll_error=row.last_poll_error,
        smart_plus=None if row.smart_plus is None else bool(row.smart_plus),
    )
