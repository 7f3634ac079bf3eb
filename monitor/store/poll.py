"""One poll's writes: take the lease, buffer what the poll produced, commit it all in one transaction.

Nothing the pipeline hands to a :class:`~monitor.store.poll_writer.PollWriter` touches the database until the
poll ends (:func:`begin` makes it, with the previous snapshot read lean); then one
transaction fences on the lease, writes the changed entities, the history rows (monitor.store.history), alert
states, holds, outbox rows and the poll's record, and commits (or rolls back entirely); a COMMIT once sent is
waited for to its end, even by a cancelled poll (monitor.store.commit_wait), so the poll's record says what the
database holds. So a crash or an exception mid-poll leaves the previous snapshot as the newest, with no partial
rows, and SQLite's single writer lock is held only for the short final write, not for the minutes a poll spends
talking to TikTok.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.domain import EntityKey
from monitor.store import alerts, approvals, bulk, history, holds, lease, outbox, shards
from monitor.store.commit_wait import commit_to_the_end
from monitor.store.db import reading, writing
from monitor.store.errors import LeaseLostError, ShardLostError
from monitor.store.lean import load_lean, read_texts
from monitor.store.models import AdvertiserRow, PollRow
from monitor.store.poll_write import write_poll_rows
from monitor.store.poll_writer import PollWriter
from monitor.store.shards import Fence
from monitor.store.values import PollStatus, dumps

__all__ = ["PollWriter", "begin", "commit", "fail"]

advertisers_t = AdvertiserRow.__table__
polls_t = PollRow.__table__


async def begin(
    engine: AsyncEngine,
    advertiser_id: str,
    now: datetime,
    owner: str,
    ttl: timedelta,
    fence: Fence | None = None,
    *,
    stored: bool = False,
    fingerprints: bool = False,
) -> PollWriter:
    """Check the shard's fence (when given), take the lease, open the poll's record and load the previous
    snapshot. ``stored``: the advertiser's row is known to exist (rows of ``advertisers`` are never deleted), so
    it is not inserted. ``fingerprints``: the previous snapshot's metrics read as fingerprints, their texts read
    again by :meth:`PollWriter.compare` for the entities that changed (monitor.store.lean); call it before
    reading ``previous``; the history's keys are then read with the texts, of those rows only."""
    async with writing(engine) as conn:
        if fence is not None and not await shards.holds(conn, fence):
            raise ShardLostError(advertiser_id, fence.shard, fence.owner, fence.epoch)
        if not stored:
            await conn.execute(
                lease.dialect_insert(conn, advertisers_t)
                .values(id=advertiser_id, created_at=now, updated_at=now)
                .on_conflict_do_nothing(index_elements=[advertisers_t.c.id])
            )
        # taking over a lease marks the polls its holder left running abandoned (monitor.store.lease)
        token = await lease.take(conn, advertiser_id, owner, now, ttl)
        running = {"advertiser_id": advertiser_id, "owner": owner, "started_at": now, "status": _RUNNING}
        poll_id = (await conn.execute(_NEW_POLL, running)).scalar_one()
    try:
        async with reading(engine) as conn:
            sids: dict[EntityKey, int] = {}
            # the sids of its entities in the same read; read by fingerprint, only those of the rows whose texts
            # are read again (texts() below): no other entity of it has a history row to write
            previous = await load_lean(conn, advertiser_id, None if fingerprints else sids, fingerprints=fingerprints)
            if previous is None:
                sids = await history.load_sids(conn, advertiser_id)
    except BaseException:
        await fail(engine, _bare(advertiser_id, poll_id, now, owner, token), now, "could not load previous snapshot")
        raise

    async def texts(keys: Sequence[EntityKey]) -> dict[EntityKey, str]:
        assert previous is not None  # (only a previous snapshot read by fingerprint asks)
        async with reading(engine) as conn:
            return await read_texts(conn, advertiser_id, keys, as_of=previous.poll_id, sids=sids)

    return PollWriter(advertiser_id, poll_id, now, owner, None, token, fence, sids, _lean=previous, _read_texts=texts)


def _bare(advertiser_id: str, poll_id: int, now: datetime, owner: str, token: str) -> PollWriter:
    return PollWriter(advertiser_id, poll_id, now, owner, None, token)


