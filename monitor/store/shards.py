"""Replicas share the advertisers through the database: a ``replicas`` row per running ``run`` (with a heartbeat)
and ``SHARD_COUNT`` shard rows, each owned by at most one live replica.

* **Shards.** An advertiser belongs to shard :func:`shard_of` (a stable hash of its id, mod 64): the same on every
  replica and across restarts, whatever the other advertisers are. 64 shards spread a handful of advertisers
  unevenly but a fleet evenly, and they are cheap (one small row each).
* **Liveness.** Each replica beats every ``beat`` (:func:`timing`: a quarter of the poll interval, 1 s to 10 s):
  its ``replicas.heartbeat_at`` becomes now. A replica is *alive* while its heartbeat is younger than the TTL (three
  beats), and also *dead at once* when its id names a process of this host that no longer runs (like the poll
  leases: :func:`monitor.store.lease.holder_is_gone`). Dead replicas' rows are deleted by the next beat of another.
* **Fair share, rebalancing.** After its heartbeat a replica works out its share of the shards among the live
  replicas (sorted by id: ``64 // n``, one more for the first ``64 % n``), releases what it holds beyond it (not the
  shards of a poll running now: they go at a later beat) and claims unowned shards or shards of dead replicas up to
  it. On PostgreSQL the shards to claim are locked ``FOR UPDATE SKIP LOCKED``, so two replicas claiming at once
  take different shards; on SQLite the whole beat is one ``BEGIN IMMEDIATE`` write transaction. A replica joining
  gets its share within a beat or two (the others release, it claims); a dead one's shards are claimed within its
  TTL plus a beat (at once on its own host).
* **Epochs and fencing.** Every change of a shard's owner (claim or release) adds one to its ``epoch``. A poll
  remembers the :class:`Fence` (shard, owner, epoch) its replica believed in when it began; the poll's begin and
  its commit (in the commit's transaction, before any write, the row read ``FOR SHARE`` on PostgreSQL so a change
  of owner waits for the commit) check that the shard still has that owner at that epoch, else
  :class:`~monitor.store.errors.ShardLostError` and nothing of the poll is written. What is fenced: the poll's
  record, snapshot, alert states, holds and outbox rows. What is not: API calls made during the poll (an action of
  the rules); the per-advertiser poll lease still keeps two replicas from polling one advertiser at once, and the
  next owner's poll sees the action's result in the account.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.domain import aware
from monitor.store.db import reading, writing
from monitor.store.lease import dialect_insert, holder_is_gone
from monitor.store.models import ReplicaRow, ShardRow

log = logging.getLogger(__name__)

replicas_t = ReplicaRow.__table__
shards_t = ShardRow.__table__

#: How many shards advertisers hash into (the rows migration 0008 seeds).
SHARD_COUNT = 64
#: The heartbeat period is this share of the poll interval, within MIN_BEAT..MAX_BEAT.
BEAT_SHARE = 0.25
MIN_BEAT = timedelta(seconds=1)
MAX_BEAT = timedelta(seconds=10)
#: A replica whose heartbeat is older than this many beats is dead.
BEATS_PER_TTL = 3


def shard_of(advertiser_id: str) -> int:
    """The advertiser's shard: a stable hash of its id (not the bits :func:`monitor.scheduler.phase_offset` uses)."""
    digest = hashlib.sha256(advertiser_id.encode()).digest()
    return int.from_bytes(digest[8:16], "big") % SHARD_COUNT


def timing(interval: timedelta) -> tuple[timedelta, timedelta]:
    """``(beat, ttl)`` for a poll interval: beats every quarter interval (1 s to 10 s), dead after three beats. So
    a dead replica's shards are claimed within ``ttl + beat`` (at most one interval, 40 s for 5 minutes)."""
    beat = min(max(interval * BEAT_SHARE, MIN_BEAT), MAX_BEAT)
    return beat, beat * BEATS_PER_TTL


