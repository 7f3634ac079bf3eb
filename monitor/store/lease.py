"""The per-advertiser poll lease: at most one poller writes an advertiser's snapshots at a time.

A lease is one row in ``leases`` (advertiser, owner, token, expiry). It is *taken* with ``INSERT ... ON CONFLICT
DO NOTHING`` when there is none (the usual case: its last holder gave it back), else taken over with
``INSERT ... ON CONFLICT DO UPDATE ... WHERE expires_at <= now``; both SQLite and PostgreSQL execute each
atomically: of two pollers racing, exactly one gets its token back. :func:`acquire` tells which of the two it was:
only a lease taken over can leave a poll of its former holder "running" (a holder gives its lease back in the
transaction that records how its poll ended). The poll's commit *fences* on the
token: its first statement deletes the lease row by token, inside the same transaction as the writes, so a poller
whose lease was taken over cannot commit (``LeaseLostError``), and on PostgreSQL the row lock makes a competing
taker wait for that commit. Expiry is judged with the ``now`` the pollers pass in, so replicas should keep their
clocks in sync (NTP).

Surviving a crash (a holder killed mid-poll never releases its lease):

* **Short TTL, renewed while held.** A lease lives ``ttl`` (:func:`ttl_for`: twice the poll deadline, between
  10 s and 60 s; 60 s for the default 5-minute interval) and a :class:`Heartbeat` moves its expiry to
  ``now + ttl`` every ``ttl / 3`` while the poll's block (or a revert's) is open. A live holder keeps its lease
  however long it works, with two missed beats of slack; a dead one's lease runs out within ``ttl``.
* **Dead holders on this host are taken over at once.** The owner is ``<host>:<pid>`` (:func:`process_owner`,
  maybe followed by `` (revert)``). When the lease is held, the owner names this host and no process has that
  pid any more (``os.kill(pid, 0)`` raises ``ProcessLookupError``), :func:`take` takes the lease over without
  waiting for it to expire: a daemon restarted after ``kill -9`` polls again on its next tick. A lease of a live
  process (this one included), or of another host, is respected until it expires. A reused pid looks alive: that
  lease is respected until its short TTL runs out.
* Taking over (by expiry or from a dead holder) replaces the token with a compare-and-set on the old token, so
  exactly one taker wins, and the old holder's commit is fenced as before. (Issue 14 adds epochs to the token.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.store.db import writing
from monitor.store.errors import LeaseHeldError
from monitor.store.models import LeaseRow, PollRow
from monitor.store.prebuilt import PerDialect
from monitor.store.values import PollStatus

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql

log = logging.getLogger(__name__)

leases_t = LeaseRow.__table__
polls_t = PollRow.__table__

#: The shortest and longest lease TTL :func:`ttl_for` gives.
MIN_TTL = timedelta(seconds=10)
MAX_TTL = timedelta(seconds=60)
#: The heartbeat renews a lease this many times per TTL.
BEATS_PER_TTL = 3


def ttl_for(poll_timeout: timedelta) -> timedelta:
    """The lease TTL for polls cancelled after ``poll_timeout``: twice that, at least 10 s, at most 60 s.

    The heartbeat renews the lease, so the TTL need not cover a poll; it bounds how long a crashed holder on
    another host keeps the advertiser (at most a minute, or two poll deadlines for short intervals), and it is
    long enough that two missed beats (a busy database, a stalled event loop) never cost a live poll its lease.
    """
    return min(max(2 * poll_timeout, MIN_TTL), MAX_TTL)


def process_owner() -> str:
    """How this process names itself in leases and poll runs: ``<host>:<pid>``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_gone(owner: str | None) -> bool:
    """True when ``owner`` (``<host>:<pid>``, maybe followed by a space and more) names a process on this host
    that no longer exists. False whenever that cannot be told: another host, another form of owner, a process
    that exists (even as another user's, or as a zombie), a platform without ``kill(pid, 0)``."""
    if owner is None or os.name != "posix":
        return False
    host, sep, pid_text = owner.split(" ", 1)[0].rpartition(":")
    if not sep or host != socket.gethostname() or not pid_text.isascii() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid <= 0:  # kill(0, 0) would ask about our own process group
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # PermissionError: it exists, as another user's
        return False
    return False