async def commit(
    engine: AsyncEngine,
    writer: PollWriter,
    finished_at: datetime,
    slice_rows: int = bulk.SLICE_ROWS,
    *,
    metrics_updates: bool = True,
    commit_limit: float | None = None,
) -> bool:
    """Write everything the poll buffered in one transaction, fenced by the shard's epoch (when the poll has a
    fence) and by the lease token. ``slice_rows``: entity and history rows built and handed to the driver at a
    time; ``metrics_updates`` False: every ``entities`` row upserted (monitor.store.poll_write).

    A cancellation before the COMMIT rolls everything back. One that comes while the COMMIT runs waits for it
    (monitor.store.commit_wait; ``commit_limit`` seconds at most, None: to its end): True is returned when it
    committed nevertheless (the poll is written and recorded ok), ``CancelledError`` raised when it failed, and
    :class:`~monitor.store.commit_wait.CommitUnfinishedError` when it had not ended within the limit."""
    now = writer.taken_at
    if writer._lean is not None and writer._lean.unfilled:  # read by fingerprint and not compared yet: compared
        await writer.compare()  # whole here (the texts of the rows that changed read first)
    async with writing(engine) as conn:
        fence = writer.fence
        if fence is not None and not await shards.holds(conn, fence):
            raise ShardLostError(writer.advertiser_id, fence.shard, fence.owner, fence.epoch)
        if not await lease.release(conn, writer.advertiser_id, writer._token):
            raise LeaseLostError(writer.advertiser_id, writer.owner)
        # compared already (the pipeline compares before the rules) or compared here in slices: either way the
        # rows are written a slice at a time and let go (monitor.store.poll_write)
        compared, writer._changes = writer._changes, None
        previous = {} if writer.previous is None else writer.previous.entities
        written = await write_poll_rows(
            conn,
            writer.advertiser_id,
            writer.poll_id,
            previous,
            writer._saved,
            writer._saved_levels,
            compared,
            writer._sids,
            slice_rows,
            metrics_updates=metrics_updates,
            finite=not writer._unvouched,
        )
        await alerts.upsert(conn, writer._alert_saves.values(), now)
        await alerts.delete(conn, writer.advertiser_id, writer._alert_deletes)
        await holds.end(conn, writer.advertiser_id, writer._hold_ends, now)
        await holds.insert(conn, writer._hold_saves, now)
        await approvals.insert(conn, writer._approvals)
        await outbox.insert(conn, writer._outbox, now, writer.poll_id)
        await _finish(conn, writer, finished_at, PollStatus.OK, len(writer.current), written, None)
        return await commit_to_the_end(conn, commit_limit)


async def fail(engine: AsyncEngine, writer: PollWriter, finished_at: datetime, error: str) -> None:
    """Record a failed poll (nothing else of it is written) and give the lease back if it is still ours."""
    async with writing(engine) as conn:
        await lease.release(conn, writer.advertiser_id, writer._token)
        await _finish(conn, writer, finished_at, PollStatus.FAILED, 0, 0, error)


async def _finish(
    conn: AsyncConnection,
    writer: PollWriter,
    finished_at: datetime,
    status: PollStatus,
    entities: int,
    rows_written: int,
    error: str | None,
) -> None:
    errors = [*writer.errors, *([error] if error else [])]
    finished = {
        "poll_id": writer.poll_id,
        "status": status.value,
        "finished_at": finished_at,
        "api_calls": writer.api_calls,
        "errors": dumps(errors),
        "entities": entities,
        "rows_written": rows_written,
        "changed_by": _changed_by_json(writer) if status is PollStatus.OK else None,
    }
    await conn.execute(_FINISHED, finished)
    last = {
        "advertiser_id": writer.advertiser_id,
        "poll_id": writer.poll_id,
        "last_poll_id": writer.poll_id,
        "last_poll_at": writer.taken_at,
        "last_poll_status": status.value,
        "last_poll_error": error or (writer.errors[-1] if writer.errors else None),
    }
    if status is PollStatus.OK and writer.smart_plus is not None:
        last["smart_plus"] = writer.smart_plus
    await conn.execute(_LAST_POLL, last)


#: The statements of every poll, built once (monitor.store.prebuilt): its record made, its record finished, and
#: the advertiser's last poll (and its Smart+ finding, when the poll made one), only if no newer poll has reported
#: meanwhile (a poller whose lease was taken over finishes late). The columns set are the values bound.
_RUNNING = PollStatus.RUNNING.value
_NEW_POLL = sa.insert(polls_t).returning(polls_t.c.id)
_FINISHED = sa.update(polls_t).where(polls_t.c.id == sa.bindparam("poll_id"))
_LAST_POLL = sa.update(advertisers_t).where(
    advertisers_t.c.id == sa.bindparam("advertiser_id"),
    sa.or_(advertisers_t.c.last_poll_id.is_(None), advertisers_t.c.last_poll_id <= sa.bindparam("poll_id")),
)


def _changed_by_json(writer: PollWriter) -> str | None:
    """The poll's ``changed_by`` column: ``[[level, entity_id, who], ...]`` sorted, or None."""
    found = sorted((level.value, entity_id, who) for (level, entity_id), who in writer._changed_by.items())
    return dumps([list(row) for row in found]) if found else None