def fair_share(replica: str, alive: Iterable[str], count: int = SHARD_COUNT) -> int:
    """How many shards ``replica`` should own among the ``alive`` ones: ``count // n``, one more for the first
    ``count % n`` in id order."""
    ordered = sorted(set(alive) | {replica})
    base, extra = divmod(count, len(ordered))
    return base + (1 if ordered.index(replica) < extra else 0)


@dataclass(frozen=True)
class Fence:
    """What a poll saw when it began: ``owner`` held ``shard`` at ``epoch``."""

    shard: int
    owner: str
    epoch: int


@dataclass(frozen=True)
class Assignment:
    """Who owns what, as one beat of ``replica`` left it: the live replicas and each shard's owner and epoch."""

    replica: str
    alive: tuple[str, ...]
    owners: Mapping[int, tuple[str | None, int]] = field(default_factory=dict)
    released: tuple[int, ...] = ()
    claimed: tuple[int, ...] = ()

    @property
    def mine(self) -> dict[int, int]:
        """The shards ``replica`` owns, with their epochs."""
        return {shard: epoch for shard, (owner, epoch) in self.owners.items() if owner == self.replica}

    def owner_of(self, advertiser_id: str) -> str | None:
        return self.owners.get(shard_of(advertiser_id), (None, 0))[0]

    def fence_of(self, advertiser_id: str) -> Fence | None:
        """The fence of a poll of ``advertiser_id`` by ``replica``; None when it does not own the shard."""
        shard = shard_of(advertiser_id)
        owner, epoch = self.owners.get(shard, (None, 0))
        return Fence(shard, self.replica, epoch) if owner == self.replica else None