def dialect_insert(conn: AsyncConnection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """The INSERT construct of the connection's dialect, for ``ON CONFLICT`` clauses. (PostgreSQL's module is
    imported here: a process on SQLite does not load it.)"""
    return insert_of(conn.dialect.name, table)


def insert_of(dialect: str, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """:func:`dialect_insert` by the dialect's name (for statements built once: monitor.store.prebuilt)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    return sqlite.insert(table)


#: take's INSERT of a lease (the advertiser's row absent), and its takeover (the row expired), per dialect
_TAKE_VALUES = ("owner", "token", "acquired_at", "expires_at")
_FRESH = PerDialect(
    lambda dialect: (
        insert_of(dialect, leases_t)
        .on_conflict_do_nothing(index_elements=[leases_t.c.advertiser_id])
        .returning(leases_t.c.token)
    )
)


def _takeover(dialect: str) -> Any:
    insert = insert_of(dialect, leases_t)
    return insert.on_conflict_do_update(
        index_elements=[leases_t.c.advertiser_id],
        set_={name: insert.excluded[name] for name in _TAKE_VALUES},
        where=leases_t.c.expires_at <= sa.bindparam("now", type_=leases_t.c.expires_at.type),
    ).returning(leases_t.c.token)


_TAKEOVER = PerDialect(_takeover)


async def take(conn: AsyncConnection, advertiser_id: str, owner: str, now: datetime, ttl: timedelta) -> str:
    """Take the advertiser's lease for ``ttl`` and return its token, or raise :class:`LeaseHeldError`.

    Usually there is no lease (its holder gave it back): one INSERT takes it. A lease that expired, or whose
    holder is a process of this host that no longer runs, is taken over, and the polls its holder left running
    are marked abandoned."""
    token = secrets.token_hex(16)
    values = {"owner": owner, "token": token, "acquired_at": now, "expires_at": now + ttl}
    row = {"advertiser_id": advertiser_id, **values}
    if (await conn.execute(_FRESH(conn), row)).scalar_one_or_none() == token:
        return token
    got = (await conn.execute(_TAKEOVER(conn), {**row, "now": now})).scalar_one_or_none()
    if got == token:
        await _abandon_running(conn, advertiser_id, now)
        return token
    holder = await _holder(conn, advertiser_id)
    if holder is not None and holder.owner != owner and holder_is_gone(holder.owner):
        # compare-and-set on the dead holder's token: of two takers, one wins; the other sees the new holder
        taken = await conn.execute(
            sa.update(leases_t)
            .where(leases_t.c.advertiser_id == advertiser_id, leases_t.c.token == holder.token)
            .values(**values)
        )
        if taken.rowcount == 1:
            log.warning(
                "advertiser %s: took over the lease of %s, which no longer runs (it held it until %s)",
                advertiser_id,
                holder.owner,
                holder.expires_at.isoformat(),
            )
            await _abandon_running(conn, advertiser_id, now)
            return token
        holder = await _holder(conn, advertiser_id)
    raise LeaseHeldError(advertiser_id, holder.owner if holder else None, holder.expires_at if holder else None)


async def _abandon_running(conn: AsyncConnection, advertiser_id: str, now: datetime) -> None:
    """A lease taken over (by a poll, a revert, an approval: whoever takes it): the polls its holder left
    "running" never committed. A lease given back ended its poll in the same transaction, so a lease found free
    leaves none running."""
    await conn.execute(
        sa.update(polls_t)
        .where(polls_t.c.advertiser_id == advertiser_id, polls_t.c.status == PollStatus.RUNNING.value)
        .values(status=PollStatus.ABANDONED.value, finished_at=now)
    )


async def _holder(conn: AsyncConnection, advertiser_id: str) -> Any:
    """The lease row's owner, token and expiry, or None."""
    query = sa.select(leases_t.c.owner, leases_t.c.token, leases_t.c.expires_at).where(
        leases_t.c.advertiser_id == advertiser_id
    )
    return (await conn.execute(query)).first()


async def held_elsewhere(conn: AsyncConnection, owner: str, now: datetime) -> set[str]:
    """The advertisers whose lease another live process holds at ``now`` (not expired, holder not gone): their
    polls are running, so their pending journal entries are in flight, not interrupted."""
    rows = await conn.execute(sa.select(leases_t.c.advertiser_id, leases_t.c.owner).where(leases_t.c.expires_at > now))
    return {r.advertiser_id for r in rows if r.owner != owner and not holder_is_gone(r.owner)}


async def renew(conn: AsyncConnection, advertiser_id: str, token: str, expires_at: datetime) -> bool:
    """Extend our lease to ``expires_at`` (never shorten it); False when it is no longer ours."""
    later = sa.case((leases_t.c.expires_at < expires_at, expires_at), else_=leases_t.c.expires_at)
    result = await conn.execute(
        sa.update(leases_t)
        .where(leases_t.c.advertiser_id == advertiser_id, leases_t.c.token == token)
        .values(expires_at=later)
    )
    return result.rowcount == 1


_RELEASE = sa.delete(leases_t).where(
    leases_t.c.advertiser_id == sa.bindparam("advertiser_id"), leases_t.c.token == sa.bindparam("token")
)


async def release(conn: AsyncConnection, advertiser_id: str, token: str) -> bool:
    """Delete our lease row; False when it is no longer ours (it expired and was taken over)."""
    result = await conn.execute(_RELEASE, {"advertiser_id": advertiser_id, "token": token})
    return result.rowcount == 1


class Heartbeat:
    """Keeps a held lease alive: from :meth:`start` to :meth:`stop`, every ``ttl / 3`` its expiry becomes
    ``now() + ttl``. A failed renewal is logged and tried again on the next beat; a lease found taken over ends
    the beating (:attr:`lost`), and the holder's commit will be refused by the fence."""

    def __init__(
        self, engine: AsyncEngine, advertiser_id: str, token: str, ttl: timedelta, now: Callable[[], datetime]
    ) -> None:
        self._engine = engine
        self._advertiser_id = advertiser_id
        self._token = token
        self._ttl = ttl
        self._now = now
        self.period = ttl.total_seconds() / BEATS_PER_TTL
        self.beats = 0  # renewals that landed
        self.lost = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"lease heartbeat of advertiser {self._advertiser_id}"
        )

    async def stop(self) -> None:
        """Stop beating and wait until a renewal in flight has ended (so none lands after the lease's release)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    def cancel(self) -> None:
        """Stop beating without waiting (when no I/O may be awaited, e.g. an abandoned generator)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.period)
            try:
                async with writing(self._engine) as conn:
                    held = await renew(conn, self._advertiser_id, self._token, self._now() + self._ttl)
            except Exception as exc:  # the poll goes on; the fence decides at its commit
                if not failing:
                    log.warning("advertiser %s: renewing the poll lease failed: %s", self._advertiser_id, exc)
                failing = True
                continue
            if not held:
                self.lost = True
                log.warning(
                    "advertiser %s: the poll lease expired and was taken over; this poll will not commit",
                    self._advertiser_id,
                )
                return
            if failing:
                log.info("advertiser %s: the poll lease is renewed again", self._advertiser_id)
            failing = False
            self.beats += 1
