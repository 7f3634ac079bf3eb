"""A SQLite connection is rolled back before it is closed, so a close can never keep a transaction and its locks.

Why: a task cancelled while it awaits a statement (the poll deadline) makes SQLAlchemy invalidate the connection,
and it closes it at once, without a rollback; the statement is still running in aiosqlite's thread (a
cancellation cannot stop it) and its cursor is never closed. ``sqlite3_close_v2`` with a statement not yet
finalized does not close: the connection becomes a "zombie" that keeps its open transaction (``BEGIN IMMEDIATE``:
the database's write lock; a read: a WAL snapshot no checkpoint can pass) until that statement is finalized, which
happens when the cursor is freed, i.e. whenever the cyclic garbage collector gets to the cancelled task's
traceback (rarely, under ``monitor.gctune``). Every other write of the process then failed with "database is
locked" for as long as it ran.

The rollback is put on the connection's own queue when the pool is about to close it (its ``close`` and
``close_detached`` events, which come before the close itself is queued), so aiosqlite's thread runs it right
after the statement in progress and before the close, whether or not the task that closes the connection is
cancelled again: the zombie, if any, holds no transaction (it keeps its file open until the collector frees the
cursor). A connection already closed or without a thread is left alone.
"""

from __future__ import annotations

import logging
import sqlite3
from functools import partial
from typing import Any

import sqlalchemy as sa

log = logging.getLogger(__name__)


def roll_back_before_close(sync_engine: sa.Engine) -> None:
    """Have every connection ``sync_engine``'s pool closes rolled back first (see the module docstring)."""

    @sa.event.listens_for(sync_engine, "close")
    def on_close(dbapi_connection: Any, _record: Any) -> None:
        queue_rollback(dbapi_connection)

    @sa.event.listens_for(sync_engine, "close_detached")
    def on_close_detached(dbapi_connection: Any) -> None:
        queue_rollback(dbapi_connection)


def roll_back_on_return(sync_engine: sa.Engine) -> None:
    """The reset of a connection returned to ``sync_engine``'s pool (created with ``pool_reset_on_return=None``):
    a rollback queued on its aiosqlite thread, run there only if a transaction is open. Not awaited: the next
    use of the connection queues behind it, and the event loop is spared a round trip per transaction (a
    transaction committed or rolled back by SQLAlchemy, the usual case, leaves nothing to roll back)."""

    @sa.event.listens_for(sync_engine, "reset")
    def on_reset(dbapi_connection: Any, _record: Any, state: Any) -> None:
        if not state.transaction_was_reset:
            queue_rollback(dbapi_connection)


def queue_rollback(dbapi_connection: Any) -> bool:
    """Queue a rollback on the aiosqlite thread of ``dbapi_connection`` (SQLAlchemy's adapter); whether it was."""
    worker = getattr(dbapi_connection, "_connection", None)  # the aiosqlite.Connection
    raw = getattr(worker, "_connection", None)  # its sqlite3.Connection, None once closed
    queue = getattr(worker, "_tx", None)
    if raw is None or queue is None or not getattr(worker, "_running", False):
        return False
    queue.put_nowait((None, partial(_rollback, raw)))
    return True


def _rollback(raw: sqlite3.Connection) -> None:
    try:
        if raw.in_transaction:
            raw.rollback()
    except sqlite3.Error as exc:  # closed meanwhile, or I/O trouble: the close that follows is all that is left
        log.debug("rollback before close failed: %s", exc)