class Shards:
    """The replicas and shards tables (see the module docstring)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def beat(
        self, replica: str, now: datetime, ttl: timedelta, *, keep: Iterable[int] = (), rebalance: bool = True
    ) -> Assignment:
        """Heartbeat, then (``rebalance``) release shards beyond the fair share (except those in ``keep``: polls
        are running there) and claim free ones up to it. Returns the assignment after."""
        aware(now)
        async with writing(self._engine) as conn:
            insert = dialect_insert(conn, replicas_t).values(id=replica, started_at=now, heartbeat_at=now)
            await conn.execute(
                insert.on_conflict_do_update(index_elements=[replicas_t.c.id], set_={"heartbeat_at": now})
            )
        async with writing(self._engine) as conn:
            alive = await _alive(conn, replica, now, ttl, forget_dead=True)
            released: list[int] = []
            claimed: list[int] = []
            if rebalance:
                target = fair_share(replica, alive)
                mine = await _owned(conn, replica)
                if len(mine) > target:
                    kept = set(keep)
                    extra = [s for s in reversed(mine) if s not in kept][: len(mine) - target]
                    released = await _change(conn, extra, replica, None, now)
                elif len(mine) < target:
                    claimed = await _claim(conn, replica, alive, target - len(mine), now)
            owners = await _owners(conn)
        if released or claimed:
            log.info(
                "replica %s: released shards %s, claimed shards %s; owns %d of %d (%d replica(s) alive)",
                replica,
                released,
                claimed,
                sum(1 for owner, _ in owners.values() if owner == replica),
                SHARD_COUNT,
                len(alive),
            )
        return Assignment(replica, tuple(alive), owners, tuple(released), tuple(claimed))

    async def leave(self, replica: str, now: datetime) -> list[int]:
        """A clean stop: release every shard of ``replica`` (the others claim them at their next beat) and delete
        its row. Returns the shards released."""
        aware(now)
        async with writing(self._engine) as conn:
            released = await _change(conn, await _owned(conn, replica), replica, None, now)
            await conn.execute(sa.delete(replicas_t).where(replicas_t.c.id == replica))
        return released

    async def assignment(self, replica: str, now: datetime, ttl: timedelta) -> Assignment:
        """Who owns what now, read only (dead replicas' rows stay)."""
        async with reading(self._engine) as conn:
            alive = await _alive(conn, replica, now, ttl, forget_dead=False)
            return Assignment(replica, tuple(alive), await _owners(conn))

    async def alive(self, now: datetime, ttl: timedelta) -> list[str]:
        """The live replicas (by heartbeat and, on this host, by pid), sorted."""
        async with reading(self._engine) as conn:
            rows = await conn.execute(sa.select(replicas_t.c.id, replicas_t.c.heartbeat_at))
            return sorted(r.id for r in rows if _is_alive(r, now, ttl))


def _is_alive(row: Any, now: datetime, ttl: timedelta) -> bool:
    return bool(row.heartbeat_at > now - ttl and not holder_is_gone(row.id))


async def _alive(conn: AsyncConnection, replica: str, now: datetime, ttl: timedelta, *, forget_dead: bool) -> list[str]:
    rows = list(await conn.execute(sa.select(replicas_t.c.id, replicas_t.c.heartbeat_at)))
    alive = {r.id for r in rows if _is_alive(r, now, ttl)} | {replica}
    dead = [r.id for r in rows if r.id not in alive]
    if dead and forget_dead:
        await conn.execute(sa.delete(replicas_t).where(replicas_t.c.id.in_(dead)))
        log.warning("replica(s) %s stopped beating: their shards are free to claim", ", ".join(sorted(dead)))
    return sorted(alive)


async def _owned(conn: AsyncConnection, replica: str) -> list[int]:
    query = sa.select(shards_t.c.shard).where(shards_t.c.owner == replica).order_by(shards_t.c.shard)
    return [row.shard for row in await conn.execute(query.with_for_update())]


async def _owners(conn: AsyncConnection) -> dict[int, tuple[str | None, int]]:
    rows = await conn.execute(sa.select(shards_t.c.shard, shards_t.c.owner, shards_t.c.epoch))
    return {row.shard: (row.owner, int(row.epoch)) for row in rows}


async def _claim(conn: AsyncConnection, replica: str, alive: list[str], wanted: int, now: datetime) -> list[int]:
    """Claim up to ``wanted`` shards that nobody alive owns (lowest first; on PostgreSQL skipping rows another
    transaction has locked)."""
    free = sa.or_(shards_t.c.owner.is_(None), shards_t.c.owner.not_in(alive))
    query = sa.select(shards_t.c.shard).where(free).order_by(shards_t.c.shard).limit(wanted)
    candidates = [row.shard for row in await conn.execute(query.with_for_update(skip_locked=True))]
    if not candidates:
        return []
    result = await conn.execute(
        sa.update(shards_t)
        .where(shards_t.c.shard.in_(candidates), free)
        .values(owner=replica, epoch=shards_t.c.epoch + 1, changed_at=now)
        .returning(shards_t.c.shard)
    )
    return sorted(row.shard for row in result)


async def _change(
    conn: AsyncConnection, shards: list[int], owner: str, new_owner: str | None, now: datetime
) -> list[int]:
    if not shards:
        return []
    result = await conn.execute(
        sa.update(shards_t)
        .where(shards_t.c.shard.in_(shards), shards_t.c.owner == owner)
        .values(owner=new_owner, epoch=shards_t.c.epoch + 1, changed_at=now)
        .returning(shards_t.c.shard)
    )
    return sorted(row.shard for row in result)


async def holds(conn: AsyncConnection, fence: Fence) -> bool:
    """Whether the fence still holds: the shard has the same owner at the same epoch. Inside a write transaction;
    on PostgreSQL the row is then locked ``FOR SHARE`` until it ends, so a change of owner waits for its commit."""
    query = sa.select(shards_t.c.owner, shards_t.c.epoch).where(shards_t.c.shard == fence.shard)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    row = (await conn.execute(query)).first()
    return row is not None and row.owner == fence.owner and int(row.epoch) == fence.epoch
