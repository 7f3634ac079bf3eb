"""A COMMIT, once sent, is waited for to its end: a cancellation that comes meanwhile cannot call it back.

Why: SQLite runs the COMMIT in aiosqlite's thread, which a cancellation cannot stop, and PostgreSQL commits what
it has received whatever the client does next; a cancelled task only stops *hearing* the answer. A poll the
deadline cancelled while its COMMIT ran used to be recorded and told as failed ("poll timed out ... in stage
commit") while its snapshot, alert states and outbox rows were committed; worse, the advertiser's next polls then
read that poll's ``entities`` rows as the snapshot of the last poll recorded ok, found its texts missing from the
history, and failed with ``LeaseLostError``, one after the other.

:func:`commit_to_the_end` commits in a task of its own, which a cancellation of the caller does not reach, and
on a cancellation waits for it: a COMMIT that succeeded is reported (the caller decides what the cancellation
means now), one that failed raises the cancellation (nothing was written), and one that has not ended within the
``limit`` (PostgreSQL: a COMMIT can wait without end, for a synchronous standby say) is let go with
:class:`CommitUnfinishedError`: whether it was written is not known here.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["CommitUnfinishedError", "commit_to_the_end"]

#: Seconds a COMMIT that was let go may take to be called off (its connection is then dropped).
LET_GO_SECONDS = 1.0


class CommitUnfinishedError(Exception):
    """A cancellation came while a COMMIT ran, and the COMMIT had not ended within the limit: it was let go, and
    whether it was written is not known (the transaction's own rows tell, once the database answers)."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        when = f"{limit:g}s after the cancellation"
        super().__init__(f"its COMMIT had not ended {when}: whether it was written is unknown")


async def commit_to_the_end(conn: AsyncConnection, limit: float | None = None) -> bool:
    """Commit ``conn``'s transaction and wait for the COMMIT to end. Returns whether a cancellation came while it
    ran (the transaction is committed then, and the cancellation is not raised: the caller says what it means).
    Raises what the COMMIT raised if it failed; ``CancelledError`` if it failed after a cancellation (nothing was
    written); :class:`CommitUnfinishedError` if, after a cancellation, it had not ended within ``limit`` seconds
    (None: it is waited for as long as it takes; a SQLite COMMIT ends, at the latest with the busy timeout)."""
    committing = asyncio.ensure_future(conn.commit())
    try:
        await asyncio.shield(committing)
        return False
    except asyncio.CancelledError:
        if not committing.done():
            await _wait(committing, limit)
    if not committing.done():  # let go: called off, and its connection dropped (SQLAlchemy invalidates it)
        committing.cancel()
        with contextlib.suppress(asyncio.CancelledError):  # cancelled again: the outcome is unknown all the same
            await asyncio.wait({committing}, timeout=LET_GO_SECONDS)
        if committing.done() and not committing.cancelled():
            committing.exception()  # seen (whatever it says, the outcome is not known)
        raise CommitUnfinishedError(limit or 0.0) from None
    error = committing.exception() if not committing.cancelled() else asyncio.CancelledError()
    if error is not None:
        raise asyncio.CancelledError() from error
    # not uncancel()ed: whoever cancelled takes the request back (the deadline's asyncio.timeout does, on its exit)
    return True


async def _wait(committing: asyncio.Future[None], limit: float | None) -> None:
    """Wait for ``committing`` up to ``limit`` seconds, through further cancellations (they are the same request:
    stop, which the COMMIT cannot)."""
    loop = asyncio.get_running_loop()
    until = None if limit is None else loop.time() + limit
    while not committing.done():
        left = None if until is None else until - loop.time()
        if left is not None and left <= 0:
            return
        try:
            await asyncio.wait({committing}, timeout=left)
        except asyncio.CancelledError:
            continue
