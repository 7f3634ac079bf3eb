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

:func:`record_to_the_end` does the same for a whole short write that records what already happened outside the
database (TikTok's answer to an action, a message a channel accepted): run in a task of its own, waited for
through a cancellation, which is raised once it has ended. Without it, a cancellation that came between the answer
and the COMMIT (the poll deadline, the daemon's shutdown) left the action "pending" with TikTok's answer lost, or the
message unrecorded, sent again by whichever sender took it over. :func:`record_limit` is how long such a write is
waited for after a cancellation on the engine's backend.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["CommitUnfinishedError", "commit_to_the_end", "record_limit", "record_to_the_end"]

_T = TypeVar("_T")

#: Seconds a COMMIT that was let go may take to be called off (its connection is then dropped).
LET_GO_SECONDS = 1.0
#: Seconds a write recording an outcome is waited for after a cancellation, on PostgreSQL (see record_limit).
RECORD_SECONDS = 10.0


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


def record_limit(engine: AsyncEngine) -> float | None:
    """How long :func:`record_to_the_end` waits after a cancellation on ``engine``: PostgreSQL waits for a lock
    without end, so the wait is bounded (the caller's cancellation must end); SQLite's writes end with its busy
    timeout, and cancelling one a second time would strand the aiosqlite connection: None, waited for."""
    return RECORD_SECONDS if engine.dialect.name == "postgresql" else None


async def record_to_the_end(write: Awaitable[_T], limit: float | None = None) -> _T:
    """Await ``write`` (a short write transaction recording something already done) in a task of its own; a
    cancellation of the caller that comes meanwhile waits for it to end (through further cancellations), then is
    raised, the write done (or failed: its error is chained). One not ended within ``limit`` seconds after the
    cancellation is let go (called off) and the cancellation raised: whether it was written is not known."""
    recording = asyncio.ensure_future(write)
    try:
        return await asyncio.shield(recording)
    except asyncio.CancelledError as cancelled:
        if not recording.done():
            await _wait(recording, limit)
        if not recording.done():  # let go
            recording.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({recording}, timeout=LET_GO_SECONDS)
        error = recording.exception() if recording.done() and not recording.cancelled() else None
        raise cancelled from error


async def _wait(ending: asyncio.Future[_T], limit: float | None) -> None:
    """Wait for ``ending`` up to ``limit`` seconds, through further cancellations (they are the same request:
    stop, which a COMMIT under way cannot)."""
    loop = asyncio.get_running_loop()
    until = None if limit is None else loop.time() + limit
    while not ending.done():
        left = None if until is None else until - loop.time()
        if left is not None and left <= 0:
            return
        try:
            await asyncio.wait({ending}, timeout=left)
        except asyncio.CancelledError:
            continue
